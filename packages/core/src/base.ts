/**
 * BaseDriver: the wrapper every driver goes through, whether made by `create()` or constructed
 * directly. It validates arguments before the backend runs, names the driver on every error, wraps
 * unknown errors with their `cause`, limits concurrency (upstream's regulator) when the driver asks
 * for it, traces each operation, and enforces the writer and walk state machines.
 */
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

import type {
  BackendPutOptions,
  Capabilities,
  Content,
  Existence,
  FileInfo,
  FilePage,
  FileWriter,
  GetContentOptions,
  ListPageOptions,
  OperationOptions,
  PendingUpload,
  PutOptions,
  ReadOptions,
  RedirectOptions,
  SignedURL,
  SignedURLOptions,
  StorageBackend,
  StorageDriver,
  WalkFn,
  WalkOptions,
  WriterOptions,
} from './driver.js';
import { resolveCapabilities, writeConditions, writeMetadata } from './capabilities.js';
import {
  DriverError,
  InvalidOffsetError,
  InvalidParameterError,
  PathNotFoundError,
  StorageDriverError,
  UnsupportedMethodError,
  isTransientError,
} from './errors.js';
import { genericListPage } from './listing.js';
import { ConcurrencyLimiter } from './limiter.js';
import { isValidPath, isWithin, validatePath } from './path.js';
import { untilAborted } from './abort.js';
import { guardedStream, isStreamContent, limitedStream, readAll, toBuffer } from './stream.js';
import { ATTRIBUTES, traced } from './tracing.js';
import { guardWalkFn, walkByListing } from './walk.js';
import { ManagedFileWriter } from './writer.js';

/** Options of the BaseDriver constructor, which every driver passes on. */
export interface BaseDriverOptions {
  /** At most this many backend calls at once (upstream's regulator); unlimited when absent. */
  maxConcurrency?: number;
}

const BASE_BRAND = Symbol.for('@storagedriver/core:base-driver');
/** Stats the generic walk runs at once ahead of the entry it yields (each through the limiter). */
const GENERIC_WALK_STATS_AHEAD = 8;
const DEFAULT_SIGNED_EXPIRY_SECONDS = 900;
const MAX_PAGE_LIMIT = 1000;

/** Carries an error thrown by the caller's walk callback past error shaping, unchanged. */
class CallbackError {
  constructor(readonly error: unknown) {}
}

/**
 * The StorageDriver every driver is: it validates arguments, enforces capabilities, limits concurrency, shapes errors
 * (naming the driver, `retryable`, the caller's abort reason) and traces each operation, then calls the backend.
 * Driver packages extend it with their backend; see StorageDriver for the operations.
 */
export class BaseDriver implements StorageDriver {
  /** The backend this driver calls; calling it directly skips validation and error shaping. */
  readonly backend: StorageBackend;
  readonly capabilities: Capabilities;
  readonly #limiter: ConcurrencyLimiter | undefined;

  constructor(backend: StorageBackend, options: BaseDriverOptions = {}) {
    this.backend = backend;
    this.capabilities = resolveCapabilities(backend);
    this.#limiter = options.maxConcurrency === undefined ? undefined : new ConcurrencyLimiter(options.maxConcurrency);
    Object.defineProperty(this, BASE_BRAND, { value: true });
  }

