/** The Google Cloud Storage backend and GcsDriver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.5. */
import type { Readable } from 'node:stream';

import type { Bucket, File, FileMetadata } from '@google-cloud/storage';
import {
  BaseDriver,
  directoryMoveError,
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  contiguousParts,
  putThroughWriter,
  readerAtEnd,
  resumableContent,
  resumableReader,
  retry,
  type BackendWriter,
  type FileInfo,
  type ListPage,
  type ListPageRequest,
  type OpenRange,
  type StorageBackend,
  type WalkFn,
} from '@storagedriver/core';

import { createBucket } from './client.js';
import { isNotFound } from './errors.js';
import { GcsRequests } from './http.js';
import type { GcsOptions } from './params.js';
import { signedUrl } from './signer.js';
import { deleteObjects, listNames, saveChecked } from './objects.js';
import { ComposeWriter, chunkName, committedUpload, newUploadId, type UploadTarget } from './writer.js';

const LIST_PAGE = 1000;
const REDIRECT_SECONDS = 20 * 60;
const CHUNK = /\/(\d{6})$/;

function info(path: string, metadata: FileMetadata): FileInfo {
  return { path, size: Number(metadata.size ?? 0), modTime: new Date(metadata.updated ?? 0), isDir: false };
}

export class GcsBackend implements StorageBackend {
  readonly name = 'gcs';
  readonly bucket: Bucket;
  readonly #o: GcsOptions;
  readonly #keys: KeyMapper;
  readonly #requests: GcsRequests;
  /** Upload chunks: a sibling of the root (`<root>~uploads/`), so no driver rooted above sees a directory made of them. */
  readonly #uploads: string;
  readonly #tree: ObjectStoreTree;

  constructor(options: GcsOptions) {
    this.#o = options;
    this.bucket = createBucket(options);
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#requests = new GcsRequests(this.bucket, options.userAgent);
    this.#uploads = this.#keys.hidden('uploads');
    this.#tree = new ObjectStoreTree(
      { listPage: (request, signal) => this.#listPage(request, signal), deleteKeys: (names, signal) => deleteObjects(this.bucket, names, undefined, signal) },
      this.#keys,
      // GCS has no batch delete in its JSON API client: deleteObjects sends them concurrently.
      { pageSize: LIST_PAGE, deleteBatchSize: LIST_PAGE },
    );
  }

