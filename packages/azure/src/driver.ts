/** The Azure Blob Storage backend and AzureDriver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.4. */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  BlobSASPermissions,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type BlobBeginCopyFromUrlPollState,
  type BlobClient,
  type BlobServiceClient,
  type BlockBlobClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import {
  BaseDriver,
  DriverError,
  directoryMoveError,
  InvalidOffsetError,
  InvalidParameterError,
  isValidPath,
  KeyMapper,
  METADATA_KINDS,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  contiguousParts,
  readerAtEnd,
  resumableContent,
  resumableReader,
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
  type RetryOptions,
  type SignedMethod,
  type SignedURL,
  type StorageBackend,
  type WalkFn,
  type WriteConditions,
  type WriteMetadata,
} from '@storagedriver/core';

import { createClients } from './client.js';
import { DirectBlobs } from './direct.js';
import { errorCode, isConditionNotMet, isInvalidRange, isNotFound } from './errors.js';
import { blobHeaders, blobInfo, quotedETag, storedMetadata, toAzureMetadata } from './metadata.js';
import { checkAzureOptions, type AzureOptions } from './params.js';
import { retried, retryOptions } from './retry.js';
import { UploadRecords } from './uploads.js';
import { BlockWriter, RESUMABLE_UPLOAD_ID, discardUpload, newUploadId, parseBlockId, type UploadState } from './writer.js';

const MiB = 1024 * 1024;
/** Above this (and for conditional puts) putContent stages blocks; below it one Put Blob replaces the blob atomically (upstream #4887). */
const PUT_BLOB_LIMIT = 256 * MiB;
const LIST_PAGE = 5000;
/** Azure's limit of sub-requests per batch. */
const BATCH_SIZE = 256;
const REDIRECT_MS = 20 * 60 * 1000;
/** A user delegation key lives at least this long, and is renewed when a URL would outlive it. */
const DELEGATION_KEY_MS = 48 * 60 * 60 * 1000;
/**
 * Longest signedURL expiry, in seconds. Azure has no hard limit for an account-key SAS (a user
 * delegation SAS ends with its key, at most 7 days); the cap is S3's and GCS's, so no driver hands
 * out a URL that lives longer than the others'.
 */
const SIGNED_URL_MAX_SECONDS = 7 * 24 * 60 * 60;
/** Blobs one `exists` listing asks for: enough to pass the usual siblings sharing the name (`a-1` before `a/`). */
const EXISTS_PAGE = 50;

/** The Azure Blob Storage StorageBackend; AzureDriver wraps it. */
export class AzureBackend implements StorageBackend {
  readonly name = 'azure';
  /** The Azure SDK client of the container the backend works in (the caller's `client` option when given). */
  readonly container: ContainerClient;
  readonly #service: BlobServiceClient | undefined;
  readonly #o: AzureOptions;
  readonly #keys: KeyMapper;
  readonly #tree: ObjectStoreTree;
  readonly #records: UploadRecords;
  /** Put Blob, Get Blob and List Blobs without the SDK's pipeline, when the credential allows (src/direct.ts). */
  readonly #direct: DirectBlobs | undefined;
  /** What signs URLs: the shared key, a user delegation key (token credentials), or nothing (a SAS connection string). */
  readonly #signer: 'key' | 'delegation' | undefined;
  readonly capabilities: Partial<Capabilities>;
  #delegationKey: { key: UserDelegationKey; expires: number } | undefined;

  constructor(options: AzureOptions) {
    this.#o = checkAzureOptions(options);
    const { container, service } = createClients(options);
    this.container = container;
    this.#service = service;
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#records = new UploadRecords(container, this.#keys);
    this.#direct = options.client === undefined ? DirectBlobs.for(container, options.skipVerify ?? false, options.answerTimeoutMs) : undefined;
    this.#signer = container.credential instanceof StorageSharedKeyCredential
      ? 'key'
      : service !== undefined && options.connectionString === undefined && options.credentials?.type !== 'shared_key' ? 'delegation' : undefined;
    this.capabilities = {
      redirectURL: this.#signer !== undefined,
      signedURL: this.#signer === undefined ? [] : ['GET', 'HEAD', 'PUT'],
      signedURLMaxExpiresIn: SIGNED_URL_MAX_SECONDS,
      writeIfNoneMatch: true,
      writeIfMatch: true,
      metadata: METADATA_KINDS,
      etag: true,
      copy: true,
      appendToCommitted: true,
      rangedRead: true,
      listPage: true,
      uploads: true,
    };
    this.#tree = new ObjectStoreTree(
      { listPage: (request, signal) => this.#listPage(request, signal), deleteKeys: (names, signal) => this.#deleteBlobs(names, signal) },
      this.#keys,
      { pageSize: LIST_PAGE, deleteBatchSize: BATCH_SIZE, retried },
    );
  }

