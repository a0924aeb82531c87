/**
 * The block writer. Bytes are staged as blocks on the target blob and become visible only when the
 * block list is committed. Azure keeps uncommitted blocks with the blob for a week, which is what
 * lets a writer from another process resume: the block ids say which upload a block belongs to and
 * where it goes; the metadata the upload started with is in its upload record (uploads.ts).
 *
 * Block id (before base64): upload id (start time in base36, 9 chars; kind, 1 char; random, 6 chars)
 * then the block index (6 digits). Every id has the same length, as Azure requires per blob; ids are
 * a pure function of (upload, index), so a retried Put Block replaces the same block and can never
 * duplicate or drop bytes. Kind `n`: the upload holds every byte of the new content. Kind `a`: it
 * continues the blob's committed blocks (an append), which stay in place and are listed first. Kind
 * `p`: a putContent's own upload, committed by that call or discarded, never continued by a writer.
 *
 * Blocks need not be equal in size, so `close()` simply stages what it has buffered as a short block.
 */
import { randomBytes } from 'node:crypto';

import type { BlockBlobClient } from '@azure/storage-blob';
import { ContentMd5, DriverError, PartUploader, PreconditionFailedError, md5, type BackendWriter, type WriteConditions, type WriteMetadata } from '@storagedriver/core';

import { errorCode, isConditionFailed, isNotFound, isPreconditionFailure } from './errors.js';
import { blobHeaders, toAzureMetadata } from './metadata.js';
import { retried } from './retry.js';
import type { UploadRecord } from './uploads.js';

export type UploadKind = 'n' | 'a' | 'p';

const BLOCK_ID = /^([0-9a-z]{9}([nap])[0-9a-z]{6})(\d{6})$/;
/** The id of an upload a writer continues (kinds `n` and `a`), as `uploads` lists it. */
export const RESUMABLE_UPLOAD_ID = /^[0-9a-z]{9}[na][0-9a-z]{6}$/;
/** Azure's limit of committed blocks per blob. */
export const MAX_BLOCKS = 50_000;
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
  /** What the commit stores with the content: what the upload started with. */
  metadata: WriteMetadata;
  /** The upload's record, saved before its first block unless it was saved already (a continued upload). */
  record?: UploadRecord;
  recordSaved?: boolean;
}

export interface BlockWriterOptions {
  blockSize: number;
  concurrency: number;
}

export class BlockWriter implements BackendWriter {
  readonly #path: string;
  readonly #blob: BlockBlobClient;
  readonly #state: UploadState;
  readonly #uploader: PartUploader;
  #size: number;
  /** Blocks may exist on the service for this upload (so cancel has something to remove). */
  #staged: boolean;
  #recordSaved: Promise<void> | undefined;
  /** The MD5 of every byte, when this writer sees every byte of the content (not a continued one). */
  readonly #content: ContentMd5 | undefined;
  /** Blocks below this index went through `#content` (a block sent again after a cut does not). */
  #hashedBlocks: number;
  #contentMD5: Buffer | undefined;

  constructor(path: string, blob: BlockBlobClient, state: UploadState, options: BlockWriterOptions) {
    this.#path = path;
    this.#blob = blob;
    this.#state = state;
    this.#size = state.size;
    this.#staged = state.nextIndex > 0;
    this.#recordSaved = state.record === undefined || state.recordSaved === true ? Promise.resolve() : undefined;
    this.#content = state.size === 0 ? new ContentMd5() : undefined;
    this.#hashedBlocks = state.nextIndex;
    this.#uploader = new PartUploader({
      partSize: options.blockSize,
      concurrency: options.concurrency,
      firstIndex: state.nextIndex,
      upload: async (index, data, signal) => {
        if (state.prefix.length + index >= MAX_BLOCKS) throw new DriverError(`a blob holds at most ${MAX_BLOCKS} blocks; use a larger blocksize`);
        // First sends come in index order, so the content's hash sees every block once, in order.
        const partOfContent = this.#content !== undefined && index === this.#hashedBlocks;
        if (partOfContent) this.#hashedBlocks++;
        const [digest] = await Promise.all([partOfContent ? this.#content!.part(data) : md5(data), this.#saveRecord(signal)]);
        this.#staged = true;
        // A retried Put Block under the same id replaces the same block.
        await retried(() => blob.stageBlock(blockId(state.uploadId, index), data, data.length, { abortSignal: signal, transactionalContentMD5: digest }), signal);
      },
    });
  }

  get size(): number {
    return this.#size;
  }

