/** The S3 backend and S3Driver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.3. */
import { Readable } from 'node:stream';

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  BaseDriver,
  DriverError,
  InvalidOffsetError,
  directoryMoveError,
  readerAtEnd,
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  isTransientError,
  putThroughWriter,
  resumableContent,
  resumableReader,
  retry,
  type BackendPutOptions,
  type BackendWriter,
  type Capabilities,
  type Existence,
  type FileInfo,
  type FilePage,
  type ListPage,
  type ListPageRequest,
  type OpenRange,
  type PendingUpload,
  type SignedMethod,
  type SignedURL,
  type StorageBackend,
  type WalkFn,
  type WriteMetadata,
} from '@storagedriver/core';

import { createClient, sender, type Send } from './client.js';
import { copyParts, copySource } from './copy.js';
import { DirectRequests, S3ResponseError } from './direct.js';
import { hasNoServiceCode, isInvalidRange, isNotFound, isPreconditionFailed, isUploadGone, s3Status } from './errors.js';
import { checkUserMetadata, contentFields, fileInfo, headFromSdk, storedMetadata, type ContentFields, type ObjectHead } from './metadata.js';
import { checkS3Options, type S3Options } from './params.js';
import { presign } from './presign.js';
import { PendingUploads, listParts, resumePoint, type UploadPart } from './uploads.js';
import { MultipartWriter, RECORD_STARTED, RECORD_UPLOAD, TAIL_PARTS, type ResumedUpload, type UploadTarget } from './writer.js';

const LIST_MAX = 1000;
const REDIRECT_SECONDS = 20 * 60;
/** SigV4's longest presigned URL: 7 days. */
const SIGNED_MAX_SECONDS = 7 * 24 * 3600;
const MiB = 1024 * 1024;

/**
 * What S3 does natively (see the README for each claim on Ceph and on AWS). No conditional writes:
 * Ceph Pacific checks If-None-Match / If-Match on PutObject but ignores them on
 * CompleteMultipartUpload, so a writer's commit could not honour them.
 */
const CAPABILITIES: Partial<Capabilities> = {
  redirectURL: true,
  signedURL: ['GET', 'HEAD', 'PUT'],
  signedURLMaxExpiresIn: SIGNED_MAX_SECONDS,
  metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
  etag: true,
  copy: true,
  appendToCommitted: true,
  rangedRead: true,
  listPage: true,
  uploads: true,
};

/** A tail object as stored: its bytes, the count of parts they follow, its metadata. */
interface StoredTail {
  body: Buffer;
  partsBefore: number;
  metadata: Record<string, string>;
}

/** An upload found in progress, and its stored tail if any. */
interface FoundUpload {
  uploadId: string;
  tail: StoredTail | undefined;
}

/** The whole object's size from a ranged answer (`bytes a-b/total`) or a whole one (its length). */
function objectSize(contentRange: string | undefined, contentLength: string | number | undefined): number | undefined {
  const total = contentRange === undefined ? undefined : /\/(\d+)$/.exec(contentRange)?.[1];
  if (total !== undefined) return Number(total);
  return contentRange === undefined && contentLength !== undefined ? Number(contentLength) : undefined;
}

/** The S3 StorageBackend; S3Driver wraps it. Use it directly only to write a driver on top of it. */
export class S3Backend implements StorageBackend {
  readonly name: string = 's3';
  readonly capabilities = CAPABILITIES;
  /** The AWS SDK client the backend sends its requests with (the caller's `client` option when given). */
  readonly client: S3Client;
  readonly #send: Send;
  readonly #o: S3Options;
  readonly #keys: KeyMapper;
  readonly #tree: ObjectStoreTree;
  readonly #uploads: PendingUploads;
  readonly #objectFields: Record<string, unknown>;
  /** The ACL and encryption of new objects: also the hidden tails', which hold the caller's bytes too. */
  readonly #accessFields: Record<string, unknown>;
  #redirectClient: S3Client | undefined;
  /** The fast path for small objects; not used with a caller's own client, whose settings it cannot see. */
  readonly #direct: DirectRequests | undefined;

