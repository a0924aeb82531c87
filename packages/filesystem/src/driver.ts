import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';

import {
  type BackendPutOptions,
  type BackendWriter,
  BaseDriver,
  type Capabilities,
  DriverError,
  directoryMoveError,
  type Existence,
  type FileInfo,
  InvalidOffsetError,
  InvalidParameterError,
  METADATA_KINDS,
  PathNotFoundError,
  type PendingUpload,
  PreconditionFailedError,
  type StorageBackend,
  type WalkFn,
  type WriteConditions,
  type WriteMetadata,
  joinPath,
} from '@storagedriver/core';

import { exists, makeDirectory, syncDirectories, syncRoot } from './durability.js';
import { errorCode, isMissing } from './fs-errors.js';
import { isObjectName, isUploadName, newTempFile, newUploadName, normalizeRoot, resolveInRoot, uploadDir, uploadRecordFile } from './layout.js';
import { Sidecars, identityAt, identityOf, removeFile, seal, writeNewFile } from './metadata.js';
import { checkFilesystemOptions } from './params.js';
import { type UploadRecord, pendingUploads, readUploadRecord } from './uploads.js';
import { entryOf, walkTree } from './walk.js';

/** The filesystem driver's options (given to `new FilesystemDriver`; `parseFilesystemParameters` makes them from upstream's). */
export interface FilesystemOptions {
  /** Where objects are stored. Created on first write. Default `/var/lib/registry` (upstream's). */
  rootDirectory?: string;
  /** At most this many filesystem operations at once (upstream's `maxthreads`, at least 25). Default 100. */
  maxThreads?: number;
}

/** The `rootDirectory` when none is given (upstream's). */
export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
/** The `maxThreads` when none is given (upstream's). */
export const DEFAULT_MAX_THREADS = 100;
export const MIN_MAX_THREADS = 25;
/** Stats a walk keeps in flight ahead of the entry it is yielding, per directory (never more than `maxThreads`). */
const WALK_STATS_AHEAD = 32;
/** Copies tried again when the source is replaced while being copied. */
const COPY_ATTEMPTS = 3;
/** Opens an upload to continue it, failing (ENOENT) rather than creating it again when it was committed, cancelled or aborted meanwhile. */
const APPEND_EXISTING = constants.O_WRONLY | constants.O_APPEND;

/**
 * Create-only writes are a link(2), which fails when anything is at the path. Replacing only a
 * given etag is not claimed: no filesystem call compares and renames at once, and a lock that a
 * crash could leave behind would block the path for good.
 */
const CAPABILITIES: Partial<Capabilities> = {
  writeIfNoneMatch: true,
  metadata: METADATA_KINDS,
  etag: true,
  copy: true,
  appendToCommitted: true,
  rangedRead: true,
  uploads: true,
};

class FilesystemBackend implements StorageBackend {
  readonly name = 'filesystem';
  readonly capabilities = CAPABILITIES;
  readonly root: string;
  readonly sidecars: Sidecars;
  readonly #walkStatsAhead: number;