  /** Once per upload, before its first block; a failed save is tried again by the next block. */
  #saveRecord(signal?: AbortSignal): Promise<void> {
    const record = this.#state.record;
    if (this.#recordSaved === undefined && record !== undefined) {
      this.#recordSaved = retried(() => record.save(signal), signal).catch((error: unknown) => {
        this.#recordSaved = undefined;
        throw error;
      });
    }
    return this.#recordSaved ?? Promise.resolve();
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    // Core's PartUploader sends again any block a cut or an abort stopped.
    await this.#uploader.flush();
  }

  /**
   * Put Block List, with the conditions checked by the service. Idempotent: the same list again
   * commits the same content (the ids now name committed blocks), and a conditional commit whose
   * first answer was lost finds its own block list committed (no other upload has these ids).
   */
  async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
    await this.#uploader.flush(signal);
    const blocks = [...this.#state.prefix, ...Array.from({ length: this.#uploader.nextIndex }, (_, index) => blockId(this.#state.uploadId, index))];
    this.#contentMD5 ??= await this.#content?.digest();
    const metadata = this.#state.metadata;
    // A writer whose upload was aborted (abortUpload, purgeUploads) must not publish it: its record is gone.
    if (this.#state.record !== undefined && this.#recordSaved !== undefined && !(await this.#state.record.exists(signal))) {
      // Or this very commit succeeded before, its answer lost, and removed the record.
      if (await this.#isCommitted(blocks, signal)) return;
      throw new DriverError('this upload was aborted or cancelled (its upload record is gone): it is not committed', { path: this.#path });
    }
    try {
      await this.#blob.commitBlockList(blocks, { abortSignal: signal, blobHTTPHeaders: blobHeaders(metadata, this.#contentMD5), metadata: toAzureMetadata(metadata.metadata), conditions });
    } catch (error) {
      if (conditions !== undefined && isPreconditionFailure(error)) {
        if (!(await this.#isCommitted(blocks, signal))) {
          throw new PreconditionFailedError(this.#path, conditions.ifNoneMatch === undefined ? `the blob's ETag is not ${conditions.ifMatch}` : 'a blob exists at this path', { cause: error });
        }
      } else if (errorCode(error) === 'InvalidBlockList') {
        // A commit or put by someone else at this path discarded this upload's blocks (Azure's rule).
        throw new DriverError('the staged blocks of this upload were discarded by another commit to the same path', { cause: error });
      } else {
        throw error;
      }
    }
    // The commit stands whatever happens to the record: a leftover is never read (its upload has no uncommitted blocks left).
    await this.#state.record?.remove(signal).catch(() => undefined);
  }

  /** True when the committed blob is exactly this upload's block list (so this upload made it). */
  async #isCommitted(blocks: string[], signal?: AbortSignal): Promise<boolean> {
    try {
      const committed = (await retried(() => this.#blob.getBlockList('committed', { abortSignal: signal }), signal)).committedBlocks ?? [];
      return committed.length === blocks.length && committed.every((block, i) => block.name === blocks[i]);
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async cancel(): Promise<void> {
    // Let blocks in flight land first, or one could arrive after the blocks were discarded.
    await this.#uploader.drain().catch(() => undefined);
    // The record first: once it is gone nobody continues or commits the blocks.
    await this.#state.record?.remove();
    if (this.#staged) await discardUpload(this.#blob, this.#state.uploadId);
  }
}

/**
 * Azure has no call to delete uncommitted blocks: a commit (or Put Blob) to the blob discards them,
 * and Azure itself after 7 days. Once the upload's record is gone nobody continues or commits them;
 * this removes them at once where that touches nothing else: on a blob that does not exist, staged by
 * no other upload, by committing it empty and deleting it (conditionally, so content someone
 * committed in between is never touched). On committed content a commit would give the blob a new
 * ETag (failing the `ifMatch` of whoever holds the current one), and other uploads' blocks would go
 * with it: there the blocks stay, invisible, until the next commit to the blob or Azure's 7 days.
 */
export async function discardUpload(blob: BlockBlobClient, uploadId: string, signal?: AbortSignal): Promise<void> {
  let list;
  try {
    list = await retried(() => blob.getBlockList('all', { abortSignal: signal }), signal);
  } catch (error) {
    if (isNotFound(error)) return; // no blob and no blocks
    throw error;
  }
  const uncommitted = list.uncommittedBlocks ?? [];
  // Another commit already discarded them, or they are not alone.
  if (!uncommitted.some((block) => parseBlockId(block.name)?.uploadId === uploadId)) return;
  if (uncommitted.some((block) => parseBlockId(block.name)?.uploadId !== uploadId)) return;
  if ((list.committedBlocks ?? []).length > 0 || (await retried(() => blob.exists({ abortSignal: signal }), signal))) return;
  try {
    const created = await blob.commitBlockList([], { abortSignal: signal, conditions: { ifNoneMatch: '*' } });
    await blob.delete({ abortSignal: signal, conditions: { ifMatch: created.etag } });
  } catch (raced) {
    if (!isConditionFailed(raced) && !isNotFound(raced)) throw raced;
  }
}
