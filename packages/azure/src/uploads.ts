/**
 * Upload records: the metadata an upload started with, so that a writer continuing it with append
 * (from another instance or process) commits with that metadata. Block ids cannot carry it (at most
 * 64 bytes, one length per blob), and uncommitted blocks have no properties. A record is a small
 * blob under the driver's hidden prefix (core `KeyMapper.hidden('uploads')`, a sibling of the root:
 * never listed, walked or stat'ed by any driver), named by the target key's hash and the upload id.
 * It is written before the upload's first block, so blocks never exist without it, and deleted at
 * commit and cancel. Uploads without metadata have none.
 */
import { createHash } from 'node:crypto';

import type { ContainerClient } from '@azure/storage-blob';
import type { KeyMapper, WriteMetadata } from '@storagedriver/core';

import { isNotFound } from './errors.js';
import { retried } from './retry.js';

export interface UploadRecord {
  save(signal?: AbortSignal): Promise<void>;
  remove(signal?: AbortSignal): Promise<void>;
}

export class UploadRecords {
  readonly #container: ContainerClient;
  readonly #prefix: string;

  constructor(container: ContainerClient, keys: KeyMapper) {
    this.#container = container;
    this.#prefix = keys.hidden('uploads');
  }

  #blob(key: string, uploadId: string) {
    // Hashed: a blob name is at most 1024 characters, and the key may be nearly that long already.
    return this.#container.getBlockBlobClient(`${this.#prefix}${createHash('sha256').update(key).digest('hex').slice(0, 32)}/${uploadId}`);
  }

  /** The record of a new upload of `key`; none when the upload has no metadata to keep. */
  record(key: string, uploadId: string, metadata: WriteMetadata): UploadRecord | undefined {
    if (Object.keys(metadata).length === 0) return undefined;
    const blob = this.#blob(key, uploadId);
    const body = JSON.stringify({ key, metadata });
    return {
      save: async (signal) => {
        await blob.upload(body, Buffer.byteLength(body), { abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/json' } });
      },
      remove: async (signal) => {
        await blob.deleteIfExists({ abortSignal: signal });
      },
    };
  }

  /** The metadata upload `uploadId` of `key` started with, and its record; `{}` for an upload without one. */
  async load(key: string, uploadId: string, signal?: AbortSignal): Promise<{ metadata: WriteMetadata; record: UploadRecord | undefined }> {
    let text: string;
    try {
      text = (await retried(() => this.#blob(key, uploadId).downloadToBuffer(0, undefined, { abortSignal: signal }), signal)).toString('utf8');
    } catch (error) {
      if (isNotFound(error)) return { metadata: {}, record: undefined };
      throw error;
    }
    const parsed = JSON.parse(text) as { key?: unknown; metadata?: WriteMetadata };
    // A record names its key: a hash collision cannot hand one upload another's metadata.
    const metadata = parsed.key === key && parsed.metadata !== undefined ? parsed.metadata : {};
    return { metadata, record: this.record(key, uploadId, metadata) };
  }
}