  constructor(rootDirectory: string, maxThreads: number) {
    this.root = normalizeRoot(rootDirectory);
    this.sidecars = new Sidecars(this.root);
    this.#walkStatsAhead = Math.min(WALK_STATS_AHEAD, maxThreads);
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await readFile(this.#full(path), { signal });
    } catch (error) {
      throw notFoundOr(error, path, ['EISDIR']);
    }
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    const { ifNoneMatch, ifMatch: _notClaimed, ...metadata } = options;
    const createOnly = ifNoneMatch === '*';
    const temp = newTempFile(this.root);
    // What the rename will replace matters only for its sidecar. When there may be one it is read
    // while the file is written and made durable, not after: a path lookup goes to libuv's threads,
    // where it would queue behind other writes' fsyncs.
    const replacedRead = createOnly || !this.sidecars.mayExist() ? undefined : identityAt(this.#full(path));
    replacedRead?.catch(() => undefined);
    const handle = await this.#stage(temp, () => open(temp, 'wx'));
    try {
      await handle.writeFile(content, { signal });
      const [identity, replaced] = await Promise.all([seal(handle), replacedRead]);
      // The file is durable: it is closed while it is published (renaming an open file is fine), one wait fewer.
      const closed = handle.close();
      try {
        signal?.throwIfAborted();
        await this.publish(temp, path, identity, metadata, createOnly, { replaced });
      } finally {
        await closed;
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Makes the sealed file `from` (identity `identity`) the content at `path` with `metadata`: the
   * sidecar first (durable, invisible until its content arrives), then the content, atomically —
   * a rename, or for a create-only write a link(2), which fails with EEXIST when anything is at
   * the path — then the replaced content's sidecar is removed. Recognises a file an earlier try
   * already placed (a commit retried after its answer was lost) and completes that try.
   * `known.replaced`: the identity of what is at `path`, when the caller has already read it.
   */
  async publish(from: string, path: string, identity: string, metadata: WriteMetadata, createOnly: boolean, known?: { replaced: string | undefined }): Promise<void> {
    const target = this.#full(path);
    const hasMetadata = Object.keys(metadata).length > 0;
    if (hasMetadata) await this.sidecars.write(path, identity, metadata);
    const replaced = createOnly ? undefined : known !== undefined ? known.replaced : this.sidecars.mayExist() ? await identityAt(target) : undefined;
    try {
      await this.moveIntoPlace(from, target, path, createOnly);
    } catch (error) {
      if ((await identityAt(target)) !== identity) {
        // Invisible without its content; a failure to remove it would only leave an orphan.
        if (hasMetadata) await this.sidecars.remove(path, identity).catch(() => undefined);
        throw error;
      }
      // Placed by an earlier try, whose directory fsyncs may not have run: run them all.
      if (createOnly) await removeFile(from);
      await syncDirectories(dirname(target), this.root);
    }
    if (replaced !== undefined && replaced !== identity) await this.sidecars.remove(path, replaced);
  }

  async reader(path: string, offset: number, _signal?: AbortSignal, length?: number): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.#full(path), 'r');
    } catch (error) {
      throw notFoundOr(error, path);
    }
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw new PathNotFoundError(path);
      if (offset > info.size) throw new InvalidOffsetError(path, offset);
      if (length === undefined) return handle.createReadStream({ start: offset, highWaterMark: 1024 * 1024 });
      if (offset + length > info.size) throw new InvalidOffsetError(path, offset + length);
      if (length === 0) {
        await handle.close();
        return Readable.from([], { objectMode: false });
      }
      return handle.createReadStream({ start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async writer(path: string, append: boolean, _signal?: AbortSignal, metadata: WriteMetadata = {}): Promise<BackendWriter> {
    const target = this.#full(path);
    const uploads = uploadDir(this.root, path);
    if (append) {
      const resumed = await openNewestUpload(uploads);
      if (resumed !== undefined) {
        // A continued upload keeps the metadata it started with.
        const started = (await readUploadRecord(uploadRecordFile(resumed.file)))?.metadata ?? {};
        return new FilesystemWriter(this, resumed.handle, resumed.file, path, (await resumed.handle.stat()).size, started);
      }
    }
    // Continued committed content keeps the object's metadata; an empty object is a fresh start.
    if (append) metadata = await this.#committedMetadata(path, metadata);
    const staging = join(uploads, newUploadName());
    // The upload's record is made durable before the upload exists: whoever resumes it finds its
    // metadata, and `uploads` its path, also when this process is killed before it ends.
    const record: UploadRecord = { path, metadata };
    const recordFile = uploadRecordFile(staging);
    await this.#stage(recordFile, () => writeNewFile(recordFile, JSON.stringify(record)));
    try {
      if (append) {
        // No upload in progress: a new upload from a copy of the committed object (a reflink where the filesystem can).
        try {
          await this.#stage(staging, () => copyFile(target, staging, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL));
        } catch (error) {
          throw notFoundOr(error, path, ['EISDIR']);
        }
        const handle = await open(staging, APPEND_EXISTING);
        return new FilesystemWriter(this, handle, staging, path, (await handle.stat()).size, metadata);
      }
      return new FilesystemWriter(this, await this.#stage(staging, () => open(staging, 'wx')), staging, path, 0, metadata);
    } catch (error) {
      await removeFile(recordFile);
      await this.pruneUploadDir(uploads);
      throw error;
    }
  }

  /** The metadata of the committed file at `path`, or `fallback` when it is empty. */
  async #committedMetadata(path: string, fallback: WriteMetadata): Promise<WriteMetadata> {
    const info = await this.stat(path);
    if (info.isDir) throw new PathNotFoundError(path);
    if (info.size === 0) return fallback;
    const kept: Record<string, unknown> = {};
    for (const kind of METADATA_KINDS) if (info[kind] !== undefined) kept[kind] = info[kind];
    return kept as WriteMetadata;
  }

  /** The entry for `path` with its metadata (one more read, of the sidecar, for a file). */
  async stat(path: string): Promise<FileInfo> {
    const entry = await this.#entry(path);
    if (entry.isDir) return entry;
    const stored = await this.sidecars.read(path, entry.etag!.slice(1, -1));
    if (stored === undefined) return entry;
    const { metadata, ...headers } = stored;
    return { ...entry, ...headers, ...(metadata === undefined ? {} : { metadata }) };
  }

  /** What one stat(2) tells: size, modification time and, for a file, the etag. Follows symbolic links. */
  async #entry(path: string): Promise<FileInfo> {
    try {
      return entryOf(path, await stat(this.#full(path), { bigint: true }));
    } catch (error) {
      throw notFoundOr(error, path);
    }
  }

  /** One stat(2), following symbolic links as `stat` does. */
  async exists(path: string): Promise<Existence> {
    try {
      return (await stat(this.#full(path))).isDirectory() ? 'directory' : 'file';
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readdir(this.#full(path));
      return names.filter(isObjectName).map((name) => joinPath(path, name));
    } catch (error) {
      // The root is created lazily: before the first write it is simply empty.
      if (path === '/' && errorCode(error) === 'ENOENT') return [];
      throw notFoundOr(error, path);
    }
  }

  /**
   * Core's generic walk (its order and `startAfter` rules) read directly: a readdir per directory
   * entered and a stat per entry, several in flight ahead of the entry being yielded, outside the
   * base wrapper's limiter. `path` was validated by core, and so is each name below it (the path
   * grammar), so the directory's filesystem path is confined once and children's are joined to it.
   * Like `stat` and `list`, it follows symbolic links.
   */
  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    await walkTree(path, path === '/' ? this.root : this.#full(path), fn, startAfter, signal, this.#walkStatsAhead);
  }

  /**
   * The sidecar follows first (a link, invisible until the content arrives: a rename keeps the
   * identity), then the content is renamed; the source's and the replaced content's sidecars go last.
   */
  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#full(sourcePath);
    const target = this.#full(destPath);
    let info;
    try {
      info = await lstat(source, { bigint: true });
    } catch (error) {
      throw notFoundOr(error, sourcePath);
    }
    if (info.isDirectory()) throw directoryMoveError(sourcePath);
    const identity = identityOf(info);
    const linked = await this.sidecars.link(sourcePath, destPath, identity);
    const replaced = this.sidecars.mayExist() ? await identityAt(target) : undefined;
    try {
      await this.moveIntoPlace(source, target, destPath);
    } catch (error) {
      if (linked && replaced !== identity) await this.sidecars.remove(destPath, identity);
      throw error;
    }
    await this.pruneEmptyParents(source);
    if (linked) await this.sidecars.remove(sourcePath, identity);
    if (replaced !== undefined && replaced !== identity) await this.sidecars.remove(destPath, replaced);
  }

  /**
   * copy_file_range (a reflink where the filesystem can, through copyFile) into a temporary file,
   * then published like putContent with the source's metadata. The source's identity is read
   * before and after the copy, so the copy is of one content and has that content's metadata.
   */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.#full(sourcePath);
    for (let attempt = 1; ; attempt++) {
      const before = await this.#fileIdentity(source, sourcePath);
      const temp = newTempFile(this.root);
      try {
        await this.#stage(temp, () => copyFile(source, temp, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL));
        const handle = await open(temp, 'r+');
        let identity: string;
        try {
          identity = await seal(handle);
        } finally {
          await handle.close();
        }
        const metadata = (await this.sidecars.read(sourcePath, before)) ?? {};
        if ((await this.#fileIdentity(source, sourcePath)) !== before) {
          await unlink(temp);
          if (attempt < COPY_ATTEMPTS) continue;
          throw new DriverError(`cannot copy ${sourcePath}: it was replaced while being copied`, { path: sourcePath, retryable: true });
        }
        signal?.throwIfAborted();
        await this.publish(temp, destPath, identity, metadata, false);
        return;
      } catch (error) {
        await removeFile(temp).catch(() => undefined);
        throw notFoundOr(error, sourcePath);
      }
    }
  }

  /** The identity of the file at `full` (following links, as copyFile does); PathNotFound for a directory (core names it). */
  async #fileIdentity(full: string, path: string): Promise<string> {
    let info;
    try {
      info = await stat(full, { bigint: true });
    } catch (error) {
      throw notFoundOr(error, path);
    }
    if (info.isDirectory()) throw new PathNotFoundError(path);
    return identityOf(info);
  }

  async delete(path: string): Promise<void> {
    const full = this.#full(path);
    try {
      await lstat(full);
    } catch (error) {
      throw notFoundOr(error, path);
    }
    await rm(full, { recursive: true, force: true });
    await this.pruneEmptyParents(full);
    // After the content: a crash in between leaves only orphan sidecars.
    if (this.sidecars.mayExist()) await this.sidecars.removeAll(path);
  }

  /** Every upload directory of `~staging` read entry by entry, and each upload's record for its path. */
  uploads(path: string, signal?: AbortSignal): AsyncIterable<PendingUpload> {
    return pendingUploads(this.root, path, signal);
  }

  /**
   * The upload file first, then its record, then its path's upload directory when empty (a writer
   * starting an upload there meanwhile makes it again). An open writer of the upload keeps a
   * handle on the removed file, but its commit finds no file to rename and fails.
   */
  async abortUpload(path: string, id: string): Promise<void> {
    // Never a name that could lead out of the upload directory.
    if (!isUploadName(id)) throw new InvalidParameterError('id', id, 'an upload id listed by uploads() (<time>-<random>)');
    const dir = uploadDir(this.root, path);
    const file = join(dir, id);
    const identity = await identityAt(file);
    const removed = await unlink(file).then(
      () => true,
      (error: unknown) => {
        // Gone already: committed, cancelled or aborted.
        if (isMissing(error)) return false;
        throw error;
      },
    );
    // A commit killed after writing the upload's sidecar and before its rename left that sidecar,
    // which is the upload's unless a create-only commit already linked the upload into place.
    if (removed && identity !== undefined && (await identityAt(this.#full(path))) !== identity) await this.sidecars.remove(path, identity);
    await removeFile(uploadRecordFile(file));
    await this.pruneUploadDir(dir);
  }

  /** Removes directories left empty above `full`, up to (not including) the root: directories exist only while they hold something. */
  async pruneEmptyParents(full: string): Promise<void> {
    for (let dir = dirname(full); dir.length > this.root.length && dir.startsWith(this.root); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch (error) {
        // ENOTEMPTY/EEXIST: something else lives there; ENOENT: already gone. Either way stop.
        if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errorCode(error) ?? '')) return;
        throw error;
      }
    }
  }

  /** Removes the upload directory of one path once its last upload is gone (ENOTEMPTY: another upload remains). */
  async pruneUploadDir(dir: string): Promise<void> {
    await rmdir(dir).catch((error: unknown) => {
      if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errorCode(error) ?? '')) throw error;
    });
  }

  /**
   * Renames the staged file `from` onto `target` atomically, creating the target's missing parent
   * directories only now, and makes it durable: fsync of the target's directory and of the parent
   * of every directory created here (the caller has already fsynced the file). `createOnly` links
   * instead (failing with PreconditionFailedError when anything is at `target`), then unlinks `from`.
   * The parents are made (mkdir -p) only after the rename or link found one missing: most writes
   * go to an existing directory, and then that is one call fewer.
   */
  async moveIntoPlace(from: string, target: string, path: string, createOnly = false): Promise<void> {
    const dir = dirname(target);
    let highestCreated: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) {
          const created = await mkdir(dir, { recursive: true });
          if (created !== undefined && (highestCreated === undefined || created.length < highestCreated.length)) highestCreated = created;
        }
        if (createOnly) await link(from, target);
        else await rename(from, target);
        break;
      } catch (error) {
        const code = errorCode(error);
        if (createOnly && code === 'EEXIST') throw new PreconditionFailedError(path, 'something exists at the path (ifNoneMatch: *)', { cause: error });
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new DriverError(`cannot write ${path}: a directory exists at that path`, { path, cause: error });
        }
        if (code === 'ENOTDIR') throw new DriverError(`cannot write ${path}: a parent is a file`, { path, cause: error });
        // ENOENT: a parent is missing (the first try), or a concurrent delete pruned the new parent
        // directory between mkdir and rename (while the staged file is still there).
        if (code === 'ENOENT' && (attempt === 1 || (attempt < 4 && (await exists(from))))) continue;
        // Nothing was placed: directories made for it would show as empty directories. A failure to
        // prune them leaves only those; the caller needs the first error.
        if (highestCreated !== undefined) await this.pruneEmptyParents(target).catch(() => undefined);
        throw error;
      }
    }
    if (createOnly) await unlink(from);
    await syncDirectories(dir, syncRoot(dir, highestCreated));
  }

  /**
   * Creates a staging file with `create`, making its directory (mkdir -p) only when `create` finds
   * it missing — `~staging` is kept once made, so a putContent usually needs no mkdir; retried when
   * a concurrent cancel, commit or abortUpload of the same path pruned that directory in between.
   */
  async #stage<T>(file: string, create: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await create();
      } catch (error) {
        // ENOENT: not made yet, or pruned before `create` ran (and maybe made again since by another
        // writer). ENOTDIR: the root or `~staging` is a file, which making the directory reports.
        if (!isMissing(error) || attempt >= 4) throw error;
      }
      await makeDirectory(dirname(file)).catch((error: unknown) => {
        if (errorCode(error) === 'ENOTDIR' || errorCode(error) === 'EEXIST') throw new DriverError(`cannot write below ${this.root}: it is not a directory`, { cause: error });
        throw error;
      });
    }
  }

  #full(path: string): string {
    return resolveInRoot(this.root, path);
  }
}

