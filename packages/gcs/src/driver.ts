/** The Google Cloud Storage backend and GcsDriver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.5. */
import { Readable } from 'node:stream';

import type { Bucket, FileMetadata } from '@google-cloud/storage';
import {
  BaseDriver,
  directoryMoveError,
  InvalidOffsetError,
  InvalidParameterError,
  KeyMapper,
  METADATA_KINDS,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  contiguousParts,
  isValidPath,
  putThroughWriter,
  readerAtEnd,
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

import { createBucket } from './client.js';
import { gcsStatus, isNotFound } from './errors.js';
import { GcsRequests, RangeNotSatisfiableError } from './http.js';
import { CHANGED, chunkResource, fileInfo, keptMetadata, objectResource, preconditions, uploadState } from './metadata.js';
import { checkGcsOptions, emulatorEndpoint, type GcsOptions } from './params.js';
import { signedUrl } from './signer.js';
import { LIST_PAGE, deleteObjects, listNames, listObjects, objectMetadata, saveChecked } from './objects.js';
import { ComposeWriter, UPLOAD_ID, chunkName, committedUpload, newUploadId, type UploadTarget } from './writer.js';

const REDIRECT_SECONDS = 20 * 60;
/** V4 signed URLs live at most 7 days. */
const SIGNED_MAX_SECONDS = 7 * 24 * 60 * 60;
const CHUNK = /\/(\d{6})$/;
/** A page token of the driver's own: list from this key on (`~` never starts a GCS page token). */
const OFFSET_TOKEN = '~startOffset:';

/**
 * GCS counts items and prefixes together against `maxResults`; fake-gcs-server v1.56.1 returns
 * `maxResults` items plus every prefix from the page's start on, so a page can exceed the limit.
 * Prefixes past the page's last item come again on the next page: dropped here. If the page is
 * still over the limit, it is cut at the limit in key order and continued from the first entry left
 * out. A page within the limit (always, on GCS) is the service's, unchanged.
 */
function withinLimit(page: ListPage, limit: number): ListPage {
  if (page.objects.length + page.prefixes.length <= limit) return page;
  const last = page.next === undefined ? undefined : page.objects.at(-1)?.key;
  const prefixes = last === undefined ? page.prefixes : page.prefixes.filter((prefix) => prefix < last);
  if (page.objects.length + prefixes.length <= limit) return { ...page, prefixes };
  const entries = [...page.objects.map((object) => ({ key: object.key, object })), ...prefixes.map((prefix) => ({ key: prefix, object: undefined }))];
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const kept = entries.slice(0, limit);
  return {
    objects: kept.flatMap((entry) => (entry.object === undefined ? [] : [entry.object])),
    prefixes: kept.flatMap((entry) => (entry.object === undefined ? [entry.key] : [])),
    next: `${OFFSET_TOKEN}${entries[limit]!.key}`,
  };
}

/** The Google Cloud Storage StorageBackend; GcsDriver wraps it. */
export class GcsBackend implements StorageBackend {
  readonly name = 'gcs';
  readonly capabilities: Partial<Capabilities>;
  /** The SDK's Bucket the backend works in (from the caller's `client` option when given). */
  readonly bucket: Bucket;
  readonly #o: GcsOptions;
  readonly #keys: KeyMapper;
  readonly #requests: GcsRequests;
  /** Upload chunks: a sibling of the root (`<root>~uploads/`), so no driver rooted above sees a directory made of them. */
  readonly #uploads: string;
  readonly #tree: ObjectStoreTree;

  constructor(options: GcsOptions) {
    checkGcsOptions(options);
    // STORAGE_EMULATOR_HOST acts as an apiEndpoint (claims and signed URLs included); a given one wins.
    const emulator = options.apiEndpoint === undefined ? emulatorEndpoint() : undefined;
    this.#o = emulator === undefined ? options : { ...options, apiEndpoint: emulator };
    const signing = options.credentials !== undefined;
    const conditional = options.conditionalWrites ?? this.#o.apiEndpoint === undefined;
    this.capabilities = {
      // URLs are signed offline with the service-account key: none without one.
      redirectURL: signing,
      signedURL: signing ? ['GET', 'HEAD', 'PUT'] : [],
      signedURLMaxExpiresIn: SIGNED_MAX_SECONDS,
      writeIfNoneMatch: conditional,
      writeIfMatch: conditional,
      metadata: METADATA_KINDS,
      etag: true,
      copy: true,
      appendToCommitted: true,
      rangedRead: true,
      listPage: true,
      uploads: true,
    };
    this.bucket = createBucket(this.#o, emulator !== undefined);
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#requests = new GcsRequests(this.bucket, { userAgent: options.userAgent, answerTimeoutMs: options.answerTimeoutMs });
    this.#uploads = this.#keys.hidden('uploads');
    this.#tree = new ObjectStoreTree(
      { listPage: (request, signal) => this.#listPage(request, signal), deleteKeys: (names, signal) => deleteObjects(this.#requests, names, undefined, signal) },
      this.#keys,
      // GCS has no batch delete in its JSON API client: deleteObjects sends them concurrently.
      { pageSize: LIST_PAGE, deleteBatchSize: LIST_PAGE },
    );
  }

  /** The object name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
  }

  /**
   * One request up to a chunk: the object is replaced atomically, with an MD5 the service checks.
   * Above it, chunks composed at the end, like a writer: a single upload whose body is already on
   * the wire when the caller aborts may still be stored after the rejection, while chunks become
   * the object only by their compose. With conditions, always one upload, whatever the size: an
   * upload's generation precondition is checked atomically by fake-gcs-server as by GCS (a
   * compose's is ignored by fake-gcs-server v1.56.1).
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    const { ifMatch, ifNoneMatch, ...metadata } = options;
    const conditional = ifMatch !== undefined || ifNoneMatch !== undefined;
    if (!conditional && content.length > this.#chunkSize) {
      return putThroughWriter(new ComposeWriter(this.#uploadTarget(path, newUploadId(), metadata)), content, signal);
    }
    const key = this.key(path);
    if (!conditional) {
      await saveChecked(this.#requests, key, content, objectResource(metadata), {}, signal);
      return;
    }
    // The marker tells this put's own object from another's when a retried try is answered 412.
    const marker = newUploadId();
    const required = preconditions(path, { ifMatch, ifNoneMatch }, await this.#metadata(key, signal));
    try {
      await saveChecked(this.#requests, key, content, objectResource(metadata, marker), required, signal);
    } catch (error) {
      if (gcsStatus(error) !== 412) throw error;
      if (committedUpload(await this.#metadata(key, signal)) !== marker) throw new PreconditionFailedError(path, CHANGED, { cause: error });
    }
  }

  async reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable> {
    if (length !== undefined && length > 0) return this.#rangedReader(path, offset, length, signal);
    // A read from an offset at or past the end fails late, inside the stream: check the size first.
    const { size } = await this.#statFile(path, signal);
    if (length === 0) {
      if (offset > size) throw new InvalidOffsetError(path, offset);
      return Readable.from([]);
    }
    if (offset >= size) return readerAtEnd(path, offset, size);
    return resumableReader(offset, this.#openRange(path), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
  }

  /**
   * One ranged request for exactly `[offset, offset + length)`; a range reaching past the end is
   * InvalidOffsetError at open (the size from Content-Range, or from the 416 of a range that starts
   * beyond it). A cut is resumed within the range, pinned to the generation.
   */
  async #rangedReader(path: string, offset: number, length: number, signal?: AbortSignal): Promise<Readable> {
    const end = offset + length;
    const open = this.#openRange(path, end);
    try {
      return await resumableReader(offset, async (from, generation, openSignal) => {
        const opened = await open(from, generation, openSignal);
        if (generation === undefined && opened.size !== undefined && opened.size < end) {
          opened.stream.destroy();
          throw new InvalidOffsetError(path, end);
        }
        return { ...opened, size: end };
      }, { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
    } catch (error) {
      if (error instanceof RangeNotSatisfiableError) throw new InvalidOffsetError(path, end, { cause: error });
      throw error;
    }
  }

  /** Ranged reads of the object (up to `end` when given), pinned to a generation once the first answer gave one. */
  #openRange(path: string, end?: number): OpenRange {
    const key = this.key(path);
    return async (from, generation, openSignal) => {
      try {
        const { stream, generation: served, size } = await this.#requests.download(key, from, generation, openSignal, end);
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
  #metadata(key: string, signal?: AbortSignal): Promise<FileMetadata | undefined> {
    return objectMetadata(this.#requests, key, signal);
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

  #uploadTarget(path: string, uploadId: string, metadata: WriteMetadata): UploadTarget {
    return {
      requests: this.#requests,
      path,
      metadata,
      key: this.key(path),
      uploadPrefix: `${this.#uploadsOf(path)}${uploadId}/`,
      uploadId,
      chunkSize: this.#chunkSize,
      concurrency: this.#o.uploadConcurrency ?? 4,
    };
  }

  /**
   * A new upload starts with `metadata`; one continued (append, from any instance) commits with the
   * metadata it started with, which every chunk object carries. Appending to committed content
   * starts a new upload too, with the object's metadata (an empty object: with `metadata`).
   */
  async writer(path: string, append: boolean, signal?: AbortSignal, metadata: WriteMetadata = {}): Promise<BackendWriter> {
    const key = this.key(path);
    const uploadsOfKey = this.#uploadsOf(path);
    if (!append) return new ComposeWriter(this.#uploadTarget(path, newUploadId(), metadata));
    const committed = await this.#metadata(key, signal);
    const resumed = await this.#newestUpload(uploadsOfKey, committedUpload(committed), signal);
    if (resumed !== undefined) return new ComposeWriter(this.#uploadTarget(path, resumed.uploadId, resumed.metadata), resumed);
    if (committed === undefined) throw new PathNotFoundError(path);
    const size = Number(committed.size ?? 0);
    if (size === 0) return new ComposeWriter(this.#uploadTarget(path, newUploadId(), metadata));
    // Appending to committed content: a server-side copy of it becomes the upload's first chunk,
    // and the upload keeps the object's metadata (every chunk carries it).
    const kept = keptMetadata(committed);
    const upload = this.#uploadTarget(path, newUploadId(), kept);
    await retry(() => this.#requests.rewrite(key, chunkName(upload.uploadPrefix, 0), chunkResource(kept), signal), { signal });
    return new ComposeWriter(upload, { chunks: 1, bytes: size });
  }

  /** The newest upload at a key, with its chunks from 0 without a gap; leftovers of the committed upload are removed. */
  async #newestUpload(uploadsOfKey: string, committedUploadId: string | undefined, signal?: AbortSignal) {
    const chunks = new Map<string, Map<number, number>>();
    const states = new Map<string, FileMetadata>();
    for await (const object of listObjects(this.#requests, uploadsOfKey, signal)) {
      const uploadId = object.name.slice(uploadsOfKey.length).split('/')[0]!;
      const index = CHUNK.exec(object.name)?.[1];
      if (index === undefined) continue;
      if (!chunks.has(uploadId)) chunks.set(uploadId, new Map());
      chunks.get(uploadId)!.set(Number(index), Number(object.size ?? 0));
      states.set(uploadId, object);
    }
    if (committedUploadId !== undefined && chunks.has(committedUploadId)) {
      await deleteObjects(this.#requests, await listNames(this.#requests, `${uploadsOfKey}${committedUploadId}/`, signal), undefined, signal);
      chunks.delete(committedUploadId);
    }
    const uploadId = [...chunks.keys()].sort().at(-1);
    if (uploadId === undefined) return undefined;
    const { count, bytes } = contiguousParts(chunks.get(uploadId)!);
    return { uploadId, chunks: count, bytes, metadata: uploadState(states.get(uploadId)) };
  }

  /**
   * The uploads at `path` and below it, from their chunk objects (`<path>~/<upload id>/…` under the
   * uploads prefix) listed page by page in name order, where each upload's objects come together:
   * memory holds a page and one upload's chunk sizes. Chunks left by the upload that is the committed
   * object (a clean-up that failed) are no pending upload.
   */
  async *uploads(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload> {
    const prefixes = path === ROOT ? [this.#uploads] : [this.#uploadsOf(path), `${this.#uploads}${path.slice(1)}/`];
    let upload: { path: string; id: string; sizes: Map<number, number>; startedAt: number } | undefined;
    let committed: { path: string; uploadId: string | undefined } | undefined;
    const pending = async (ended: NonNullable<typeof upload>): Promise<PendingUpload | undefined> => {
      if (committed?.path !== ended.path) committed = { path: ended.path, uploadId: committedUpload(await this.#metadata(this.key(ended.path), signal)) };
      if (committed.uploadId === ended.id) return undefined;
      return { path: ended.path, id: ended.id, startedAt: new Date(ended.startedAt), size: contiguousParts(ended.sizes).bytes };
    };
    for (const prefix of prefixes) {
      for await (const object of listObjects(this.#requests, prefix, signal)) {
        const chunk = this.#parseUploadObject(object.name);
        if (chunk === undefined) continue;
        if (upload !== undefined && (upload.path !== chunk.path || upload.id !== chunk.id)) {
          const ended = await pending(upload);
          if (ended !== undefined) yield ended;
          upload = undefined;
        }
        upload ??= { path: chunk.path, id: chunk.id, sizes: new Map(), startedAt: Infinity };
        if (chunk.index !== undefined) upload.sizes.set(chunk.index, Number(object.size ?? 0));
        upload.startedAt = Math.min(upload.startedAt, new Date(object.timeCreated ?? object.updated ?? 0).getTime());
      }
    }
    if (upload !== undefined) {
      const ended = await pending(upload);
      if (ended !== undefined) yield ended;
    }
  }

  /** Deletes every object of the upload: its chunks and any intermediate composite. */
  async abortUpload(path: string, id: string, signal?: AbortSignal): Promise<void> {
    if (!UPLOAD_ID.test(id)) throw new InvalidParameterError('id', id, 'the id of a pending upload, from uploads()');
    const uploadPrefix = `${this.#uploadsOf(path)}${id}/`;
    await deleteObjects(this.#requests, await listNames(this.#requests, uploadPrefix, signal), path, signal);
  }

  /** The path, upload id and chunk index (none for an intermediate composite) of an object under the uploads prefix. */
  #parseUploadObject(name: string): { path: string; id: string; index: number | undefined } | undefined {
    const rest = name.slice(this.#uploads.length);
    const at = rest.lastIndexOf('~/');
    const [id, tail] = rest.slice(at + 2).split('/');
    const path = `/${rest.slice(0, at)}`;
    if (at <= 0 || id === undefined || tail === undefined || !UPLOAD_ID.test(id) || !isValidPath(path)) return undefined;
    return { path, id, index: /^\d{6}$/.test(tail) ? Number(tail) : undefined };
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      const metadata = await this.#metadata(this.key(path), signal);
      if (metadata !== undefined) return fileInfo(path, metadata);
    }
    return this.#tree.statDirectory(path, signal);
  }

  /** One metadata request for a file; a listing only when it is not one. */
  async exists(path: string, signal?: AbortSignal): Promise<Existence> {
    if (path !== ROOT && (await this.#metadata(this.key(path), signal)) !== undefined) return 'file';
    return (await this.#tree.isDirectory(path, signal)) ? 'directory' : false;
  }

  /** Pages of the listing itself (size, time, etag of each entry); the cursor holds the service's page token and the last key. */
  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    return this.#tree.page(path, request, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  /** One page of a listing (the tree retries it); the service may repeat a prefix on several pages. */
  async #listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    signal?.throwIfAborted();
    const resumeAt = request.token?.startsWith(OFFSET_TOKEN) ? request.token.slice(OFFSET_TOKEN.length) : undefined;
    // startOffset is inclusive; the tree drops the hint itself.
    const startOffset = resumeAt ?? request.startAfter;
    const page = await this.#requests.list({
      prefix: request.prefix,
      maxResults: request.limit,
      pageToken: resumeAt === undefined ? request.token : undefined,
      delimiter: request.delimited ? '/' : undefined,
      startOffset,
    }, signal);
    return withinLimit({
      objects: (page.items ?? []).map((item) => ({
        key: item.name,
        size: Number(item.size ?? 0),
        modTime: new Date(item.updated ?? 0),
        ...(item.etag === undefined ? {} : { etag: item.etag }),
      })),
      prefixes: page.prefixes ?? [],
      next: page.nextPageToken,
    }, request.limit);
  }

  /** A server-side rewrite with the source's content headers and metadata; a repeated one gives the same object. */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    try {
      await retry(() => this.#requests.rewrite(this.key(sourcePath), this.key(destPath), undefined, signal), { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new PathNotFoundError(sourcePath, { cause: error });
    }
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.copy(sourcePath, destPath, signal);
    } catch (error) {
      if (error instanceof PathNotFoundError && (await this.stat(sourcePath, signal).catch(() => undefined))?.isDir) throw directoryMoveError(sourcePath);
      throw error;
    }
    await deleteObjects(this.#requests, [this.key(sourcePath)], sourcePath, signal);
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    await this.#tree.delete(path, signal);
  }

  async redirectURL(path: string, method: string): Promise<string | undefined> {
    const key = this.#o.credentials;
    if (key === undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
    return signedUrl(key, { method, bucket: this.bucket.name, object: this.key(path), expiresSeconds: REDIRECT_SECONDS, endpoint: this.#o.apiEndpoint });
  }

  /** A V4 URL signed offline; a PUT's content type is a signed header, so the upload must send exactly it. */
  async signedURL(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }): Promise<SignedURL> {
    const key = this.#o.credentials!;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const headers: Record<string, string> = request.contentType === undefined ? {} : { 'content-type': request.contentType };
    const url = signedUrl(key, { method: request.method, bucket: this.bucket.name, object: this.key(path), expiresSeconds: request.expiresIn, endpoint: this.#o.apiEndpoint, headers, now });
    return { url, method: request.method, headers, expiresAt: new Date(now.getTime() + request.expiresIn * 1000) };
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
