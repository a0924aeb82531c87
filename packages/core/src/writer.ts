/**
 * Writers: the state machine every FileWriter goes through (BaseDriver wraps each backend writer in
 * it), and PartUploader, the bounded-memory chunking that object-store writers share.
 */
import { Writable } from 'node:stream';

import { untilAborted } from './abort.js';
import type { BackendWriter, CommitOptions, Content, FileWriter, OperationOptions, WriteConditions } from './driver.js';
import { DriverError } from './errors.js';
import { contentChunks, isStreamContent, toBuffer } from './stream.js';

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

/**
 * The FileWriter state machine:
 * - write: only while open; writes run one at a time in call order.
 * - close: persists for a later append; a no-op once closed, committed or cancelled.
 * - commit: while open; again after it succeeded, a no-op success (commit is idempotent); again
 *   after it failed, a new try of the backend's commit (which must then either finish the upload or
 *   find it already committed).
 * - cancel: while open; a no-op once cancelled.
 * A failed write leaves the writer failed: further writes and commits reject with that error (the
 * upload stays resumable from a new writer with append); cancel and close still run. A write after
 * a commit was tried rejects.
 * An aborted call rejects with the signal's reason at once; the backend step it started still runs
 * to its end before the next step starts.
 */
export class ManagedFileWriter implements FileWriter {
  readonly #backend: BackendWriter;
  readonly #shape: (error: unknown, signal?: AbortSignal) => unknown;
  readonly #conditions: (options: CommitOptions) => WriteConditions;
  #state: WriterState = 'open';
  #failure: unknown = undefined;
  #commitTried = false;
  #queue: Promise<void> = Promise.resolve();

  /**
   * `commitConditions` validates the conditions a commit is given against the driver's claims
   * (throwing to refuse them); without it, commits take no conditions.
   */
  constructor(
    backend: BackendWriter,
    shapeError: (error: unknown, signal?: AbortSignal) => unknown = (error) => error,
    commitConditions: (options: CommitOptions) => WriteConditions = () => ({}),
  ) {
    this.#backend = backend;
    this.#shape = shapeError;
    this.#conditions = commitConditions;
  }

  get size(): number {
    return this.#backend.size;
  }

  write(chunk: Content, options: OperationOptions = {}): Promise<void> {
    return this.#serialize(options.signal, async () => {
      this.#requireOpen('write');
      if (this.#commitTried) throw this.#shape(new DriverError('cannot write: a commit was already tried'));
      options.signal?.throwIfAborted();
      if (!isStreamContent(chunk)) return this.#write(toBuffer(chunk), options.signal);
      // A stream's chunks go in order within this one step; a failing source fails only this call.
      let source: AsyncGenerator<Buffer>;
      try {
        source = contentChunks(chunk);
      } catch (error) {
        throw this.#shape(error, options.signal);
      }
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await source.next();
        } catch (error) {
          throw this.#shape(error, options.signal);
        }
        if (next.done) return;
        options.signal?.throwIfAborted();
        await this.#write(next.value, options.signal);
      }
    });
  }

  async #write(buffer: Buffer, signal?: AbortSignal): Promise<void> {
    if (buffer.length === 0) return;
    try {
      await this.#backend.write(buffer, signal);
    } catch (error) {
      throw this.#fail(error, signal);
    }
  }

  close(): Promise<void> {
    return this.#serialize(undefined, async () => {
      if (this.#state !== 'open') return;
      this.#state = 'closed';
      try {
        await this.#backend.close();
      } catch (error) {
        throw this.#shape(error);
      }
    });
  }

  commit(options: CommitOptions = {}): Promise<void> {
    return this.#serialize(options.signal, async () => {
      if (this.#state === 'committed') return;
      this.#requireOpen('commit');
      options.signal?.throwIfAborted();
      let conditions: WriteConditions;
      try {
        conditions = this.#conditions(options);
      } catch (error) {
        throw this.#shape(error);
      }
      this.#commitTried = true;
      try {
        await (conditions.ifNoneMatch === undefined && conditions.ifMatch === undefined
          ? this.#backend.commit(options.signal)
          : this.#backend.commit(options.signal, conditions));
        this.#state = 'committed';
      } catch (error) {
        throw this.#shape(error, options.signal);
      }
    });
  }

  cancel(options: OperationOptions = {}): Promise<void> {
    return this.#serialize(options.signal, async () => {
      if (this.#state === 'cancelled') return;
      if (this.#state !== 'open') throw this.#shape(new DriverError(`cannot cancel: writer already ${this.#state}`));
      this.#state = 'cancelled';
      try {
        await this.#backend.cancel(options.signal);
      } catch (error) {
        throw this.#shape(error, options.signal);
      }
    });
  }

  writable(): Writable {
    return new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.write(chunk).then(() => callback(), callback);
      },
      writev: (chunks, callback) => {
        this.write(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer))).then(() => callback(), callback);
      },
      final: (callback) => {
        this.#queue.then(() => callback(), callback);
      },
    });
  }

  #serialize(signal: AbortSignal | undefined, step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step);
    // The queue only orders steps; each caller sees its own step's result.
    this.#queue = run.catch(() => undefined);
    return untilAborted(run, signal);
  }

  #requireOpen(operation: string): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state !== 'open') throw this.#shape(new DriverError(`cannot ${operation}: writer already ${this.#state}`));
  }

  #fail(error: unknown, signal?: AbortSignal): unknown {
    const shaped = this.#shape(error, signal);
    this.#failure ??= shaped;
    return shaped;
  }
}

