/**
 * The multipart writer. Every part is exactly `chunkSize` bytes except the last (R2 requires equal
 * parts; S3 requires ≥ 5 MiB for all but the last).
 *
 * `close()` before commit leaves a tail shorter than a part. It is not uploaded as a part (a short
 * part in the middle would make the final CompleteMultipartUpload fail with EntityTooSmall); it is
 * stored as a small object under the hidden prefix `<root>~uploads/` (core's `KeyMapper.hidden`: a
 * sibling of the root, outside the path grammar, so no list, walk or stat shows it). A resumed
 * writer reads that tail back into its buffer, so the next part again starts at a part boundary.
 * Commit and cancel delete it. With upload records (a service without ListMultipartUploads), that
 * object is kept per path, holds the upload id too, and is written as soon as the upload exists
 * (so a writer that dies before `close()` is found again) and at every `close()`.
 *
 * A failed part or commit leaves the upload in place, resumable with append until it is cancelled.
 * Commit is idempotent: when CompleteMultipartUpload answers NoSuchUpload (an earlier try completed
 * the upload but its answer was lost), the commit succeeds if the object now at the key is this
 * upload, known by the random marker CreateMultipartUpload put in its metadata or, for a resumed
 * writer, by its multipart ETag (the MD5 of the part ETags and their count).
 */
import { createHash, randomUUID } from 'node:crypto';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DriverError, PartUploader, type BackendWriter } from '@storagedriver/core';

import type { Send } from './client.js';
import { copyParts, copySource } from './copy.js';
import { isNoSuchUpload, isNotFound } from './errors.js';
import { UPLOAD_MARKER, type ContentFields } from './metadata.js';

/** Metadata on a stored tail: how many parts precede it. */
export const TAIL_PARTS = 'parts-before';
/** Metadata on an upload record: the upload it describes. */
export const RECORD_UPLOAD = 'upload-id';
/** Metadata on an upload record: when the upload started (ISO 8601, this process's clock; the record is rewritten at every `close()`). */
export const RECORD_STARTED = 'started-at';

export interface UploadTarget {
  send: Send;
  bucket: string;
  key: string;
  /** Key of the hidden object holding the tail a `close()` left, for an upload id. */
  tailKey: (uploadId: string) => string;
  /** That object is the path's upload record: always written, from the upload's creation on (see above). */
  uploadRecord?: boolean;
  chunkSize: number;
  concurrency: number;
  /** Headers for new objects (ACL, storage class, encryption). */
  objectFields: Record<string, unknown>;
  /**
   * Headers for the hidden tail (ACL, encryption): it holds the caller's bytes until the commit. Not
   * the storage class: infrequent-access classes bill a short-lived object for 30 days.
   */
  tailFields: Record<string, unknown>;
  /** The content type and metadata a new upload starts with (a resumed upload keeps its own). */
  contentFields: ContentFields;
}

/** An upload in progress, found by `writer(path, {append: true})`. */
export interface ResumedUpload {
  uploadId: string;
  /** Part number → ETag, from 1 without a gap. */
  parts: Map<number, string>;
  partBytes: number;
  /**
   * The last of those parts is shorter than a part: a commit uploaded the final bytes and then
   * failed. The upload can be committed as it is; nothing can follow that part.
   */
  sealed: boolean;
  /** The stored tail to restore, unless stale. */
  tail: Buffer | undefined;
  /** A tail object exists (stale or not): commit and cancel delete it. */
  tailStored: boolean;
  /** With upload records: when the upload started, as its record says. */
  startedAt?: string | undefined;
}

/** The committed object an append writer continues (its metadata is in the target's `contentFields`). */
export interface CommittedObject {
  size: number;
  etag: string | undefined;
}

export class MultipartWriter implements BackendWriter {
  readonly #t: UploadTarget;
  #uploadId: Promise<string> | undefined;
  /** The marker of an upload this writer created; undefined for one it resumed. */
  #token: string | undefined;
  readonly #parts: Map<number, string>;
  readonly #uploader: PartUploader;
  readonly #sealed: boolean;
  #size: number;
  #hasTailObject: boolean;
  /** With upload records: when the upload started, kept in its record at every write of it. */
  #started: string | undefined;

