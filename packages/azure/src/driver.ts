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
  readerAtEnd,
  KeyMapper,
  PathNotFoundError,
  ROOT,
  readAll,
  walkSortedKeys,
  type BackendWriter,
  type FileInfo,
  type StorageBackend,
  type WalkFn,
} from '@storagedriver/core';

import { createClients } from './client.js';
import { errorCode, isInvalidRange, isNotFound } from './errors.js';
import type { AzureOptions } from './params.js';
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
  #delegationKey: { key: UserDelegationKey; expires: number } | undefined;

  constructor(options: AzureOptions) {
    this.#o = options;
    const { container, service } = createClients(options);
    this.container = container;
    this.#service = service;
    this.#keys = new KeyMapper(options.rootDirectory);
  }

  /** The blob name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  #blob(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.key(path));
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      const response = await this.#blob(path).download(0, undefined, { abortSignal: signal });
      return await readAll(response.readableStreamBody as Readable);
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    const blob = this.#blob(path);
    if (content.length <= PUT_BLOB_LIMIT) {
      await blob.upload(content, content.length, { abortSignal: signal, blobHTTPHeaders: { blobContentType: CONTENT_TYPE } });
      return;
    }
    const writer = this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 });
    try {
      await writer.write(content, signal);
      await writer.commit(signal);
    } catch (error) {
      await writer.cancel().catch(() => undefined);
      throw error;
    }
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    try {
      const response = await this.#blob(path).download(offset, undefined, { abortSignal: signal });
      return response.readableStreamBody as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      if (!isInvalidRange(error)) throw error;
      // 416: offset ≥ size.
      return readerAtEnd(path, offset, (await this.stat(path, signal)).size, error);
    }
  }

  async writer(path: string, append: boolean, signal?: AbortSignal): Promise<BackendWriter> {
    const blob = this.#blob(path);
    if (!append) return this.#newWriter(blob, { uploadId: newUploadId('n'), prefix: [], size: 0, nextIndex: 0 });
    let list;
    try {
      list = await blob.getBlockList('all', { abortSignal: signal });
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
    const existing = (await blob.download(0, undefined, { abortSignal: signal })).readableStreamBody!;
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
    const page = await this.container.listBlobsFlat({ prefix: this.#keys.directoryPrefix(path), abortSignal: signal }).byPage({ maxPageSize: 1 }).next();
    if (path !== ROOT && (page.done || page.value.segment.blobItems.length === 0)) throw new PathNotFoundError(path);
    return { path, size: 0, modTime: new Date(0), isDir: true };
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = this.#keys.directoryPrefix(path);
    const entries: string[] = [];
    for await (const page of this.container.listBlobsByHierarchy('/', { prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE })) {
      for (const blob of page.segment.blobItems) if (blob.name !== prefix) entries.push(this.#keys.path(blob.name));
      for (const directory of page.segment.blobPrefixes ?? []) entries.push(this.#keys.path(directory.name));
    }
    if (entries.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
    return entries;
  }

  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.#blob(sourcePath);
    const destination = this.#blob(destPath);
    let copy;
    try {
      copy = (await destination.beginCopyFromURL(source.url, { abortSignal: signal })).getOperationState() as BlobBeginCopyFromUrlPollState;
    } catch (error) {
      if (isNotFound(error) || errorCode(error) === 'CannotVerifyCopySource') {
        if ((await this.stat(sourcePath, signal).catch(() => undefined))?.isDir) throw new DriverError(`cannot move ${sourcePath}: it is a directory`, { path: sourcePath });
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
    const key = this.key(path);
    const names: string[] = [];
    if (await this.#blob(path).exists({ abortSignal: signal })) names.push(key);
    for await (const page of this.container.listBlobsFlat({ prefix: `${key}/`, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE })) {
      for (const blob of page.segment.blobItems) names.push(blob.name);
    }
    if (names.length === 0) throw new PathNotFoundError(path);
    const batch = this.container.getBlobBatchClient();
    const failed: string[] = [];
    let firstError: unknown;
    for (let i = 0; i < names.length; i += BATCH_SIZE) {
      const clients: BlobClient[] = names.slice(i, i + BATCH_SIZE).map((name) => this.container.getBlobClient(name));
      const response = await batch.deleteBlobs(clients, { abortSignal: signal });
      for (const sub of response.subResponses) {
        // Gone already (a concurrent delete) is what was asked for.
        if (sub.status < 300 || sub.status === 404) continue;
        failed.push(`${sub._request.url} (${sub.errorCode ?? sub.status})`);
        firstError ??= sub;
      }
    }
    if (failed.length > 0) throw new DriverError(`could not delete ${failed.length} blobs: ${failed.slice(0, 10).join(', ')}`, { path, cause: firstError });
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
    const prefix = this.#keys.directoryPrefix(path);
    const keys = this.#keys;
    const container = this.container;
    // Azure lists blob names in byte order, one page per request.
    async function* pages(): AsyncGenerator<FileInfo[]> {
      for await (const page of container.listBlobsFlat({ prefix, abortSignal: signal }).byPage({ maxPageSize: LIST_PAGE })) {
        yield page.segment.blobItems.map((blob) => ({
          path: keys.path(blob.name),
          size: blob.properties.contentLength ?? 0,
          modTime: blob.properties.lastModified ?? new Date(0),
          isDir: blob.name.endsWith('/'),
        }));
      }
    }
    const found = await walkSortedKeys(path, pages(), fn, startAfter, signal);
    if (!found && path !== ROOT) throw new PathNotFoundError(path);
  }
}

/** The newest upload among uncommitted blocks of ours, with its blocks from index 0 without a gap. */
function resumeNewest(blocks: { name: string; size: number }[]): { uploadId: string; kind: 'n' | 'a'; blocks: number; bytes: number } | undefined {
  let newest: { uploadId: string; kind: 'n' | 'a' } | undefined;
  const sizes = new Map<string, number>();
  for (const block of blocks) {
    const parsed = parseBlockId(block.name);
    if (parsed === undefined) continue;
    sizes.set(`${parsed.uploadId}:${parsed.index}`, block.size);
    if (newest === undefined || parsed.uploadId > newest.uploadId) newest = parsed;
  }
  if (newest === undefined) return undefined;
  let count = 0;
  let bytes = 0;
  for (let size = sizes.get(`${newest.uploadId}:0`); size !== undefined; size = sizes.get(`${newest.uploadId}:${++count}`)) bytes += size;
  return { uploadId: newest.uploadId, kind: newest.kind, blocks: count, bytes };
}

/** The Azure Blob Storage driver. */
export class AzureDriver extends BaseDriver {
  constructor(options: AzureOptions) {
    super(new AzureBackend(options));
  }
}
