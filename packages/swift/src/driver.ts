/** The OpenStack Swift backend and SwiftDriver. Behaviour follows contract.md; upstream's is in seed-drivers.md §1.6. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import {
  BaseDriver,
  DriverError,
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  contiguousParts,
  directoryMoveError,
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

import { SwiftClient, type SwiftRequest } from './client.js';
import { isNotFound, swiftStatus } from './errors.js';
import { DEFAULT_INFO, discoverInfo, type ClusterInfo } from './info.js';
import { Container, headTime, parseListingTime, uploadOf, type ListingEntry } from './objects.js';
import { DEFAULT_CHUNK_SIZE, type SwiftOptions } from './params.js';
import { TempURLKeys, tempURL } from './tempurl.js';
import { SegmentWriter, newUploadId, removeReplaced, type Segment, type UploadTarget } from './writer.js';

const LIST_PAGE = 1000;
const REDIRECT_SECONDS = 20 * 60;
const SEGMENT_INDEX = /\/(\d{8})$/;
/** HEADs at once to size manifests a listing cannot size. */
const HEAD_CONCURRENCY = 8;

export class SwiftBackend implements StorageBackend {
  readonly name = 'swift';
  readonly client: SwiftClient;
  readonly container: Container;
  readonly #o: SwiftOptions;
  readonly #keys: KeyMapper;
  /** Upload records and segments: siblings of the root (`<prefix>/files~uploads/`), never below it. */
  readonly #uploads: string;
  readonly #segments: string;
  /** Upstream's segments of the DLOs it wrote (`<prefix>/segments/`): removed with their manifests. */
  readonly #upstreamSegments: string;
  readonly #tree: ObjectStoreTree;
  readonly #walkTree: ObjectStoreTree;
  readonly #tempURLKeys: TempURLKeys;
  #info: Promise<ClusterInfo> | undefined;
  #containerReady: Promise<void> | undefined;

