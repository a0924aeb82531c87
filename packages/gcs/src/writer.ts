/**
 * The compose writer. Each chunk is uploaded as a hidden object
 * `<root>~uploads/<key>~/<upload id>/<index>` (one request, with its MD5 for the service to check —
 * upstream #3018 stored 0-byte objects without a checksum); commit composes the chunks into the
 * target in one atomic step, then removes them.
 *
 * Why not upstream's resumable session: a session URI expires after a week, allows one request in
 * flight, and upstream kept the session and the unsent tail inside the object itself, so a
 * half-written upload was visible at the path. Chunk objects never expire, upload concurrently, are
 * listed by any process that resumes, and stay invisible (`~` is outside the path grammar). Compose
 * takes 32 sources per call, so more chunks are composed in rounds through intermediate objects.
 */
import type { Bucket, File } from '@google-cloud/storage';
import { PartUploader, type BackendWriter } from '@storagedriver/core';

import { CONTENT_TYPE, deleteObjects, listNames, saveChecked } from './objects.js';

/** Custom metadata on a committed object naming the upload it came from (leftover chunks of it are stale). */
export const UPLOAD_METADATA = 'storagedriver-upload';
const COMPOSE_MAX = 32;

export interface UploadTarget {
  bucket: Bucket;
  key: string;
  /** `<root>~uploads/<key>~/<upload id>/`: every object of this upload lies under it. */
  uploadPrefix: string;
  uploadId: string;
  chunkSize: number;
  concurrency: number;
}

export function chunkName(uploadPrefix: string, index: number): string {
  return `${uploadPrefix}${String(index).padStart(6, '0')}`;
}

export function newUploadId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
}

export class ComposeWriter implements BackendWriter {
  readonly #t: UploadTarget;
  readonly #uploader: PartUploader;
  #size: number;

  constructor(target: UploadTarget, resumed: { chunks: number; bytes: number } = { chunks: 0, bytes: 0 }) {
    this.#t = target;
    this.#size = resumed.bytes;
    this.#uploader = new PartUploader({
      partSize: target.chunkSize,
      concurrency: target.concurrency,
      firstIndex: resumed.chunks,
      upload: (index, data) => saveChecked(target.bucket.file(chunkName(target.uploadPrefix, index)), data),
    });
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    // Chunks may differ in size: the buffered tail becomes a short chunk of its own.
    await this.#uploader.flush();
  }

  async commit(signal?: AbortSignal): Promise<void> {
    await this.#uploader.flush(signal);
    const { bucket, key, uploadPrefix, uploadId } = this.#t;
    const target = bucket.file(key);
    const marker = { [UPLOAD_METADATA]: uploadId };
    const count = this.#uploader.nextIndex;
    if (count === 0) {
      await saveChecked(target, Buffer.alloc(0), marker);
      return;
    }
    let sources = Array.from({ length: count }, (_, index) => chunkName(uploadPrefix, index));
    for (let round = 0; sources.length > COMPOSE_MAX; round++) {
      const groups = Array.from({ length: Math.ceil(sources.length / COMPOSE_MAX) }, (_, i) => sources.slice(i * COMPOSE_MAX, (i + 1) * COMPOSE_MAX));
      sources = await Promise.all(groups.map(async (group, i) => {
        const name = `${uploadPrefix}c${round}-${String(i).padStart(6, '0')}`;
        await compose(bucket.file(name), group, {});
        return name;
      }));
    }
    await compose(target, sources, marker);
    // The content is committed; leftovers would only cost storage, and the marker lets the next
    // writer at this path recognise and remove them.
    await deleteObjects(bucket, await listNames(bucket, uploadPrefix)).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    // Let chunks in flight land first, or one could appear after the clean-up.
    await this.#uploader.drain().catch(() => undefined);
    await deleteObjects(this.#t.bucket, await listNames(this.#t.bucket, this.#t.uploadPrefix));
  }
}

/**
 * One compose call. Sent by hand because the SDK's `combine` cannot set custom metadata on the
 * destination, and the upload marker must arrive in the same atomic step as the content.
 */
async function compose(destination: File, sources: string[], metadata: Record<string, string>): Promise<void> {
  await destination.request({
    method: 'POST',
    uri: '/compose',
    json: { destination: { contentType: CONTENT_TYPE, metadata }, sourceObjects: sources.map((name) => ({ name })) },
  });
}
