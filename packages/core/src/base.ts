/**
 * BaseDriver: the wrapper every driver goes through, whether made by `create()` or constructed
 * directly. It validates arguments before the backend runs, names the driver on every error, wraps
 * unknown errors with their `cause`, limits concurrency (upstream's regulator) when the driver asks
 * for it, traces each operation, and enforces the writer and walk state machines.
 */
import type { Readable } from 'node:stream';
import { addAbortSignal } from 'node:stream';

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
import { DriverError, InvalidOffsetError, StorageDriverError, isAbortError } from './errors.js';
import { ConcurrencyLimiter } from './limiter.js';
import { validatePath } from './path.js';
import { toBuffer } from './stream.js';
import { ATTRIBUTES, traced } from './tracing.js';
import { guardWalkFn, walkByListing } from './walk.js';
import { ManagedFileWriter } from './writer.js';

export interface BaseDriverOptions {
  /** At most this many backend calls at once (upstream's regulator); unlimited when absent. */
  maxConcurrency?: number;
}

const BASE_BRAND = Symbol.for('@storagedriver/core:base-driver');

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
      return options.signal ? addAbortSignal(options.signal, stream) : stream;
    });
  }

  writer(path: string, options: WriterOptions = {}): Promise<FileWriter> {
    const append = options.append ?? false;
    return this.#run('Writer', { [ATTRIBUTES.path]: path, [ATTRIBUTES.append]: append }, options.signal, async () => {
      validatePath(path);
      const backendWriter = await this.backend.writer(path, append, options.signal);
      return new ManagedFileWriter(backendWriter, (error) => this.#shape(error));
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
    return this.#run('Move', attributes, options.signal, () => {
      validatePath(sourcePath);
      validatePath(destPath);
      return this.backend.move(sourcePath, destPath, options.signal);
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
          return await walkByListing(limited, path, guarded.fn, options.startAfter, options.signal);
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
        return await (limited ? this.#limit(fn, signal) : fn());
      } catch (error) {
        throw this.#shape(error);
      }
    });
  }

  #limit<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#limiter ? this.#limiter.run(fn, signal) : fn();
  }

  /** Typed errors keep their class and gain the driver name; aborts and the caller's own errors pass through; the rest is wrapped. */
  #shape(error: unknown): unknown {
    if (error instanceof CallbackError) return error.error;
    if (error instanceof StorageDriverError) {
      if (error.driverName === '') error.driverName = this.backend.name;
      return error;
    }
    if (isAbortError(error)) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new DriverError(detail, { driverName: this.backend.name, cause: error });
  }
}
