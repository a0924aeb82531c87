/**
 * The multipart writer. Every part is exactly `chunkSize` bytes except the last (R2 requires equal
 * parts; S3 requires ≥ 5 MiB for all but the last).
 *
 * `close()` before commit leaves a tail shorter than a part. It is not uploaded as a part (a short
 * part in the middle would make the final CompleteMultipartUpload fail with EntityTooSmall); it is
 * stored as a small object under the hidden key `<root>~uploads/<uploadId>` (`~` is outside the
 * path grammar, so list and walk never show it). A resumed writer reads that tail back into its
 * buffer, so the next part again starts at a part boundary. Commit and cancel delete it.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PartUploader, type BackendWriter } from '@storagedriver/core';

/** Metadata on a stored tail: how many parts precede it. */
export const TAIL_PARTS = 'parts-before';

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Key of the hidden object holding the tail a `close()` left, for an upload id. */
  tailKey: (uploadId: string) => string;
  chunkSize: number;
  concurrency: number;
  /** Headers for new objects (ACL, storage class, encryption). */
  objectFields: Record<string, unknown>;
}

export interface ResumedUpload {
  uploadId: string;
  parts: Map<number, string>;
  partBytes: number;
  /** The stored tail to restore, unless stale. */
  tail: Buffer | undefined;
  /** A tail object exists (stale or not): commit and cancel delete it. */
  tailStored: boolean;
}

export class MultipartWriter implements BackendWriter {
  readonly #t: UploadTarget;
  #uploadId: Promise<string> | undefined;
  readonly #parts: Map<number, string>;
  readonly #uploader: PartUploader;
  #size: number;
  #hasTailObject: boolean;

  constructor(target: UploadTarget, resumed?: ResumedUpload) {
    this.#t = target;
    this.#parts = resumed?.parts ?? new Map();
    this.#uploadId = resumed === undefined ? undefined : Promise.resolve(resumed.uploadId);
    this.#size = resumed === undefined ? 0 : resumed.partBytes;
    this.#hasTailObject = resumed?.tailStored ?? false;
    this.#uploader = new PartUploader({
      partSize: target.chunkSize,
      concurrency: target.concurrency,
      firstIndex: resumed === undefined ? 0 : resumed.parts.size,
      upload: async (index, data, signal) => {
        const uploadId = await this.#ensureUpload(signal);
        const out = await target.client.send(
          new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: index + 1, Body: data, ContentLength: data.length }),
          { abortSignal: signal },
        );
        this.#parts.set(index + 1, out.ETag!);
      },
    });
  }

  /** Fills the buffer with the tail a previous `close()` stored (before the first write). */
  async restoreTail(tail: Buffer): Promise<void> {
    await this.#uploader.write(tail);
    this.#size += tail.length;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    const tail = await this.#uploader.flush(undefined, false);
    const uploadId = await this.#ensureUpload();
    if (tail.length > 0) {
      // The tail follows exactly the parts uploaded so far; a resumed writer that uploads it inside a
      // part and then dies leaves more parts than this count, which marks the tail as stale.
      await this.#t.client.send(
        new PutObjectCommand({ Bucket: this.#t.bucket, Key: this.#t.tailKey(uploadId), Body: tail, ContentLength: tail.length, Metadata: { [TAIL_PARTS]: String(this.#parts.size) } }),
      );
      this.#hasTailObject = true;
    } else if (this.#hasTailObject) {
      await this.#deleteTail(uploadId);
    }
  }

  async commit(signal?: AbortSignal): Promise<void> {
    const { client, bucket, key } = this.#t;
    try {
      await this.#uploader.flush(signal);
      if (this.#uploadId === undefined) {
        // Nothing was ever written: an empty object, no multipart upload needed.
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, ...this.#t.objectFields }), { abortSignal: signal });
        return;
      }
      const uploadId = await this.#uploadId;
      if (this.#parts.size === 0) {
        // S3 refuses to complete an upload without parts.
        const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: Buffer.alloc(0), ContentLength: 0 }), { abortSignal: signal });
        this.#parts.set(1, out.ETag!);
      }
      const parts = [...this.#parts.entries()].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
    } catch (error) {
      // No orphaned upload: a failed commit aborts it (without the signal: it may be what failed).
      await this.#abort().catch(() => undefined);
      throw error;
    }
    if (this.#hasTailObject) await this.#deleteTail(await this.#uploadId);
  }

  async cancel(): Promise<void> {
    // Let parts in flight settle first, or one could land after the abort and recreate state.
    await this.#uploader.drain().catch(() => undefined);
    await this.#abort();
  }

  async #abort(): Promise<void> {
    if (this.#uploadId === undefined) return;
    const uploadId = await this.#uploadId;
    await this.#t.client.send(new AbortMultipartUploadCommand({ Bucket: this.#t.bucket, Key: this.#t.key, UploadId: uploadId }));
    if (this.#hasTailObject) await this.#deleteTail(uploadId);
  }

  #ensureUpload(signal?: AbortSignal): Promise<string> {
    this.#uploadId ??= this.#t.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.#t.bucket, Key: this.#t.key, ContentType: 'application/octet-stream', ...this.#t.objectFields }), { abortSignal: signal })
      .then((out) => out.UploadId!);
    return this.#uploadId;
  }

  async #deleteTail(uploadId: string): Promise<void> {
    await this.#t.client.send(new DeleteObjectCommand({ Bucket: this.#t.bucket, Key: this.#t.tailKey(uploadId) }));
    this.#hasTailObject = false;
  }
}