  constructor(options: SwiftOptions, client?: SwiftClient) {
    this.#o = options;
    this.client = client ?? new SwiftClient(options);
    this.container = new Container(this.client, options.container, (signal) => this.info(signal));
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    // Upstream's layout: files at `<prefix>/files/<path>`, so an existing registry container reads as it is.
    this.#keys = new KeyMapper(prefix === '' ? 'files' : `${prefix}/files`);
    this.#uploads = this.#keys.hidden('uploads');
    this.#segments = this.#keys.hidden('segments');
    this.#upstreamSegments = prefix === '' ? 'segments/' : `${prefix}/segments/`;
    const requests = { listPage: (request: ListPageRequest, signal?: AbortSignal) => this.#listPage(request, false, signal), deleteKeys: (keys: string[], signal?: AbortSignal) => this.container.deleteMany(keys, signal) };
    this.#tree = new ObjectStoreTree(requests, this.#keys, { pageSize: LIST_PAGE, deleteBatchSize: LIST_PAGE });
    // Walks report sizes: manifests the listing cannot size (Ceph lists an SLO's manifest size, both a DLO's 0) get a HEAD.
    this.#walkTree = new ObjectStoreTree({ ...requests, listPage: (request, signal) => this.#listPage(request, true, signal) }, this.#keys, { pageSize: LIST_PAGE, deleteBatchSize: LIST_PAGE });
    this.#tempURLKeys = new TempURLKeys(this.client, options, `${this.#keys.hidden('probe')}temp-url-probe`);
  }

  /** The object name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  /** The cluster's `/info` (found once; a failure to reach it gives the defaults, not kept). */
  async info(signal?: AbortSignal): Promise<ClusterInfo> {
    const found = (this.#info ??= discoverInfo(this.client, signal));
    try {
      return await found;
    } catch (error) {
      if (this.#info === found) this.#info = undefined;
      if (signal?.aborted) throw error;
      return DEFAULT_INFO;
    }
  }

  /** Creates the container when missing (upstream does at start; here before the first write). */
  async #ensureContainer(signal?: AbortSignal): Promise<void> {
    const ready = (this.#containerReady ??= (async () => {
      try {
        await retry(() => this.client.call({ method: 'HEAD', container: this.#o.container, signal }), { signal });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await retry(() => this.client.call({ method: 'PUT', container: this.#o.container, signal }), { signal });
      }
    })());
    ready.catch(() => {
      if (this.#containerReady === ready) this.#containerReady = undefined;
    });
    return ready;
  }

  #send(request: Omit<SwiftRequest, 'container'>): Promise<Response> {
    return this.client.send({ ...request, container: this.#o.container });
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path), { signal });
  }

  /**
   * One PUT up to a chunk: the object is replaced atomically, with an MD5 the service checks.
   * Above it, segments published by a manifest, like a writer.
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    await this.#ensureContainer(signal);
    if (content.length > this.#chunkSize) return putThroughWriter(new SegmentWriter(this.#uploadTarget(path, newUploadId()), this.#segments), content, signal);
    await this.container.put(this.key(path), content, createHash('md5').update(content).digest('hex'), {}, signal);
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    try {
      return await resumableReader(offset, this.#openRange(path), { signal });
    } catch (error) {
      // At or past the end: Swift answers 416 (Ceph without the size), so the size comes from a HEAD.
      if (swiftStatus(error) !== 416) throw error;
      const headers = await this.container.head(this.key(path), signal);
      if (headers === undefined) throw new PathNotFoundError(path, { cause: error });
      return readerAtEnd(path, offset, Number(headers.get('content-length') ?? 0), error);
    }
  }

  /**
   * Ranged reads of the object, pinned to the first answer's ETag. The ETag is compared here rather
   * than sent as If-Match: Ceph answers 412 to If-Match on a ranged read of an SLO even when it matches.
   */
  #openRange(path: string): OpenRange {
    const key = this.key(path);
    return async (from, etag, openSignal) => {
      let response: Response;
      try {
        response = await this.#send({ method: 'GET', object: key, headers: from > 0 ? { range: `bytes=${from}-` } : {}, signal: openSignal });
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        throw error;
      }
      const served = response.headers.get('etag') ?? undefined;
      if (etag !== undefined && served !== etag) {
        await response.body?.cancel();
        throw new PreconditionFailedError(path, `the object changed during the read (ETag ${etag}, now ${served})`);
      }
      if (from > 0 && response.status !== 206) {
        await response.body?.cancel();
        throw new DriverError(`a ranged read from byte ${from} was answered with status ${response.status}`, { path });
      }
      const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
      const length = response.headers.get('content-length');
      const size = total !== undefined ? Number(total) : length !== null ? from + Number(length) : undefined;
      const stream = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      return { stream, version: served ?? etag, size };
    };
  }

  get #chunkSize(): number {
    return this.#o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** Where the records of every upload to `path` live. */
  #recordsOf(path: string): string {
    return `${this.#uploads}${path.slice(1)}~/`;
  }

  #uploadTarget(path: string, uploadId: string): UploadTarget {
    return {
      container: this.container,
      key: this.key(path),
      record: `${this.#recordsOf(path)}${uploadId}`,
      segmentPrefix: `${this.#segments}${uploadId}/`,
      uploadId,
      chunkSize: this.#chunkSize,
      concurrency: this.#o.uploadConcurrency ?? 4,
      maxSegments: async (signal) => (await this.info(signal)).sloMaxSegments,
    };
  }