  /** The blob name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  #blob(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.key(path));
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    return resumableContent(this.#openRange(path), this.#readOptions(signal));
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    const { ifNoneMatch, ifMatch, ...metadata } = options;
    const conditions: WriteConditions | undefined = ifNoneMatch !== undefined ? { ifNoneMatch } : ifMatch !== undefined ? { ifMatch } : undefined;
    if (conditions === undefined && content.length <= PUT_BLOB_LIMIT && this.#direct !== undefined && Object.keys(metadata.metadata ?? {}).length === 0) {
      await this.#direct.put(this.key(path), content, blobHeaders(metadata), signal);
      return;
    }
    const blob = this.#blob(path);
    if (conditions === undefined && content.length <= PUT_BLOB_LIMIT) {
      // Put Blob computes the Content-MD5 of the content itself.
      await blob.upload(content, content.length, { abortSignal: signal, blobHTTPHeaders: blobHeaders(metadata), metadata: toAzureMetadata(metadata.metadata) });
      return;
    }
    // Blocks and one Put Block List: a conditional commit whose answer was lost then recognises its
    // own block list (a Put Blob sent again would only see "the blob exists").
    const writer = this.#newWriter(path, blob, { uploadId: newUploadId('p'), prefix: [], size: 0, nextIndex: 0, metadata });
    try {
      await writer.write(content, signal);
      await writer.commit(signal, conditions);
    } catch (error) {
      // A refused condition leaves the blob exactly as it is (a cancel could commit it again, a new
      // ETag): the staged blocks stay invisible until the next commit or Azure's 7-day expiry.
      if (!(error instanceof PreconditionFailedError)) await writer.cancel().catch(() => undefined);
      throw error;
    }
  }

  /** With `length`: one ranged download of exactly that range, InvalidOffsetError when it passes the end. */
  async reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable> {
    if (length === 0) {
      const info = await this.stat(path, signal);
      if (info.isDir) throw new PathNotFoundError(path);
      if (offset > info.size) throw new InvalidOffsetError(path, offset);
      return readerAtEnd(path, offset, offset);
    }
    try {
      return await resumableReader(offset, this.#openRange(path, length === undefined ? undefined : offset + length), this.#readOptions(signal));
    } catch (error) {
      if (!isInvalidRange(error)) throw error;
      // 416: offset ≥ size.
      if (length !== undefined) throw new InvalidOffsetError(path, offset + length, { cause: error });
      return readerAtEnd(path, offset, (await this.stat(path, signal)).size, error);
    }
  }

  /**
   * Ranged downloads for resumableReader, up to `end` (exclusive) when given: a resume is pinned to
   * the first response's ETag (If-Match). The SDK's own resume of a download is off
   * (`maxRetryRequests: 0`): it does not resume a cut connection anyway (it names that an
   * AbortError), and one owner of resumes keeps tries bounded.
   */
  /** Core's resumable reads: our retries, and the answer bound as their stall bound. */
  #readOptions(signal: AbortSignal | undefined): RetryOptions {
    return { ...retryOptions(signal), stallTimeoutMs: this.#o.answerTimeoutMs };
  }

  #openRange(path: string, end?: number): OpenRange {
    const direct = this.#direct;
    const key = this.key(path);
    const blob = direct === undefined ? this.#blob(path) : undefined;
    return async (offset, version, signal) => {
      try {
        let response: { stream: Readable; etag?: string; contentRange?: string; contentLength?: number };
        if (direct !== undefined) {
          response = await direct.open(key, offset, end, version, signal);
        } else {
          const conditions = version === undefined ? undefined : { ifMatch: version };
          const answer = await blob!.download(offset, end === undefined ? undefined : end - offset, { abortSignal: signal, conditions, maxRetryRequests: 0 });
          response = { stream: answer.readableStreamBody as Readable, etag: answer.etag, contentRange: answer.contentRange, contentLength: answer.contentLength };
        }
        const { stream } = response;
        // Azure answers a range that passes the end with the bytes up to it; Content-Range tells the size.
        const total = /\/(\d+)$/.exec(response.contentRange ?? '')?.[1];
        if (end !== undefined && total !== undefined && end > Number(total)) {
          stream.destroy();
          throw new InvalidOffsetError(path, end);
        }
        return { stream, version: response.etag, size: offset + (response.contentLength ?? 0) };
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        if (version !== undefined && isConditionNotMet(error)) {
          throw new PreconditionFailedError(path, 'the blob changed while it was read', { cause: error });
        }
        throw error;
      }
    };
  }

