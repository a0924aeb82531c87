/** Object helpers shared by the backend and the writer: checked uploads, listing, bounded deletes — each request retried. */
import type { FileMetadata } from '@google-cloud/storage';
import { DriverError, md5, retry } from '@storagedriver/core';

import { isNotFound } from './errors.js';
import type { GcsRequests, ObjectResource, Preconditions } from './http.js';

const DELETE_CONCURRENCY = 16;
/** Objects per page of a listing: the JSON API's most. */
export const LIST_PAGE = 1000;

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
  const digest = (await md5(data)).toString('base64');
  return retry(() => requests.upload(name, data, digest, resource, preconditions, signal), { signal });
}

/** The object's resource, or undefined when there is none. */
export function objectMetadata(requests: GcsRequests, name: string, signal?: AbortSignal): Promise<FileMetadata | undefined> {
  return retry(() => requests.metadata(name, signal), { signal });
}

/** Every object under `prefix`, page by page, each with every field. */
export async function* listObjects(requests: GcsRequests, prefix: string, signal?: AbortSignal): AsyncGenerator<FileMetadata & { name: string }> {
  let pageToken: string | undefined;
  do {
    const page = await retry(() => requests.listResources(prefix, pageToken, LIST_PAGE, signal), { signal });
    for (const item of page.items) if (item.name !== undefined) yield item as FileMetadata & { name: string };
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}

export async function listNames(requests: GcsRequests, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for await (const object of listObjects(requests, prefix, signal)) names.push(object.name);
  return names;
}

/** Deletes concurrently (bounded); one DriverError names the objects that could not be deleted. */
export async function deleteObjects(requests: GcsRequests, names: string[], path?: string, signal?: AbortSignal): Promise<void> {
  const failed: string[] = [];
  let firstError: unknown;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        await retry(() => requests.delete(name, signal), { signal });
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
