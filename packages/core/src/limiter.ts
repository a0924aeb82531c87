/**
 * A counting semaphore with a FIFO queue: upstream's regulator. A slot is held for the duration of
 * one backend call (not for the life of a returned reader or writer). Waiting honours AbortSignal.
 */
export class ConcurrencyLimiter {
  /** Calls allowed at once (a positive integer; the constructor throws RangeError otherwise). */
  readonly limit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Calls queued for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `fn` once a slot is free and returns its result; rejects with the signal's reason when aborted while queued. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve();
    }
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#active++;
        resolve();
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  #release(): void {
    this.#active--;
    this.#waiting.shift()?.();
  }
}
