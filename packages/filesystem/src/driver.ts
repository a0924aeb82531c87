import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';

import {
  type BackendWriter,
  BaseDriver,
  DriverError,
  type FileInfo,
  InvalidOffsetError,
  PathNotFoundError,
  type StorageBackend,
  joinPath,
} from '@storagedriver/core';

import { errorCode, isMissing } from './fs-errors.js';
import { isStagingName, newTempName, newUploadName, normalizeRoot, resolveInRoot, uploadPrefix } from './layout.js';

export interface FilesystemOptions {
  /** Where objects are stored. Created on first write. Default `/var/lib/registry` (upstream's). */
  rootDirectory?: string;
  /** At most this many filesystem operations at once (upstream's `maxthreads`, at least 25). Default 100. */
  maxThreads?: number;
}

export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
export const DEFAULT_MAX_THREADS = 100;
export const MIN_MAX_THREADS = 25;

class FilesystemBackend implements StorageBackend {
  readonly name = 'filesystem';
  readonly root: string;

  constructor(rootDirectory: string) {
    this.root = normalizeRoot(rootDirectory);
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await readFile(this.#full(path), { signal });
    } catch (error) {
      throw notFoundOr(error, path, ['EISDIR']);
    }
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    const target = this.#full(path);
    const temp = newTempName(target);
    const handle = await this.#create(temp);
    try {
      await handle.writeFile(content, { signal });
      await handle.datasync();
      await handle.close();
      signal?.throwIfAborted();
      await this.moveIntoPlace(temp, target, path);
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
    if (append) {
      const resumable = await this.#newestUpload(target);
      if (resumable !== undefined) {
        const handle = await open(resumable, 'a');
        return new FilesystemWriter(this, handle, resumable, target, path, (await handle.stat()).size);
      }
    }
    const staging = newUploadName(target);
    if (append) {
      // No upload in progress: continue a copy of the committed object (a reflink where the filesystem can).
      try {
        await copyFile(target, staging, constants.COPYFILE_FICLONE);
      } catch (error) {
        throw notFoundOr(error, path, ['EISDIR']);
      }
      const handle = await open(staging, 'a');
      return new FilesystemWriter(this, handle, staging, target, path, (await handle.stat()).size);
    }
    return new FilesystemWriter(this, await this.#create(staging), staging, target, path, 0);
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
      return names.filter((name) => !isStagingName(name)).map((name) => joinPath(path, name));
    } catch (error) {
      // The root is created lazily: before the first write it is simply empty.
      if (path === '/' && errorCode(error) === 'ENOENT') return [];
      throw notFoundOr(error, path);
    }
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#full(sourcePath);
    let info;
    try {
      info = await lstat(source);
    } catch (error) {
      throw notFoundOr(error, sourcePath);
    }
    if (info.isDirectory()) throw new DriverError(`cannot move ${sourcePath}: it is a directory (move moves one file)`, { path: sourcePath });
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

  /** Renames onto `target` atomically and makes the rename durable (fsync of the directory). */
  async moveIntoPlace(from: string, target: string, path: string): Promise<void> {
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(from, target);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new DriverError(`cannot write ${path}: a directory exists at that path`, { path, cause: error });
      }
      if (code === 'ENOTDIR') throw new DriverError(`cannot write ${path}: a parent is a file`, { path, cause: error });
      throw error;
    }
    await syncDirectory(dirname(target));
  }

  /** Creates a new file, making its directory first; retried once if a concurrent prune removed the directory in between. */
  async #create(file: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(file), { recursive: true }).catch((error: unknown) => {
        if (errorCode(error) === 'ENOTDIR' || errorCode(error) === 'EEXIST') throw new DriverError(`cannot write ${file}: a parent is a file`, { cause: error });
        throw error;
      });
      try {
        return await open(file, 'wx');
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || attempt >= 2) throw error;
      }
    }
  }

  async #newestUpload(target: string): Promise<string | undefined> {
    const prefix = uploadPrefix(basename(target));
    let names: string[];
    try {
      names = await readdir(dirname(target));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const newest = names.filter((name) => name.startsWith(prefix)).sort().at(-1);
    return newest === undefined ? undefined : `${dirname(target)}/${newest}`;
  }

  #full(path: string): string {
    return resolveInRoot(this.root, path);
  }
}

class FilesystemWriter implements BackendWriter {
  #size: number;

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
    await this.handle.datasync();
    await this.handle.close();
  }

  async commit(signal?: AbortSignal): Promise<void> {
    await this.handle.datasync();
    await this.handle.close();
    signal?.throwIfAborted();
    await this.backend.moveIntoPlace(this.staging, this.target, this.path);
  }

  async cancel(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.staging, { force: true });
    await this.backend.pruneEmptyParents(this.staging);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
    const backend = new FilesystemBackend(options.rootDirectory ?? DEFAULT_ROOT_DIRECTORY);
    super(backend, { maxConcurrency: Math.max(options.maxThreads ?? DEFAULT_MAX_THREADS, MIN_MAX_THREADS) });
    this.rootDirectory = backend.root;
  }
}
