import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

import {
  type BackendWriter,
  BaseDriver,
  DriverError,
  directoryMoveError,
  type FileInfo,
  InvalidOffsetError,
  PathNotFoundError,
  type StorageBackend,
  type WalkFn,
  joinPath,
  walkByListing,
} from '@storagedriver/core';

import { errorCode, isMissing } from './fs-errors.js';
import { isObjectName, newTempFile, newUploadName, normalizeRoot, resolveInRoot, uploadDir } from './layout.js';

export interface FilesystemOptions {
  /** Where objects are stored. Created on first write. Default `/var/lib/registry` (upstream's). */
  rootDirectory?: string;
  /** At most this many filesystem operations at once (upstream's `maxthreads`, at least 25). Default 100. */
  maxThreads?: number;
}

export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
export const DEFAULT_MAX_THREADS = 100;
export const MIN_MAX_THREADS = 25;
/** Stats a walk keeps in flight ahead of the entry it is yielding, per directory (never more than `maxThreads`). */
const WALK_STATS_AHEAD = 32;

class FilesystemBackend implements StorageBackend {
  readonly name = 'filesystem';
  readonly root: string;
  readonly #walkStatsAhead: number;

  constructor(rootDirectory: string, maxThreads: number) {
    this.root = normalizeRoot(rootDirectory);
    this.#walkStatsAhead = Math.min(WALK_STATS_AHEAD, maxThreads);
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await readFile(this.#full(path), { signal });
    } catch (error) {
      throw notFoundOr(error, path, ['EISDIR']);
    }
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    const temp = newTempFile(this.root);
    const handle = await this.#stage(temp, () => open(temp, 'wx'));
    try {
      await handle.writeFile(content, { signal });
      await handle.datasync();
      await handle.close();
      signal?.throwIfAborted();
      await this.moveIntoPlace(temp, this.#full(path), path);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async reader(path: string, offset: number): Promise<Readable> {
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
      return handle.createReadStream({ start: offset, highWaterMark: 1024 * 1024 });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async writer(path: string, append: boolean): Promise<BackendWriter> {
    const target = this.#full(path);
    const uploads = uploadDir(this.root, path);
    if (append) {
      const resumed = await openNewestUpload(uploads);
      if (resumed !== undefined) return new FilesystemWriter(this, resumed.handle, resumed.file, target, path, (await resumed.handle.stat()).size);
    }
    const staging = join(uploads, newUploadName());
    if (append) {
      // No upload in progress: continue a copy of the committed object (a reflink where the filesystem can).
      try {
        await this.#stage(staging, () => copyFile(target, staging, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL));
      } catch (error) {
        await this.pruneUploadDir(uploads);
        throw notFoundOr(error, path, ['EISDIR']);
      }
      const handle = await open(staging, 'a');
      return new FilesystemWriter(this, handle, staging, target, path, (await handle.stat()).size);
    }
    return new FilesystemWriter(this, await this.#stage(staging, () => open(staging, 'wx')), staging, target, path, 0);
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const info = await stat(this.#full(path));
      return { path, size: info.isDirectory() ? 0 : info.size, modTime: info.mtime, isDir: info.isDirectory() };
    } catch (error) {
      throw notFoundOr(error, path);
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
   * Core's list + stat walk (its order and `startAfter` rules), called on this backend directly
   * rather than through the base wrapper's limiter round trips, with several stats in flight ahead
   * of the entry being yielded. Like `stat` and `list`, it follows symbolic links.
   */
  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    await walkByListing(this, path, fn, startAfter, signal, this.#walkStatsAhead);
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#full(sourcePath);
    let info;
    try {
      info = await lstat(source);
    } catch (error) {
      throw notFoundOr(error, sourcePath);
    }
    if (info.isDirectory()) throw directoryMoveError(sourcePath);
    await this.moveIntoPlace(source, this.#full(destPath), destPath);
    await this.pruneEmptyParents(source);
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
   * of every directory created here (the caller has already fsynced the file).
   */
  async moveIntoPlace(from: string, target: string, path: string): Promise<void> {
    const dir = dirname(target);
    let highestCreated: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await mkdir(dir, { recursive: true });
        if (created !== undefined && (highestCreated === undefined || created.length < highestCreated.length)) highestCreated = created;
        await rename(from, target);
        break;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new DriverError(`cannot write ${path}: a directory exists at that path`, { path, cause: error });
        }
        if (code === 'ENOTDIR') throw new DriverError(`cannot write ${path}: a parent is a file`, { path, cause: error });
        // ENOENT with the staged file still there: a concurrent delete pruned the new parent directory between mkdir and rename.
        if (code !== 'ENOENT' || attempt >= 3 || !(await exists(from))) throw error;
      }
    }
    await syncDirectories(dir, highestCreated === undefined ? dir : dirname(highestCreated));
  }

  /**
   * Creates a staging file with `create`, making its directory first; retried when a concurrent
   * cancel or commit of the same path pruned that directory in between.
   */
  async #stage<T>(file: string, create: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await mkdir(dirname(file), { recursive: true }).catch((error: unknown) => {
        if (errorCode(error) === 'ENOTDIR' || errorCode(error) === 'EEXIST') throw new DriverError(`cannot write below ${this.root}: it is not a directory`, { cause: error });
        throw error;
      });
      try {
        return await create();
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || attempt >= 3 || (await exists(dirname(file)))) throw error;
      }
    }
  }

