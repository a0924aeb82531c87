/** The S3 backend and S3Driver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.3. */
import type { Readable } from 'node:stream';

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
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  BaseDriver,
  DriverError,
  readerAtEnd,
  KeyMapper,
  PathNotFoundError,
  ROOT,
  isValidPath,
  walkSortedKeys,
  type BackendWriter,
  type FileInfo,
  type StorageBackend,
  type WalkFn,
} from '@storagedriver/core';

import { createClient } from './client.js';
import { DirectRequests } from './direct.js';
import { isInvalidRange, isNotFound } from './errors.js';
import type { S3Options } from './params.js';
import { MultipartWriter, TAIL_PARTS, type ResumedUpload, type UploadTarget } from './writer.js';

const LIST_MAX = 1000;
const REDIRECT_SECONDS = 20 * 60;
/** Hidden prefix (below the root) of the tails `close()` stores; `~` is outside the path grammar. */
const TAILS = '~uploads/';

export class S3Backend implements StorageBackend {
  readonly name = 's3';
  readonly client: S3Client;
  readonly #o: S3Options;
  readonly #keys: KeyMapper;
  readonly #objectFields: Record<string, unknown>;
  #redirectClient: S3Client | undefined;
  /** The fast path for small objects; not used with a caller's own client, whose settings it cannot see. */
  readonly #direct: DirectRequests | undefined;

