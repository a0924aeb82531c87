/**
 * Pending uploads (issue 15): the multipart uploads writers leave between `close()` and commit,
 * listed and aborted. An upload's state is the multipart upload (its parts, and the content type
 * and metadata CreateMultipartUpload keeps for the object) plus one hidden object under
 * `<root>~uploads/` (core's `KeyMapper.hidden`): the tail a `close()` stored, keyed by upload id,
 * or, with upload records (a service without ListMultipartUploads, such as OSS), the path's record
 * `by-path<path>`, which holds the tail, the upload id and when the upload started.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
} from '@aws-sdk/client-s3';
import { ROOT, contiguousParts, isValidPath, isWithin, type KeyMapper, type PendingUpload } from '@storagedriver/core';

import type { Send } from './client.js';
import { isNoSuchUpload, isNotFound, isUploadGone } from './errors.js';
import { RECORD_STARTED, RECORD_UPLOAD, TAIL_PARTS } from './writer.js';

/** The kind of hidden state (core's `KeyMapper.hidden`) holding tails and upload records. */
const HIDDEN_KIND = 'uploads';

export interface UploadPart {
  size: number;
  etag: string;
}

/** A hidden object (tail or record) as HeadObject describes it. */
interface HiddenObject {
  size: number;
  metadata: Record<string, string>;
  lastModified: Date | undefined;
}

/** Every part of an upload, by ListParts pages: part number → size and ETag (at most S3's 10 000). */
export async function listParts(send: Send, bucket: string, key: string, uploadId: string, signal?: AbortSignal): Promise<Map<number, UploadPart>> {
  const parts = new Map<number, UploadPart>();
  let partMarker: string | undefined;
  do {
    const out = await send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: partMarker }), signal);
    for (const part of out.Parts ?? []) parts.set(part.PartNumber!, { size: part.Size ?? 0, etag: part.ETag! });
    partMarker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
  } while (partMarker !== undefined);
  return parts;
}

/**
 * Where a writer continuing an upload starts: the parts from 1 without a gap (parts after a gap are
 * overwritten or left out of its commit), then the stored tail when it follows exactly those parts
 * (`tailCurrent`; a tail with more parts after it is stale: a later writer uploaded it inside a part).
 */
export function resumePoint(parts: Map<number, UploadPart>, tailPartsBefore: number | undefined): { count: number; bytes: number; tailCurrent: boolean } {
  const { count, bytes } = contiguousParts(new Map([...parts].map(([n, part]) => [n, part.size])), 1);
  return { count, bytes, tailCurrent: tailPartsBefore === count };
}

export interface PendingUploadsOptions {
  send: Send;
  bucket: string;
  keys: KeyMapper;
  /** Upload records instead of ListMultipartUploads. */
  records: boolean;
}

/** The hidden keys of upload state, and the `uploads` / `abortUpload` of the backend. */
export class PendingUploads {
  readonly #send: Send;
  readonly #bucket: string;
  readonly #keys: KeyMapper;
  readonly #records: boolean;
  readonly #hidden: string;

  constructor(options: PendingUploadsOptions) {
    this.#send = options.send;
    this.#bucket = options.bucket;
    this.#keys = options.keys;
    this.#records = options.records;
    this.#hidden = options.keys.hidden(HIDDEN_KIND);
  }

  /** The hidden object holding the tail `close()` left for an upload (without upload records). */
  tailKey(uploadId: string): string {
    return `${this.#hidden}${uploadId}`;
  }

  /** The path's upload record (with upload records). */
  recordKey(path: string): string {
    return `${this.#hidden}by-path${path}`;
  }

