/**
 * Retries of idempotent requests, and the readers that survive a cut connection by re-requesting
 * the rest of the same object version. Drivers use these for requests that are safe to repeat
 * (reads, listings, PUTs of whole objects or parts under a fixed name); never for one whose repeat
 * could change the result.
 */
import { Readable, finished } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { watchStall } from './checks.js';
import { DriverError, isTransientError } from './errors.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from './http.js';
import { gather } from './stream.js';

/** Options of `retry`. */
export interface RetryOptions {
  /** Tries in all, the first included. Default 4. */
  attempts?: number;
  /** The first backoff; each later one doubles, with full jitter, up to `maxDelayMs`. Default 50 ms. */
  baseDelayMs?: number;
  /** The longest backoff, in milliseconds. Default 2000. */
  maxDelayMs?: number;
  /** Aborting stops the retries: the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Which failures are worth another try. Default: `isTransientError`. */
  isRetryable?: (error: unknown) => boolean;
  /**
   * `resumableReader` and `resumableContent`: an open whose answer, or a body whose next byte while
   * the reader wants one, takes longer than this counts as a cut connection, and is retried or
   * resumed. Default 30 s.
   */
  stallTimeoutMs?: number;
}

/** How long a resumable read waits for an answer, or for the next byte it asked for: as long as any request's answer. */
const DEFAULT_STALL_TIMEOUT_MS = DEFAULT_ANSWER_TIMEOUT_MS;

/**
 * Calls `check` until it answers true (resolves true) or the time `deadline` (ms since the epoch)
 * has passed (resolves false), pausing between calls from 20 ms, doubling, up to 500 ms; the last
 * call comes after the deadline, so a change up to it is seen. For waiting out another party's
 * request that may still land (a commit an abort races), where nothing can be asked to wait. An
 * abort of `signal` rejects with its reason.
 */
export async function pollUntil(check: () => Promise<boolean>, deadline: number, signal?: AbortSignal): Promise<boolean> {
  if (await check()) return true;
  for (let pause = 20; ; pause = Math.min(500, pause * 2)) {
    const left = deadline - Date.now();
    if (left < 0) return false;
    await sleep(Math.min(pause, left + 1), undefined, { signal }).catch((error: unknown) => {
      throw signal?.aborted ? signal.reason : error;
    });
    if (await check()) return true;
  }
}

/** The tries `retry` makes by default, the first included. */
export const DEFAULT_ATTEMPTS = 4;

function backoff(failures: number, options: RetryOptions): number {
  const cap = Math.min(options.maxDelayMs ?? 2000, (options.baseDelayMs ?? 50) * 2 ** (failures - 1));
  return Math.random() * cap;
}

/** Calls `fn` until it succeeds, a failure is not retryable, the attempts run out or the signal aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const isRetryable = options.isRetryable ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await sleep(backoff(attempt, options), undefined, { signal: options.signal });
    }
  }
}

/** One response body of a ranged read. */
export interface RangeResponse {
  /** The response body. */
  stream: Readable;
  /** What pins the object version (an ETag, a generation); passed back to `open` on a resume. */
  version: string | undefined;
  /** The object's whole size when the response says it, so a body that ends early is caught. */
  size?: number;
}

/**
 * Requests the object from `offset`, pinned to `version` when one is given. A resume of a version
 * that is gone must throw PreconditionFailedError (or PathNotFoundError when the object is gone).
 */
export type OpenRange = (offset: number, version: string | undefined, signal?: AbortSignal) => Promise<RangeResponse>;

/**
 * A reader that survives transport cuts: when the body fails with a transient error (or ends before
 * the size the response announced) it re-requests the rest from the last byte delivered, pinned to
 * the first response's version, with backoff. `attempts` bounds the cuts in a row that deliver
 * nothing (a connection that keeps making progress is resumed to the end). It never ends short
 * silently: a cut it cannot mend is an error of the stream.
 */
export async function resumableReader(offset: number, open: OpenRange, options: RetryOptions = {}): Promise<Readable> {
  const within = openWithin(open, options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
  const first = await retry(() => within(offset, undefined, options.signal), options);
  return resumingStream(first, offset, within, options);
}

/**
 * `open` bounded in time: an answer that has not come within `ms` is given up (its request aborted
 * through the signal `open` gets, and its stream destroyed should it come later) as a transient
 * failure. A server or runtime that never answers would otherwise hold the read forever.
 */
function openWithin(open: OpenRange, ms: number): OpenRange {
  return (offset, version, signal) => {
    const stalled = new AbortController();
    const opened = open(offset, version, signal === undefined ? stalled.signal : AbortSignal.any([signal, stalled.signal]));
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const unwatch = watchStall(ms, () => 0, () => true, () => {
        timedOut = true;
        unwatch();
        const error = new DriverError(`no answer to a read from byte ${offset} within ${ms} ms`, { retryable: true });
        stalled.abort(error);
        reject(error);
      });
      opened.then(
        (response) => {
          unwatch();
          if (timedOut) response.stream.destroy();
          else resolve(response);
        },
        (error: unknown) => {
          unwatch();
          reject(error);
        },
      );
    });
  };
}

