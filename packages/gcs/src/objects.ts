/** Object helpers shared by the backend and the writer: checked uploads, listing, bounded deletes. */
import { createHash } from 'node:crypto';

import type { Bucket, File } from '@google-cloud/storage';
import { DriverError } from '@storagedriver/core';

import { isNotFound } from './errors.js';

export const CONTENT_TYPE = 'application/octet-stream';
const DELETE_CONCURRENCY = 16;

/** Uploads `data` as one object (atomic) whose MD5 the service verifies. */
export async function saveChecked(file: File, data: Buffer, metadata: Record<string, string> = {}): Promise<void> {
  await file.save(data, {
    resumable: false,
    validation: false,
    metadata: { contentType: CONTENT_TYPE, md5Hash: createHash('md5').update(data).digest('base64'), metadata },
  });
}

export async function listNames(bucket: Bucket, prefix: string): Promise<string[]> {
  const [files] = await bucket.getFiles({ prefix, autoPaginate: true });
  return files.map((file) => file.name);
}

/** Deletes concurrently (bounded); one DriverError names the objects that could not be deleted. */
export async function deleteObjects(bucket: Bucket, names: string[], path?: string): Promise<void> {
  const failed: string[] = [];
  let firstError: unknown;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        await bucket.file(name).delete();
      } catch (error) {
        if (isNotFound(error)) continue; // deleted concurrently: what was asked for
        failed.push(name);
        firstError ??= error;
      }
    }
  }));
  if (failed.length > 0) throw new DriverError(`could not delete ${failed.length} objects: ${failed.slice(0, 10).join(', ')}`, { path, cause: firstError });
}