  #full(path: string): string {
    return resolveInRoot(this.root, path);
  }
}

class FilesystemWriter implements BackendWriter {
  #size: number;
  #closed = false;
  /** The staged file's inode, to recognise it at the target when a commit is retried after its rename. */
  #identity: { dev: number; ino: number } | undefined;

  constructor(
    private readonly backend: FilesystemBackend,
    private readonly handle: FileHandle,
    private readonly staging: string,
    private readonly target: string,
    private readonly path: string,
    initialSize: number,
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
    await this.#syncAndClose();
  }

  /** Retryable: a retry after the rename happened finds the staged file gone and its inode at the target. */
  async commit(signal?: AbortSignal): Promise<void> {
    await this.#syncAndClose();
    signal?.throwIfAborted();
    try {
      await this.backend.moveIntoPlace(this.staging, this.target, this.path);
    } catch (error) {
      if (!(await this.#isCommitted())) throw error;
      // Renamed by an earlier try whose directory fsyncs may not have run: run them all.
      await syncDirectories(dirname(this.target), this.backend.root);
    }
    await this.backend.pruneUploadDir(dirname(this.staging));
  }

  async cancel(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.staging, { force: true });
    await this.backend.pruneUploadDir(dirname(this.staging));
  }

  async #syncAndClose(): Promise<void> {
    if (this.#closed) return;
    await this.handle.datasync();
    const { dev, ino } = await this.handle.stat();
    this.#identity = { dev, ino };
    await this.handle.close();
    this.#closed = true;
  }

  async #isCommitted(): Promise<boolean> {
    if (this.#identity === undefined || (await exists(this.staging))) return false;
    const info = await lstat(this.target).catch(() => undefined);
    return info !== undefined && info.dev === this.#identity.dev && info.ino === this.#identity.ino;
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
  const newest = names.sort().at(-1);
  if (newest === undefined) return undefined;
  const file = join(dir, newest);
  try {
    return { file, handle: await open(file, 'a') };
  } catch (error) {
    // Committed or cancelled since the listing: as if there had been none.
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** fsyncs `from` and each directory above it up to and including `upTo` (an ancestor of `from`, or `from` itself). */
async function syncDirectories(from: string, upTo: string): Promise<void> {
  for (let dir = from; ; dir = dirname(dir)) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (dir === upTo || dir.length <= upTo.length) return;
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
    const maxThreads = Math.max(options.maxThreads ?? DEFAULT_MAX_THREADS, MIN_MAX_THREADS);
    const backend = new FilesystemBackend(options.rootDirectory ?? DEFAULT_ROOT_DIRECTORY, maxThreads);
    super(backend, { maxConcurrency: maxThreads });
    this.rootDirectory = backend.root;
  }
}
