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
  type BackendWriter,
  type FileInfo,
  type ListPage,
  type ListPageRequest,
  type OpenRange,
  type StorageBackend,
  type WalkFn,
} from '@storagedriver/core';

import { createClients } from './client.js';
import { errorCode, isConditionNotMet, isInvalidRange, isNotFound } from './errors.js';
import type { AzureOptions } from './params.js';
import { retried, retryOptions } from './retry.js';
import { BlockWriter, CONTENT_TYPE, newUploadId, parseBlockId, type UploadState } from './writer.js';

const MiB = 1024 * 1024;
/** Above this putContent stages blocks; below it one Put Blob replaces the blob atomically (upstream #4887). */
const PUT_BLOB_LIMIT = 256 * MiB;
const LIST_PAGE = 5000;
/** Azure's limit of sub-requests per batch. */
const BATCH_SIZE = 256;
const REDIRECT_MS = 20 * 60 * 1000;
/** A user delegation key lives this long and is renewed when less than REDIRECT_MS of it is left. */
const DELEGATION_KEY_MS = 48 * 60 * 60 * 1000;

export class AzureBackend implements StorageBackend {
  readonly name = 'azure';
  readonly container: ContainerClient;
  readonly #service: BlobServiceClient | undefined;
  readonly #o: AzureOptions;
  readonly #keys: KeyMapper;
  readonly #tree: ObjectStoreTree;
  #delegationKey: { key: UserDelegationKey; expires: number } | undefined;

  constructor(options: AzureOptions) {
    this.#o = options;
    const { container, service } = createClients(options);
    this.container = container;
    this.#service = service;
    this.#keys = new KeyMapper(options.rootDirectory);
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
    return resumableContent(this.#openRange(path), retryOptions(signal));
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    const blob = this.#blob(path);
    if (content.length <= PUT_BLOB_LIMIT) {
      await blob.upload(content, content.length, { abortSignal: signal, blobHTTPHeaders: { blobContentType: CONTENT_TYPE } });
      return;
    }
    await putThroughWriter(this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 }), content, signal);
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    try {
      return await resumableReader(offset, this.#openRange(path), retryOptions(signal));
    } catch (error) {
      if (!isInvalidRange(error)) throw error;
      // 416: offset ≥ size.
      return readerAtEnd(path, offset, (await this.stat(path, signal)).size, error);
    }
  }

