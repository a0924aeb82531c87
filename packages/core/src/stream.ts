/** Stream helpers driver authors and users share. */
import { Readable } from 'node:stream';

import type { Content } from './driver.js';
import { InvalidOffsetError } from './errors.js';

/** Reads a whole stream into one Buffer. For objects known to be small. */
export async function readAll(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of signal ? stream.iterator({ destroyOnReturn: true }) : stream) {
    signal?.throwIfAborted();
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** True on a stream whose every byte is in its buffer (or was read) and whose end was pushed. */
export const BODY_ARRIVED = Symbol('storagedriver.bodyArrived');

/**
 * Appends a body's chunks to `chunks` until it ends, fails or closes; resolves with the bytes it
 * added and the failure, if any (a close before the end is one). Listeners, not an async iterator:
 * for a small body the iterator's machinery costs more than the transfer.
 */
export function gather(stream: Readable, chunks: Buffer[]): Promise<{ bytes: number; error: unknown }> {
  // A body whose last byte already arrived (HttpResponse says so) is taken from the stream's buffer
  // at once: on a small answer the listeners and the ticks of the stream's end cost more than the
  // bytes. read() until null: Node returns the whole buffer at once, Deno a chunk at a time.
  if ((stream as Readable & { [BODY_ARRIVED]?: boolean })[BODY_ARRIVED] === true && !stream.destroyed && stream.readableFlowing !== true) {
    let bytes = 0;
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
      chunks.push(chunk);
      bytes += chunk.length;
    }
    return Promise.resolve({ bytes, error: undefined });
  }
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const settle = (error: unknown): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      resolve({ bytes, error });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
    };
    // Every body closes after its end: an Error (and its stack) is made only for one that did not
    // end, and it is the one Node's own stream helpers give a premature close (a transient cut).
    const onClose = (): void =>
      settle(stream.readableEnded ? undefined : (stream.errored ?? Object.assign(new Error('Premature close: the body was closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
    if (stream.destroyed) return onClose();
    stream.on('data', onData);
    stream.once('end', () => settle(undefined));
    stream.once('error', settle);
    stream.once('close', onClose);
  });
}

/** Normalises putContent input: strings are UTF-8. */
export function toBuffer(content: Uint8Array | string): Buffer {
  if (typeof content === 'string') return Buffer.from(content);
  return Buffer.isBuffer(content) ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

/**
 * The contract's reader rule at or past the end of an object of `size` bytes: an empty stream at
 * exactly the size, InvalidOffsetError beyond it. For backends whose ranged read refuses both alike
 * (HTTP 416) or that check the size first; `cause` is the refusal, if any.
 */
export function readerAtEnd(path: string, offset: number, size: number, cause?: unknown): Readable {
  if (offset === size) return Readable.from([]);
  throw new InvalidOffsetError(path, offset, cause === undefined ? {} : { cause });
}

/**
 * The stream a caller gets from a reader: the backend's bytes, unchanged and without a copy, but
 * every error shaped (typed, with the driver name) and an abort of `signal` destroying it with the
 * signal's own reason.
 */
export function guardedStream(source: Readable, shapeError: (error: unknown) => unknown, signal?: AbortSignal): Readable {
  const guarded = new Readable({
    highWaterMark: source.readableHighWaterMark,
    read() {
      source.resume();
    },
    destroy(error, callback) {
      signal?.removeEventListener('abort', onAbort);
      source.destroy();
      callback(error);
    },
  });
  const onAbort = (): void => void guarded.destroy(signal!.reason as Error);
  source.on('data', (chunk: Buffer) => {
    if (!guarded.push(chunk)) source.pause();
  });
  source.once('end', () => {
    signal?.removeEventListener('abort', onAbort);
    guarded.push(null);
  });
  source.on('error', (error) => {
    if (!guarded.destroyed) guarded.destroy((signal?.aborted ? signal.reason : shapeError(error)) as Error);
  });
  source.pause();
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return guarded;
}

/** True for content that arrives over time (a Node or WHATWG stream, an async iterable) rather than at once. */
export function isStreamContent(content: Content): content is Exclude<Content, Uint8Array | string> {
  return typeof content !== 'string' && !(content instanceof Uint8Array);
}

/** The chunks of streamed content as Buffers, in order. */
export async function* contentChunks(content: Exclude<Content, Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of content as AsyncIterable<Uint8Array | string>) yield toBuffer(chunk);
}

/**
 * The first `length` bytes of `source`, then the end (the rest is never read: the source is
 * destroyed). A source that ends before `length` fails the stream with `short()`: a ranged read
 * never ends short silently.
 */
export function limitedStream(source: Readable, length: number, short: () => Error): Readable {
  async function* take(): AsyncGenerator<Buffer> {
    let left = length;
    if (left === 0) {
      source.destroy();
      return;
    }
    for await (const chunk of source) {
      const buffer = toBuffer(chunk as Buffer | string);
      if (buffer.length >= left) {
        yield buffer.subarray(0, left);
        return;
      }
      left -= buffer.length;
      yield buffer;
    }
    throw short();
  }
  return Readable.from(take(), { objectMode: false });
}
