/** The OpenStack Swift backend and SwiftDriver. Behaviour follows contract.md; upstream's is in seed-drivers.md §1.6. */
import { Readable } from 'node:stream';

import {
  BaseDriver,
  DriverError,
  InvalidOffsetError,
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  contiguousParts,
  directoryMoveError,
  isValidPath,
  md5,
  putThroughWriter,
  readerAtEnd,
  readResponse,
  resumableContent,
  resumableReader,
  pollUntil,
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
  SharedTask,
} from '@storagedriver/core';

import { SwiftClient, encodeObjectName, type RawResponse } from './client.js';
import { isNotFound, swiftStatus } from './errors.js';
import { DEFAULT_INFO, discoverInfo, type ClusterInfo } from './info.js';
import { Container, EMPTY_MD5, checkMetadata, headTime, legacyUploadOf, manifestHeaders, metadataHeaders, parseListingTime, storedMetadata, uploadOf, type ListingEntry } from './objects.js';
import { DEFAULT_CHUNK_SIZE, checkSwiftOptions, type SwiftOptions } from './params.js';
import { ownSegments, segmentStream, type ManifestSegment, type OpenSegment } from './segment-reader.js';
import { TempURLKeys, tempURL } from './tempurl.js';
import { COMMIT_WINDOW_MS, SegmentWriter, abortFlag, commitMark, newUploadId, removeReplaced, segmentName, type Segment, type UploadTarget } from './writer.js';

/**
 * Entries asked for per listing page: Swift's own maximum (its default `container_listing_limit`),
 * one request per 10 000 keys; Ceph answers at most 1 000 whatever is asked, and the listing goes
 * on from the last entry until an empty page either way.
 */
const LIST_PAGE = 10_000;
/** Keys handed to one deleteMany, which splits them by the server's bulk-delete limit from /info. */
const DELETE_BATCH = 1000;
const REDIRECT_SECONDS = 20 * 60;
/**
 * Temp URLs carry an absolute expiry that neither server bounds: a week, as S3's and GCS's V4
 * signatures, so a URL handed out stays valid no longer than on those services.
 */
const SIGNED_MAX_SECONDS = 7 * 24 * 3600;
/** Segments copied at once by `copy`. */
const COPY_CONCURRENCY = 4;

/**
 * What both test servers (Ceph RGW's Swift API and OpenStack Swift) do. No write conditions: Ceph
 * ignores `If-None-Match` and `If-Match` on PUT, and Swift checks `If-None-Match: *` per object
 * server before the body arrives, so concurrent create-only PUTs (plain or manifest) can both
 * succeed (seen: 2 of 8 winners); Swift ignores `If-Match` on PUT.
 */
const CAPABILITIES: Partial<Capabilities> = {
  redirectURL: true,
  signedURL: ['GET', 'HEAD', 'PUT'],
  signedURLMaxExpiresIn: SIGNED_MAX_SECONDS,
  metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
  etag: true,
  copy: true,
  rangedRead: true,
  listPage: true,
  uploads: true,
};
const SEGMENT_INDEX = /\/(\d{8})$/;
/** What an upload id of ours looks like (newUploadId; older ids alike): anything else names no upload. */
const UPLOAD_ID = /^[A-Za-z0-9]+$/;
/** HEADs at once to size manifests a listing cannot size. */
const HEAD_CONCURRENCY = 8;

/** The OpenStack Swift StorageBackend; SwiftDriver wraps it. */
export class SwiftBackend implements StorageBackend {
  readonly name = 'swift';
  readonly capabilities = CAPABILITIES;
  /** The authenticated HTTP client the backend sends its requests with. */
  readonly client: SwiftClient;
  /** The driver's container: object requests and listings in it. */
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
  readonly #info = new SharedTask((signal) => discoverInfo(this.client, signal));
  readonly #containerReady = new SharedTask((signal) => this.#createContainer(signal));
  /** False once the server answered `multipart-manifest=get` without the manifest (Ceph): whole reads then go through the proxy. */
  #servesManifests = true;

