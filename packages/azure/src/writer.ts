/**
 * The block writer. Bytes are staged as blocks on the target blob and become visible only when the
 * block list is committed. Azure keeps uncommitted blocks with the blob for a week, which is what
 * lets a writer from another process resume: the block ids say which upload a block belongs to and
 * where it goes.
 *
 * Block id (before base64): upload id (start time in base36, 9 chars; kind, 1 char; random, 6 chars)
 * then the block index (6 digits). Every id has the same length, as Azure requires per blob; ids are
 * a pure function of (upload, index), so a retried Put Block replaces the same block and can never
 * duplicate or drop bytes. Kind `n`: the upload holds every byte of the new content. Kind `a`: it
 * continues the blob's committed blocks (an append), which stay in place and are listed first.
 *
 * Blocks need not be equal in size, so `close()` simply stages what it has buffered as a short block.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { BlockBlobClient } from '@azure/storage-blob';
import { DriverError, PartUploader, type BackendWriter } from '@storagedriver/core';

import { errorCode, isConditionFailed, isNotFound } from './errors.js';
import { retried } from './retry.js';

export type UploadKind = 'n' | 'a';

const BLOCK_ID = /^([0-9a-z]{9}([na])[0-9a-z]{6})(\d{6})$/;
/** Azure's limit of committed blocks per blob. */
export const MAX_BLOCKS = 50_000;
export const CONTENT_TYPE = 'application/octet-stream';

export function newUploadId(kind: UploadKind): string {
  const random = BigInt(`0x${randomBytes(4).toString('hex')}`).toString(36).padStart(6, '0').slice(-6);
  return `${Date.now().toString(36).padStart(9, '0')}${kind}${random}`;
}

export function blockId(uploadId: string, index: number): string {
  return Buffer.from(`${uploadId}${String(index).padStart(6, '0')}`).toString('base64');
}

/** The upload and index of a block id this driver made; `undefined` for anyone else's. */
export function parseBlockId(id: string): { uploadId: string; kind: UploadKind; index: number } | undefined {
  const match = BLOCK_ID.exec(Buffer.from(id, 'base64').toString('latin1'));
  return match === null ? undefined : { uploadId: match[1]!, kind: match[2] as UploadKind, index: Number(match[3]) };
}

export interface UploadState {
  uploadId: string;
  /** Committed block ids the content starts with (kind `a`). */
  prefix: string[];
  /** Bytes already in the prefix and in staged blocks 0 … nextIndex-1. */
  size: number;
  nextIndex: number;
}

export class BlockWriter implements BackendWriter {
  readonly #blob: BlockBlobClient;
  readonly #state: UploadState;
  readonly #uploader: PartUploader;
  #size: number;
  /** Blocks may exist on the service for this upload (so cancel has something to remove). */
  #staged: boolean;

  constructor(blob: BlockBlobClient, state: UploadState, blockSize: number, concurrency: number) {
    this.#blob = blob;
    this.#state = state;
    this.#size = state.size;
    this.#staged = state.nextIndex > 0;
    this.#uploader = new PartUploader({
      partSize: blockSize,
      concurrency,
      firstIndex: state.nextIndex,
      upload: async (index, data, signal) => {
        if (state.prefix.length + index >= MAX_BLOCKS) throw new DriverError(`a blob holds at most ${MAX_BLOCKS} blocks; use a larger blocksize`);
        this.#staged = true;
        const md5 = createHash('md5').update(data).digest();
        // A retried Put Block under the same id replaces the same block.
        await retried(() => blob.stageBlock(blockId(state.uploadId, index), data, data.length, { abortSignal: signal, transactionalContentMD5: md5 }), signal);
      },
    });
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    // Core's PartUploader sends again any block a cut or an abort stopped.
    await this.#uploader.flush();
  }

  async commit(signal?: AbortSignal): Promise<void> {
    await this.#uploader.flush(signal);
    const blocks = Array.from({ length: this.#uploader.nextIndex }, (_, index) => blockId(this.#state.uploadId, index));
    try {
      await this.#blob.commitBlockList([...this.#state.prefix, ...blocks], { abortSignal: signal, blobHTTPHeaders: { blobContentType: CONTENT_TYPE } });
    } catch (error) {
      if (errorCode(error) !== 'InvalidBlockList') throw error;
      // A commit or put by someone else at this path discarded this upload's blocks (Azure's rule).
      throw new DriverError('the staged blocks of this upload were discarded by another commit to the same path', { cause: error });
    }
  }

  async cancel(): Promise<void> {
    // Let blocks in flight land first, or one could arrive after the blocks were discarded.
    await this.#uploader.drain().catch(() => undefined);
    if (this.#staged) await discardUncommittedBlocks(this.#blob);
  }
}

/**
 * Azure has no call to delete uncommitted blocks; a commit of the block list discards them. So:
 * a blob that does not exist yet is committed empty and deleted; one built from blocks is committed
 * again with the same list. Both are conditional, so content someone committed in between is never
 * touched (their commit already discarded the blocks). A blob written with one Put Blob has no block
 * list to commit again: its uncommitted blocks stay until the next commit or for Azure's 7 days.
 */
export async function discardUncommittedBlocks(blob: BlockBlobClient): Promise<void> {
  let properties;
  try {
    properties = await blob.getProperties();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      const created = await blob.commitBlockList([], { conditions: { ifNoneMatch: '*' } });
      await blob.delete({ conditions: { ifMatch: created.etag } });
    } catch (raced) {
      if (!isConditionFailed(raced) && !isNotFound(raced)) throw raced;
    }
    return;
  }
  const list = await blob.getBlockList('committed');
  const committed = list.committedBlocks ?? [];
  if (committed.length === 0 && (properties.contentLength ?? 0) > 0) return;
  try {
    await blob.commitBlockList(committed.map((block) => block.name), {
      conditions: { ifMatch: properties.etag },
      blobHTTPHeaders: {
        blobContentType: properties.contentType,
        blobContentEncoding: properties.contentEncoding,
        blobContentLanguage: properties.contentLanguage,
        blobContentDisposition: properties.contentDisposition,
        blobCacheControl: properties.cacheControl,
        blobContentMD5: properties.contentMD5,
      },
      metadata: properties.metadata,
    });
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
  }
}
