/**
 * Where things live on disk. Object paths map below the root directory one to one. Staging files
 * (uploads in progress, putContent's temporary files) sit beside their target, in the same
 * directory so that commit is a single rename, under names containing `#`: no valid path
 * component can contain it, so they never collide with an object and list/walk can hide them.
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

import { InvalidPathError } from '@storagedriver/core';

const UPLOAD_MARK = '#upload-';
const TEMP_MARK = '#tmp-';

export function isStagingName(name: string): boolean {
  return name.includes('#');
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

/** Upload ids sort by creation time, so the newest upload of a path is the greatest name. */
export function newUploadName(fullPath: string): string {
  const time = Date.now().toString(36).padStart(10, '0');
  return `${fullPath}${UPLOAD_MARK}${time}-${randomBytes(6).toString('hex')}`;
}

export function uploadPrefix(baseName: string): string {
  return `${baseName}${UPLOAD_MARK}`;
}

export function newTempName(fullPath: string): string {
  return `${fullPath}${TEMP_MARK}${randomBytes(8).toString('hex')}`;
}