  constructor(options: S3Options) {
    this.#o = options;
    this.client = createClient(options);
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#objectFields = {
      ACL: options.objectAcl ?? 'private',
      ...(options.storageClass === 'NONE' ? {} : { StorageClass: options.storageClass ?? 'STANDARD' }),
      ...(options.encrypt ? { ServerSideEncryption: options.keyId ? 'aws:kms' : 'AES256' } : {}),
      ...(options.encrypt && options.keyId ? { SSEKMSKeyId: options.keyId } : {}),
    };
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

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      const direct = await this.#directPath();
      if (direct !== undefined) return await direct.get(this.key(path), signal);
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.key(path) }), { abortSignal: signal });
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    const direct = await this.#directPath();
    if (direct !== undefined) return direct.put(this.key(path), content, signal);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.key(path), Body: content, ContentLength: content.length, ContentType: 'application/octet-stream', ...this.#objectFields }),
      { abortSignal: signal },
    );
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.key(path), Range: offset > 0 ? `bytes=${offset}-` : undefined }),
        { abortSignal: signal },
      );
      return out.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      if (!isInvalidRange(error)) throw error;
      // 416: offset ≥ size.
      return readerAtEnd(path, offset, (await this.stat(path, signal)).size, error);
    }
  }

  async writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter> {
    const target: UploadTarget = {
      client: this.client,
      bucket: this.#bucket,
      key: this.key(path),
      tailKey: (uploadId) => `${this.#keys.prefix}${TAILS}${uploadId}`,
      chunkSize: this.#o.chunkSize ?? 10 * 1024 * 1024,
      concurrency: this.#o.uploadConcurrency ?? 4,
      objectFields: this.#objectFields,
    };
    if (!append) return new MultipartWriter(target);
    const resumed = await this.#findUpload(target, signal);
    if (resumed === undefined) {
      const info = await this.stat(path, signal);
      if (info.isDir) throw new PathNotFoundError(path);
      if (info.size > 0) throw new DriverError(`cannot append to committed non-empty content at ${path}`, { path });
      return new MultipartWriter(target);
    }
    const writer = new MultipartWriter(target, resumed);
    if (resumed.tail !== undefined) await writer.restoreTail(resumed.tail);
    return writer;
  }

  /** The newest in-progress upload for exactly this key, with its parts and stored tail. */
  async #findUpload(target: UploadTarget, signal?: AbortSignal): Promise<ResumedUpload | undefined> {
    let newest: { id: string; initiated: number } | undefined;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: target.key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        { abortSignal: signal },
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
    const listed = new Map<number, number>();
    const etags = new Map<number, string>();
    let partMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListPartsCommand({ Bucket: this.#bucket, Key: target.key, UploadId: newest.id, PartNumberMarker: partMarker }),
        { abortSignal: signal },
      );
      for (const part of out.Parts ?? []) {
        listed.set(part.PartNumber!, part.Size ?? 0);
        etags.set(part.PartNumber!, part.ETag!);
      }
      partMarker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (partMarker !== undefined);
    // Only the parts from 1 without a gap hold the stream; a writer that died mid-upload may have
    // left later parts behind a missing one, which are overwritten or left out of the completion.
    const parts = new Map<number, string>();
    let partBytes = 0;
    for (let n = 1; listed.has(n); n++) {
      parts.set(n, etags.get(n)!);
      partBytes += listed.get(n)!;
    }
    let tail: Buffer | undefined;
    let tailStored = false;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: target.tailKey(newest.id) }), { abortSignal: signal });
      const body = Buffer.from(await out.Body!.transformToByteArray());
      tailStored = true;
      if (out.Metadata?.[TAIL_PARTS] === String(parts.size)) tail = body;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { uploadId: newest.id, parts, partBytes, tail, tailStored };
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      try {
        const direct = await this.#directPath();
        if (direct !== undefined) return { path, ...(await direct.head(this.key(path), signal)), isDir: false };
        const out = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.key(path) }), { abortSignal: signal });
        return { path, size: out.ContentLength ?? 0, modTime: out.LastModified ?? new Date(0), isDir: false };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const out = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#keys.directoryPrefix(path), MaxKeys: 1 }),
      { abortSignal: signal },
    );
    if (path !== ROOT && (out.KeyCount ?? 0) === 0) throw new PathNotFoundError(path);
    return { path, size: 0, modTime: new Date(0), isDir: true };
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = this.#keys.directoryPrefix(path);
    const entries: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, Delimiter: '/', MaxKeys: LIST_MAX, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of out.Contents ?? []) {
        if (object.Key === prefix) continue; // a directory marker
        entries.push(this.#keys.path(object.Key!));
      }
      for (const common of out.CommonPrefixes ?? []) entries.push(this.#keys.path(common.Prefix!));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Hidden keys (the writer's tails) fall outside the path grammar.
    const visible = entries.filter(isValidPath);
    if (visible.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
    return visible;
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = await this.stat(sourcePath, signal);
    if (source.isDir) throw new DriverError(`cannot move ${sourcePath}: it is a directory`, { path: sourcePath });
    const sourceKey = this.key(sourcePath);
    const destKey = this.key(destPath);
    const copySource = `${this.#bucket}/${encodeURIComponent(sourceKey).replace(/%2F/g, '/')}`;
    if (source.size <= (this.#o.multipartCopyThresholdSize ?? 32 * 1024 * 1024)) {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.#bucket, Key: destKey, CopySource: copySource, ContentType: 'application/octet-stream', ...this.#objectFields }),
        { abortSignal: signal },
      );
    } else {
      await this.#multipartCopy(copySource, destKey, source.size, signal);
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: sourceKey }), { abortSignal: signal });
  }

  async #multipartCopy(copySource: string, destKey: string, size: number, signal?: AbortSignal): Promise<void> {
    const chunk = this.#o.multipartCopyChunkSize ?? 32 * 1024 * 1024;
    const count = Math.ceil(size / chunk);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, ContentType: 'application/octet-stream', ...this.#objectFields }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId!;
    try {
      const etags: string[] = new Array<string>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          const first = index * chunk;
          const last = Math.min(size, first + chunk) - 1;
          const out = await this.client.send(
            new UploadPartCopyCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId, PartNumber: index + 1, CopySource: copySource, CopySourceRange: `bytes=${first}-${last}` }),
            { abortSignal: signal },
          );
          etags[index] = out.CopyPartResult!.ETag!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(count, this.#o.multipartCopyMaxConcurrency ?? 100) }, worker));
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
        { abortSignal: signal },
      );
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: destKey, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.key(path);
    const keys: string[] = [];
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), { abortSignal: signal });
      keys.push(key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${key}/`, MaxKeys: LIST_MAX, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of out.Contents ?? []) keys.push(object.Key!);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    if (keys.length === 0) throw new PathNotFoundError(path);
    const failed: string[] = [];
    let firstError: unknown;
    for (let i = 0; i < keys.length; i += LIST_MAX) {
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys.slice(i, i + LIST_MAX).map((Key) => ({ Key })), Quiet: true } }),
        { abortSignal: signal },
      );
      for (const error of out.Errors ?? []) {
        failed.push(`${error.Key} (${error.Code})`);
        firstError ??= error;
      }
    }
    if (failed.length > 0) throw new DriverError(`could not delete ${failed.length} keys: ${failed.slice(0, 10).join(', ')}`, { path, cause: firstError });
  }

  async redirectURL(path: string, method: string): Promise<string | undefined> {
    const client = this.#presigningClient();
    const input = { Bucket: this.#bucket, Key: this.key(path) };
    if (method === 'GET') return getSignedUrl(client, new GetObjectCommand(input), { expiresIn: REDIRECT_SECONDS });
    if (method === 'HEAD') return getSignedUrl(client, new HeadObjectCommand(input), { expiresIn: REDIRECT_SECONDS });
    return undefined;
  }

  #presigningClient(): S3Client {
    if (this.#o.redirectEndpoint === undefined) return this.client;
    // Signed for the redirect host: the signature covers the Host header.
    this.#redirectClient ??= createClient({ ...this.#o, client: undefined, regionEndpoint: this.#o.redirectEndpoint, forcePathStyle: true });
    return this.#redirectClient;
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    const prefix = this.#keys.directoryPrefix(path);
    const hiddenPrefix = `${this.#keys.prefix}${TAILS}`;
    const client = this.client;
    const bucket = this.#bucket;
    const keys = this.#keys;
    const startAfterKey = startAfter === undefined || startAfter === '' ? undefined : keys.key(startAfter);
    async function* pages(): AsyncGenerator<FileInfo[]> {
      let token: string | undefined;
      do {
        const out: ListObjectsV2CommandOutput = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            MaxKeys: LIST_MAX,
            ContinuationToken: token,
            StartAfter: token === undefined && startAfterKey !== undefined && startAfterKey > prefix ? startAfterKey : undefined,
          }),
          { abortSignal: signal },
        );
        const page: FileInfo[] = [];
        for (const object of out.Contents ?? []) {
          const key = object.Key!;
          // `~` sorts after every path character: the hidden tails come last, nothing visible follows.
          if (key.startsWith(hiddenPrefix)) return yield page;
          page.push({ path: keys.path(key), size: object.Size ?? 0, modTime: object.LastModified ?? new Date(0), isDir: key.endsWith('/') });
        }
        yield page;
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token !== undefined);
    }
    const found = await walkSortedKeys(path, pages(), fn, startAfter, signal);
    // Nothing after the hint is no proof the directory is missing.
    if (!found && path !== ROOT && (startAfterKey === undefined || !(await this.stat(path, signal)).isDir)) throw new PathNotFoundError(path);
  }
}

/** The S3 storage driver (AWS and S3-compatible servers). */
export class S3Driver extends BaseDriver {
  constructor(options: S3Options) {
    super(new S3Backend(options), { maxConcurrency: options.maxConcurrency ?? 128 });
  }
}