  /**
   * `metadata` goes with a new upload (and into its record). A continued upload commits with what it
   * started with (its record); an append to committed content keeps the blob's own headers and
   * metadata, as it continues that content.
   */
  async writer(path: string, append: boolean, signal?: AbortSignal, metadata: WriteMetadata = {}): Promise<BackendWriter> {
    const blob = this.#blob(path);
    if (!append) return this.#newUpload(path, blob, 'n', metadata);
    let list;
    try {
      list = await retried(() => blob.getBlockList('all', { abortSignal: signal }), signal);
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
    const committed = list.committedBlocks ?? [];
    const committedBytes = committed.reduce((sum, block) => sum + block.size, 0);
    const uncommitted = list.uncommittedBlocks ?? [];
    // The newest upload that is still pending: one without its record was committed, cancelled or aborted.
    for (const uploadId of uploadsNewestFirst(uncommitted)) {
      const started = await this.#records.load(path, uploadId, signal);
      if (started === undefined) continue;
      const held = heldBlocks(list, uploadId);
      const state = { uploadId, prefix: held.prefix, size: held.size, nextIndex: held.blocks, metadata: started.metadata, record: started.record, recordSaved: true };
      return this.#newWriter(path, blob, state);
    }
    const contentLength = list.blobContentLength ?? 0;
    if (contentLength === 0) {
      // Blocks of ended uploads alone make a blob that has no content and does not exist.
      if (committed.length === 0 && uncommitted.length > 0 && !(await retried(() => blob.exists({ abortSignal: signal }), signal))) throw new PathNotFoundError(path);
      return this.#newUpload(path, blob, 'n', metadata);
    }
    const kept = storedMetadata(await blob.getProperties({ abortSignal: signal }));
    if (committed.length > 0 && committedBytes === contentLength && committed.every((block) => parseBlockId(block.name) !== undefined)) {
      // Committed blocks of ours (same id length) stay where they are; the append only adds blocks.
      return this.#newUpload(path, blob, 'a', kept, { prefix: committed.map((block) => block.name), size: contentLength });
    }
    // Content from one Put Blob (or another tool's blocks): the new upload starts with a copy of it.
    const writer = this.#newUpload(path, blob, 'n', kept);
    const existing = await resumableReader(0, this.#openRange(path), this.#readOptions(signal));
    for await (const chunk of existing) await writer.write(chunk as Buffer, signal);
    return writer;
  }

  #newUpload(path: string, blob: BlockBlobClient, kind: 'n' | 'a', metadata: WriteMetadata, from = { prefix: [] as string[], size: 0 }): BlockWriter {
    const uploadId = newUploadId(kind);
    return this.#newWriter(path, blob, { uploadId, ...from, nextIndex: 0, metadata, record: this.#records.record(path, uploadId, metadata) });
  }

  #newWriter(path: string, blob: BlockBlobClient, state: UploadState): BlockWriter {
    return new BlockWriter(path, blob, state, { blockSize: this.#o.blockSize ?? 4 * MiB, concurrency: this.#o.uploadConcurrency ?? 4 });
  }

  /**
   * The upload records at `path` and below it, each with the bytes its blocks hold (one block list
   * per path: records of one path are listed together).
   */
  async *uploads(path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload> {
    let blocks: { path: string; list: BlockList | undefined } | undefined;
    for await (const record of this.#records.list(path, signal)) {
      if (blocks?.path !== record.path) blocks = { path: record.path, list: await this.#blockList(record.path, signal) };
      const size = blocks.list === undefined ? 0 : heldBlocks(blocks.list, record.uploadId).size;
      yield { path: record.path, id: record.uploadId, startedAt: record.startedAt, size };
    }
  }

  /**
   * Removes the record, then the blocks where Azure lets that touch nothing else (discardUpload);
   * blocks left on committed content go with the blob's next commit or after Azure's 7 days, and are
   * never continued or committed without their record.
   */
  async abortUpload(path: string, id: string, signal?: AbortSignal): Promise<void> {
    if (!RESUMABLE_UPLOAD_ID.test(id)) throw new InvalidParameterError('id', id, 'the id of a pending upload, from uploads()');
    await this.#records.remove(path, id, signal);
    await discardUpload(this.#blob(path), id, signal);
  }

  async #blockList(path: string, signal?: AbortSignal): Promise<BlockList | undefined> {
    try {
      return await retried(() => this.#blob(path).getBlockList('all', { abortSignal: signal }), signal);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      try {
        return blobInfo(path, await this.#blob(path).getProperties({ abortSignal: signal }));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return this.#tree.statDirectory(path, signal);
  }

  /**
   * One flat listing from the blob's own name: the blob sorts first, then names that extend it
   * (`a-1`, `a.x`, then `a/…`). Only when siblings fill the page does a second listing ask `a/`.
   */
  async exists(path: string, signal?: AbortSignal): Promise<Existence> {
    if (path === ROOT) return 'directory';
    const key = this.key(path);
    const page = await retried(() => this.#listPage({ prefix: key, delimited: false, limit: EXISTS_PAGE }, signal), signal);
    if (page.objects[0]?.key === key) return 'file';
    if (page.objects.some((object) => object.key.startsWith(`${key}/`) && isValidPath(this.#keys.path(object.key)))) return 'directory';
    if (page.next === undefined) return false;
    return (await this.#tree.isDirectory(path, signal)) ? 'directory' : false;
  }

  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    return this.#tree.page(path, request, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.copy(sourcePath, destPath, signal);
    } catch (error) {
      if (error instanceof PathNotFoundError && (await this.stat(sourcePath, signal).catch(() => undefined))?.isDir) throw directoryMoveError(sourcePath);
      throw error;
    }
    await this.#blob(sourcePath).delete({ abortSignal: signal });
  }

  /**
   * Server-side Copy Blob (any size; headers, metadata and Content-MD5 go with the content), polled
   * with `max_retries`/`retry_delay` while pending. Within one account the source needs no SAS.
   */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.#blob(sourcePath);
    const destination = this.#blob(destPath);
    let copy;
    try {
      copy = (await destination.beginCopyFromURL(source.url, { abortSignal: signal })).getOperationState() as BlobBeginCopyFromUrlPollState;
    } catch (error) {
      if (isNotFound(error) || errorCode(error) === 'CannotVerifyCopySource') throw new PathNotFoundError(sourcePath, { cause: error });
      throw error;
    }
    // The poller's first poll started the copy; the polling below is ours, to honour max_retries and retry_delay.
    let status: string | undefined = copy.result?.copyStatus ?? 'pending';
    const maxRetries = this.#o.maxRetries ?? 5;
    for (let attempt = 1; status === 'pending'; attempt++) {
      if (maxRetries === -1 || attempt > maxRetries) {
        await destination.abortCopyFromURL(copy.copyId!).catch(() => undefined);
        throw new DriverError(`copy of ${sourcePath} still pending after ${Math.max(maxRetries, 0)} polls; aborted`, { path: sourcePath });
      }
      await sleep((this.#o.retryDelayMs ?? 100) * attempt, undefined, { signal });
      status = (await destination.getProperties({ abortSignal: signal })).copyStatus;
    }
    if (status !== 'success') throw new DriverError(`copy of ${sourcePath} ended ${status}`, { path: sourcePath });
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    await this.#tree.delete(path, signal);
  }

  async #listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    if (this.#direct !== undefined) return this.#direct.list(request, signal);
    const options = { prefix: request.prefix, abortSignal: signal };
    const pages = request.delimited ? this.container.listBlobsByHierarchy('/', options).byPage({ continuationToken: request.token, maxPageSize: request.limit }) : this.container.listBlobsFlat(options).byPage({ continuationToken: request.token, maxPageSize: request.limit });
    const next = await pages.next();
    if (next.done === true) return { objects: [], prefixes: [], next: undefined };
    const segment = next.value.segment as { blobItems: Array<{ name: string; properties: { contentLength?: number; lastModified?: Date; etag?: string } }>; blobPrefixes?: Array<{ name: string }> };
    return {
      objects: segment.blobItems.map((blob) => ({ key: blob.name, size: blob.properties.contentLength ?? 0, modTime: blob.properties.lastModified ?? new Date(0), etag: quotedETag(blob.properties.etag) })),
      prefixes: (segment.blobPrefixes ?? []).map((prefix) => prefix.name),
      next: next.value.continuationToken || undefined,
    };
  }

  /** One batch delete; a blob already gone (a concurrent delete, or an earlier try) counts as deleted. */
  async #deleteBlobs(names: string[], signal?: AbortSignal): Promise<void> {
    const clients: BlobClient[] = names.map((name) => this.container.getBlobClient(name));
    const response = await this.container.getBlobBatchClient().deleteBlobs(clients, { abortSignal: signal });
    const failed = response.subResponses.filter((sub) => sub.status >= 300 && sub.status !== 404);
    if (failed.length > 0) {
      const shown = failed.slice(0, 10).map((sub) => `${sub._request.url} (${sub.errorCode ?? sub.status})`);
      throw new DriverError(`could not delete ${failed.length} blobs: ${shown.join(', ')}`, { cause: failed[0] });
    }
  }

  async redirectURL(path: string, method: string, signal?: AbortSignal): Promise<string | undefined> {
    if ((method !== 'GET' && method !== 'HEAD') || this.#signer === undefined) return undefined;
    const now = Date.now();
    return this.#sas(this.#blob(path), 'r', now, new Date(now + REDIRECT_MS), signal);
  }

  /** A blob SAS: read for GET and HEAD; create and write for PUT (a Put Blob of a block blob). */
  async signedURL(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }, signal?: AbortSignal): Promise<SignedURL> {
    const now = Date.now();
    const expiresAt = new Date(now + request.expiresIn * 1000);
    const url = await this.#sas(this.#blob(path), request.method === 'PUT' ? 'cw' : 'r', now, expiresAt, signal);
    // Azure cannot sign request headers into a SAS: Content-Type is what the client sends, not enforced.
    const headers: Record<string, string> = request.method !== 'PUT' ? {} : { 'x-ms-blob-type': 'BlockBlob', ...(request.contentType === undefined ? {} : { 'content-type': request.contentType }) };
    return { url, method: request.method, headers, expiresAt };
  }

  /** Signed with the shared key, or with a user delegation key for token credentials. Only called with a signer. */
  async #sas(blob: BlobClient, permissions: string, now: number, expiresOn: Date, signal?: AbortSignal): Promise<string> {
    const values = {
      containerName: this.container.containerName,
      blobName: blob.name,
      permissions: BlobSASPermissions.parse(permissions),
      startsOn: new Date(now - 5 * 60 * 1000), // clock skew
      expiresOn,
      protocol: blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    };
    if (blob.credential instanceof StorageSharedKeyCredential) {
      return `${blob.url}?${generateBlobSASQueryParameters(values, blob.credential).toString()}`;
    }
    const key = await this.#userDelegationKey(this.#service!, now, expiresOn.getTime(), signal);
    return `${blob.url}?${generateBlobSASQueryParameters(values, key, blob.accountName).toString()}`;
  }

  /** A cached user delegation key valid until at least `until` (Azure's limit: 7 days from now). */
  async #userDelegationKey(service: BlobServiceClient, now: number, until: number, signal?: AbortSignal): Promise<UserDelegationKey> {
    if (this.#delegationKey === undefined || this.#delegationKey.expires < until) {
      const expires = Math.min(Math.max(now + DELEGATION_KEY_MS, until), now + SIGNED_URL_MAX_SECONDS * 1000);
      const key = await service.getUserDelegationKey(new Date(now - 5 * 60 * 1000), new Date(expires), { abortSignal: signal });
      this.#delegationKey = { key, expires };
    }
    return this.#delegationKey.key;
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    // Azure lists blob names in byte order, one page per request; it has no start-after.
    await this.#tree.walk(path, fn, startAfter, signal);
  }
}

interface BlockList {
  committedBlocks?: Array<{ name: string; size: number }>;
  uncommittedBlocks?: Array<{ name: string; size: number }>;
}

/** The ids of the uploads (not putContent's) with uncommitted blocks of ours, newest first. */
function uploadsNewestFirst(blocks: Array<{ name: string }>): string[] {
  const ids = new Set<string>();
  for (const block of blocks) {
    const id = parseBlockId(block.name);
    if (id !== undefined && id.kind !== 'p') ids.add(id.uploadId);
  }
  return [...ids].sort().reverse();
}

/**
 * What upload `uploadId` holds: its blocks from index 0 without a gap, after the committed blocks
 * when it continues them (kind `a`), and their size — what a writer continuing it starts from.
 */
function heldBlocks(list: BlockList, uploadId: string): { prefix: string[]; blocks: number; size: number } {
  const sizes = new Map<number, number>();
  let continues = false;
  for (const block of list.uncommittedBlocks ?? []) {
    const id = parseBlockId(block.name);
    if (id?.uploadId !== uploadId) continue;
    sizes.set(id.index, block.size);
    continues = id.kind === 'a';
  }
  const { count, bytes } = contiguousParts(sizes);
  const committed = continues ? (list.committedBlocks ?? []) : [];
  return { prefix: committed.map((block) => block.name), blocks: count, size: committed.reduce((sum, block) => sum + block.size, bytes) };
}

/** The Azure Blob Storage driver. */
export class AzureDriver extends BaseDriver {
  constructor(options: AzureOptions) {
    super(new AzureBackend(options));
  }
}
