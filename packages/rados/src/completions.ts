/**
 * How the results of librados' aio operations reach the JS thread.
 *
 * Completions carry no callback. A koffi callback called from librados' finisher thread blocks that
 * thread until the JS thread has run it, so completions reached JS one event-loop wake at a time:
 * at 16 reads of 4 KiB in flight that relay cost about 100 µs of client CPU per read and halved the
 * throughput (measured against this design in one process, 2026-12-07). Instead one koffi worker
 * thread waits for the oldest pending completion (`rados_aio_wait_for_complete`); when it returns,
 * every completion that is complete by then is settled in the same wake.
 *
 * Waiting on the oldest alone would make a quick operation wait for a slow one submitted before it
 * (a stat behind a 4 MiB chunk write), so a timer also settles whatever is complete every
 * `pollMs` while anything is pending. The timer is ref'd while operations are pending: nothing of
 * librados holds the event loop open, and Node would otherwise exit with operations in flight.
 */

/** An operation's return code (negative: an errno) and the object's version after it. */
export interface AioResult {
  rc: number;
  version: bigint;
}

/** What the reaper needs of a completion handle (librados' functions; a fake in unit tests). */
export interface CompletionCalls<C> {
  isComplete(completion: C): boolean;
  /** Starts a wait on a worker thread until `completion` is complete; `done` runs on the JS thread then. */
  waitForComplete(completion: C, done: (error: unknown) => void): void;
  result(completion: C): AioResult;
  release(completion: C): void;
}

interface Pending {
  settle: (result: AioResult) => void;
  /** Whose operation this is (librados: the pool context), for `pendingOf`. */
  owner: unknown;
  /** Buffers librados reads from or writes into until the operation completes: kept alive here. */
  keep: unknown[];
}

export class CompletionReaper<C> {
  readonly #calls: CompletionCalls<C>;
  readonly #pollMs: number;
  /** Submitted operations not yet settled, oldest first. */
  readonly #pending = new Map<C, Pending>();
  readonly #byOwner = new Map<unknown, number>();
  /** The completion a worker thread waits on: released only after that wait returned. */
  #waitingOn: C | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(calls: CompletionCalls<C>, pollMs = 1) {
    this.#calls = calls;
    this.#pollMs = pollMs;
  }

  /** Operations submitted and not yet settled. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Operations of `owner` submitted and not yet settled. */
  pendingOf(owner: unknown): number {
    return this.#byOwner.get(owner) ?? 0;
  }

  /** Settles with the result of an operation `owner` submitted; `keep` stays referenced until it completed. */
  track(completion: C, owner: unknown, keep: unknown[]): Promise<AioResult> {
    return new Promise((settle) => {
      this.#pending.set(completion, { settle, owner, keep });
      this.#byOwner.set(owner, this.pendingOf(owner) + 1);
      this.#wait();
      if (this.#timer === undefined) this.#timer = setInterval(() => this.#tick(), this.#pollMs);
      else this.#timer.ref();
    });
  }

  #tick(): void {
    this.#settleComplete();
    this.#wait();
    if (this.#pending.size > 0) return;
    // Stopped when found idle, not each time the count reaches zero: back-to-back operations would
    // otherwise create and clear a timer per operation.
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #settleComplete(): void {
    for (const [completion, entry] of this.#pending) {
      if (completion === this.#waitingOn || !this.#calls.isComplete(completion)) continue;
      this.#pending.delete(completion);
      const left = this.pendingOf(entry.owner) - 1;
      if (left === 0) this.#byOwner.delete(entry.owner);
      else this.#byOwner.set(entry.owner, left);
      const result = this.#calls.result(completion);
      this.#calls.release(completion);
      entry.settle(result);
    }
    if (this.#pending.size === 0) this.#timer?.unref();
  }

  /** Starts a worker's wait on the oldest pending completion unless one is waiting already. */
  #wait(): void {
    if (this.#waitingOn !== undefined) return;
    const oldest = this.#pending.keys().next();
    if (oldest.done === true) return;
    this.#waitingOn = oldest.value;
    try {
      this.#calls.waitForComplete(oldest.value, (error) => {
        this.#waitingOn = undefined;
        this.#settleComplete();
        // After a failed wait the timer's next tick waits again, so a failure that persists polls
        // rather than spins.
        if (error === null || error === undefined) this.#wait();
      });
    } catch {
      // No worker could take the wait (koffi's queue full): the timer settles and retries.
      this.#waitingOn = undefined;
    }
  }
}