  /** True for a BaseDriver from any copy of this package. */
  static isBaseDriver(value: unknown): value is StorageDriver {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BASE_BRAND] === true;
  }

  get name(): string {
    return this.backend.name;
  }

  getContent(path: string, options: GetContentOptions = {}): Promise<Buffer> {
    const { offset, length } = options;
    if (offset !== undefined || length !== undefined) {
      // A range is a ranged reader read to its end: the reader's offset and length rules hold.
      return this.#run('GetContent', { [ATTRIBUTES.path]: path, [ATTRIBUTES.offset]: offset ?? 0 }, options.signal, async () => {
        const stream = await this.#openReader(path, offset ?? 0, length, options.signal);
        return readAll(stream, options.signal);
      });
    }
    return this.#run('GetContent', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path);
      return this.backend.getContent(path, options.signal);
    });
  }

  putContent(path: string, content: Content, options: PutOptions = {}): Promise<void> {
    if (isStreamContent(content)) return this.put(path, content, options);
    return this.#run('PutContent', { [ATTRIBUTES.path]: path, [ATTRIBUTES.contentLength]: content.length }, options.signal, () => {
      validatePath(path);
      const extra: BackendPutOptions = { ...writeMetadata(options, this.capabilities, 'putContent'), ...writeConditions(options, this.capabilities, 'putContent') };
      const buffer = toBuffer(content);
      return Object.keys(extra).length === 0 ? this.backend.putContent(path, buffer, options.signal) : this.backend.putContent(path, buffer, options.signal, extra);
    });
  }

  put(path: string, content: Content, options: PutOptions = {}): Promise<void> {
    // Not limited as a whole: the writer's own calls are (a nested slot could deadlock a limit of 1).
    return this.#run(
      'Put',
      { [ATTRIBUTES.path]: path },
      options.signal,
      async () => {
        // Checked before a writer exists, so a refused condition leaves nothing behind.
        const conditions = writeConditions(options, this.capabilities, 'put');
        const writer = await this.writer(path, { ...options, append: false });
        try {
          await writer.write(content, { signal: options.signal });
          await writer.commit({ ...conditions, signal: options.signal });
        } catch (error) {
          await writer.cancel().catch(() => undefined);
          throw error;
        }
      },
      false,
    );
  }

  reader(path: string, offset = 0, options: ReadOptions = {}): Promise<Readable> {
    return this.#run('Reader', { [ATTRIBUTES.path]: path, [ATTRIBUTES.offset]: offset }, options.signal, () =>
      this.#openReader(path, offset, options.length, options.signal),
    );
  }

  async webReader(path: string, offset = 0, options: ReadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return Readable.toWeb(await this.reader(path, offset, options)) as ReadableStream<Uint8Array>;
  }

  async #openReader(path: string, offset: number, length: number | undefined, signal?: AbortSignal): Promise<Readable> {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(path, offset);
    if (length !== undefined && (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0)) {
      throw new InvalidParameterError('length', length, 'a non-negative integer');
    }
    validatePath(path);
    let stream: Readable;
    if (length === undefined) {
      stream = await this.backend.reader(path, offset, signal);
    } else {
      if (this.capabilities.rangedRead) {
        stream = await this.backend.reader(path, offset, signal, length);
      } else {
        // Without a native range the end is checked up front, so the rule fails at open, not mid-stream.
        const info = await this.backend.stat(path, signal);
        if (info.isDir) throw new PathNotFoundError(path);
        if (offset + length > info.size) throw new InvalidOffsetError(path, offset + length);
        stream = await this.backend.reader(path, offset, signal);
      }
      stream = limitedStream(stream, length, () => new InvalidOffsetError(path, offset + length));
    }
    return guardedStream(stream, (error) => this.#shape(error), signal);
  }

  writer(path: string, options: WriterOptions = {}): Promise<FileWriter> {
    const append = options.append ?? false;
    return this.#run('Writer', { [ATTRIBUTES.path]: path, [ATTRIBUTES.append]: append }, options.signal, async () => {
      validatePath(path);
      const metadata = writeMetadata(options, this.capabilities, 'writer');
      const backendWriter = await (Object.keys(metadata).length === 0
        ? this.backend.writer(path, append, options.signal)
        : this.backend.writer(path, append, options.signal, metadata));
      if (options.signal?.aborted) {
        // The caller has had its rejection already: a writer that opened meanwhile is nobody's, and
        // would otherwise leave its staged file or multipart upload behind.
        await backendWriter.cancel().catch(() => undefined);
        throw options.signal.reason;
      }
      return new ManagedFileWriter(
        backendWriter,
        (error, signal) => this.#shape(error, signal),
        (commitOptions) => writeConditions(commitOptions, this.capabilities, 'commit'),
      );
    });
  }

  stat(path: string, options: OperationOptions = {}): Promise<FileInfo> {
    return this.#run('Stat', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path, { allowRoot: true });
      return this.backend.stat(path, options.signal);
    });
  }

  exists(path: string, options: OperationOptions = {}): Promise<Existence> {
    return this.#run('Exists', { [ATTRIBUTES.path]: path }, options.signal, async () => {
      validatePath(path, { allowRoot: true });
      if (this.backend.exists) return this.backend.exists(path, options.signal);
      try {
        return (await this.backend.stat(path, options.signal)).isDir ? 'directory' : 'file';
      } catch (error) {
        if (error instanceof PathNotFoundError) return false;
        throw error;
      }
    });
  }

  listPage(path: string, options: ListPageOptions = {}): Promise<FilePage> {
    return this.#run('ListPage', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path, { allowRoot: true });
      const limit = options.limit ?? MAX_PAGE_LIMIT;
      if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
        throw new InvalidParameterError('limit', limit, `an integer from 1 to ${MAX_PAGE_LIMIT}`);
      }
      const cursor = options.cursor;
      if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) throw new InvalidParameterError('cursor', cursor, "a previous page's cursor");
      const request = { limit, cursor, recursive: options.recursive ?? false };
      if (this.backend.listPage) return this.backend.listPage(path, request, options.signal);
      return genericListPage(this.backend, path, request, options.signal);
    });
  }

  list(path: string, options: OperationOptions = {}): Promise<string[]> {
    return this.#run('List', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path, { allowRoot: true });
      return this.backend.list(path, options.signal);
    });
  }

  move(sourcePath: string, destPath: string, options: OperationOptions = {}): Promise<void> {
    const attributes = { [ATTRIBUTES.sourcePath]: sourcePath, [ATTRIBUTES.destPath]: destPath };
    return this.#run('Move', attributes, options.signal, async () => {
      validatePath(sourcePath);
      validatePath(destPath);
      if (sourcePath !== destPath) return this.backend.move(sourcePath, destPath, options.signal);
      // Onto itself: nothing to do, decided here once (a copy onto itself then a delete of the
      // "source" would destroy the object). A missing path or a directory fails as any move does.
      if ((await this.backend.stat(sourcePath, options.signal)).isDir) throw directoryMoveError(sourcePath);
    });
  }

  copy(sourcePath: string, destPath: string, options: OperationOptions = {}): Promise<void> {
    const attributes = { [ATTRIBUTES.sourcePath]: sourcePath, [ATTRIBUTES.destPath]: destPath };
    return this.#run('Copy', attributes, options.signal, async () => {
      validatePath(sourcePath);
      validatePath(destPath);
      if (!this.capabilities.copy || this.backend.copy === undefined) throw new UnsupportedMethodError('copy');
      if (sourcePath === destPath) {
        if ((await this.backend.stat(sourcePath, options.signal)).isDir) throw directoryCopyError(sourcePath);
        return;
      }
      try {
        await this.backend.copy(sourcePath, destPath, options.signal);
      } catch (error) {
        // A backend copies keys: a directory source looks missing to it. Say what it is.
        if (error instanceof PathNotFoundError && (await this.exists(sourcePath, options)) === 'directory') throw directoryCopyError(sourcePath);
        throw error;
      }
    });
  }

  delete(path: string, options: OperationOptions = {}): Promise<void> {
    return this.#run('Delete', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path);
      return this.backend.delete(path, options.signal);
    });
  }

  redirectURL(path: string, options: RedirectOptions): Promise<string | undefined> {
    return this.#run('RedirectURL', { [ATTRIBUTES.path]: path }, options?.signal, async () => {
      validatePath(path);
      const method = options?.method?.toUpperCase();
      if (!this.capabilities.redirectURL || this.backend.redirectURL === undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
      return this.backend.redirectURL(path, method, options.signal);
    });
  }

  signedURL(path: string, options: SignedURLOptions): Promise<SignedURL> {
    return this.#run('SignedURL', { [ATTRIBUTES.path]: path }, options?.signal, () => {
      validatePath(path);
      const method = options?.method;
      if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') throw new InvalidParameterError('method', method, 'GET, HEAD or PUT');
      if (!this.capabilities.signedURL.includes(method) || this.backend.signedURL === undefined) throw new UnsupportedMethodError(`signedURL ${method}`);
      const expiresIn = options.expiresIn ?? Math.min(DEFAULT_SIGNED_EXPIRY_SECONDS, this.capabilities.signedURLMaxExpiresIn);
      const max = this.capabilities.signedURLMaxExpiresIn;
      if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > max) {
        throw new InvalidParameterError('expiresIn', expiresIn, `an integer number of seconds from 1 to ${max}`);
      }
      const contentType = options.contentType;
      if (contentType !== undefined) {
        if (method !== 'PUT') throw new InvalidParameterError('contentType', contentType, 'no contentType except for PUT');
        writeMetadata({ contentType }, this.capabilities, 'signedURL');
      }
      return this.backend.signedURL(path, { method, expiresIn, contentType }, options.signal);
    });
  }

  walk(path: string, fn: WalkFn, options: WalkOptions = {}): Promise<void> {
    // Not limited as a whole (a walk may run long); the generic walk's list and stat calls are.
    return this.#run(
      'Walk',
      { [ATTRIBUTES.path]: path },
      options.signal,
      async () => {
        validatePath(path, { allowRoot: true });
        const guarded = guardWalkFn(fn, options.signal);
        try {
          if (this.backend.walk) return await this.backend.walk(path, guarded.fn, options.startAfter, options.signal);
          const limited = {
            list: (p: string, signal?: AbortSignal) => this.#limit(() => this.backend.list(p, signal), signal),
            stat: (p: string, signal?: AbortSignal) => this.#limit(() => this.backend.stat(p, signal), signal),
          };
          return await walkByListing(limited, path, guarded.fn, options.startAfter, options.signal, GENERIC_WALK_STATS_AHEAD);
        } catch (error) {
          const thrown = guarded.callbackError();
          if (thrown !== undefined && thrown.error === error) throw new CallbackError(error);
          throw error;
        }
      },
      false,
    );
  }

  async *uploads(path: string, options: OperationOptions = {}): AsyncGenerator<PendingUpload, void, undefined> {
    const { signal } = options;
    const iterator = await this.#run('Uploads', { [ATTRIBUTES.path]: path }, signal, async () => {
      validatePath(path, { allowRoot: true });
      if (!this.capabilities.uploads || this.backend.uploads === undefined) throw new UnsupportedMethodError('uploads');
      return this.backend.uploads(path, signal)[Symbol.asyncIterator]();
    });
    try {
      for (;;) {
        // Each step is shaped like an operation (typed errors, the caller's abort) but not traced.
        let step: IteratorResult<PendingUpload>;
        try {
          signal?.throwIfAborted();
          step = await untilAborted(iterator.next(), signal);
        } catch (error) {
          throw this.#shape(error, signal);
        }
        if (step.done === true) return;
        // A sibling sharing a key prefix (`/a` and `/ab`) is not below `path`, whatever the backend
        // listed; keys outside the path grammar (another tool's uploads) are not the driver's.
        if (isValidPath(step.value.path) && isWithin(step.value.path, path)) yield step.value;
      }
    } finally {
      await iterator.return?.()?.catch(() => undefined);
    }
  }

  abortUpload(path: string, id: string, options: OperationOptions = {}): Promise<void> {
    return this.#run('AbortUpload', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path);
      if (typeof id !== 'string' || id === '') throw new InvalidParameterError('id', id, 'the id of a pending upload, from uploads()');
      if (!this.capabilities.uploads || this.backend.abortUpload === undefined) throw new UnsupportedMethodError('abortUpload');
      return this.backend.abortUpload(path, id, options.signal);
    });
  }

  async #run<T>(
    operation: string,
    attributes: Record<string, string | number | boolean>,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    limited = true,
  ): Promise<T> {
    attributes[ATTRIBUTES.driverName] = this.backend.name;
    return traced(operation, attributes, async () => {
      try {
        signal?.throwIfAborted();
        return await untilAborted(limited ? this.#limit(fn, signal) : fn(), signal);
      } catch (error) {
        throw this.#shape(error, signal);
      }
    });
  }

  #limit<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#limiter ? this.#limiter.run(fn, signal) : fn();
  }

  /**
   * The caller's abort rejects with the signal's own reason; the caller's own errors pass through;
   * typed errors keep their class and gain the driver name; anything else (an SDK error, a reset
   * socket, whatever it is named) becomes a DriverError with it as `cause`, retryable when transient.
   */
  #shape(error: unknown, signal?: AbortSignal): unknown {
    if (error instanceof CallbackError) return error.error;
    if (signal?.aborted) return signal.reason;
    if (error instanceof StorageDriverError) {
      if (error.driverName === '') error.driverName = this.backend.name;
      return error;
    }
    return new DriverError(describe(error), { driverName: this.backend.name, cause: error, retryable: isTransientError(error) });
  }
}

/** A message for a foreign error that is never empty (some SDK errors carry none). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  const fields = error as { code?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = fields.$metadata?.httpStatusCode ?? fields.statusCode;
  return [error.name, fields.code, status === undefined ? undefined : `HTTP ${String(status)}`].filter((part) => part !== undefined && part !== '').join(', ');
}

/** The DriverError `move` throws when the source at `path` is a directory, for backends that detect it themselves. */
export function directoryMoveError(path: string): DriverError {
  return new DriverError(`cannot move ${path}: it is a directory (move moves one file)`, { path });
}

function directoryCopyError(path: string): DriverError {
  return new DriverError(`cannot copy ${path}: it is a directory (copy copies one file)`, { path });
}
