/** Small filesystem helpers for durable publishing, shared by the driver and its sidecars. */
import { lstat, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

import { errorCode, isMissing } from './fs-errors.js';

/** Attempts at making a directory that concurrent prunes keep removing. */
const MKDIR_ATTEMPTS = 3;

export async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/**
 * `mkdir(dir, {recursive: true})` (answering the first directory it created, if any), tried again
 * on ENOENT: a concurrent prune (a cancel, commit or abortUpload of the same path) removed the
 * directory between mkdir finding it and checking that it is one.
 */
export async function makeDirectory(dir: string): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await mkdir(dir, { recursive: true });
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || attempt >= MKDIR_ATTEMPTS) throw error;
    }
  }
}

/** fsyncs `from` and each directory above it up to and including `upTo` (an ancestor of `from`, or `from` itself). */
export async function syncDirectories(from: string, upTo: string): Promise<void> {
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

/** The directory to fsync up to after `mkdir(dir, {recursive: true})` answered `created`: the parent of the highest one it created. */
export function syncRoot(dir: string, created: string | undefined): string {
  return created === undefined ? dir : dirname(created);
}
