/**
 * Upload records: one small blob per resumable upload (a writer's; a putContent's blocks are its own
 * and never continued), under the driver's hidden prefix (core `KeyMapper.hidden('uploads')`, a
 * sibling of the root: never listed, walked or stat'ed by any driver). A record is what makes an
 * upload pending: it is written before the upload's first block (so blocks never exist without it)
 * and removed at commit, cancel and abortUpload; `append` continues only an upload whose record is
 * there, and a commit checks it first. It keeps the metadata the upload started with (block ids
 * cannot carry it, uncommitted blocks have no properties), and its creation time is when the upload
 * started. Named `<hidden><path>~/<upload id>`, so the uploads at a path and below it are prefix
 * listings (`~` is outside the path grammar: `/a`'s never mix with `/ab`'s); a name that would pass
 * Azure's 1024 characters is `<hidden>~long/<hash of the path>/<upload id>` instead, with the path in
 * the record's metadata.
 */
import { createHash } from 'node:crypto';

import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import { ROOT, isValidPath, isWithin, type KeyMapper, type WriteMetadata } from '@storagedriver/core';

import { isNotFound } from './errors.js';
import { retried } from './retry.js';
import { RESUMABLE_UPLOAD_ID } from './writer.js';

/** Azure's limit on a blob name. */
const MAX_NAME = 1024;
/** Where records of paths too long to name them go: `~` starts no path component. */
const LONG = '~long/';
const LIST_PAGE = 1000;

export interface UploadRecord {
  save(signal?: AbortSignal): Promise<void>;
  remove(signal?: AbortSignal): Promise<void>;
  /** False once the upload was committed, cancelled or aborted (and before its first block). */
  exists(signal?: AbortSignal): Promise<boolean>;
}

/** A record as listed: the upload it stands for and when it started (the record's creation). */
export interface ListedRecord {
  path: string;
  uploadId: string;
  startedAt: Date;
}

export class UploadRecords {
  readonly #container: ContainerClient;
  readonly #prefix: string;

  constructor(container: ContainerClient, keys: KeyMapper) {
    this.#container = container;
    this.#prefix = keys.hidden('uploads');
  }

  #name(path: string, uploadId: string): string {
    const named = `${this.#prefix}${path.slice(1)}~/${uploadId}`;
    return named.length <= MAX_NAME ? named : `${this.#prefix}${LONG}${createHash('sha256').update(path).digest('hex').slice(0, 32)}/${uploadId}`;
  }

  #blob(path: string, uploadId: string) {
    return this.#container.getBlockBlobClient(this.#name(path, uploadId));
  }

  /** The record of a new upload of `path`. */
  record(path: string, uploadId: string, metadata: WriteMetadata): UploadRecord {
    const blob = this.#blob(path, uploadId);
    const body = JSON.stringify({ path, metadata });
    return {
      save: async (signal) => {
        await blob.upload(body, Buffer.byteLength(body), { abortSignal: signal, metadata: { path }, blobHTTPHeaders: { blobContentType: 'application/json' } });
      },
      remove: async (signal) => {
        await retried(() => blob.deleteIfExists({ abortSignal: signal }), signal);
      },
      exists: (signal) => retried(() => blob.exists({ abortSignal: signal }), signal),
    };
  }

  /** The metadata upload `uploadId` of `path` started with, and its record; undefined when the record is gone. */
  async load(path: string, uploadId: string, signal?: AbortSignal): Promise<{ metadata: WriteMetadata; record: UploadRecord } | undefined> {
    let text: string;
    try {
      text = (await retried(() => this.#blob(path, uploadId).downloadToBuffer(0, undefined, { abortSignal: signal }), signal)).toString('utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const parsed = JSON.parse(text) as { path?: unknown; metadata?: WriteMetadata };
    // A hashed name (a long path) could collide: the record names its path.
    if (parsed.path !== path) return undefined;
    const metadata = parsed.metadata ?? {};
    return { metadata, record: this.record(path, uploadId, metadata) };
  }

  /** Removes the record of an upload; nothing when it is gone already. */
  async remove(path: string, uploadId: string, signal?: AbortSignal): Promise<void> {
    await this.record(path, uploadId, {}).remove(signal);
  }

  /** The records of uploads at `path` and below it, a page at a time, grouped by path. */
  async *list(path: string, signal?: AbortSignal): AsyncGenerator<ListedRecord> {
    const prefixes = path === ROOT ? [this.#prefix] : [`${this.#prefix}${path.slice(1)}~/`, `${this.#prefix}${path.slice(1)}/`, `${this.#prefix}${LONG}`];
    for (const prefix of prefixes) {
      for await (const item of this.#listed(prefix, signal)) {
        const uploadId = item.name.slice(item.name.lastIndexOf('/') + 1);
        const named = item.name.startsWith(`${this.#prefix}${LONG}`) ? item.metadata?.path : `/${item.name.slice(this.#prefix.length, item.name.lastIndexOf('~/'))}`;
        // Only names this driver makes: anything else under the prefix is not an upload of ours.
        if (named === undefined || !isValidPath(named) || !RESUMABLE_UPLOAD_ID.test(uploadId) || this.#name(named, uploadId) !== item.name) continue;
        if (path !== ROOT && !isWithin(named, path)) continue;
        yield { path: named, uploadId, startedAt: item.properties.createdOn ?? item.properties.lastModified };
      }
    }
  }

  async *#listed(prefix: string, signal?: AbortSignal): AsyncGenerator<BlobItem> {
    let token: string | undefined;
    do {
      const page = await retried(async () => (await this.#container.listBlobsFlat({ prefix, includeMetadata: true, abortSignal: signal }).byPage({ continuationToken: token, maxPageSize: LIST_PAGE }).next()).value, signal);
      if (page === undefined) return;
      yield* page.segment.blobItems;
      token = page.continuationToken || undefined;
    } while (token !== undefined);
  }
}
