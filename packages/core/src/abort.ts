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
 * Work every caller of a driver shares (finding a key, creating a container): it runs once, and no
 * one caller's abort ends it while others still wait for it; each caller stops waiting at its own
 * abort. The work's own signal aborts only when every caller has stopped waiting (a caller without
 * a signal always waits), and then the next call starts it afresh, as it does after a failure.
 */
export class SharedTask<T> {
  readonly #work: (signal: AbortSignal) => Promise<T>;
  #running: Running<T> | undefined;

  constructor(work: (signal: AbortSignal) => Promise<T>) {
    this.#work = work;
  }

  /** The work's outcome, started by this call when none is running or done. */
  run(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const running = this.#running ?? this.#start();
    if (signal === undefined) {
      running.pinned = true;
      return running.promise;
    }
    running.waiting++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        if (--running.waiting > 0 || running.pinned || running.settled) return;
        if (this.#running === running) this.#running = undefined;
        running.controller.abort(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      running.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  #start(): Running<T> {
    const controller = new AbortController();
    const running: Running<T> = { promise: this.#work(controller.signal), controller, waiting: 0, pinned: false, settled: false };
    this.#running = running;
    running.promise.then(
      () => void (running.settled = true),
      () => {
        running.settled = true;
        if (this.#running === running) this.#running = undefined;
      },
    );
    return running;
  }
}

interface Running<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers with a signal that still wait. */
  waiting: number;
  /** A caller without a signal waits: the work runs to its end. */
  pinned: boolean;
  settled: boolean;
}