/**
 * A whole object into memory, surviving transport cuts exactly as `resumableReader` does, without a
 * stream in between (which costs client CPU on small objects).
 */
export async function resumableContent(open: OpenRange, options: RetryOptions = {}): Promise<Buffer> {
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const within = openWithin(open, stallMs);
  let response = await retry(() => within(0, undefined, options.signal), options);
  const version = response.version;
  const chunks: Buffer[] = [];
  let position = 0;
  let failures = 0;
  for (;;) {
    const body = response.stream;
    const unwatch = watchStall(stallMs, () => chunks.length, () => true, () => body.destroy(stalled(stallMs)));
    // Gathered with listeners: an async iterator per object costs more than a small body's transfer.
    const { bytes, error } = await gather(body, chunks).finally(unwatch);
    position += bytes;
    if (bytes > 0) failures = 0;
    const cut = error === undefined ? shortBody(response, position) : transientCut(error, options);
    if (cut === undefined) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    response = await reopen(cut, ++failures, position, version, within, options, response);
  }
}

/** The cut a body that sent nothing for `ms` is destroyed with. */
function stalled(ms: number): DriverError {
  return new DriverError(`no byte of the body within ${ms} ms`, { retryable: true });
}

/**
 * The bytes of `first` and, after each cut, of a ranged re-request from where it stopped. Chunks
 * move on from listeners as they arrive: an async generator between the two streams cost a 256 MiB
 * read a sixth of its client CPU.
 */
function resumingStream(first: RangeResponse, offset: number, open: OpenRange, options: RetryOptions): Readable {
  let response = first;
  let position = offset;
  let failures = 0;
  let reopening = false;
  // Only the time this stream waited for bytes counts, not the time its reader held it back.
  let waiting = true;
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const unwatch = watchStall(stallMs, () => position, () => waiting && !reopening, () => response.stream.destroy(stalled(stallMs)));
  const output = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      waiting = true;
      if (!reopening) response.stream.resume();
    },
    destroy(error, callback) {
      unwatch();
      response.stream.destroy();
      callback(error);
    },
  });
  const follow = (current: RangeResponse): void => {
    const source = current.stream;
    source.on('data', (chunk: Buffer) => {
      position += chunk.length;
      failures = 0;
      if (!output.push(chunk)) {
        waiting = false;
        source.pause();
      }
    });
    // `finished` sees a body closed before its end as an error, as a cut it is.
    finished(source, (error) => {
      if (output.destroyed) return;
      let cut: unknown;
      try {
        cut = error === undefined ? shortBody(current, position) : transientCut(error, options);
      } catch (fatal) {
        output.destroy(fatal as Error);
        return;
      }
      if (cut === undefined) {
        unwatch();
        output.push(null);
        return;
      }
      reopening = true;
      reopen(cut, ++failures, position, first.version, open, options, current).then(
        (next) => {
          reopening = false;
          if (output.destroyed) {
            next.stream.destroy();
            return;
          }
          response = next;
          follow(next);
        },
        (failure: unknown) => output.destroy(failure as Error),
      );
    });
  };
  follow(first);
  return output;
}

/** The error of a body that ended before the size its response announced, if it did. */
function shortBody(response: RangeResponse, position: number): Error | undefined {
  return response.size === undefined || position >= response.size ? undefined : new Error(`the body ended at byte ${position} of ${response.size}`);
}

/** A body's failure as a cut worth resuming; the caller's abort and a failure that is not transient are thrown. */
function transientCut(error: unknown, options: RetryOptions): unknown {
  if (options.signal?.aborted) throw options.signal.reason;
  if (!(options.isRetryable ?? isTransientError)(error)) throw error;
  return error;
}

/** After the `failures`-th cut in a row at `position`: the re-request of the rest, with backoff, or the error that ends the read. */
async function reopen(
  cut: unknown,
  failures: number,
  position: number,
  version: string | undefined,
  open: OpenRange,
  options: RetryOptions,
  response: RangeResponse,
): Promise<RangeResponse> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  response.stream.destroy();
  if (failures >= attempts) throw new DriverError(`read cut at byte ${position} and not resumed after ${failures} tries`, { retryable: true, cause: cut });
  await sleep(backoff(failures, options), undefined, { signal: options.signal });
  return retry(() => open(position, version, options.signal), { ...options, attempts: attempts - failures });
}
