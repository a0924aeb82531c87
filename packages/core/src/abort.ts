/** Aborts that take effect at once, whatever the code behind a promise does with the signal. */

/**
 * Settles with `operation`, or rejects with the signal's reason as soon as it aborts, whatever the
 * backend does with the signal (some SDK calls ignore it). The operation's late outcome is dropped.
 */
export function untilAborted<T>(operation: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return operation;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    operation.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Work every caller of a driver shares (finding a key, creating a container): it runs once and with
 * no caller's signal, so one caller's abort never fails the others; each caller stops waiting at its
 * own abort. A failure is not kept: the next call starts the work again.
 */
export class SharedTask<T> {
  readonly #work: () => Promise<T>;
  #running: Promise<T> | undefined;

  constructor(work: () => Promise<T>) {
    this.#work = work;
  }

  /** The work's outcome, started by this call when none is running or done. */
  run(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let running = this.#running;
    if (running === undefined) {
      const started = this.#work();
      this.#running = running = started;
      started.catch(() => {
        if (this.#running === started) this.#running = undefined;
      });
    }
    return untilAborted(running, signal);
  }
}
