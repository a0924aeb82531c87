/**
 * Bounds on HTTP requests (when an answer must have begun) and reading a whole answer body: shared
 * by the drivers' direct paths (`HttpClient`) and their fetch-based requests.
 */
import type { Readable } from 'node:stream';

import { PeriodicChecks, watchStall } from './checks.js';
import { gather } from './stream.js';

/**
 * How long a server may take to begin its answer (its status line) from the start of the request,
 * before the body's sending time: the requests bounded so are ones a server answers promptly (a
 * small object, a part, a read, a listing), and a runtime or a connection that never delivers the
 * answer would otherwise hold the caller forever. The resumable readers' answer bound
 * (`stallTimeoutMs`) is as long.
 */
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;
/** The option every HTTP driver takes for the bound on its requests' answers (parameter `answertimeout`). */
export interface AnswerTimeoutOption {
  /**
   * How long, in ms, a request's answer may take to begin, plus a second per MiB of its body, before
   * the request is given up as a transient timeout (and retried); a read's stream waits as long for
   * its next byte. Default 30 s; raise it on a slow link, lower it to fail over sooner.
   */
  answerTimeoutMs?: number;
}

/** The body's sending time, on top: as slow as 1 MiB/s is still a working connection. */
const BODY_BYTES_PER_MS = 1024 * 1024 / 1000;

/**
 * How long the answer to a request with `bodyBytes` of body may take to begin: `baseMs` (the
 * drivers' `answerTimeoutMs` option, 30 s by default), and a second per MiB of body. Past it (and
 * at most half a second later: the bound is checked four times a second), drivers give the request
 * up as a transient `TimeoutError`.
 */
export function answerTimeoutMs(bodyBytes: number, baseMs = DEFAULT_ANSWER_TIMEOUT_MS): number {
  return baseMs + Math.ceil(bodyBytes / BODY_BYTES_PER_MS);
}

/** How often the requests awaiting an answer are checked. */
const CHECK_MS = 250;
const answerChecks = new PeriodicChecks(CHECK_MS);

/**
 * Calls `expire` once `ms` have passed, unless the function returned is called first. One unref'd
 * interval checks every request awaiting its answer: a timer per request (set, then cleared at the
 * answer) cost a 4 KiB GET about 20 µs of its 300 µs of client CPU. Checks are counted, not clocks
 * read: the first check comes up to `CHECK_MS` after the start, so one more than `ms` holds is waited.
 */
export function expireAfter(ms: number, expire: () => void): () => void {
  let checksLeft = Math.ceil(ms / CHECK_MS) + 1;
  const answered = answerChecks.add(() => {
    if (--checksLeft > 0) return;
    answered();
    expire();
  });
  return answered;
}

/**
 * `fetcher(url, init)` under the same bounds as `HttpClient.request` and `readResponse`: an answer
 * (fetch resolves at its headers) not begun within `answerTimeoutMs(bodyBytes, answerTimeoutMs)`,
 * or a body that, while read, brings no byte for `answerTimeoutMs(0, answerTimeoutMs)`, aborts the
 * request with a transient `TimeoutError`. The caller's `init.signal` still aborts it. The answer
 * returned is a copy of the fetched one (status, headers) whose body is watched as it is read.
 */
export async function fetchWithinAnswerBound(
  fetcher: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  init: RequestInit,
  { bodyBytes, driverName, answerTimeoutMs: baseMs }: { bodyBytes: number; driverName: string; answerTimeoutMs?: number },
): Promise<Response> {
  const ms = answerTimeoutMs(bodyBytes, baseMs);
  const timeout = new AbortController();
  const answered = expireAfter(ms, () => timeout.abort(timeoutError(`${driverName}: no answer from ${new URL(url).host} within ${ms} ms`)));
  let response: Response;
  try {
    response = await fetcher(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal });
  } finally {
    answered();
  }
  if (response.body === null || NULL_BODY_STATUSES.has(response.status)) return response;
  const stallMs = answerTimeoutMs(0, baseMs);
  const body = watchedBody(response as Response & { body: ReadableStream<Uint8Array> }, stallMs, () => timeout.abort(timeoutError(`${driverName}: an answer's body from ${new URL(url).host} brought no byte for ${stallMs} ms`)));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The statuses whose answers cannot be built with a body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * `response`'s body, calling `onStall` once a read has waited `stallMs` for a byte. Watched only
 * while a read waits: a body nobody reads is not a stall and holds no watch. The original answer is
 * kept with the copy and its body locked only at the first read, so an answer nobody reads is
 * cancelled with the copy's collection (fetch's clean-up of unread answers), never under a reader.
 */
function watchedBody(response: Response & { body: ReadableStream<Uint8Array> }, stallMs: number, onStall: () => void): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= response.body.getReader();
        const unwatch = watchStall(stallMs, () => 0, () => true, onStall);
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        } finally {
          unwatch();
        }
      },
      cancel: (reason) => (reader ?? response.body).cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * A request body's size where it is known without reading the body: 0 for none, the declared
 * `contentLength`, or the size of a string (as UTF-8), of bytes or of a list of bytes; undefined for
 * a stream, whose answer bound (`answerTimeoutMs`) cannot be known.
 */
export function knownBodyBytes(body: unknown, contentLength?: number | string | null): number | undefined {
  if (body === undefined || body === null) return 0;
  if (typeof contentLength === 'number') return contentLength;
  if (typeof contentLength === 'string' && /^\d+$/.test(contentLength)) return Number(contentLength);
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (ArrayBuffer.isView(body)) return body.byteLength;
  if (Array.isArray(body) && body.every((part) => ArrayBuffer.isView(part))) {
    return (body as ArrayBufferView[]).reduce((total, part) => total + part.byteLength, 0);
  }
  return undefined;
}

/** Transient by its name (`isTransientError`), with the code Node gives a timed-out socket. */
export function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

/**
 * A whole (small) answer body; a body closed before its end fails (an abort, a cut connection). A
 * body that brings no byte for `stallMs` (by default an `HttpClient` answer's `bodyStallMs`) fails
 * as a transient `TimeoutError`: a server that sent a status line and then stopped would otherwise
 * hold the caller.
 */
export async function readResponse(response: Readable, stallMs = (response as Readable & { bodyStallMs?: number }).bodyStallMs): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const unwatch = stallMs === undefined ? undefined : watchStall(stallMs, () => chunks.length, () => true, () => response.destroy(timeoutError(`an answer's body brought no byte for ${stallMs} ms`)));
  try {
    const { error } = await gather(response, chunks);
    if (error !== undefined) throw error;
  } finally {
    unwatch?.();
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

