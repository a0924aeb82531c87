/** Object helpers shared by the backend and the writer: checked uploads, listing, bounded deletes — each request retried. */
import { createHash } from 'node:crypto';

import type { Bucket, FileMetadata } from '@google-cloud/storage';
import { DriverError, retry } from '@storagedriver/core';

import { isNotFound } from './errors.js';
import type { GcsRequests, ObjectResource, Preconditions } from './http.js';

const DELETE_CONCURRENCY = 16;

/**
 * Uploads `data` as one object (atomic) whose MD5 the service verifies. Retried: the same bytes
 * under the same name give the same object, and a cut request never makes one. With
 * preconditions a try whose answer was lost is answered 412 when tried again: the caller tells
 * its own object by a marker in `resource.metadata`.
 */
export async function saveChecked(
  requests: GcsRequests,
  name: string,
  data: Buffer,
  resource: ObjectResource = { metadata: {} },
  preconditions: Preconditions = {},
  signal?: AbortSignal,
): Promise<void> {
  const md5 = createHash('md5').update(data).digest('base64');
  return retry(() => requests.upload(name, data, md5, resource, preconditions, signal), { signal });
}

/** The object's resource, or undefined when there is none. */
export async function objectMetadata(bucket: Bucket, name: string, signal?: AbortSignal): Promise<FileMetadata | undefined> {
  try {
    const [metadata] = await retry(() => bucket.file(name).getMetadata(), { signal });
    return metadata;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function listNames(bucket: Bucket, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const [files] = await retry(() => bucket.getFiles({ prefix, autoPaginate: true }), { signal });
  return files.map((file) => file.name);
}

/** Deletes concurrently (bounded); one DriverError names the objects that could not be deleted. */
export async function deleteObjects(bucket: Bucket, names: string[], path?: string, signal?: AbortSignal): Promise<void> {
  const failed: string[] = [];
  let firstError: unknown;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        await retry(() => bucket.file(name).delete(), { signal });
      } catch (error) {
        if (isNotFound(error)) continue; // deleted concurrently, or by a try whose answer was lost: what was asked for
        if (signal?.aborted) throw signal.reason;
        failed.push(name);
        firstError ??= error;
      }
    }
  }));
  if (failed.length > 0) throw new DriverError(`could not delete ${failed.length} objects: ${failed.slice(0, 10).join(', ')}`, { path, cause: firstError });
}
