/** Small filesystem helpers for durable publishing, shared by the driver and its sidecars. */
import { lstat, open } from 'node:fs/promises';
import { dirname } from 'node:path';

import { isMissing } from './fs-errors.js';

export async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
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