  /** The uploads at `path` and below `path/`, a page of the service's listing at a time. */
  list(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload, void, undefined> {
    return this.#records ? this.#recordedUploads(path, signal) : this.#listedUploads(path, signal);
  }

  /**
   * AbortMultipartUpload, then the hidden object: the tail only when this call aborted the upload,
   * the record only when it names this upload. An id that is unknown, stale or another path's
   * (S3 answers NoSuchUpload for all three) so removes nothing of another upload.
   */
  async abort(path: string, id: string, signal?: AbortSignal): Promise<void> {
    let aborted = true;
    try {
      await this.#send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#keys.key(path), UploadId: id }), signal);
    } catch (error) {
      // Already gone: completed, cancelled, or aborted by a concurrent purge.
      if (!isNoSuchUpload(error)) throw error;
      aborted = false;
    }
    if (this.#records) {
      const record = await this.#head(this.recordKey(path), signal);
      if (record?.metadata[RECORD_UPLOAD] === id) await this.#send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.recordKey(path) }), signal);
    } else if (aborted) {
      await this.#send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.tailKey(id) }), signal);
    }
  }

  /**
   * ListMultipartUploads of the key prefix, filtered to the key itself and keys below `key/` (Ceph
   * lists uploads in the order of its own index, not by key, so the listing cannot stop at the
   * first sibling), and to keys that are paths of this driver.
   */
  async *#listedUploads(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload, void, undefined> {
    const prefix = path === ROOT ? this.#keys.prefix : this.#keys.key(path);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const out = await this.#send(
        new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        signal,
      );
      for (const upload of out.Uploads ?? []) {
        const uploadPath = this.#pathOf(upload.Key!);
        if (uploadPath === undefined || !isWithin(uploadPath, path)) continue;
        const size = await this.#size(upload.Key!, upload.UploadId!, await this.#head(this.tailKey(upload.UploadId!), signal), signal);
        if (size !== undefined) yield { path: uploadPath, id: upload.UploadId!, startedAt: upload.Initiated ?? new Date(0), size };
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      uploadIdMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  /** The record of `path` itself, then ListObjectsV2 of the records below `path/`. */
  async *#recordedUploads(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload, void, undefined> {
    if (path !== ROOT) {
      const own = await this.#recorded(path, signal);
      if (own !== undefined) yield own;
    }
    const base = this.recordKey('');
    let token: string | undefined;
    do {
      const out = await this.#send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${base}${path === ROOT ? '' : path}/`, ContinuationToken: token }), signal);
      for (const object of out.Contents ?? []) {
        const recordPath = object.Key!.slice(base.length);
        if (!isValidPath(recordPath)) continue;
        const upload = await this.#recorded(recordPath, signal);
        if (upload !== undefined) yield upload;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The upload a path's record names; undefined without a record, or when the record outlived its upload. */
  async #recorded(path: string, signal?: AbortSignal): Promise<PendingUpload | undefined> {
    const record = await this.#head(this.recordKey(path), signal);
    const id = record?.metadata[RECORD_UPLOAD];
    if (record === undefined || id === undefined) return undefined;
    const size = await this.#size(this.#keys.key(path), id, record, signal);
    if (size === undefined) return undefined;
    // Records written before they carried the start time: their last write is the best there is.
    const started = Date.parse(record.metadata[RECORD_STARTED] ?? '');
    return { path, id, startedAt: Number.isNaN(started) ? (record.lastModified ?? new Date(0)) : new Date(started), size };
  }

  /** What a writer continuing the upload would start from; undefined when the upload is gone. */
  async #size(key: string, uploadId: string, tail: HiddenObject | undefined, signal?: AbortSignal): Promise<number | undefined> {
    let parts: Map<number, UploadPart>;
    try {
      parts = await listParts(this.#send, this.#bucket, key, uploadId, signal);
    } catch (error) {
      // Completed or aborted since it was listed (or since its record was written).
      if (isUploadGone(error)) return undefined;
      throw error;
    }
    const { bytes, tailCurrent } = resumePoint(parts, tail === undefined ? undefined : Number(tail.metadata[TAIL_PARTS] ?? -1));
    return bytes + (tail !== undefined && tailCurrent ? tail.size : 0);
  }

  async #head(key: string, signal?: AbortSignal): Promise<HiddenObject | undefined> {
    try {
      const out = await this.#send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), signal);
      return { size: out.ContentLength ?? 0, metadata: out.Metadata ?? {}, lastModified: out.LastModified };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The path of a key of this driver; undefined for keys outside the path grammar (hidden state, another tool's). */
  #pathOf(key: string): string | undefined {
    if (!key.startsWith(this.#keys.prefix)) return undefined;
    const path = `/${key.slice(this.#keys.prefix.length)}`;
    return isValidPath(path) ? path : undefined;
  }
}
