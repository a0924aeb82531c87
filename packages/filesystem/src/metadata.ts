/**
 * What the filesystem keeps besides the bytes. Each stored file has an identity — its inode, size
 * and modification time, which the driver sets to a microsecond stamp strictly increasing in the
 * process when it publishes a file — and the etag is that identity quoted: content replaced by
 * another write always has another identity, and a rename (move) keeps it.
 *
 * The metadata a write asked for lives in a sidecar file `~meta/<path>~/<identity>` (JSON), keyed
 * by the identity of the content it belongs to. A sidecar is written (durably) before its content
 * is renamed into place, so metadata appears atomically with its content: before the rename it
 * names an identity that is not at the path, afterwards it is the content's. A crash at any point
 * leaves at most an orphan sidecar, which no content ever matches (it is removed when the path is
 * next replaced or deleted). The old content's sidecar is removed after the new content is in
 * place; content without a sidecar (written without metadata, or by another tool) has none.
 */
import { randomBytes } from 'node:crypto';
import { type BigIntStats, fstatSync, futimesSync, lstatSync, statfsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, lstat, open, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { DriverError, type WriteMetadata } from '@storagedriver/core';

import { exists, makeDirectory, syncDirectories, syncRoot } from './durability.js';
import { errorCode, isMissing, readTextIfPresent } from './fs-errors.js';
import { METADATA_DIR, sidecarDir, sidecarMirror } from './layout.js';

/** The identity of a file: inode, size and modification time in nanoseconds. */
export function identityOf(info: BigIntStats): string {
  return `${info.ino.toString(16)}-${info.size.toString(16)}-${info.mtimeNs.toString(16)}`;
}

export function etagOf(identity: string): string {
  return `"${identity}"`;
}

/** The identity of what is at `file` (not following a symbolic link), undefined when nothing is. */
export async function identityAt(file: string): Promise<string | undefined> {
  try {
    return identityOf(await lstat(file, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

let lastStampMicros = 0;

/**
 * Sets the modification time of a file about to be published to now, in microseconds, strictly
 * increasing in this process, then makes the file durable and returns its identity. Without the
 * stamp, a file reusing a freed inode with the same size within one clock tick of the filesystem's
 * coarse timestamps would have the identity of the content it replaces.
 */
export async function seal(handle: FileHandle): Promise<string> {
  lastStampMicros = Math.max(Date.now() * 1000, lastStampMicros + 1);
  const seconds = lastStampMicros / 1e6;
  // Both on the open file's in-memory inode, so synchronous: through libuv's four threads each would
  // wait behind the fsyncs of other writes in flight, and cost a thread round trip (a 4 KiB put's
  // client CPU went from 1.67× a raw node:fs put's to about 1.2×). Only the fsync, which waits for the
  // disk, goes to a thread.
  futimesSync(handle.fd, seconds, seconds);
  const info = fstatSync(handle.fd, { bigint: true });
  await handle.sync();
  return identityOf(info);
}

/**
 * statfs(2) types whose directories have a link count of 2 plus their subdirectories: ext2/3/4, XFS,
 * tmpfs, F2FS. Others (btrfs reports 1; NFS and FUSE pass on what something else says) are not trusted.
 */
const SUBDIRECTORY_COUNTING = new Set([0xef53, 0x58465342, 0x01021994, 0xf2f52010]);

/** Whether the filesystem of `root` counts subdirectories in a directory's link count; undefined while `root` cannot be read (asked again later). */
function countsSubdirectories(root: string): boolean | undefined {
  try {
    return SUBDIRECTORY_COUNTING.has(statfsSync(root).type);
  } catch {
    return undefined;
  }
}

/** Attempts at creating a file in a directory that a concurrent prune may remove in between. */
const CREATE_ATTEMPTS = 3;

/** The sidecars of one driver root. */
export class Sidecars {
  readonly #root: string;
  readonly #top: string;
  #countsSubdirectories: boolean | undefined;

  constructor(root: string) {
    this.#root = root;
    this.#top = join(root, METADATA_DIR);
  }

  /**
   * Whether any sidecar may exist under the root. Every sidecar lives in a subdirectory of `~meta`,
   * so on a filesystem that counts a directory's subdirectories in its link count, a `~meta` with
   * link count 2 (or none) means there is none: a stat reads none, and what a write replaces or a
   * delete removes needs no look-up for one. Synchronous: one directory that every write looks at, so
   * cached, where a lookup of the replaced file through libuv's threads cost a 4 KiB put about 95 µs
   * of client CPU here. A sidecar another process writes for other content just after this answer
   * can at worst stay as an orphan, which no content matches.
   */
  mayExist(): boolean {
    this.#countsSubdirectories ??= countsSubdirectories(this.#root);
    if (!this.#countsSubdirectories) return true;
    let info;
    try {
      info = lstatSync(this.#top, { throwIfNoEntry: false });
    } catch {
      // The root is unusable (not a directory, no access): the write's own calls say how.
      return true;
    }
    return info !== undefined && !(info.isDirectory() && info.nlink === 2);
  }

  /**
   * The metadata stored for the content with `identity` at `path`; undefined when there is none. Ask
   * after reading the content's identity: its sidecar was in place before the content, so one is
   * never missed by the answer of mayExist.
   */
  async read(path: string, identity: string): Promise<WriteMetadata | undefined> {
    if (!this.mayExist()) return undefined;
    const file = join(sidecarDir(this.#root, path), identity);
    const text = await readTextIfPresent(file);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as WriteMetadata;
    } catch (error) {
      throw new DriverError(`unreadable metadata of ${path} in ${file}`, { path, cause: error });
    }
  }

  /** Durably stores `metadata` for the content with `identity` at `path`: invisible until that content is at `path`. */
  async write(path: string, identity: string, metadata: WriteMetadata): Promise<void> {
    const dir = sidecarDir(this.#root, path);
    // A dot name is never an identity: a torn temporary file is never read.
    const temp = join(dir, `.${randomBytes(8).toString('hex')}`);
    let created: string | undefined;
    let handle: FileHandle;
    for (let attempt = 1; ; attempt++) {
      created = (await makeDirectory(dir)) ?? created;
      try {
        handle = await open(temp, 'wx');
        break;
      } catch (error) {
        // ENOENT: a concurrent removal pruned the new directory; make it again.
        if (errorCode(error) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw error;
      }
    }
    try {
      await handle.writeFile(JSON.stringify(metadata));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, join(dir, identity));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await syncDirectories(dir, syncRoot(dir, created));
  }

  /**
   * Gives the content with `identity` at `to` the sidecar it has at `from` (a hard link: a move
   * keeps the identity). Returns whether there was one.
   */
  async link(from: string, to: string, identity: string): Promise<boolean> {
    // Asked after the source's identity was read, as `read` is.
    if (!this.mayExist()) return false;
    const source = join(sidecarDir(this.#root, from), identity);
    if (!(await exists(source))) return false;
    const dir = sidecarDir(this.#root, to);
    let created: string | undefined;
    for (let attempt = 1; ; attempt++) {
      created = (await makeDirectory(dir)) ?? created;
      try {
        await link(source, join(dir, identity));
        break;
      } catch (error) {
        // EEXIST: linked by an earlier try. ENOENT: the new directory was pruned meanwhile.
        if (errorCode(error) === 'EEXIST') break;
        if (errorCode(error) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS || !(await exists(source))) throw error;
      }
    }
    await syncDirectories(dir, syncRoot(dir, created));
    return true;
  }

  /** Removes the sidecar of the content with `identity` at `path`, if any (one unlink when there is none, as for content written without metadata). */
  async remove(path: string, identity: string): Promise<void> {
    const dir = sidecarDir(this.#root, path);
    const removed = await unlink(join(dir, identity)).then(
      () => true,
      (error: unknown) => {
        if (isMissing(error)) return false;
        throw error;
      },
    );
    if (removed) await this.#prune(dir);
  }

  /** Removes every sidecar of `path` and of everything below it (a delete). */
  async removeAll(path: string): Promise<void> {
    const dir = sidecarDir(this.#root, path);
    await rm(dir, { recursive: true, force: true });
    await rm(sidecarMirror(this.#root, path), { recursive: true, force: true });
    await this.#prune(dirname(dir));
  }

  /** Removes `dir` and the directories above it while they are empty, up to (not including) `~meta`. */
  async #prune(dir: string): Promise<void> {
    for (let at = dir; at.length > this.#top.length && at.startsWith(`${this.#top}/`); at = dirname(at)) {
      try {
        await rmdir(at);
      } catch (error) {
        // Not empty (something else has metadata there), or already gone: either way stop.
        if (['ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR'].includes(errorCode(error) ?? '')) return;
        throw error;
      }
    }
  }
}

/** Durably writes `text` to a new file (it must not exist). */
export async function writeNewFile(file: string, text: string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
}
