/**
 * BaseDriver: the wrapper every driver goes through, whether made by `create()` or constructed
 * directly. It validates arguments before the backend runs, names the driver on every error, wraps
 * unknown errors with their `cause`, limits concurrency (upstream's regulator) when the driver asks
 * for it, traces each operation, and enforces the writer and walk state machines.
 */
import type { Readable } from 'node:stream';

import type {
  FileInfo,
  FileWriter,
  OperationOptions,
  RedirectOptions,
  StorageBackend,
  StorageDriver,
  WalkFn,
  WalkOptions,
  WriterOptions,
} from './driver.js';
import { DriverError, InvalidOffsetError, StorageDriverError, isTransientError } from './errors.js';
import { ConcurrencyLimiter } from './limiter.js';
import { validatePath } from './path.js';
import { untilAborted } from './abort.js';
import { guardedStream, toBuffer } from './stream.js';
import { ATTRIBUTES, traced } from './tracing.js';
import { guardWalkFn, walkByListing } from './walk.js';
import { ManagedFileWriter } from './writer.js';

export interface BaseDriverOptions {
  /** At most this many backend calls at once (upstream's regulator); unlimited when absent. */
  maxConcurrency?: number;
}

const BASE_BRAND = Symbol.for('@storagedriver/core:base-driver');
/** Stats the generic walk runs at once ahead of the entry it yields (each through the limiter). */
const GENERIC_WALK_STATS_AHEAD = 8;

/** Carries an error thrown by the caller's walk callback past error shaping, unchanged. */
class CallbackError {
  constructor(readonly error: unknown) {}
}

export class BaseDriver implements StorageDriver {
  readonly backend: StorageBackend;
  readonly #limiter: ConcurrencyLimiter | undefined;

  constructor(backend: StorageBackend, options: BaseDriverOptions = {}) {
    this.backend = backend;
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

  getContent(path: string, options: OperationOptions = {}): Promise<Buffer> {
    return this.#run('GetContent', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path);
      return this.backend.getContent(path, options.signal);
    });
  }

  putContent(path: string, content: Uint8Array | string, options: OperationOptions = {}): Promise<void> {
    return this.#run('PutContent', { [ATTRIBUTES.path]: path, [ATTRIBUTES.contentLength]: content.length }, options.signal, () => {
      validatePath(path);
      return this.backend.putContent(path, toBuffer(content), options.signal);
    });
  }

  reader(path: string, offset = 0, options: OperationOptions = {}): Promise<Readable> {
    return this.#run('Reader', { [ATTRIBUTES.path]: path, [ATTRIBUTES.offset]: offset }, options.signal, async () => {
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(path, offset);
      validatePath(path);
      const stream = await this.backend.reader(path, offset, options.signal);
      return guardedStream(stream, (error) => this.#shape(error), options.signal);
    });
  }

  writer(path: string, options: WriterOptions = {}): Promise<FileWriter> {
    const append = options.append ?? false;
    return this.#run('Writer', { [ATTRIBUTES.path]: path, [ATTRIBUTES.append]: append }, options.signal, async () => {
      validatePath(path);
      const backendWriter = await this.backend.writer(path, append, options.signal);
      return new ManagedFileWriter(backendWriter, (error, signal) => this.#shape(error, signal));
    });
  }

  stat(path: string, options: OperationOptions = {}): Promise<FileInfo> {
    return this.#run('Stat', { [ATTRIBUTES.path]: path }, options.signal, () => {
      validatePath(path, { allowRoot: true });
      return this.backend.stat(path, options.signal);
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
      if (this.backend.redirectURL === undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
      return this.backend.redirectURL(path, method, options.signal);
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

export function directoryMoveError(path: string): DriverError {
  return new DriverError(`cannot move ${path}: it is a directory (move moves one file)`, { path });
}