  constructor(options: S3Options) {
    this.#o = checkS3Options(options);
    this.client = createClient(options);
    this.#send = sender(this.client, options.client === undefined, options.answerTimeoutMs);
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#tree = new ObjectStoreTree(
      { listPage: (request, signal) => this.#listPage(request, signal), deleteKeys: (keys, signal) => this.#deleteKeys(keys, signal) },
      this.#keys,
      { pageSize: LIST_MAX, deleteBatchSize: LIST_MAX, retried: afterSdkRetries },
    );
    this.#uploads = new PendingUploads({ send: this.#send, bucket: options.bucket, keys: this.#keys, records: options.uploadRecords ?? false });
    this.#accessFields = {
      ...(options.objectAcl === undefined ? {} : { ACL: options.objectAcl }),
      ...(options.encrypt ? { ServerSideEncryption: options.keyId ? 'aws:kms' : 'AES256' } : {}),
      ...(options.encrypt && options.keyId ? { SSEKMSKeyId: options.keyId } : {}),
    };
    this.#objectFields = { ...this.#accessFields, ...(options.storageClass === 'NONE' ? {} : { StorageClass: options.storageClass ?? 'STANDARD' }) };
    this.#direct = options.client === undefined ? new DirectRequests(this.client, options, this.#objectFields) : undefined;
  }

  async #directPath(): Promise<DirectRequests | undefined> {
    return this.#direct !== undefined && (await this.#direct.available()) ? this.#direct : undefined;
  }

  /** The object key of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  get #bucket(): string {
    return this.#o.bucket;
  }

  /**
   * One GET read straight into memory, a cut body continued from the byte where it stopped, pinned
   * to the first answer's ETag (core's resumableContent: no stream in between for small objects).
   */
  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path, await this.#directPath()), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
  }

  /**
   * One PutObject, or above one part a multipart upload: a PUT whose body is already on the wire when
   * the caller aborts may still be stored after the rejection, while an upload is applied only by its
   * CompleteMultipartUpload, so an abort before that leaves nothing (and the upload is aborted).
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal, options?: BackendPutOptions): Promise<void> {
    checkUserMetadata(options);
    const fields = contentFields(options);
    if (content.length > this.#chunkSize) {
      await putThroughWriter(new MultipartWriter(this.#uploadTarget(path, fields)), content, signal);
      return;
    }
    const direct = await this.#directPath();
    if (direct !== undefined) return direct.put(this.key(path), content, fields, signal);
    await this.#send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.key(path), Body: content, ContentLength: content.length, ...fields, ...this.#objectFields }),
      signal,
    );
  }

  /**
   * From `offset` to the end, or (with `length`) one ranged GET of exactly that range, checked
   * against the size Content-Range announces: a range past the end is InvalidOffset at open.
   */
  async reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable> {
    // `bytes=a-(a-1)` is no range: an empty read only needs the size.
    if (length === 0) {
      if (offset > (await this.#headFile(path, signal)).size) throw new InvalidOffsetError(path, offset);
      return Readable.from([]);
    }
    const end = length === undefined ? undefined : offset + length - 1;
    try {
      return await resumableReader(offset, this.#openRange(path, await this.#directPath(), end), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
    } catch (error) {
      if (!isInvalidRange(error)) throw error;
      // 416: offset ≥ size (or the object is empty), so a range of `length` > 0 passes the end.
      if (length !== undefined) throw new InvalidOffsetError(path, offset + length, { cause: error });
      return readerAtEnd(path, offset, (await this.#headFile(path, signal)).size, error);
    }
  }

  /**
   * Ranged GETs of `path` for resumableReader (on the direct path when given), up to byte `end` when
   * given, pinned to an ETag on a resume.
   */
  #openRange(path: string, direct: DirectRequests | undefined, end?: number): OpenRange {
    const key = this.key(path);
    return async (offset, version, signal) => {
      try {
        let response: { stream: Readable; version: string | undefined; total: number | undefined; whole: boolean };
        if (direct !== undefined) {
          const { headers, body } = await direct.open(key, offset, end, version, signal);
          const contentRange = headers['content-range'];
          response = { stream: body, version: headers.etag, total: objectSize(contentRange, headers['content-length']), whole: contentRange === undefined };
        } else {
          const range = offset > 0 || end !== undefined ? `bytes=${offset}-${end ?? ''}` : undefined;
          const out = await this.#send(new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range: range, IfMatch: version }), signal);
          response = { stream: out.Body as Readable, version: out.ETag, total: objectSize(out.ContentRange, out.ContentLength), whole: out.ContentRange === undefined };
        }
        if ((offset > 0 || end !== undefined) && response.whole) {
          // A Range answered 200 with the whole object: OSS's answer to a range that starts past the
          // end (S3 answers 416). Treated as that 416; a server ignoring a satisfiable range is an error.
          response.stream.destroy();
          if (response.total !== undefined && offset >= response.total) throw new S3ResponseError(416, 'InvalidRange', `the range from byte ${offset} starts past the end (${response.total} bytes)`);
          throw new DriverError(`${path}: the server answered a ranged GET (from byte ${offset}) with the whole object`);
        }
        if (end === undefined) return { stream: response.stream, version: response.version, size: response.total };
        if (response.total !== undefined && end >= response.total) {
          response.stream.destroy();
          throw new InvalidOffsetError(path, end + 1);
        }
        // The stream ends at `end`: resumableReader resumes a body that stops before it.
        return { stream: response.stream, version: response.version, size: end + 1 };
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        if (version !== undefined && isPreconditionFailed(error)) {
          throw new PreconditionFailedError(path, `the object changed while it was read (it was ETag ${version})`, { cause: error });
        }
        throw error;
      }
    };
  }

  /** HeadObject, on the direct path when there is one; a failure without an error code but 404 is explained. */
  async #head(key: string, signal?: AbortSignal): Promise<ObjectHead> {
    try {
      const direct = await this.#directPath();
      if (direct !== undefined) return await direct.head(key, signal);
      return headFromSdk(await this.#send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), signal));
    } catch (error) {
      if (hasNoServiceCode(error) && s3Status(error) !== 404) throw await this.#explainHead(error, key, signal);
      throw error;
    }
  }

  /**
   * HeadObject of the file at `path`; PathNotFound when there is none (a directory is none). A 404
   * here is the final answer, so it is explained first: a missing bucket is not a missing path.
   */
  async #headFile(path: string, signal?: AbortSignal): Promise<ObjectHead> {
    try {
      return await this.#head(this.key(path), signal);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const explained = await this.#explainHead(error, this.key(path), signal);
      if (explained !== error) throw explained;
      throw new PathNotFoundError(path, { cause: error });
    }
  }

  /**
   * A HEAD answer has no body, so its 404 or 403 does not say whether the key, the bucket or the
   * credentials are wrong. Only on that error path, one ListObjectsV2 of the key asks the service:
   * its error answer (NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied…) is
   * the one to report; when it succeeds, or fails without one, the HEAD's error stands. Where a
   * HEAD's 404 is followed by a listing anyway (stat, exists), that listing tells.
   */
  async #explainHead(error: unknown, key: string, signal?: AbortSignal): Promise<unknown> {
    try {
      // On the direct path when there is one: its listing's answer body is bounded in time (core's readResponse).
      const direct = await this.#directPath();
      if (direct !== undefined) await direct.list({ prefix: key, delimited: false, limit: 1 }, signal);
      else await this.#send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: key, MaxKeys: 1 }), signal);
    } catch (listing) {
      if (!hasNoServiceCode(listing) && s3Status(listing) !== undefined) return listing;
    }
    return error;
  }

  get #chunkSize(): number {
    return this.#o.chunkSize ?? 10 * 1024 * 1024;
  }

  #uploadTarget(path: string, fields: ContentFields): UploadTarget {
    const record = this.#uploads.recordKey(path);
    return {
      send: this.#send,
      bucket: this.#bucket,
      key: this.key(path),
      tailKey: this.#o.uploadRecords ? () => record : (uploadId) => this.#uploads.tailKey(uploadId),
      uploadRecord: this.#o.uploadRecords ?? false,
      chunkSize: this.#chunkSize,
      concurrency: this.#o.uploadConcurrency ?? 4,
      objectFields: this.#objectFields,
      tailFields: this.#accessFields,
      contentFields: fields,
    };
  }

  /**
   * `metadata` goes to a new upload's CreateMultipartUpload, which keeps it for the object: a
   * resumed upload has its own already. Continued committed content keeps the object's.
   */
  async writer(path: string, append: boolean, signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
    checkUserMetadata(metadata);
    const target = this.#uploadTarget(path, contentFields(metadata));
    if (!append) return new MultipartWriter(target);
    const resumed = await this.#findUpload(target, signal);
    if (resumed !== undefined) {
      const writer = new MultipartWriter(target, resumed);
      if (resumed.tail !== undefined) await writer.restoreTail(resumed.tail);
      return writer;
    }
    // No upload in progress: continue committed content (an empty object needs nothing from it).
    const object = await this.#headFile(path, signal);
    if (object.size === 0) return new MultipartWriter(target);
    try {
      return await MultipartWriter.continuing(this.#uploadTarget(path, contentFields(storedMetadata(object))), object, signal);
    } catch (error) {
      if (isPreconditionFailed(error)) throw new PreconditionFailedError(path, 'the object changed while an append writer read it', { cause: error });
      throw error;
    }
  }

  /** The upload in progress for exactly this key, with its parts and stored tail. */
  async #findUpload(target: UploadTarget, signal?: AbortSignal): Promise<ResumedUpload | undefined> {
    const found = target.uploadRecord ? await this.#recordedUpload(target, signal) : await this.#newestUpload(target, signal);
    if (found === undefined) return undefined;
    let listed: Map<number, UploadPart>;
    try {
      listed = await listParts(this.#send, this.#bucket, target.key, found.uploadId, signal);
    } catch (error) {
      // A record outliving its upload (completed or aborted, the record's deletion failed): none in progress.
      if (target.uploadRecord && isUploadGone(error)) return undefined;
      throw error;
    }
    const { count, bytes, tailCurrent } = resumePoint(listed, found.tail?.partsBefore);
    const parts = new Map<number, string>();
    for (let n = 1; n <= count; n++) parts.set(n, listed.get(n)!.etag);
    const tail = tailCurrent ? found.tail?.body : undefined;
    const sealed = count > 0 && listed.get(count)!.size < target.chunkSize;
    const startedAt = target.uploadRecord ? found.tail?.metadata[RECORD_STARTED] : undefined;
    return { uploadId: found.uploadId, parts, partBytes: bytes, sealed, tail, tailStored: found.tail !== undefined, startedAt };
  }

  /** The path's upload record: the upload id and the tail it holds. */
  async #recordedUpload(target: UploadTarget, signal?: AbortSignal): Promise<FoundUpload | undefined> {
    const record = await this.#getTail(target.tailKey(''), signal);
    const uploadId = record?.metadata[RECORD_UPLOAD];
    return record === undefined || uploadId === undefined ? undefined : { uploadId, tail: record };
  }

  /** The newest in-progress upload for exactly this key by ListMultipartUploads, and its stored tail. */
  async #newestUpload(target: UploadTarget, signal?: AbortSignal): Promise<FoundUpload | undefined> {
    let newest: { id: string; initiated: number } | undefined;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const out = await this.#send(
        new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: target.key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        signal,
      );
      for (const upload of out.Uploads ?? []) {
        if (upload.Key !== target.key) continue;
        const initiated = upload.Initiated?.getTime() ?? 0;
        if (newest === undefined || initiated >= newest.initiated) newest = { id: upload.UploadId!, initiated };
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      uploadIdMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    if (newest === undefined) return undefined;
    return { uploadId: newest.id, tail: await this.#getTail(target.tailKey(newest.id), signal) };
  }

  /** A stored tail (or upload record), with the number of parts it follows; undefined when there is none. */
  async #getTail(key: string, signal?: AbortSignal): Promise<StoredTail | undefined> {
    try {
      const out = await this.#send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), signal);
      const body = Buffer.from(await out.Body!.transformToByteArray());
      const metadata = out.Metadata ?? {};
      return { body, partsBefore: Number(metadata[TAIL_PARTS] ?? -1), metadata };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      try {
        return fileInfo(path, await this.#head(this.key(path), signal));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return this.#tree.statDirectory(path, signal);
  }

  /** HeadObject; only without an object, one listing for a directory. */
  async exists(path: string, signal?: AbortSignal): Promise<Existence> {
    if (path === ROOT) return 'directory';
    try {
      await this.#head(this.key(path), signal);
      return 'file';
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return (await this.#tree.isDirectory(path, signal)) ? 'directory' : false;
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  /** ListObjectsV2 pages: entries carry the listing's size, time and ETag; the cursor its continuation token. */
  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    return this.#tree.page(path, request, signal);
  }

  /** On the direct path when there is one (a signed GET, its XML read for just the listing's fields). */
  async #listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    const direct = await this.#directPath();
    if (direct !== undefined) return direct.list(request, signal);
    const out = await this.#send(
      new ListObjectsV2Command({
        Bucket: this.#bucket,
        Prefix: request.prefix,
        Delimiter: request.delimited ? '/' : undefined,
        MaxKeys: request.limit,
        ContinuationToken: request.token,
        StartAfter: request.startAfter,
      }),
      signal,
    );
    return {
      objects: (out.Contents ?? []).map((object) => ({
        key: object.Key!,
        size: object.Size ?? 0,
        modTime: object.LastModified ?? new Date(0),
        ...(object.ETag === undefined ? {} : { etag: object.ETag }),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((common) => common.Prefix!),
      next: out.IsTruncated ? out.NextContinuationToken : undefined,
    };
  }

  /** One DeleteObjects request; a key already gone counts as deleted (S3 answers success for it). */
  async #deleteKeys(keys: string[], signal?: AbortSignal): Promise<void> {
    const out = await this.#send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), signal);
    const errors = out.Errors ?? [];
    if (errors.length > 0) {
      const shown = errors.slice(0, 10).map((error) => `${error.Key} (${error.Code})`);
      throw new DriverError(`could not delete ${errors.length} keys: ${shown.join(', ')}`, { cause: errors[0] });
    }
  }

  /** A copy that keeps the metadata, then the source deleted. */
  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    let source: ObjectHead;
    try {
      source = await this.#headFile(sourcePath, signal);
    } catch (error) {
      if (error instanceof PathNotFoundError && (await this.#tree.isDirectory(sourcePath, signal))) throw directoryMoveError(sourcePath);
      throw error;
    }
    await this.#copyObject(sourcePath, source, destPath, signal);
    await this.#send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.key(sourcePath) }), signal);
  }

  /** Server-side, with the source's metadata; PathNotFound for a missing source (core tells a directory). */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    await this.#copyObject(sourcePath, await this.#headFile(sourcePath, signal), destPath, signal);
  }

  /**
   * CopyObject (MetadataDirective COPY) up to `multipartcopythresholdsize` (at most 5 GiB, S3's
   * limit for one copy), concurrent UploadPartCopy above it into an upload created with the
   * source's metadata. Both pinned to the ETag the source was looked at with.
   */
  async #copyObject(sourcePath: string, source: ObjectHead, destPath: string, signal?: AbortSignal): Promise<void> {
    const from = copySource(this.#bucket, this.key(sourcePath));
    const destKey = this.key(destPath);
    try {
      if (source.size <= this.#copyThreshold) {
        await this.#send(
          new CopyObjectCommand({ Bucket: this.#bucket, Key: destKey, CopySource: from, CopySourceIfMatch: source.etag, MetadataDirective: 'COPY', ...this.#objectFields }),
          signal,
        );
      } else {
        await this.#multipartCopy(from, source, destKey, signal);
      }
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(sourcePath, { cause: error });
      if (isPreconditionFailed(error)) throw new PreconditionFailedError(sourcePath, 'the source changed while it was copied', { cause: error });
      throw error;
    }
  }

  get #copyThreshold(): number {
    return this.#o.multipartCopyThresholdSize ?? 32 * MiB;
  }

  async #multipartCopy(from: string, source: ObjectHead, destKey: string, signal?: AbortSignal): Promise<void> {
    const created = await this.#send(
      new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, ...contentFields(storedMetadata(source)), ...this.#objectFields }),
      signal,
    );
    const uploadId = created.UploadId!;
    try {
      const etags = await copyParts({
        send: this.#send,
        bucket: this.#bucket,
        key: destKey,
        uploadId,
        copySource: from,
        ifMatch: source.etag,
        size: source.size,
        partSize: this.#o.multipartCopyChunkSize ?? 32 * MiB,
        concurrency: this.#o.multipartCopyMaxConcurrency ?? 100,
        signal,
      });
      await this.#send(
        new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
        signal,
      );
    } catch (error) {
      // The copy is this call's own: it goes (without the signal, which may be what failed). The
      // error that matters is the copy's; an abort that fails too leaves an upload for lifecycle rules.
      await this.#send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    await this.#tree.delete(path, signal);
  }

  /**
   * ListMultipartUploads of the key prefix (with upload records: the records below the hidden
   * `by-path` prefix), each upload's size from ListParts and its stored tail.
   */
  uploads(path: string, signal?: AbortSignal): AsyncIterable<PendingUpload> {
    return this.#uploads.list(path, signal);
  }

  /** AbortMultipartUpload (NoSuchUpload: already gone), then the upload's tail or record. */
  async abortUpload(path: string, id: string, signal?: AbortSignal): Promise<void> {
    await this.#uploads.abort(path, id, signal);
  }

  async redirectURL(path: string, method: string): Promise<string | undefined> {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    return (await this.#presign(path, method, REDIRECT_SECONDS, undefined)).url;
  }

  /** A presigned GET, HEAD or PUT; a PUT signs `content-type` when one is given, and stores the driver's ACL, class and encryption. */
  async signedURL(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }): Promise<SignedURL> {
    return this.#presign(path, request.method, request.expiresIn, request.contentType);
  }

  #presign(path: string, method: SignedMethod, expiresIn: number, contentType: string | undefined): Promise<SignedURL> {
    const input = { Bucket: this.#bucket, Key: this.key(path) };
    const command =
      method === 'GET'
        ? new GetObjectCommand(input)
        : method === 'HEAD'
          ? new HeadObjectCommand(input)
          : new PutObjectCommand({ ...input, ...(contentType === undefined ? {} : { ContentType: contentType }), ...this.#objectFields });
    return presign(this.#presigningClient(), command, method, expiresIn, contentType);
  }

  #presigningClient(): S3Client {
    if (this.#o.redirectEndpoint === undefined) return this.client;
    // Signed for the redirect host: the signature covers the Host header.
    this.#redirectClient ??= createClient({ ...this.#o, client: undefined, regionEndpoint: this.#o.redirectEndpoint, forcePathStyle: true });
    return this.#redirectClient;
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.#tree.walk(path, fn, startAfter, signal);
  }
}

/**
 * Listing and batch-delete requests tried again on a transient failure the AWS SDK did not already
 * retry (a body cut after the headers reaches us on its first attempt), so the tries never multiply.
 */
function afterSdkRetries<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const sdkAttempts = (error: unknown) => (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
  return retry(request, { signal, isRetryable: (error) => isTransientError(error) && sdkAttempts(error) <= 1 });
}

/** The S3 storage driver (AWS and S3-compatible servers). */
export class S3Driver extends BaseDriver {
  constructor(options: S3Options) {
    super(new S3Backend(options), { maxConcurrency: options.maxConcurrency ?? 128 });
  }
}