/** Options of PartUploader. */
export interface PartUploaderOptions {
  /** Bytes per part; every part but the last is exactly this size. */
  partSize: number;
  /** Parts uploading at once. Memory stays at most partSize × (concurrency + 1). */
  concurrency: number;
  /**
   * Uploads part `index` (0-based, in stream order). Must be safe to retry on its own. Once it has
   * resolved, `data` is filled with a later part: keep no reference to it.
   */
  upload: (index: number, data: Buffer, signal?: AbortSignal) => Promise<void>;
  /** The index the first part gets (a resumed upload continues after its existing parts). */
  firstIndex?: number;
}

/**
 * Cuts a stream of writes into fixed-size parts and uploads them concurrently, with backpressure:
 * `write` resolves once the data is buffered and no more than `concurrency` parts are in flight.
 * The first failed upload fails every later `write`; the parts that failed are kept (at most
 * `concurrency` of them), and `flush` uploads them again first, so a commit tried again after a
 * failure or an abort still sends every byte.
 */
export class PartUploader {
  readonly #options: PartUploaderOptions;
  #buffer: Buffer | undefined;
  #filled = 0;
  #nextIndex: number;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown = undefined;
  /** Parts whose upload failed, to send again at the next flush. */
  readonly #failed: Array<{ index: number; data: Buffer; part: Buffer }> = [];
  /**
   * Part buffers whose upload succeeded, filled again rather than a new one allocated: a fresh
   * buffer of many MiB costs its pages' first-touch faults and, once dropped, the collector's work.
   * At most `concurrency + 1` buffers ever exist.
   */
  readonly #spare: Buffer[] = [];
  #uploadedBytes = 0;

  constructor(options: PartUploaderOptions) {
    if (!Number.isInteger(options.partSize) || options.partSize < 1) throw new RangeError('partSize must be a positive integer');
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    this.#options = options;
    this.#nextIndex = options.firstIndex ?? 0;
  }

  /** Bytes handed to `upload` whose upload completed. */
  get uploadedBytes(): number {
    return this.#uploadedBytes;
  }

  /** Bytes accepted but not yet handed to `upload`. */
  get bufferedBytes(): number {
    return this.#filled;
  }