  async writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter> {
    await this.#ensureContainer(signal);
    if (!append) return new SegmentWriter(this.#uploadTarget(path, newUploadId()), this.#segments);
    const committed = await this.container.head(this.key(path), signal);
    const resumed = await this.#newestUpload(path, uploadOf(committed?.get('content-type')), signal);
    if (resumed !== undefined) return new SegmentWriter(this.#uploadTarget(path, resumed.uploadId), this.#segments, resumed);
    if (committed === undefined) throw new PathNotFoundError(path);
    if (Number(committed.get('content-length') ?? 0) === 0) return new SegmentWriter(this.#uploadTarget(path, newUploadId()), this.#segments);
    throw new DriverError(`cannot append to ${path}: its content is committed (append continues an uncommitted upload or an empty object)`, { path });
  }

  /** The newest uncommitted upload at `path`, with its segments from 0 without a gap; a stale record of the committed upload is removed. */
  async #newestUpload(path: string, committedUpload: string | undefined, signal?: AbortSignal) {
    const records = this.#recordsOf(path);
    const uploadIds = (await this.container.listAll(records, signal)).flatMap((entry) => (entry.name === undefined ? [] : [entry.name.slice(records.length)])).sort();
    if (committedUpload !== undefined && uploadIds.includes(committedUpload)) {
      await this.container.deleteOne(`${records}${committedUpload}`, signal);
      uploadIds.splice(uploadIds.indexOf(committedUpload), 1);
    }
    const uploadId = uploadIds.at(-1);
    if (uploadId === undefined) return undefined;
    const segmentPrefix = `${this.#segments}${uploadId}/`;
    const segments = new Map<number, Segment>();
    for (const entry of await this.container.listAll(segmentPrefix, signal)) {
      const index = SEGMENT_INDEX.exec(entry.name ?? '')?.[1];
      if (index !== undefined && entry.hash !== undefined) segments.set(Number(index), { etag: entry.hash, size: entry.bytes ?? 0 });
    }
    const sizes = new Map([...segments].map(([index, segment]) => [index, segment.size]));
    const { count, bytes } = contiguousParts(sizes);
    return { uploadId, segments, count, bytes };
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      // A HEAD, not the listing: listings size manifests wrongly (0 for a DLO, the manifest's own size for an SLO on Ceph).
      const headers = await this.container.head(this.key(path), signal);
      if (headers !== undefined) return { path, size: Number(headers.get('content-length') ?? 0), modTime: headTime(headers), isDir: false };
    }
    return this.#tree.statDirectory(path, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  /** One listing page (the tree retries it). The next page starts after the last entry; an empty page ends the listing. */
  async #listPage(request: ListPageRequest, sized: boolean, signal?: AbortSignal): Promise<ListPage> {
    const page = await this.container.listPage({ prefix: request.prefix, delimiter: request.delimited, limit: request.limit, marker: request.token ?? request.startAfter }, signal);
    const objects = page.filter((entry): entry is ListingEntry & { name: string } => entry.name !== undefined);
    const sizes = sized ? await this.#manifestSizes(objects, signal) : new Map<string, number>();
    const last = page.at(-1);
    return {
      objects: objects.map((entry) => ({ key: entry.name, size: sizes.get(entry.name) ?? entry.bytes ?? 0, modTime: parseListingTime(entry.last_modified) })),
      prefixes: page.flatMap((entry) => (entry.subdir === undefined ? [] : [entry.subdir])),
      next: last === undefined ? undefined : (last.name ?? last.subdir),
    };
  }

  /**
   * Sizes of the entries a listing cannot size, by HEAD: an SLO the listing does not mark (real
   * Swift lists an SLO's whole size with `slo_etag`; Ceph lists the manifest's own size) and every
   * 0-byte entry, which may be a DLO.
   */
  async #manifestSizes(entries: Array<ListingEntry & { name: string }>, signal?: AbortSignal): Promise<Map<string, number>> {
    const unsized = entries.filter((entry) => entry.slo_etag === undefined && (entry.bytes === 0 || uploadOf(entry.content_type) !== undefined));
    const sizes = new Map<string, number>();
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, unsized.length) }, async () => {
      while (next < unsized.length) {
        const entry = unsized[next++]!;
        const headers = await this.container.head(entry.name, signal);
        if (headers !== undefined) sizes.set(entry.name, Number(headers.get('content-length') ?? 0));
      }
    }));
    return sizes;
  }

  /**
   * Rewrites the manifest at the destination (a server-side copy with `multipart-manifest=get`
   * copies an SLO's or DLO's manifest, not its data; a plain object is copied on the server), then
   * deletes the source's manifest only: the segments now belong to the destination.
   */
  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.key(sourcePath);
    const dest = this.key(destPath);
    const sourceHeaders = await this.container.head(source, signal);
    if (sourceHeaders === undefined) {
      if ((await this.#tree.isDirectory(sourcePath, signal))) throw directoryMoveError(sourcePath);
      throw new PathNotFoundError(sourcePath);
    }
    const replaced = uploadOf((await this.container.head(dest, signal))?.get('content-type'));
    try {
      await retry(() => this.client.call({
        method: 'PUT',
        container: this.#o.container,
        object: dest,
        query: { 'multipart-manifest': 'get' },
        headers: { 'x-copy-from': `/${encodeURIComponent(this.#o.container)}/${source.split('/').map(encodeURIComponent).join('/')}`, 'content-length': '0' },
        signal,
      }), { signal });
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(sourcePath, { cause: error });
      throw error;
    }
    await this.container.deleteOne(source, signal);
    await removeReplaced(this.container, this.#segments, replaced, uploadOf(sourceHeaders.get('content-type')));
  }

  /**
   * The object at `path` and everything below `path/` (bulk delete where offered), then the
   * segments of the manifests among them: ours by the upload their Content-Type names, upstream's
   * DLOs by their `X-Object-Manifest` (only segments under upstream's `segments/` are touched).
   */
  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.key(path);
    const entries: Array<ListingEntry & { name: string }> = [];
    const first = await retry(() => this.container.listPage({ prefix: key, limit: 1 }, signal), { signal });
    if (first[0]?.name === key) entries.push(first[0] as ListingEntry & { name: string });
    for (const entry of await this.container.listAll(`${key}/`, signal)) if (entry.name !== undefined) entries.push(entry as ListingEntry & { name: string });
    if (entries.length === 0) throw new PathNotFoundError(path);
    const dloSegments = await this.#dloSegments(entries.filter((entry) => entry.bytes === 0 && entry.slo_etag === undefined).map((entry) => entry.name), signal);
    await this.container.deleteMany(entries.map((entry) => entry.name), signal);
    for (const upload of new Set(entries.flatMap((entry) => uploadOf(entry.content_type) ?? []))) await this.container.deletePrefix(`${this.#segments}${upload}/`, signal);
    for (const prefix of dloSegments) await this.container.deletePrefix(prefix, signal);
  }

  /** The segment prefixes of upstream's DLO manifests among `names`. */
  async #dloSegments(names: string[], signal?: AbortSignal): Promise<Set<string>> {
    const prefixes = new Set<string>();
    for (const name of names) {
      const manifest = (await this.container.head(name, signal))?.get('x-object-manifest');
      if (manifest === null || manifest === undefined) continue;
      const at = manifest.indexOf('/');
      const container = decodeURIComponent(manifest.slice(0, at));
      const prefix = decodeURIComponent(manifest.slice(at + 1));
      if (container === this.#o.container && prefix.startsWith(this.#upstreamSegments) && prefix.length > this.#upstreamSegments.length) prefixes.add(prefix);
    }
    return prefixes;
  }

  async redirectURL(path: string, method: string, signal?: AbortSignal): Promise<string | undefined> {
    const methods = this.#o.tempURLMethods ?? (await this.info(signal)).tempURLMethods ?? [];
    if (!methods.includes('GET')) return undefined;
    const key = await this.#tempURLKeys.key(signal);
    if (key === undefined) return undefined;
    const { storageUrl } = await this.client.credentials(signal);
    const expires = Math.floor(Date.now() / 1000) + REDIRECT_SECONDS;
    // HEAD is served with a GET signature by both Swift and Ceph.
    return tempURL({ storageUrl, container: this.#o.container, object: this.key(path), method: method === 'HEAD' ? 'GET' : method, expires, key, accessKey: this.#o.accessKey, tenantId: this.#o.tenantId });
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.#walkTree.walk(path, fn, startAfter, signal);
  }
}

/** The OpenStack Swift driver. */
export class SwiftDriver extends BaseDriver {
  constructor(options: SwiftOptions) {
    super(new SwiftBackend(options), { maxConcurrency: options.maxConcurrency ?? 50 });
  }
}