  /** The object name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  #file(path: string): File {
    return this.bucket.file(this.key(path));
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path), { signal });
  }

  /**
   * One request up to a chunk: the object is replaced atomically, with an MD5 the service checks.
   * Above it, chunks composed at the end, like a writer: a single upload whose body is already on
   * the wire when the caller aborts may still be stored after the rejection, while chunks become
   * the object only by their compose.
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    if (content.length > this.#chunkSize) return putThroughWriter(new ComposeWriter(this.#uploadTarget(path, newUploadId())), content, signal);
    await saveChecked(this.#requests, this.key(path), content, {}, signal);
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    // A ranged read of an offset at or past the end fails late, inside the stream: check the size first.
    const { size } = await this.#statFile(path, signal);
    if (offset >= size) return readerAtEnd(path, offset, size);
    return resumableReader(offset, this.#openRange(path), { signal });
  }

  /** Ranged reads of the object, pinned to a generation once the first answer gave one. */
  #openRange(path: string): OpenRange {
    const key = this.key(path);
    return async (from, generation, openSignal) => {
      try {
        const { stream, generation: served, size } = await this.#requests.download(key, from, generation, openSignal);
        return { stream, version: served ?? generation, size };
      } catch (error) {
        if (!isNotFound(error)) throw error;
        if (generation === undefined) throw new PathNotFoundError(path, { cause: error });
        // The pinned generation is gone: replaced by another (the read cannot go on) or deleted.
        const current = await this.#metadata(key, openSignal);
        if (current === undefined) throw new PathNotFoundError(path, { cause: error });
        throw new PreconditionFailedError(path, `generation ${generation} was replaced by generation ${current.generation} during the read`, { cause: error });
      }
    };
  }

  /** The object's metadata, or undefined when there is none. */
  async #metadata(key: string, signal?: AbortSignal): Promise<FileMetadata | undefined> {
    try {
      const [metadata] = await retry(() => this.bucket.file(key).getMetadata(), { signal });
      return metadata;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #statFile(path: string, signal?: AbortSignal): Promise<FileInfo> {
    const stat = await this.stat(path, signal);
    if (stat.isDir) throw new PathNotFoundError(path);
    return stat;
  }

  get #chunkSize(): number {
    return this.#o.chunkSize ?? 16 * 1024 * 1024;
  }

  /** Where the chunks of every upload to `path` live. */
  #uploadsOf(path: string): string {
    return `${this.#uploads}${path.slice(1)}~/`;
  }

  #uploadTarget(path: string, uploadId: string): UploadTarget {
    return {
      bucket: this.bucket,
      requests: this.#requests,
      key: this.key(path),
      uploadPrefix: `${this.#uploadsOf(path)}${uploadId}/`,
      uploadId,
      chunkSize: this.#chunkSize,
      concurrency: this.#o.uploadConcurrency ?? 4,
    };
  }

  async writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter> {
    const key = this.key(path);
    const uploadsOfKey = this.#uploadsOf(path);
    const target = (uploadId: string): UploadTarget => this.#uploadTarget(path, uploadId);
    if (!append) return new ComposeWriter(target(newUploadId()));
    const committed = await this.#metadata(key, signal);
    const resumed = await this.#newestUpload(uploadsOfKey, committedUpload(committed), signal);
    if (resumed !== undefined) return new ComposeWriter(target(resumed.uploadId), resumed);
    if (committed === undefined) throw new PathNotFoundError(path);
    const upload = target(newUploadId());
    const size = Number(committed.size ?? 0);
    if (size === 0) return new ComposeWriter(upload);
    // Appending to committed content: a server-side copy of it becomes the upload's first chunk.
    await retry(() => this.#file(path).copy(this.bucket.file(chunkName(upload.uploadPrefix, 0))), { signal });
    return new ComposeWriter(upload, { chunks: 1, bytes: size });
  }

  /** The newest upload at a key, with its chunks from 0 without a gap; leftovers of the committed upload are removed. */
  async #newestUpload(uploadsOfKey: string, committedUploadId: string | undefined, signal?: AbortSignal) {
    const [files] = await retry(() => this.bucket.getFiles({ prefix: uploadsOfKey, autoPaginate: true }), { signal });
    const chunks = new Map<string, Map<number, number>>();
    for (const file of files) {
      const uploadId = file.name.slice(uploadsOfKey.length).split('/')[0]!;
      const index = CHUNK.exec(file.name)?.[1];
      if (index === undefined) continue;
      if (!chunks.has(uploadId)) chunks.set(uploadId, new Map());
      chunks.get(uploadId)!.set(Number(index), Number(file.metadata.size ?? 0));
    }
    if (committedUploadId !== undefined && chunks.has(committedUploadId)) {
      await deleteObjects(this.bucket, await listNames(this.bucket, `${uploadsOfKey}${committedUploadId}/`, signal), undefined, signal);
      chunks.delete(committedUploadId);
    }
    const uploadId = [...chunks.keys()].sort().at(-1);
    if (uploadId === undefined) return undefined;
    const { count, bytes } = contiguousParts(chunks.get(uploadId)!);
    return { uploadId, chunks: count, bytes };
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      const metadata = await this.#metadata(this.key(path), signal);
      if (metadata !== undefined) return info(path, metadata);
    }
    return this.#tree.statDirectory(path, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  /** One page of a listing (the tree retries it); the service may repeat a prefix on several pages. */
  async #listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    signal?.throwIfAborted();
    const [files, next, response] = await this.bucket.getFiles({
      prefix: request.prefix,
      maxResults: request.limit,
      pageToken: request.token,
      autoPaginate: false,
      ...(request.delimited ? { delimiter: '/' } : {}),
      // startOffset is inclusive; the tree drops the hint itself.
      ...(request.startAfter !== undefined ? { startOffset: request.startAfter } : {}),
    });
    return {
      objects: files.map((file) => ({ key: file.name, size: Number(file.metadata.size ?? 0), modTime: new Date(file.metadata.updated ?? 0) })),
      prefixes: (response as { prefixes?: string[] } | undefined)?.prefixes ?? [],
      next: (next as { pageToken?: string } | null)?.pageToken,
    };
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.#file(sourcePath);
    try {
      // The SDK follows the rewrite token until the copy is complete; a repeated copy gives the same object.
      await retry(() => source.copy(this.#file(destPath)), { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if ((await this.stat(sourcePath, signal).catch(() => undefined))?.isDir) throw directoryMoveError(sourcePath);
      throw new PathNotFoundError(sourcePath, { cause: error });
    }
    await deleteObjects(this.bucket, [source.name], sourcePath, signal);
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    await this.#tree.delete(path, signal);
  }

  async redirectURL(path: string, method: string): Promise<string | undefined> {
    const key = this.#o.credentials;
    if (key === undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
    return signedUrl(key, { method, bucket: this.bucket.name, object: this.key(path), expiresSeconds: REDIRECT_SECONDS, endpoint: this.#o.apiEndpoint });
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.#tree.walk(path, fn, startAfter, signal);
  }
}

/** The Google Cloud Storage driver. */
export class GcsDriver extends BaseDriver {
  constructor(options: GcsOptions) {
    super(new GcsBackend(options), { maxConcurrency: options.maxConcurrency ?? 50 });
  }
}