  /** A new upload, or one resumed; `nextPart` is where new parts start when it is not after `resumed`'s parts. */
  constructor(target: UploadTarget, resumed?: ResumedUpload, nextPart = (resumed?.parts.size ?? 0) + 1) {
    this.#t = target;
    this.#parts = resumed?.parts ?? new Map();
    this.#uploadId = resumed === undefined ? undefined : Promise.resolve(resumed.uploadId);
    this.#size = resumed?.partBytes ?? 0;
    this.#sealed = resumed?.sealed ?? false;
    this.#hasTailObject = resumed?.tailStored ?? false;
    this.#started = resumed?.startedAt;
    this.#uploader = new PartUploader({
      partSize: target.chunkSize,
      concurrency: target.concurrency,
      firstIndex: nextPart - 1,
      upload: async (index, data, signal) => {
        const uploadId = await this.#ensureUpload(signal);
        const out = await target.send(
          new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: index + 1, Body: data, ContentLength: data.length }),
          signal,
        );
        this.#parts.set(index + 1, out.ETag!);
      },
    });
  }

  /**
   * A writer that continues committed content: a new upload whose first parts are UploadPartCopy
   * of the object's whole parts (each exactly `chunkSize`, so parts stay equal), with the rest,
   * shorter than a part, read into the buffer. Its size is the object's; its commit replaces the
   * object with the object plus what is written. The copies are pinned to the object's ETag, and
   * the rest is read (or, when there is none, the object checked) with If-Match after them: a
   * server that ignores CopySourceIfMatch (Ceph) still cannot make a writer of mixed versions.
   */
  static async continuing(target: UploadTarget, object: CommittedObject, signal?: AbortSignal): Promise<MultipartWriter> {
    const { send, bucket, key, chunkSize } = target;
    const copied = Math.floor(object.size / chunkSize);
    const writer = new MultipartWriter(target, undefined, copied + 1);
    try {
      if (copied > 0) {
        const uploadId = await writer.#ensureUpload(signal);
        const source = copySource(bucket, key);
        const etags = await copyParts({ send, bucket, key, uploadId, copySource: source, ifMatch: object.etag, size: copied * chunkSize, partSize: chunkSize, concurrency: target.concurrency, signal });
        etags.forEach((etag, i) => writer.#parts.set(i + 1, etag));
        writer.#size = copied * chunkSize;
      }
      const restStart = copied * chunkSize;
      if (restStart < object.size) {
        const out = await send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${restStart}-${object.size - 1}`, IfMatch: object.etag }), signal);
        await writer.restoreTail(Buffer.from(await out.Body!.transformToByteArray()));
      } else {
        await send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: object.etag }), signal);
      }
    } catch (error) {
      // The upload was this call's own and holds nothing the caller wrote: it goes. If that fails
      // too, the error that matters is the first; a later append would resume the copied parts.
      await writer.#abort().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  /** Fills the buffer with bytes that precede the first write (a stored tail, the rest of committed content). */
  async restoreTail(tail: Buffer): Promise<void> {
    await this.#uploader.write(tail);
    this.#size += tail.length;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.#sealed) {
      throw new DriverError(`cannot append to ${this.#t.key}: the upload ends in a short part (a commit was tried after it); commit it as it is, or cancel it`);
    }
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    const tail = await this.#uploader.flush(undefined, false);
    const uploadId = await this.#ensureUpload();
    if (tail.length > 0 || this.#t.uploadRecord) {
      // The tail follows exactly the whole parts uploaded so far; a writer that uploads it inside a
      // part (a resumed writer's next part, a failed commit's final part) leaves more parts than this
      // count, which marks the tail as stale.
      await this.#putTail(uploadId, tail, this.#uploader.nextIndex);
    } else if (this.#hasTailObject) {
      await this.#deleteTail(uploadId);
    }
  }

  async #putTail(uploadId: string, tail: Buffer, partsBefore: number, signal?: AbortSignal): Promise<void> {
    const record = this.#t.uploadRecord ? { [RECORD_UPLOAD]: uploadId, ...(this.#started === undefined ? {} : { [RECORD_STARTED]: this.#started }) } : {};
    const Metadata = { [TAIL_PARTS]: String(partsBefore), ...record };
    await this.#t.send(new PutObjectCommand({ Bucket: this.#t.bucket, Key: this.#t.tailKey(uploadId), Body: tail, ContentLength: tail.length, Metadata, ...this.#t.tailFields }), signal);
    this.#hasTailObject = true;
  }

  /**
   * Retryable: a failure leaves the upload as it is, and a later try completes it or finds it
   * completed. The bytes after the last whole part stay in the buffer until the commit succeeds
   * (not handed to PartUploader, whose failures are final): a retried commit uploads them again,
   * and a `close()` after a failed commit stores them as the tail.
   */
  async commit(signal?: AbortSignal): Promise<void> {
    const { send, bucket, key } = this.#t;
    const tail = await this.#uploader.flush(signal, false);
    if (this.#uploadId === undefined && tail.length === 0) {
      // Nothing was ever written: an empty object, no multipart upload needed.
      await send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, ...this.#t.contentFields, ...this.#t.objectFields }), signal);
      return;
    }
    const uploadId = await this.#ensureUpload(signal);
    const final = this.#uploader.nextIndex + 1;
    // The final, short part; an empty one when there is no part at all (S3 refuses to complete an upload without parts).
    if (!this.#parts.has(final) && (tail.length > 0 || this.#parts.size === 0)) {
      const out = await send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: final, Body: tail, ContentLength: tail.length }), signal);
      this.#parts.set(final, out.ETag!);
    }
    const parts = [...this.#parts.entries()].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
    try {
      await send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), signal);
    } catch (error) {
      // The upload is gone: completed by an earlier try whose answer was lost, or aborted.
      if (!isNoSuchUpload(error) || !(await this.#isCommitted(parts.map((p) => p.ETag), signal))) throw error;
    }
    if (this.#hasTailObject) await this.#deleteTail(uploadId, signal);
  }

  async cancel(signal?: AbortSignal): Promise<void> {
    // Let parts in flight settle first, or one could land after the abort and recreate state.
    await this.#uploader.drain().catch(() => undefined);
    await this.#abort(signal);
  }

  /** The object at the key is this upload, completed. */
  async #isCommitted(etags: string[], signal?: AbortSignal): Promise<boolean> {
    let head;
    try {
      head = await this.#t.send(new HeadObjectCommand({ Bucket: this.#t.bucket, Key: this.#t.key }), signal);
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    if (this.#token !== undefined && head.Metadata?.[UPLOAD_MARKER] === this.#token) return true;
    const expected = multipartETag(etags);
    return expected !== undefined && unquote(head.ETag ?? '') === expected;
  }

  async #abort(signal?: AbortSignal): Promise<void> {
    if (this.#uploadId === undefined) return;
    const uploadId = await this.#uploadId;
    try {
      await this.#t.send(new AbortMultipartUploadCommand({ Bucket: this.#t.bucket, Key: this.#t.key, UploadId: uploadId }), signal);
    } catch (error) {
      // Already gone (completed by a commit whose answer was lost, or aborted): nothing left to abort.
      if (!isNoSuchUpload(error)) throw error;
    }
    if (this.#hasTailObject) await this.#deleteTail(uploadId, signal);
  }

  #ensureUpload(signal?: AbortSignal): Promise<string> {
    if (this.#uploadId === undefined) {
      const token = randomUUID();
      this.#token = token;
      this.#started = new Date().toISOString();
      const { Metadata, ...content } = this.#t.contentFields;
      const fields = { ...content, Metadata: { ...Metadata, [UPLOAD_MARKER]: token }, ...this.#t.objectFields };
      this.#uploadId = this.#t
        .send(new CreateMultipartUploadCommand({ Bucket: this.#t.bucket, Key: this.#t.key, ...fields }), signal)
        .then(async (out) => {
          const uploadId = out.UploadId!;
          if (this.#t.uploadRecord) {
            try {
              // Recorded before any part, so a writer that dies mid-stream is found by a new instance.
              await this.#putTail(uploadId, Buffer.alloc(0), 0, signal);
            } catch (error) {
              // Not findable: the upload goes (a lifecycle rule takes it if this fails too).
              await this.#t.send(new AbortMultipartUploadCommand({ Bucket: this.#t.bucket, Key: this.#t.key, UploadId: uploadId })).catch(() => undefined);
              throw error;
            }
          }
          return uploadId;
        })
        .catch((error: unknown) => {
          // Nothing was created that this writer knows of: a later part or commit tries again.
          this.#uploadId = undefined;
          throw error;
        });
    }
    return this.#uploadId;
  }

  async #deleteTail(uploadId: string, signal?: AbortSignal): Promise<void> {
    await this.#t.send(new DeleteObjectCommand({ Bucket: this.#t.bucket, Key: this.#t.tailKey(uploadId) }), signal);
    this.#hasTailObject = false;
  }
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

/** S3's ETag of a completed multipart upload: MD5 of the parts' binary MD5s, then `-<count>`; undefined when a part ETag is no MD5. */
function multipartETag(etags: string[]): string | undefined {
  const hash = createHash('md5');
  for (const etag of etags) {
    const hex = unquote(etag);
    if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
    hash.update(Buffer.from(hex, 'hex'));
  }
  return `${hash.digest('hex')}-${etags.length}`;
}