  /**
   * Ranged downloads for resumableReader: a resume is pinned to the first response's ETag (If-Match).
   * The SDK's own resume of a download is off (`maxRetryRequests: 0`): it does not resume a cut
   * connection anyway (it names that an AbortError), and one owner of resumes keeps tries bounded.
   */
  #openRange(path: string): OpenRange {
    const blob = this.#blob(path);
    return async (offset, version, signal) => {
      try {
        const conditions = version === undefined ? undefined : { ifMatch: version };
        const response = await blob.download(offset, undefined, { abortSignal: signal, conditions, maxRetryRequests: 0 });
        return { stream: response.readableStreamBody as Readable, version: response.etag, size: offset + (response.contentLength ?? 0) };
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
        if (version !== undefined && isConditionNotMet(error)) {
          throw new PreconditionFailedError(path, 'the blob changed while it was read', { cause: error });
        }
        throw error;
      }
    };
  }

  async writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter> {
    const blob = this.#blob(path);
    if (!append) return this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 });
    let list;
    try {
      list = await retried(() => blob.getBlockList('all', { abortSignal: signal }), signal);
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
    const committed = list.committedBlocks ?? [];
    const committedBytes = committed.reduce((sum, block) => sum + block.size, 0);
    const resumed = resumeNewest(list.uncommittedBlocks ?? []);
    if (resumed !== undefined) {
      const prefix = resumed.kind === 'a' ? committed.map((block) => block.name) : [];
      const prefixBytes = resumed.kind === 'a' ? committedBytes : 0;
      return this.#newWriter(blob, { uploadId: resumed.uploadId, prefix, size: prefixBytes + resumed.bytes, nextIndex: resumed.blocks });
    }
    const contentLength = list.blobContentLength ?? 0;
    if (contentLength === 0) return this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 });
    if (committed.length > 0 && committedBytes === contentLength && committed.every((block) => parseBlockId(block.name) !== undefined)) {
      // Committed blocks of ours (same id length) stay where they are; the append only adds blocks.
      return this.#newWriter(blob, { uploadId: newUploadId('a'), prefix: committed.map((block) => block.name), size: contentLength, nextIndex: 0 });
    }
    // Content from one Put Blob (or another tool's blocks): the new upload starts with a copy of it.
    const writer = this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 });
    const existing = await resumableReader(0, this.#openRange(path), retryOptions(signal));
    for await (const chunk of existing) await writer.write(chunk as Buffer, signal);
    return writer;
  }

  #newWriter(blob: BlockBlobClient, state: UploadState): BlockWriter {
    return new BlockWriter(blob, state, this.#o.blockSize ?? 4 * MiB, this.#o.uploadConcurrency ?? 4);
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      try {
        const properties = await this.#blob(path).getProperties({ abortSignal: signal });
        return { path, size: properties.contentLength ?? 0, modTime: properties.lastModified ?? new Date(0), isDir: false };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return this.#tree.statDirectory(path, signal);
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#tree.list(path, signal);
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.#blob(sourcePath);
    const destination = this.#blob(destPath);
    let copy;
    try {
      copy = (await destination.beginCopyFromURL(source.url, { abortSignal: signal })).getOperationState() as BlobBeginCopyFromUrlPollState;
    } catch (error) {
      if (isNotFound(error) || errorCode(error) === 'CannotVerifyCopySource') {
        if ((await this.stat(sourcePath, signal).catch(() => undefined))?.isDir) throw directoryMoveError(sourcePath);
        throw new PathNotFoundError(sourcePath, { cause: error });
      }
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
    await source.delete({ abortSignal: signal });
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    await this.#tree.delete(path, signal);
  }

  async #listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    const options = { prefix: request.prefix, abortSignal: signal };
    const pages = request.delimited ? this.container.listBlobsByHierarchy('/', options).byPage({ continuationToken: request.token, maxPageSize: request.limit }) : this.container.listBlobsFlat(options).byPage({ continuationToken: request.token, maxPageSize: request.limit });
    const next = await pages.next();
    if (next.done === true) return { objects: [], prefixes: [], next: undefined };
    const segment = next.value.segment as { blobItems: Array<{ name: string; properties: { contentLength?: number; lastModified?: Date } }>; blobPrefixes?: Array<{ name: string }> };
    return {
      objects: segment.blobItems.map((blob) => ({ key: blob.name, size: blob.properties.contentLength ?? 0, modTime: blob.properties.lastModified ?? new Date(0) })),
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
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const blob = this.#blob(path);
    const now = Date.now();
    const values = {
      containerName: this.container.containerName,
      blobName: blob.name,
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(now - 5 * 60 * 1000), // clock skew
      expiresOn: new Date(now + REDIRECT_MS),
      protocol: blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    };
    if (blob.credential instanceof StorageSharedKeyCredential) {
      return `${blob.url}?${generateBlobSASQueryParameters(values, blob.credential).toString()}`;
    }
    if (this.#service !== undefined && this.#o.connectionString === undefined && this.#o.credentials?.type !== 'shared_key') {
      const key = await this.#userDelegationKey(this.#service, now, signal);
      return `${blob.url}?${generateBlobSASQueryParameters(values, key, blob.accountName).toString()}`;
    }
    return undefined; // a SAS connection string or a client without a key: nothing to sign with
  }

  async #userDelegationKey(service: BlobServiceClient, now: number, signal?: AbortSignal): Promise<UserDelegationKey> {
    if (this.#delegationKey === undefined || this.#delegationKey.expires - now < REDIRECT_MS) {
      const expires = now + DELEGATION_KEY_MS;
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

/** The newest upload among uncommitted blocks of ours, with its blocks from index 0 without a gap. */
function resumeNewest(blocks: { name: string; size: number }[]): { uploadId: string; kind: 'n' | 'a'; blocks: number; bytes: number } | undefined {
  const ours = blocks.flatMap((block) => {
    const id = parseBlockId(block.name);
    return id === undefined ? [] : [{ ...id, size: block.size }];
  });
  let newest: (typeof ours)[number] | undefined;
  for (const block of ours) if (newest === undefined || block.uploadId > newest.uploadId) newest = block;
  if (newest === undefined) return undefined;
  const uploadId = newest.uploadId;
  const { count, bytes } = contiguousParts(new Map(ours.filter((block) => block.uploadId === uploadId).map((block) => [block.index, block.size])));
  return { uploadId: newest.uploadId, kind: newest.kind, blocks: count, bytes };
}

/** The Azure Blob Storage driver. */
export class AzureDriver extends BaseDriver {
  constructor(options: AzureOptions) {
    super(new AzureBackend(options));
  }
}