class FilesystemWriter implements BackendWriter {
  #size: number;
  /** Set once the staged file is sealed and closed: what `publish` recognises at the target when a commit is tried again. */
  #identity: string | undefined;

  constructor(
    private readonly backend: FilesystemBackend,
    private readonly handle: FileHandle,
    private readonly staging: string,
    private readonly path: string,
    initialSize: number,
    /** What the upload started with (from its metadata file when resumed). */
    private readonly metadata: WriteMetadata,
  ) {
    this.#size = initialSize;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer): Promise<void> {
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, written, chunk.length - written);
      written += bytesWritten;
    }
    this.#size += chunk.length;
  }

  /** Durable on close, so a resumed upload never finds less than the size it was told. */
  async close(): Promise<void> {
    await this.#seal();
  }

  /** Retryable: `publish` recognises this upload at the target when an earlier try placed it. */
  async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
    const identity = await this.#seal();
    signal?.throwIfAborted();
    try {
      await this.backend.publish(this.staging, this.path, identity, this.metadata, conditions?.ifNoneMatch === '*');
    } catch (error) {
      // The upload file is gone and the target is not this upload (publish recognises that).
      if (!(await exists(this.staging))) {
        throw new DriverError(`the upload of ${this.path} is gone (aborted, or ended by another writer): nothing to commit`, { path: this.path, cause: error });
      }
      throw error;
    }
    await removeFile(uploadRecordFile(this.staging));
    await this.backend.pruneUploadDir(dirname(this.staging));
  }

  async cancel(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.staging, { force: true });
    await removeFile(uploadRecordFile(this.staging));
    await this.backend.pruneUploadDir(dirname(this.staging));
  }

  async #seal(): Promise<string> {
    if (this.#identity !== undefined) return this.#identity;
    const identity = await seal(this.handle);
    await this.handle.close();
    this.#identity = identity;
    return identity;
  }
}

