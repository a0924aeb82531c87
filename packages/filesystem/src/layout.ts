/**
 * Where things live on disk. Object paths map below the root directory one to one. The driver's
 * own files live in two hidden directories at the root, `~staging` and `~meta`, whose names are
 * outside the path grammar: no object path can name them, and list and walk (this driver's, or
 * those of a driver rooted above this one) skip them. Staging there rather than beside the target
 * means an upload creates no directory before it is committed; staying below the root keeps it on
 * the objects' filesystem, so commit is one atomic rename.
 *
 *   ~staging/<sha256 of the path>/<time>-<random>        uploads of that path (append resumes the greatest)
 *   ~staging/<sha256 of the path>/<time>-<random>.json   its record: the path and the metadata it started with
 *   ~staging/put-<random>                                putContent's, copy's and sidecars' temporary files
 *   ~meta/<path>~/<identity>                             the metadata of the content whose identity
 *                                                        (inode, size, modification time) is <identity>
 */
import { createHash, randomBytes } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

import { InvalidPathError, isValidPath } from '@storagedriver/core';

export const STAGING_DIR = '~staging';
export const METADATA_DIR = '~meta';

/** Whether a directory entry is an object or directory a path can name (not staging, nor anything else outside the grammar). */
export function isObjectName(name: string): boolean {
  return isValidPath(`/${name}`);
}

/** The absolute filesystem path of an object path, verified to lie inside the root. */
export function resolveInRoot(root: string, path: string): string {
  const full = join(root, path);
  const rel = relative(root, full);
  // Validation in core already rules out `..`; this makes escaping the root impossible regardless.
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new InvalidPathError(path, { reason: 'outside the root directory' });
  return full;
}

export function normalizeRoot(rootDirectory: string): string {
  return resolve(rootDirectory);
}

/** The directory holding the uploads of `path`: named by a hash, since a path (up to 1024 bytes) may not fit in a file name. */
export function uploadDir(root: string, path: string): string {
  return join(root, STAGING_DIR, createHash('sha256').update(path).digest('hex'));
}

/** Whether a name in `~staging` is an upload directory (the others are temporary files). */
export function isUploadDirName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

/**
 * Upload names (the ids `uploads` reports) start with the creation time in milliseconds, base 36:
 * the newest upload of a path is the greatest name, and the name tells when the upload started.
 */
export function newUploadName(): string {
  return `${Date.now().toString(36).padStart(10, '0')}-${randomBytes(6).toString('hex')}`;
}

/** Upload files are the names `newUploadName` makes (the others are their records). */
export function isUploadName(name: string): boolean {
  return /^[0-9a-z]{10}-[0-9a-f]{12}$/.test(name);
}

/** When the upload named `name` started, by the clock of the process that started it. */
export function uploadStartedAt(name: string): Date {
  return new Date(Number.parseInt(name.slice(0, 10), 36));
}

/** The record of an upload: the path it commits to and the metadata it started with. */
export function uploadRecordFile(upload: string): string {
  return `${upload}.json`;
}

/**
 * The directory of the sidecars of the object at `path`. The `~` suffix keeps it apart from the
 * directory mirroring `path` when `path` is (or later becomes) a directory of objects.
 */
export function sidecarDir(root: string, path: string): string {
  return join(root, METADATA_DIR, `${path}~`);
}

/** The directory mirroring the directory of objects `path`: the sidecars of everything below it. */
export function sidecarMirror(root: string, path: string): string {
  return join(root, METADATA_DIR, path);
}

/** Random once per process (other processes may share the root); a counter makes each name of this process unique. */
const TEMP_PREFIX = `put-${randomBytes(8).toString('hex')}-`;
let tempCount = 0;

/** A new temporary file name (never used before by any process): one random draw per process, not per write. */
export function newTempFile(root: string): string {
  return join(root, STAGING_DIR, `${TEMP_PREFIX}${(tempCount++).toString(36)}`);
}