  constructor(options: SwiftOptions, client?: SwiftClient) {
    this.#o = checkSwiftOptions(options);
    this.client = client ?? new SwiftClient(options);
    this.container = new Container(this.client, options.container, (signal) => this.info(signal));
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    // Upstream's layout: files at `<prefix>/files/<path>`, so an existing registry container reads as it is.
    this.#keys = new KeyMapper(prefix === '' ? 'files' : `${prefix}/files`);
    this.#uploads = this.#keys.hidden('uploads');
    this.#segments = this.#keys.hidden('segments');
    this.#upstreamSegments = prefix === '' ? 'segments/' : `${prefix}/segments/`;
    const requests = { listPage: (request: ListPageRequest, signal?: AbortSignal) => this.#listPage(request, false, signal), deleteKeys: (keys: string[], signal?: AbortSignal) => this.container.deleteMany(keys, signal) };
    this.#tree = new ObjectStoreTree(requests, this.#keys, { pageSize: LIST_PAGE, deleteBatchSize: DELETE_BATCH });
    // Walks report sizes: manifests the listing cannot size (Ceph lists an SLO's manifest size, both a DLO's 0) get a HEAD.
    this.#walkTree = new ObjectStoreTree({ ...requests, listPage: (request, signal) => this.#listPage(request, true, signal) }, this.#keys, { pageSize: LIST_PAGE, deleteBatchSize: DELETE_BATCH });
    this.#tempURLKeys = new TempURLKeys(this.client, options, `${this.#keys.hidden('probe')}temp-url-probe`);
  }

  /** The object name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  /** The cluster's `/info` (found once; a failure to reach it gives the defaults, not kept). */
  async info(signal?: AbortSignal): Promise<ClusterInfo> {
    try {
      return await this.#info.run(signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return DEFAULT_INFO;
    }
  }

  /** Creates the container when missing (upstream does at start; here before the first write). */
  #ensureContainer(signal?: AbortSignal): Promise<void> {
    return this.#containerReady.run(signal);
  }