  /** The index the next part will get. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /**
   * Buffers `chunk` and uploads each part it fills; rejects with the first failed upload's error.
   * The signal stops the parts this write starts while the write is pending; once it has resolved
   * they belong to the upload, and a later abort of the same signal does not cut them.
   */
  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#throwIfFailed();
    const duringWrite = signal === undefined ? undefined : new AbortController();
    const onAbort = (): void => duringWrite!.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { partSize } = this.#options;
      let offset = 0;
      while (offset < chunk.length) {
        this.#buffer ??= this.#spare.pop() ?? Buffer.allocUnsafe(partSize);
        const copied = chunk.copy(this.#buffer, this.#filled, offset, Math.min(chunk.length, offset + partSize - this.#filled));
        this.#filled += copied;
        offset += copied;
        if (this.#filled === partSize) await this.#dispatch(duringWrite?.signal);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Uploads what is buffered as a final, possibly short part (unless nothing is buffered, or
   * `includeTail` is false), then waits for every upload. Returns the bytes still buffered: empty
   * when the tail was uploaded, the tail itself when `includeTail` is false.
   */
  async flush(signal?: AbortSignal, includeTail = true): Promise<Buffer> {
    await this.#settle();
    if (this.#failed.length > 0) {
      this.#failure = undefined;
      for (const failed of this.#failed.splice(0)) this.#start(failed.index, failed.data, failed.part, signal);
      await this.drain();
    }
    if (includeTail && this.#filled > 0) await this.#dispatch(signal);
    await this.drain();
    // Nothing is written after a flush but a retry's or a resume's tail: the spares would only hold memory.
    this.#spare.length = 0;
    return this.#buffer === undefined ? Buffer.alloc(0) : this.#buffer.subarray(0, this.#filled);
  }

  /** Waits for every upload in flight; rethrows the first failure. */
  async drain(): Promise<void> {
    await this.#settle();
    this.#throwIfFailed();
  }

  async #settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight).catch(() => undefined);
  }

  async #dispatch(signal?: AbortSignal): Promise<void> {
    while (this.#inFlight.size >= this.#options.concurrency) {
      await Promise.race(this.#inFlight).catch(() => undefined);
      this.#throwIfFailed();
    }
    const part = this.#buffer!;
    const data = part.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    this.#start(this.#nextIndex++, data, part, signal);
  }

  /** Uploads `data`, the filled start of the part buffer `part`, which is reused once the upload succeeds. */
  #start(index: number, data: Buffer, part: Buffer, signal?: AbortSignal): void {
    const upload = this.#options
      .upload(index, data, signal)
      .then(
        () => {
          this.#uploadedBytes += data.length;
          this.#spare.push(part);
        },
        (error: unknown) => {
          this.#failure ??= error;
          this.#failed.push({ index, data, part });
        },
      )
      .finally(() => this.#inFlight.delete(upload));
    this.#inFlight.add(upload);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/**
 * The part of a resumable upload that holds the stream: parts numbered from `first` without a gap,
 * with their total size. A writer that died mid-upload may have left later parts behind a missing
 * one; those are overwritten by the resumed writer or left out of its commit.
 */
export function contiguousParts(
  sizes: ReadonlyMap<number, number>,
  first = 0,
): {
  /** Parts from `first` on without a gap. */
  count: number;
  /** Their total size, in bytes. */
  bytes: number;
} {
  let count = 0;
  let bytes = 0;
  for (let size = sizes.get(first); size !== undefined; size = sizes.get(first + ++count)) bytes += size;
  return { count, bytes };
}

/**
 * putContent through a backend writer (content above a service's single-request limit, or where
 * only a multipart commit makes an abort safe): writes, commits, and on failure cancels the upload
 * before rethrowing. The put's error is what matters; a cancel that fails too leaves the upload to
 * the backend's clean-up (lifecycle rules, upload purging).
 */
export async function putThroughWriter(writer: BackendWriter, content: Buffer, signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
  try {
    await writer.write(content, signal);
    await (conditions === undefined ? writer.commit(signal) : writer.commit(signal, conditions));
  } catch (error) {
    await writer.cancel().catch(() => undefined);
    throw error;
  }
}