/** The newest upload in an upload directory, opened for appending; undefined when there is none. */
async function openNewestUpload(dir: string): Promise<{ file: string; handle: FileHandle } | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  const newest = names.filter(isUploadName).sort().at(-1);
  if (newest === undefined) return undefined;
  const file = join(dir, newest);
  try {
    return { file, handle: await open(file, APPEND_EXISTING) };
  } catch (error) {
    // Committed, cancelled or aborted since the listing: as if there had been none.
    if (isMissing(error)) return undefined;
    throw error;
  }
}


/** PathNotFoundError for a missing path (or one of the extra `codes`), the error itself otherwise. */
function notFoundOr(error: unknown, path: string, codes: string[] = []): unknown {
  if (isMissing(error) || codes.includes(errorCode(error) ?? '')) return new PathNotFoundError(path, { cause: error });
  return error;
}

/** The local filesystem driver. Objects are files below `rootDirectory`; commits are atomic renames. */
export class FilesystemDriver extends BaseDriver {
  /** The absolute root directory. */
  readonly rootDirectory: string;

  constructor(options: FilesystemOptions = {}) {
    checkFilesystemOptions(options);
    const maxThreads = Math.max(options.maxThreads ?? DEFAULT_MAX_THREADS, MIN_MAX_THREADS);
    const backend = new FilesystemBackend(options.rootDirectory ?? DEFAULT_ROOT_DIRECTORY, maxThreads);
    super(backend, { maxConcurrency: maxThreads });
    this.rootDirectory = backend.root;
  }
}