  async #createContainer(signal: AbortSignal): Promise<void> {
    try {
      await retry(() => this.client.call({ method: 'HEAD', container: this.#o.container, signal }), { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await retry(() => this.client.call({ method: 'PUT', container: this.#o.container, signal }), { signal });
    }
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
  }

  /**
   * One PUT up to a chunk: the object is replaced atomically, with an MD5 the service checks.
   * Above it, segments published by a manifest, like a writer.
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    checkMetadata(options);
    const headers = metadataHeaders(options);
    await this.#ensureContainer(signal);
    if (content.length > this.#chunkSize) return putThroughWriter(new SegmentWriter(this.#uploadTarget(path, newUploadId(), options), this.#segments), content, signal);
    await this.container.put(this.key(path), content, (await md5(content)).toString('hex'), headers, signal);
  }

  /**
   * From `offset` to the end, or (with `length`) one request for exactly that range, checked
   * against the size Content-Range announces: both servers answer a range past the end with the
   * part that exists, so that is InvalidOffset at open, never a short read.
   */
  async reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable> {
    // `bytes=a-(a-1)` is no range: an empty read only needs the size.
    if (length === 0) {
      const headers = await this.container.headFile(this.key(path), signal);
      if (headers === undefined) throw new PathNotFoundError(path);
      if (offset > Number(headers.get('content-length') ?? 0)) throw new InvalidOffsetError(path, offset);
      return Readable.from([]);
    }
    const end = length === undefined ? undefined : offset + length - 1;
    try {
      return await resumableReader(offset, offset === 0 && end === undefined ? this.#openWhole(path) : this.#openRange(path, end), { signal, stallTimeoutMs: this.#o.answerTimeoutMs });
    } catch (error) {
      // At or past the end: Swift answers 416 (Ceph without the size), so the size comes from a HEAD.
      if (swiftStatus(error) !== 416) throw error;
      if (length !== undefined) throw new InvalidOffsetError(path, offset + length, { cause: error });
      const headers = await this.container.headFile(this.key(path), signal);
      if (headers === undefined) throw new PathNotFoundError(path, { cause: error });
      return readerAtEnd(path, offset, Number(headers.get('content-length') ?? 0), error);
    }
  }

  /**
   * A whole read. The first request asks for the manifest, which a plain object answers with its
   * content (then read as #openRange reads it); a manifest of this driver's own is read segment by
   * segment (segment-reader.ts), resumed from the same segments after a cut; anything else goes
   * through the proxy.
   */
  #openWhole(path: string): OpenRange {
    const key = this.key(path);
    const throughProxy = this.#openRange(path);
    let segments: { list: ManifestSegment[]; size: number } | undefined;
    return async (from, version, signal) => {
      if (segments !== undefined) return { stream: segmentStream(path, segments.list, from, this.#openSegment(path, signal)), version, size: segments.size };
      if (version !== undefined || !this.#servesManifests) return throughProxy(from, version, signal);
      let response: RawResponse;
      try {
        response = await this.client.sendRaw({ method: 'GET', container: this.#o.container, object: key, query: { 'multipart-manifest': 'get' }, signal });
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        throw error;
      }
      const header = (name: string): string | undefined => response.headers[name];
      const etag = header('etag');
      if (header('x-static-large-object')?.toLowerCase() === 'true') {
        const upload = header('x-object-meta-storagedriver-upload') ?? legacyUploadOf(header('content-type'));
        const list = upload === undefined ? undefined : ownSegments((await readResponse(response.body)).toString('utf8'), this.#o.container, `${this.#segments}${upload}/`);
        response.body.destroy();
        if (list === undefined) return throughProxy(from, undefined, signal);
        segments = { list, size: list.reduce((sum, segment) => sum + segment.bytes, 0) };
        return { stream: segmentStream(path, list, from, this.#openSegment(path, signal)), version: etag, size: segments.size };
      }
      if (header('x-object-manifest') !== undefined || (header('x-object-meta-static-large-object') !== undefined && header('content-length') === '0')) {
        // A DLO's manifest object, or Ceph's answer for an SLO (its manifest object, empty): read through the proxy.
        if (header('x-object-manifest') === undefined) this.#servesManifests = false;
        response.body.destroy();
        return throughProxy(from, undefined, signal);
      }
      const length = header('content-length');
      return { stream: response.body, version: etag, size: length === undefined ? undefined : Number(length) };
    };
  }

  /** Opens a segment of a whole read; one that is gone means the object was replaced or deleted during the read. */
  #openSegment(path: string, signal?: AbortSignal): OpenSegment {
    return async (segment, offset) => {
      let response: RawResponse;
      try {
        response = await this.client.sendRaw({ method: 'GET', container: this.#o.container, object: segment.object, headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal });
      } catch (error) {
        if (isNotFound(error)) throw new PreconditionFailedError(path, `the object changed during the read (its segment ${segment.object} is gone)`, { cause: error });
        throw error;
      }
      if (offset > 0 && response.status !== 206) {
        response.body.destroy();
        throw new DriverError(`a ranged read of segment ${segment.object} from byte ${offset} was answered with status ${response.status}`, { path });
      }
      return { etag: response.headers.etag, body: response.body };
    };
  }

  /**
   * Ranged reads of the object, pinned to the first answer's ETag. The ETag is compared here rather
   * than sent as If-Match: Ceph answers 412 to If-Match on a ranged read of an SLO even when it matches.
   */
  #openRange(path: string, end?: number): OpenRange {
    const key = this.key(path);
    return async (from, etag, openSignal) => {
      let response: RawResponse;
      try {
        const ranged = from > 0 || end !== undefined;
        response = await this.client.sendRaw({ method: 'GET', container: this.#o.container, object: key, headers: ranged ? { range: `bytes=${from}-${end ?? ''}` } : {}, signal: openSignal });
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        // A resume that starts past the end of what is there now: the object was replaced by a shorter one.
        if (etag !== undefined && swiftStatus(error) === 416) throw new PreconditionFailedError(path, `the object changed during the read (it now ends before byte ${from})`, { cause: error });
        throw error;
      }
      const served = response.headers.etag;
      if (etag !== undefined && served !== etag) {
        response.body.destroy();
        throw new PreconditionFailedError(path, `the object changed during the read (ETag ${etag}, now ${served})`);
      }
      if ((from > 0 || end !== undefined) && response.status !== 206) {
        response.body.destroy();
        throw new DriverError(`a ranged read from byte ${from} was answered with status ${response.status}`, { path });
      }
      const total = /\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1];
      const length = response.headers['content-length'];
      const size = total !== undefined ? Number(total) : length !== undefined ? from + Number(length) : undefined;
      if (end !== undefined && size !== undefined && end >= size) {
        response.body.destroy();
        throw new InvalidOffsetError(path, end + 1);
      }
      // With an end, the stream stops there: resumableReader resumes a body that stops before it.
      return { stream: response.body, version: served ?? etag, size: end === undefined ? size : end + 1 };
    };
  }

  get #chunkSize(): number {
    return this.#o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** Where the records of every upload to `path` live. */
  #recordsOf(path: string): string {
    return `${this.#uploads}${path.slice(1)}~/`;
  }

  #uploadTarget(path: string, uploadId: string, metadata?: WriteMetadata): UploadTarget {
    return {
      metadata,
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

  /** `metadata` is what a new upload starts with; a resumed upload keeps the metadata its record holds. */
  async writer(path: string, append: boolean, signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
    checkMetadata(metadata);
    await this.#ensureContainer(signal);
    if (!append) return new SegmentWriter(this.#uploadTarget(path, newUploadId(), metadata), this.#segments);
    const committed = await this.container.headFile(this.key(path), signal);
    const resumed = await this.#newestUpload(path, uploadOf(committed), signal);
    if (resumed !== undefined) return new SegmentWriter(this.#uploadTarget(path, resumed.uploadId, resumed.metadata), this.#segments, resumed);
    if (committed === undefined) throw new PathNotFoundError(path);
    if (Number(committed.get('content-length') ?? 0) === 0) return new SegmentWriter(this.#uploadTarget(path, newUploadId(), metadata), this.#segments);
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
    const segments = await this.#segmentsOfUpload(uploadId, signal);
    const { count, bytes } = contiguousParts(sizesOf(segments));
    // The record's headers are the metadata the upload started with (a record gone meanwhile: none).
    const record = await this.container.head(`${records}${uploadId}`, signal);
    return { uploadId, segments, count, bytes, metadata: record === undefined ? undefined : storedMetadata(record) };
  }

  /** The segments an upload holds, by index (at most a manifest's worth: one listing page or two). */
  async #segmentsOfUpload(uploadId: string, signal?: AbortSignal): Promise<Map<number, Segment>> {
    const segments = new Map<number, Segment>();
    for (const entry of await this.container.listAll(`${this.#segments}${uploadId}/`, signal)) {
      const index = SEGMENT_INDEX.exec(entry.name ?? '')?.[1];
      if (index !== undefined && entry.hash !== undefined) segments.set(Number(index), { etag: entry.hash, size: entry.bytes ?? 0 });
    }
    return segments;
  }

  /** The path and upload id a record's name holds (`<uploads><path>~/<id>`); undefined for any other name. */
  #recordOf(name: string | undefined): { path: string; uploadId: string } | undefined {
    if (name === undefined || !name.startsWith(this.#uploads)) return undefined;
    const rest = name.slice(this.#uploads.length);
    const at = rest.lastIndexOf('~/');
    const path = `/${rest.slice(0, at)}`;
    const uploadId = rest.slice(at + 2);
    return at > 0 && isValidPath(path) && UPLOAD_ID.test(uploadId) ? { path, uploadId } : undefined;
  }

  /**
   * The records at `path` (`<uploads><path>~/…`) and below it (`<uploads><path>/…`; not a sibling
   * such as `<path>b`), a listing page at a time. The record's listing time is the upload's start
   * (written before its first segment); its size is its segments from index 0 without a gap, as a
   * resume counts them. A record of the upload the object at its path publishes is a commit's
   * leftover, not pending.
   */
  async *uploads(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload> {
    const prefixes = path === ROOT ? [this.#uploads] : [`${this.#uploads}${path.slice(1)}/`, this.#recordsOf(path)];
    for (const prefix of prefixes) {
      // Records of one path are listed together: one HEAD of its object per path.
      let published: { path: string; uploadId: string | undefined } | undefined;
      for (let marker: string | undefined; ; ) {
        const page = await retry(() => this.container.listPage({ prefix, limit: LIST_PAGE, marker }, signal), { signal });
        if (page.length === 0) break;
        for (const entry of page) {
          const record = this.#recordOf(entry.name);
          if (record === undefined) continue;
          if (published?.path !== record.path) published = { path: record.path, uploadId: await this.container.uploadAt(this.key(record.path), signal) };
          if (published.uploadId === record.uploadId) continue;
          const { bytes } = contiguousParts(sizesOf(await this.#segmentsOfUpload(record.uploadId, signal)));
          yield { path: record.path, id: record.uploadId, startedAt: parseListingTime(entry.last_modified), size: bytes };
        }
        marker = page.at(-1)!.name ?? page.at(-1)!.subdir;
      }
    }
  }

  /**
   * Flags the upload as aborting, waits out a commit of it that may still publish it, then removes
   * its segments (bulk delete where offered) and its record last, so an abort that fails part-way
   * leaves the upload listed, to be aborted again. Only an upload with a record at `path` is
   * touched: an id of another path's upload (whose segments may be a committed object's) or a
   * made-up one is nothing to remove. For the upload the object at `path` publishes, only the stale
   * record goes. A writer still on the upload finds the flag (or its record gone) at commit and fails.
   */
  async abortUpload(path: string, id: string, signal?: AbortSignal): Promise<void> {
    if (!UPLOAD_ID.test(id)) return;
    const record = `${this.#recordsOf(path)}${id}`;
    if ((await this.container.head(record, signal)) === undefined) return;
    const segments = `${this.#segments}${id}/`;
    if ((await this.container.uploadAt(this.key(path), signal)) !== id) {
      await this.container.put(abortFlag(segments), Buffer.alloc(0), EMPTY_MD5, {}, signal);
      if (!(await this.#commitPublishes(path, id, segments, signal))) await this.container.deletePrefix(segments, signal);
    }
    await this.container.deleteOne(record, signal);
  }

  /**
   * Whether upload `id` is published at `path` once no commit of it can still publish it: a commit
   * marks itself before it looks for the abort's flag, so a mark seen here is waited out — until it
   * is removed (the commit's manifest PUT was answered) or two commit windows past the time the
   * server gave it (a dead commit's).
   */
  async #commitPublishes(path: string, id: string, segments: string, signal?: AbortSignal): Promise<boolean> {
    const published = async (): Promise<boolean> => (await this.container.uploadAt(this.key(path), signal)) === id;
    const mark = await this.container.head(commitMark(segments), signal);
    if (mark !== undefined) {
      const age = Date.parse(mark.get('date') ?? '') - Date.parse(mark.get('last-modified') ?? '');
      const deadline = Date.now() + 2 * COMMIT_WINDOW_MS - (Number.isFinite(age) ? Math.max(0, age) : 0);
      await pollUntil(async () => (await published()) || (await this.container.head(commitMark(segments), signal)) === undefined, deadline, signal);
    }
    return published();
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      // A HEAD, not the listing: listings size manifests wrongly (0 for a DLO, the manifest's own size for an SLO on Ceph).
      const headers = await this.container.headFile(this.key(path), signal);
      if (headers !== undefined) return fileInfo(path, headers);
    }
    return this.#tree.statDirectory(path, signal);
  }

  /** A HEAD; only without an object, one listing for a directory. */
  async exists(path: string, signal?: AbortSignal): Promise<Existence> {
    if (path === ROOT) return 'directory';
    if ((await this.container.headOwn(this.key(path), signal)) !== undefined) return 'file';
    return (await this.#tree.isDirectory(path, signal)) ? 'directory' : false;
  }

  /**
   * Listing pages (`marker` = the last name, so a cursor works in any instance); entries the
   * listing cannot size or tag correctly — manifests on Ceph, every 0-byte entry (a DLO?) — get a
   * HEAD, as in walk, so entries agree with stat.
   */
  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    return this.#walkTree.page(path, request, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  /** One listing page (the tree retries it). The next page starts after the last entry; an empty page ends the listing. */
  async #listPage(request: ListPageRequest, sized: boolean, signal?: AbortSignal): Promise<ListPage> {
    const page = await this.container.listPage({ prefix: request.prefix, delimiter: request.delimited, limit: request.limit, marker: request.token ?? request.startAfter }, signal);
    const objects = page.filter((entry): entry is ListingEntry & { name: string } => entry.name !== undefined);
    const headed = sized ? await this.#headUnsized(objects, signal) : new Map<string, Headers>();
    const last = page.at(-1);
    return {
      objects: objects.map((entry) => {
        const headers = headed.get(entry.name);
        if (headers !== undefined) return { key: entry.name, size: Number(headers.get('content-length') ?? 0), modTime: parseListingTime(entry.last_modified), ...etagOf(headers) };
        // Swift lists an SLO's whole size and its ETag as HEAD gives it (`slo_etag`, quoted).
        const etag = entry.slo_etag ?? entry.hash;
        return { key: entry.name, size: entry.bytes ?? 0, modTime: parseListingTime(entry.last_modified), ...(etag === undefined ? {} : { etag }) };
      }),
      prefixes: page.flatMap((entry) => (entry.subdir === undefined ? [] : [entry.subdir])),
      next: last === undefined ? undefined : (last.name ?? last.subdir),
    };
  }

  /**
   * HEADs of the entries a listing cannot size: an SLO the listing does not mark (real Swift lists
   * an SLO's whole size with `slo_etag`; Ceph lists the manifest's own size, with the MD5 of
   * nothing as its hash — which no non-empty plain object has) and every 0-byte entry, which may
   * be a DLO.
   */
  async #headUnsized(entries: Array<ListingEntry & { name: string }>, signal?: AbortSignal): Promise<Map<string, Headers>> {
    return this.#headEach(entries.filter((entry) => entry.slo_etag === undefined && (entry.bytes === 0 || entry.hash === EMPTY_MD5 || legacyUploadOf(entry.content_type) !== undefined)).map((entry) => entry.name), signal);
  }

  /** HEADs of `names` (`own`: each object's own, see Container.headOwn), 8 at once; names gone meanwhile are left out. */
  async #headEach(names: string[], signal?: AbortSignal, which: 'full' | 'own' = 'full'): Promise<Map<string, Headers>> {
    const found = new Map<string, Headers>();
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, names.length) }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const headers = await (which === 'own' ? this.container.headOwn(name, signal) : this.container.headFile(name, signal));
        if (headers !== undefined) found.set(name, headers);
      }
    }));
    return found;
  }

  /**
   * Rewrites the manifest at the destination (a server-side copy with `multipart-manifest=get`
   * copies an SLO's or DLO's manifest, not its data; a plain object is copied on the server), then
   * deletes the source's manifest only: the segments now belong to the destination. The source's
   * metadata and upload marker are sent with the copy: Ceph drops an SLO's metadata when it copies it.
   */
  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.key(sourcePath);
    const sourceHeaders = await this.container.headFile(source, signal);
    if (sourceHeaders === undefined) {
      if ((await this.#tree.isDirectory(sourcePath, signal))) throw directoryMoveError(sourcePath);
      throw new PathNotFoundError(sourcePath);
    }
    const upload = uploadOf(sourceHeaders);
    const headers = upload === undefined ? metadataHeaders(storedMetadata(sourceHeaders)) : manifestHeaders(upload, storedMetadata(sourceHeaders));
    const replaced = await this.#serverCopy(sourcePath, destPath, headers, { 'multipart-manifest': 'get' }, signal);
    await this.container.deleteOne(source, signal);
    await removeReplaced(this.container, this.#segments, replaced, upload);
  }

  /**
   * A server-side copy that never shares segments between two objects (a delete or overwrite of
   * one must not remove what the other reads). An SLO of ours gets segments of its own: each
   * segment is copied on the server into a new upload, then a manifest naming that upload is
   * written at the destination — any size a manifest allows, on both servers (Ceph's COPY of an SLO
   * copies the manifest and so would share its segments; Swift's flattens it into one object of
   * at most 5 GiB). Any other object is one server-side COPY (a DLO is flattened by the service).
   * The source's metadata is sent with it.
   */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    await this.#ensureContainer(signal);
    const sourceHeaders = await this.container.headFile(this.key(sourcePath), signal);
    if (sourceHeaders === undefined) throw new PathNotFoundError(sourcePath);
    const metadata = storedMetadata(sourceHeaders);
    const sourceUpload = uploadOf(sourceHeaders);
    if (sourceUpload === undefined) {
      const replaced = await this.#serverCopy(sourcePath, destPath, metadataHeaders(metadata), {}, signal);
      await removeReplaced(this.container, this.#segments, replaced);
      return;
    }
    const size = Number(sourceHeaders.get('content-length') ?? 0);
    const segments = await this.#segmentsOf(sourceUpload, size, signal);
    if (segments === undefined) throw new DriverError(`cannot copy ${sourcePath}: the segments of its upload ${sourceUpload} do not add up to its ${size} bytes (replaced while copied?)`, { path: sourcePath });
    const uploadId = newUploadId();
    const target = this.#uploadTarget(destPath, uploadId, metadata);
    try {
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, segments.length) }, async () => {
        while (next < segments.length) {
          const index = next++;
          await retry(() => this.client.call({
            method: 'PUT',
            container: this.#o.container,
            object: segmentName(target.segmentPrefix, index),
            headers: { 'x-copy-from': this.#copySource(segments[index]!.name), 'content-length': '0' },
            signal,
          }), { signal });
        }
      }));
      const replaced = await this.container.uploadAt(target.key, signal);
      const manifest = segments.map((segment, index) => ({ path: `/${this.#o.container}/${segmentName(target.segmentPrefix, index)}`, etag: segment.etag, size_bytes: segment.size }));
      // The same manifest again gives the same object: retried.
      await retry(() => this.client.call({ method: 'PUT', container: this.#o.container, object: target.key, query: { 'multipart-manifest': 'put' }, headers: manifestHeaders(uploadId, metadata), body: JSON.stringify(manifest), signal }), { signal });
      await removeReplaced(this.container, this.#segments, replaced, uploadId);
    } catch (error) {
      // Nothing names the new segments yet (unless the manifest's answer was lost: then keep them).
      if ((await this.container.uploadAt(target.key).catch(() => undefined)) !== uploadId) await this.container.deletePrefix(target.segmentPrefix).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The segments of an upload of ours as its manifest lists them: from index 0 without a gap, up to
   * `size` bytes (Ceph cannot give a manifest back, so they come from the segment listing; segments
   * past the end are leftovers of a resumed upload, not in the manifest). Undefined when they do not add up.
   */
  async #segmentsOf(uploadId: string, size: number, signal?: AbortSignal): Promise<Array<{ name: string; etag: string; size: number }> | undefined> {
    const prefix = `${this.#segments}${uploadId}/`;
    const byIndex = new Map<number, { name: string; etag: string; size: number }>();
    for (const entry of await this.container.listAll(prefix, signal)) {
      const index = SEGMENT_INDEX.exec(entry.name ?? '')?.[1];
      if (index !== undefined && entry.hash !== undefined && entry.name !== undefined) byIndex.set(Number(index), { name: entry.name, etag: entry.hash, size: entry.bytes ?? 0 });
    }
    const segments: Array<{ name: string; etag: string; size: number }> = [];
    let bytes = 0;
    for (let index = 0; bytes < size; index++) {
      const segment = byIndex.get(index);
      if (segment === undefined) return undefined;
      segments.push(segment);
      bytes += segment.size;
    }
    return bytes === size ? segments : undefined;
  }

  /** `X-Copy-From`'s value for an object of this container. */
  #copySource(name: string): string {
    return `/${encodeURIComponent(this.#o.container)}/${encodeObjectName(name)}`;
  }

  /** PUT of the destination copied from the source on the server; the upload of ours it replaced, if any. */
  async #serverCopy(sourcePath: string, destPath: string, headers: Record<string, string>, query: Record<string, string>, signal?: AbortSignal): Promise<string | undefined> {
    const dest = this.key(destPath);
    const replaced = await this.container.uploadAt(dest, signal);
    try {
      await retry(() => this.client.call({
        method: 'PUT',
        container: this.#o.container,
        object: dest,
        query,
        headers: { ...headers, 'x-copy-from': this.#copySource(this.key(sourcePath)), 'content-length': '0' },
        signal,
      }), { signal });
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(sourcePath, { cause: error });
      throw error;
    }
    return replaced;
  }

  /**
   * The object at `path` and everything below `path/` (bulk delete where offered), then the
   * segments of the manifests among them: ours by the upload their marker names, upstream's DLOs
   * by their `X-Object-Manifest` (only segments under upstream's `segments/` are touched). Only
   * entries that may be manifests get a HEAD: an SLO (Swift marks it in the listing, Ceph lists
   * the MD5 of nothing) and 0-byte entries (DLOs).
   */
  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.key(path);
    const entries: Array<ListingEntry & { name: string }> = [];
    const first = await retry(() => this.container.listPage({ prefix: key, limit: 1 }, signal), { signal });
    if (first[0]?.name === key) entries.push(first[0] as ListingEntry & { name: string });
    for (const entry of await this.container.listAll(`${key}/`, signal)) if (entry.name !== undefined) entries.push(entry as ListingEntry & { name: string });
    if (entries.length === 0) throw new PathNotFoundError(path);
    const candidates = entries.filter((entry) => entry.slo_etag !== undefined || entry.bytes === 0 || entry.hash === EMPTY_MD5 || legacyUploadOf(entry.content_type) !== undefined);
    // Their own HEADs (headOwn: a full HEAD of an SLO makes Ceph read all of it); Swift hides a legacy marker there, but lists it.
    const manifests = await this.#headEach(candidates.map((entry) => entry.name), signal, 'own');
    await this.container.deleteMany(entries.map((entry) => entry.name), signal);
    const uploads = candidates.flatMap((entry) => {
      const headers = manifests.get(entry.name);
      if (headers === undefined) return [];
      return uploadOf(headers) ?? legacyUploadOf(entry.content_type) ?? [];
    });
    for (const upload of new Set(uploads)) await this.container.deletePrefix(`${this.#segments}${upload}/`, signal);
    for (const prefix of this.#dloSegments([...manifests.values()])) await this.container.deletePrefix(prefix, signal);
  }

  /** The segment prefixes of upstream's DLO manifests among these objects. */
  #dloSegments(objects: Headers[]): Set<string> {
    const prefixes = new Set<string>();
    for (const headers of objects) {
      const manifest = headers.get('x-object-manifest');
      if (manifest === null) continue;
      const at = manifest.indexOf('/');
      const container = decodeURIComponent(manifest.slice(0, at));
      const prefix = decodeURIComponent(manifest.slice(at + 1));
      if (container === this.#o.container && prefix.startsWith(this.#upstreamSegments) && prefix.length > this.#upstreamSegments.length) prefixes.add(prefix);
    }
    return prefixes;
  }

  /**
   * Temp URLs (see redirectURL) for GET, HEAD (signed as GET, which both servers serve) and PUT; a
   * PUT stores the Content-Type the client sends, so with `contentType` it is in `headers`.
   */
  async signedURL(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }, signal?: AbortSignal): Promise<SignedURL> {
    // The key may be the container's, and an upload URL may be the first use of the container.
    await this.#ensureContainer(signal);
    const key = await this.#tempURLKeys.key(signal);
    if (key === undefined) throw new DriverError('the cluster accepts no temp URL key (tempurl middleware missing?)');
    const { storageUrl } = await this.client.credentials(signal);
    const expires = Math.floor(Date.now() / 1000) + request.expiresIn;
    const url = tempURL({ storageUrl, container: this.#o.container, object: this.key(path), method: request.method === 'HEAD' ? 'GET' : request.method, expires, key, accessKey: this.#o.accessKey, tenantId: this.#o.tenantId });
    const headers: Record<string, string> = request.method === 'PUT' && request.contentType !== undefined ? { 'content-type': request.contentType } : {};
    return { url, method: request.method, headers, expiresAt: new Date(expires * 1000) };
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

/** What a HEAD says of a file: size, time, ETag (verbatim), MD5 (only for a plain object, whose ETag is its MD5) and the stored metadata. */
function fileInfo(path: string, headers: Headers): FileInfo {
  const etag = headers.get('etag') ?? undefined;
  const plain = headers.get('x-static-large-object') === null && headers.get('x-object-manifest') === null;
  const md5 = plain && etag !== undefined && /^[0-9a-f]{32}$/.test(etag) ? Buffer.from(etag, 'hex').toString('base64') : undefined;
  return {
    path,
    size: Number(headers.get('content-length') ?? 0),
    modTime: headTime(headers),
    isDir: false,
    ...etagOf(headers),
    ...(md5 === undefined ? {} : { checksums: { md5 } }),
    ...storedMetadata(headers),
  };
}

function sizesOf(segments: Map<number, Segment>): Map<number, number> {
  return new Map([...segments].map(([index, segment]) => [index, segment.size]));
}

function etagOf(headers: Headers): { etag?: string } {
  const etag = headers.get('etag');
  return etag === null ? {} : { etag };
}
