/**
 * The StorageDriver interface (what users call) and StorageBackend (what driver authors implement).
 *
 * Users get a StorageDriver from `create(name, parameters)` or a driver package's constructor; it is
 * always a BaseDriver, which validates arguments, names the driver on errors, limits concurrency,
 * traces operations and enforces the writer and walk state machines, and then calls the backend.
 * A backend therefore receives only valid arguments and never re-checks them.
 */
import type { Readable, Writable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/** The standard HTTP headers an object keeps, each a printable-ASCII string. */
export interface ContentHeaders {
  /** The media type, e.g. `application/json`; served as `Content-Type`. */
  contentType?: string;
  /** Served as `Cache-Control`, e.g. `max-age=3600`. */
  cacheControl?: string;
  /** Served as `Content-Disposition`, e.g. `attachment; filename="a.txt"`. */
  contentDisposition?: string;
  /** Served as `Content-Encoding` (e.g. `gzip`); the stored bytes are kept as written, never decoded. */
  contentEncoding?: string;
}

/**
 * What a write may store with the object besides its bytes. User `metadata` keys are lowercase
 * letters, digits and `-`, starting with a letter (the names every backend keeps as given); values
 * are printable ASCII without leading or trailing spaces; at most 2 KiB in all (S3's limit).
 */
export interface WriteMetadata extends ContentHeaders {
  /** User metadata, key to value (keys as given, see above). */
  metadata?: Record<string, string>;
}

/**
 * Conditions checked atomically by the service when the content is published: `ifNoneMatch: '*'`
 * creates only when nothing is at the path; `ifMatch` replaces only the object whose `etag` (from
 * `stat` or a listing) is this one. Otherwise the write fails with PreconditionFailedError. A
 * driver that cannot check a condition atomically refuses it with UnsupportedMethodError.
 */
export interface WriteConditions {
  /** Only `'*'`: write only when nothing is at the path. */
  ifNoneMatch?: '*';
  /** Write only when the object's current `etag` is this one (verbatim, quotes included). */
  ifMatch?: string;
}

/**
 * What `stat`, `listPage` and `walk` tell about a file or directory. Optional fields are absent when the backend does not know them.
 */
export interface FileInfo extends ContentHeaders {
  /** The path asked about (or listed), not normalised. */
  readonly path: string;
  /** Bytes; 0 for a directory. */
  readonly size: number;
  /** Last modification; backends without one report the creation time. Unspecified for directories. */
  readonly modTime: Date;
  /** True for a directory, false for a file. */
  readonly isDir: boolean;
  /** The entity tag, verbatim as the backend gives it (quotes included): what `ifMatch` takes. */
  readonly etag?: string;
  /** The backend's version of this content (a GCS generation, an S3 or Azure version id). */
  readonly version?: string;
  /** Checksums of the whole content the backend keeps, base64 as the services send them. */
  readonly checksums?: {
    /** MD5 of the content. */
    readonly md5?: string;
    /** CRC32C (Castagnoli) of the content. */
    readonly crc32c?: string;
  };
  /** User metadata stored with the object, keys as written. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What putContent, put and writers accept: bytes, a string (UTF-8), a Node Readable or a WHATWG ReadableStream. */
export type Content = Uint8Array | string | Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** Options every operation takes. */
export interface OperationOptions {
  /** Aborting rejects the operation promptly with the signal's reason and leaves no partial object visible. */
  signal?: AbortSignal;
}

/** Options of `putContent` and `put`: metadata to store and conditions to check. */
export interface PutOptions extends OperationOptions, WriteMetadata, WriteConditions {}

/** Options of `getContent`. */
export interface GetContentOptions extends OperationOptions {
  /** Start here instead of at 0 (the reader's offset rules apply). */
  offset?: number;
  /** Only this many bytes; `offset + length` beyond the size is InvalidOffset, never a short read. */
  length?: number;
}

/** Options of `reader` and `webReader`. */
export interface ReadOptions extends OperationOptions {
  /** Only this many bytes from the offset; `offset + length` beyond the size is InvalidOffset. */
  length?: number;
}

/** Options of `FileWriter.commit`: the conditions the commit checks. */
export interface CommitOptions extends OperationOptions, WriteConditions {}

/** Options of `writer`: whether to continue an upload, and the metadata a new upload starts with. */
export interface WriterOptions extends OperationOptions, WriteMetadata {
  /**
   * The metadata options are set when an upload starts: a writer that continues an upload keeps
   * the metadata that upload started with, and one that continues committed content keeps the
   * object's, ignoring the options' (an empty object is a fresh start, with the options').
   *
   * Continue the newest uncommitted upload at this path (from any driver instance or process), or
   * a committed zero-length object. Without it the writer starts a new upload.
   */
  append?: boolean;
}

/** Options of `redirectURL`. */
export interface RedirectOptions extends OperationOptions {
  /** The HTTP method the URL will be used with: `GET` or `HEAD`. Others get `undefined`. */
  method: string;
}

/** The HTTP methods `signedURL` can sign. */
export type SignedMethod = 'GET' | 'HEAD' | 'PUT';

/** Options of `signedURL`. */
export interface SignedURLOptions extends OperationOptions {
  /** The method the URL is for; refused with UnsupportedMethodError unless `capabilities.signedURL` lists it. */
  method: SignedMethod;
  /** Seconds the URL stays valid: an integer from 1 to the driver's `signedURLMaxExpiresIn`. Default 900. */
  expiresIn?: number;
  /** PUT only: the content type the upload must declare (sent back in `headers`). */
  contentType?: string;
}

/** A signed URL: send `method` to `url` with `headers` before `expiresAt`. */
export interface SignedURL {
  /** The absolute URL, signature included. */
  readonly url: string;
  /** The only method the URL works with. */
  readonly method: SignedMethod;
  /** Headers the client must send with the request, exactly as given. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the service stops accepting the URL. */
  readonly expiresAt: Date;
}

/** Options of `listPage`. */
export interface ListPageOptions extends OperationOptions {
  /** At most this many entries (1–1000, default 1000). A page may hold fewer and still not be the last. */
  limit?: number;
  /** The previous page's `cursor`, from this or any other driver instance on the same storage. */
  cursor?: string;
  /** Every file below `path` (no directory entries) instead of the direct children. */
  recursive?: boolean;
}

/** One page of `listPage`. */
export interface FilePage {
  /** The entries of this page, in the driver's walk order. */
  readonly entries: FileInfo[];
  /** Where the next page starts; `undefined` on the last page. Opaque. */
  readonly cursor: string | undefined;
}

/**
 * A resumable upload a driver holds for a path and has not committed: what `writer(path, {append:
 * true})` would continue, kept until it is committed, cancelled or aborted. An upload abandoned by a
 * crashed or interrupted process stays until someone aborts it (on S3 it is billed storage).
 */
export interface PendingUpload {
  /** The path the upload commits to. */
  readonly path: string;
  /** Tells this upload from others at the same path; opaque, for `abortUpload`. */
  readonly id: string;
  /** When the upload started, by the backend's clock where it keeps one. */
  readonly startedAt: Date;
  /** The bytes it holds so far: what a writer continuing it starts from. */
  readonly size: number;
}

/** Options of `purgeUploads`. */
export interface PurgeUploadsOptions extends OperationOptions {
  /** Only uploads at or below this path (default `/`). */
  path?: string;
  /** Only uploads started before this time. */
  olderThan: Date;
  /** List what would be aborted, abort nothing. */
  dryRun?: boolean;
}

/** What `exists` answers. */
export type Existence = 'file' | 'directory' | false;

/** A kind of metadata a driver can store: one of the content headers, or user `metadata`. */
export type MetadataKind = keyof ContentHeaders | 'metadata';

/**
 * What a driver does natively, as data. Calls outside it are refused with UnsupportedMethodError
 * (never emulated racily or dropped silently); the conformance suite proves every claim.
 */
export interface Capabilities {
  /** `redirectURL` gives GET and HEAD URLs. */
  readonly redirectURL: boolean;
  /** The methods `signedURL` signs. */
  readonly signedURL: readonly SignedMethod[];
  /** The longest `expiresIn` the service accepts, in seconds (0 without signed URLs). */
  readonly signedURLMaxExpiresIn: number;
  /** `ifNoneMatch: '*'` on putContent and commit, checked atomically. */
  readonly writeIfNoneMatch: boolean;
  /** `ifMatch` on putContent and commit, checked atomically. */
  readonly writeIfMatch: boolean;
  /** The metadata a write can store and `stat` returns. */
  readonly metadata: readonly MetadataKind[];
  /** `stat` and listings give an `etag`. */
  readonly etag: boolean;
  /** Server-side `copy`. */
  readonly copy: boolean;
  /** A writer with append continues committed non-empty content (others refuse it with an error). */
  readonly appendToCommitted: boolean;
  /** A ranged read is one ranged request (otherwise the driver reads from the offset and stops). */
  readonly rangedRead: boolean;
  /** `listPage` fills entries from the listing itself (otherwise it stats each entry). */
  readonly listPage: boolean;
  /** `uploads` lists the driver's pending uploads and `abortUpload` removes one. */
  readonly uploads: boolean;
}

/** Options of `walk`. */
export interface WalkOptions extends OperationOptions {
  /**
   * Walk only entries after this path in the driver's walk order. A hint: drivers use it to start
   * listing late, and never yield an entry at or before it.
   */
  startAfter?: string;
}

/** What a walk callback answers: nothing to go on, `skipDir` to not enter this directory, `stop` to end the walk. */
export type WalkDecision = void | undefined | 'skipDir' | 'stop';
/** The callback `walk` calls for each entry; the walk waits for a returned promise before going on. */
export type WalkFn = (info: FileInfo) => WalkDecision | Promise<WalkDecision>;

/** What users call: one interface for every backend. Paths are absolute (`/a/b`); errors are StorageDriverError subclasses. */
export interface StorageDriver {
  /** The driver's name, as registered (`s3`, `filesystem`, …); errors carry it as `driverName`. */
  readonly name: string;
  /** What this driver does natively; calls outside it throw UnsupportedMethodError. */
  readonly capabilities: Capabilities;
  /** The whole object, or the range `offset`/`length` of it. Use `reader` for objects that may be large. */
  getContent(path: string, options?: GetContentOptions): Promise<Buffer>;
  /** Replaces the object atomically with `content` (a stream goes through a writer, in bounded memory). */
  putContent(path: string, content: Content, options?: PutOptions): Promise<void>;
  /** `putContent` for any content, always through a writer: one call for a stream of any size. */
  put(path: string, content: Content, options?: PutOptions): Promise<void>;
  /** A stream of the object from `offset`; `offset` equal to the size gives an empty stream. */
  reader(path: string, offset?: number, options?: ReadOptions): Promise<Readable>;
  /** `reader` as a WHATWG ReadableStream, for fetch-based code. */
  webReader(path: string, offset?: number, options?: ReadOptions): Promise<ReadableStream<Uint8Array>>;
  /** A resumable writer; its content becomes readable at `commit`. */
  writer(path: string, options?: WriterOptions): Promise<FileWriter>;
  /** What is at `path`, a file or a directory; PathNotFoundError when nothing is. */
  stat(path: string, options?: OperationOptions): Promise<FileInfo>;
  /** Whether a file or a directory is at `path`, in one request where the backend allows. */
  exists(path: string, options?: OperationOptions): Promise<Existence>;
  /** Absolute paths of the direct children of a directory. */
  list(path: string, options?: OperationOptions): Promise<string[]>;
  /** One page of a listing, entries with what the listing tells (size, time, etag). */
  listPage(path: string, options?: ListPageOptions): Promise<FilePage>;
  /** Moves one object, replacing `destPath`. */
  move(sourcePath: string, destPath: string, options?: OperationOptions): Promise<void>;
  /** Copies one object server-side with its metadata, replacing `destPath`; the errors of `move`. */
  copy(sourcePath: string, destPath: string, options?: OperationOptions): Promise<void>;
  /** Deletes the object at `path` and everything below `path/`. */
  delete(path: string, options?: OperationOptions): Promise<void>;
  /** A URL a plain HTTP client can use to GET or HEAD the object, or `undefined` where the backend cannot sign one. */
  redirectURL(path: string, options: RedirectOptions): Promise<string | undefined>;
  /** A URL a browser or plain HTTP client uses for one GET, HEAD or PUT, with the headers it must send. */
  signedURL(path: string, options: SignedURLOptions): Promise<SignedURL>;
  /** Calls `fn` for every file and directory strictly below `path`, a directory before its contents. */
  walk(path: string, fn: WalkFn, options?: WalkOptions): Promise<void>;
  /**
   * The pending uploads for `path` and for every path below `path/`, in no particular order (not
   * those of a sibling that merely starts with the same characters). Uploads started or ended during
   * the iteration may or may not appear.
   */
  uploads(path: string, options?: OperationOptions): AsyncIterable<PendingUpload>;
  /**
   * Removes the pending upload `id` of `path` and everything the backend keeps for it; a writer still
   * on it can no longer commit it. Succeeds when the upload is already gone. Committed content is
   * never touched.
   */
  abortUpload(path: string, id: string, options?: OperationOptions): Promise<void>;
}

/** A writer from `StorageDriver.writer`: write, then `commit` to publish, `close` to resume later, or `cancel`. */
export interface FileWriter {
  /** Every byte this writer accepted, plus what an appended upload already held. */
  readonly size: number;
  /**
   * Accepts `chunk` (the writer owns it afterwards), or every chunk of a stream in order. Resolves
   * when the writer is ready for more.
   */
  write(chunk: Content, options?: OperationOptions): Promise<void>;
  /** Persists what was written so a later `writer(path, {append: true})` can continue. No-op once finished. */
  close(): Promise<void>;
  /** Makes everything written readable at the path, atomically, when the conditions hold. */
  commit(options?: CommitOptions): Promise<void>;
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
  /** Bytes written so far, including what a continued upload already held. */
  readonly size: number;
  /** Appends `chunk` to the upload. */
  write(chunk: Buffer, signal?: AbortSignal): Promise<void>;
  /** Persists the upload so a later writer with `append` continues it. */
  close(): Promise<void>;
  /** With conditions only when the backend claims them; a commit tried again gets the same ones. */
  commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void>;
  /** Discards the upload and any state kept for it. */
  cancel(signal?: AbortSignal): Promise<void>;
}

/** What a backend's `putContent` gets besides the bytes: only what its capabilities claim. */
export interface BackendPutOptions extends WriteMetadata, WriteConditions {}

/**
 * What a driver implements. Arguments arrive validated (paths match the grammar, offsets are
 * non-negative integers, the signal is not yet aborted). Throw PathNotFoundError / InvalidOffsetError
 * for those cases; any other error is wrapped as a DriverError with it as `cause`.
 *
 * `walk` and `redirectURL` are optional: without `walk` the base runs the generic list + stat walk;
 * without `redirectURL` the driver never redirects. The base answers `exists` and `listPage` from
 * `stat` and `list` when the backend has no native form; `copy` and `signedURL` exist only where
 * the backend implements them and claims them in `capabilities`. Metadata and conditions reach the
 * backend only when its capabilities claim them.
 */
export interface StorageBackend {
  /** The driver's name, used on errors and traces. */
  readonly name: string;
  /** What the backend does natively; absent claims are false. */
  readonly capabilities?: Partial<Capabilities>;
  /** The whole object; PathNotFoundError when there is none. */
  getContent(path: string, signal?: AbortSignal): Promise<Buffer>;
  /** Replaces the object atomically; `options` is passed only when something in it is set. */
  putContent(path: string, content: Buffer, signal?: AbortSignal, options?: BackendPutOptions): Promise<void>;
  /**
   * With `length` (only when the backend claims `rangedRead`): one ranged request for that many
   * bytes, and InvalidOffsetError when `offset + length` passes the end. The base still stops the
   * stream at `length` and fails one that ends short.
   */
  reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable>;
  /** `metadata` is what a new upload starts with; a continued upload keeps its own. */
  writer(path: string, append: boolean, signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter>;
  /** What is at `path`; PathNotFoundError when nothing is. */
  stat(path: string, signal?: AbortSignal): Promise<FileInfo>;
  /** Native `exists`; without it the base answers from `stat`. */
  exists?(path: string, signal?: AbortSignal): Promise<Existence>;
  /** Native `listPage`, with `limit` and `recursive` resolved; without it the base lists and stats. */
  listPage?(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage>;
  /** Server-side copy keeping metadata; only called when `copy` is claimed. PathNotFoundError for a missing source. */
  copy?(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void>;
  /** Signs a URL; only called for a method `capabilities.signedURL` claims, with `expiresIn` validated (seconds). */
  signedURL?(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }, signal?: AbortSignal): Promise<SignedURL>;
  /** Absolute paths of the direct children; PathNotFoundError when `path` is not a directory. */
  list(path: string, signal?: AbortSignal): Promise<string[]>;
  /** Moves one object, replacing `destPath`; never called with `sourcePath === destPath`. */
  move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void>;
  /** Deletes the object at `path` and everything below `path/`; PathNotFoundError when there is nothing. */
  delete(path: string, signal?: AbortSignal): Promise<void>;
  /** A URL for `method` (`GET` or `HEAD`), or `undefined` when the backend does not redirect it. */
  redirectURL?(path: string, method: string, signal?: AbortSignal): Promise<string | undefined>;
  /**
   * Native walk. The base guarantees the contract on top of it: after `stop` nothing more reaches
   * the caller, entries below a skipped directory are dropped. A backend should still honour both
   * (and `startAfter`) to avoid needless requests.
   */
  walk?(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void>;
  /** `path` may be the root; the base drops entries outside `path` or outside the path grammar. */
  uploads?(path: string, signal?: AbortSignal): AsyncIterable<PendingUpload>;
  /** Resolves when the upload is gone, also when it was gone already. */
  abortUpload?(path: string, id: string, signal?: AbortSignal): Promise<void>;
}
