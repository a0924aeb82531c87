/**
 * The StorageDriver interface (what users call) and StorageBackend (what driver authors implement).
 *
 * Users get a StorageDriver from `create(name, parameters)` or a driver package's constructor; it is
 * always a BaseDriver, which validates arguments, names the driver on errors, limits concurrency,
 * traces operations and enforces the writer and walk state machines, and then calls the backend.
 * A backend therefore receives only valid arguments and never re-checks them.
 */
import type { Readable, Writable } from 'node:stream';

export interface FileInfo {
  /** The path asked about (or listed), not normalised. */
  readonly path: string;
  /** Bytes; 0 for a directory. */
  readonly size: number;
  /** Last modification; backends without one report the creation time. Unspecified for directories. */
  readonly modTime: Date;
  readonly isDir: boolean;
}

export interface OperationOptions {
  /** Aborting rejects the operation promptly with the signal's reason and leaves no partial object visible. */
  signal?: AbortSignal;
}

export interface WriterOptions extends OperationOptions {
  /**
   * Continue the newest uncommitted upload at this path (from any driver instance or process), or
   * a committed zero-length object. Without it the writer starts a new upload.
   */
  append?: boolean;
}

export interface RedirectOptions extends OperationOptions {
  /** The HTTP method the URL will be used with: `GET` or `HEAD`. Others get `undefined`. */
  method: string;
}

export interface WalkOptions extends OperationOptions {
  /**
   * Walk only entries after this path in the driver's walk order. A hint: drivers use it to start
   * listing late, and never yield an entry at or before it.
   */
  startAfter?: string;
}

/** What a walk callback answers: nothing to go on, `skipDir` to not enter this directory, `stop` to end the walk. */
export type WalkDecision = void | undefined | 'skipDir' | 'stop';
export type WalkFn = (info: FileInfo) => WalkDecision | Promise<WalkDecision>;

export interface StorageDriver {
  readonly name: string;
  /** The whole object. Use `reader` for objects that may be large. */
  getContent(path: string, options?: OperationOptions): Promise<Buffer>;
  /** Replaces the object atomically with `content`. */
  putContent(path: string, content: Uint8Array | string, options?: OperationOptions): Promise<void>;
  /** A stream of the object from `offset`; `offset` equal to the size gives an empty stream. */
  reader(path: string, offset?: number, options?: OperationOptions): Promise<Readable>;
  /** A resumable writer; its content becomes readable at `commit`. */
  writer(path: string, options?: WriterOptions): Promise<FileWriter>;
  stat(path: string, options?: OperationOptions): Promise<FileInfo>;
  /** Absolute paths of the direct children of a directory. */
  list(path: string, options?: OperationOptions): Promise<string[]>;
  /** Moves one object, replacing `destPath`. */
  move(sourcePath: string, destPath: string, options?: OperationOptions): Promise<void>;
  /** Deletes the object at `path` and everything below `path/`. */
  delete(path: string, options?: OperationOptions): Promise<void>;
  /** A URL a plain HTTP client can use to GET or HEAD the object, or `undefined` where the backend cannot sign one. */
  redirectURL(path: string, options: RedirectOptions): Promise<string | undefined>;
  /** Calls `fn` for every file and directory strictly below `path`, a directory before its contents. */
  walk(path: string, fn: WalkFn, options?: WalkOptions): Promise<void>;
}

export interface FileWriter {
  /** Every byte this writer accepted, plus what an appended upload already held. */
  readonly size: number;
  /** Accepts `chunk`; the writer owns it afterwards. Resolves when the writer is ready for more. */
  write(chunk: Uint8Array | string, options?: OperationOptions): Promise<void>;
  /** Persists what was written so a later `writer(path, {append: true})` can continue. No-op once finished. */
  close(): Promise<void>;
  /** Makes everything written readable at the path, atomically. */
  commit(options?: OperationOptions): Promise<void>;
  /** Discards the upload, including any state the backend keeps for it. */
  cancel(options?: OperationOptions): Promise<void>;
  /**
   * A Node Writable feeding this writer, for `stream.pipeline(source, writer.writable())`. Finishing
   * the stream waits for the writes it carried; commit (or close) is still the caller's call.
   */
  writable(): Writable;
}

/** The writer a backend returns. BaseDriver wraps it in the state machine; the backend only does I/O. */
export interface BackendWriter {
  readonly size: number;
  write(chunk: Buffer, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
  commit(signal?: AbortSignal): Promise<void>;
  cancel(signal?: AbortSignal): Promise<void>;
}

/**
 * What a driver implements. Arguments arrive validated (paths match the grammar, offsets are
 * non-negative integers, the signal is not yet aborted). Throw PathNotFoundError / InvalidOffsetError
 * for those cases; any other error is wrapped as a DriverError with it as `cause`.
 *
 * `walk` and `redirectURL` are optional: without `walk` the base runs the generic list + stat walk;
 * without `redirectURL` the driver never redirects.
 */
export interface StorageBackend {
  readonly name: string;
  getContent(path: string, signal?: AbortSignal): Promise<Buffer>;
  putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void>;
  reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable>;
  writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter>;
  stat(path: string, signal?: AbortSignal): Promise<FileInfo>;
  list(path: string, signal?: AbortSignal): Promise<string[]>;
  move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void>;
  delete(path: string, signal?: AbortSignal): Promise<void>;
  redirectURL?(path: string, method: string, signal?: AbortSignal): Promise<string | undefined>;
  /**
   * Native walk. The base guarantees the contract on top of it: after `stop` nothing more reaches
   * the caller, entries below a skipped directory are dropped. A backend should still honour both
   * (and `startAfter`) to avoid needless requests.
   */
  walk?(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void>;
}
