/**
 * The writer: chunks under a fresh upload id, an upload record that lets a new process resume, and a
 * commit that publishes the file entry in one atomic omap write op (README "Design").
 *
 * Upload records live in the omap of one object, `storagedriver:uploads`, keyed `<key> <id>` (a space
 * is outside the path grammar, so the prefix `<key> ` selects exactly the uploads of one path):
 * `{id, chunk, size, reserved, created, replaces?, putDeadline?, meta?, committing?}`.
 * - `size`: bytes durably in chunks 0… without a gap (resume continues there);
 * - `reserved`: chunk indexes below it may have been written (raised before a chunk is sent), so a
 *   cancel — or the commit, for chunks past the end — removes every chunk even after a crash;
 * - `replaces`: the file entry (id, size, chunk) the commit is replacing, written before the publish, so a
 *   commit interrupted after its publish is finished (old chunks removed) by the next writer;
 * - `meta`: the metadata the upload started with, published with its entry (a resumed upload keeps it);
 * - `committing`: set by the save before a publish (the publish goes out within an op timeout of it), which an abort waits out.
 */
import { randomUUID } from 'node:crypto';

import { DriverError, PartUploader, PreconditionFailedError, contiguousParts, type BackendWriter, type WriteConditions, type WriteMetadata } from '@storagedriver/core';

import { ECANCELED, ENOENT, omapGet, omapPage, readInto, refPut, writeFull, writeOp, type Pointer } from './librados.js';
import { chunkCount, chunkOid, encodeEntry, etagOf, expectOk, forEachLimited, holdsChunks, lookup, publish, removeChunks, removeFileChunks, type Entry, type FileChunks, type Found } from './tree.js';

export const UPLOADS_OBJECT = 'storagedriver:uploads';
/** Chunk indexes reserved per record update ahead of the writes. */
const RESERVE_AHEAD = 8;
const PUBLISH_ATTEMPTS = 20;

export interface UploadRecord {
  id: string;
  chunk: number;
  size: number;
  reserved: number;
  created: number;
  /** The file entry the commit replaces (its chunks are removed once the commit is published). */
  replaces?: FileChunks;
  /** Content headers and user metadata, set when the upload started. */
  meta?: WriteMetadata;
  /**
   * A putContent's record, saved once with the final size before its chunks are written: never
   * resumed (its chunks may be incomplete). A putContent publishes before this time (ms since the
   * epoch) or not at all, so an uncommitted record found after it (plus one op timeout) is a dead
   * one's, and its chunks can go.
   */
  putDeadline?: number;
  /**
   * Set afresh by each save before a publish (the time, ms since the epoch, and a token that makes
   * every such save a new value). The publish goes out within one op timeout of that time (right
   * after the save, or within PREMARK_FRESH_MS of a mark putContent saved before its chunks were written) and may
   * land until it is surely dead: one more op timeout, plus one for clock skew. So an abort that
   * finds the record marked waits for it (README "Pending uploads").
   */
  committing?: { at: number; token: string };
}

export interface WriterContext {
  /** Runs a step with the pool context (the driver's cluster). */
  use: <T>(fn: (io: Pointer) => Promise<T>) => Promise<T>;
  key: string;
  /** The path, for errors. */
  path: string;
  concurrency: number;
}

function recordKey(key: string, id: string): string {
  return `${key} ${id}`;
}

export function newRecord(chunk: number, meta?: WriteMetadata): UploadRecord {
  return { id: randomUUID(), chunk, size: 0, reserved: 0, created: Date.now(), ...(meta === undefined || Object.keys(meta).length === 0 ? {} : { meta }) };
}

/** True when `entry` is the file this upload published (not a copy sharing its chunks). */
export function isUpload(entry: Entry | undefined, id: string): boolean {
  return entry?.kind === 'file' && entry.id === id && entry.ref === undefined;
}

/**
 * Throws PreconditionFailedError unless `current` (the entry about to be replaced, read just
 * before the compared publish) satisfies `conditions`.
 */
export function checkConditions(path: string, current: Found | undefined, conditions: WriteConditions | undefined): void {
  if (conditions?.ifNoneMatch === '*' && current !== undefined) throw new PreconditionFailedError(path, 'ifNoneMatch "*": something is at the path');
  if (conditions?.ifMatch !== undefined) {
    if (current?.entry.kind !== 'file') throw new PreconditionFailedError(path, `ifMatch ${conditions.ifMatch}: no file is at the path`);
    const etag = etagOf(current.entry);
    if (etag !== conditions.ifMatch) throw new PreconditionFailedError(path, `ifMatch ${conditions.ifMatch}: the file's etag is ${etag}`);
  }
}

/** Saves the record of a new upload. */
export async function createRecord(io: Pointer, key: string, record: UploadRecord): Promise<void> {
  const { rc } = await writeOp(io, UPLOADS_OBJECT, { create: true, set: [[recordKey(key, record.id), JSON.stringify(record)]] });
  expectOk(rc, `save upload record of ${key}`);
}

/**
 * Saves the record of an upload under way, only if it is still there: a record removed by
 * `abortUpload` is never written again, so a writer still on that upload fails instead.
 */
export async function saveRecord(io: Pointer, key: string, record: UploadRecord): Promise<void> {
  const name = recordKey(key, record.id);
  const { rc } = await writeOp(io, UPLOADS_OBJECT, { present: [name], set: [[name, JSON.stringify(record)]] });
  if (rc === ECANCELED || rc === ENOENT) throw new DriverError(`the upload ${record.id} to ${key} was aborted (its record is gone): cancel the writer to remove what it wrote since`);
  expectOk(rc, `save upload record of ${key}`);
}

/** The record of upload `id` of `key` as stored, or undefined. */
export async function readRecord(io: Pointer, key: string, id: string): Promise<{ record: UploadRecord; raw: string } | undefined> {
  const { rc, entries } = await omapGet(io, UPLOADS_OBJECT, [recordKey(key, id)]);
  expectOk(rc, 'read upload records', ENOENT);
  const raw = entries[0]?.value;
  return raw === undefined ? undefined : { record: JSON.parse(raw) as UploadRecord, raw };
}

/** Removes the record of upload `id` if it still holds `raw`; false when it changed meanwhile (or is gone). */
export async function removeRecordIf(io: Pointer, key: string, id: string, raw: string): Promise<boolean> {
  const name = recordKey(key, id);
  const { rc } = await writeOp(io, UPLOADS_OBJECT, { compare: [[name, raw]], remove: [name] });
  return expectOk(rc, `remove upload record of ${key}`, ECANCELED, ENOENT) === 0;
}

export async function dropRecord(io: Pointer, key: string, id: string): Promise<void> {
  expectOk((await writeOp(io, UPLOADS_OBJECT, { remove: [recordKey(key, id)] })).rc, `remove upload record of ${key}`, ENOENT);
}

/** The upload records of `key`, oldest first. */
export async function recordsOf(io: Pointer, key: string): Promise<UploadRecord[]> {
  const records: UploadRecord[] = [];
  let after = '';
  for (;;) {
    const page = await omapPage(io, UPLOADS_OBJECT, after, 1000, `${key} `);
    if (expectOk(page.rc, 'read upload records', ENOENT) === ENOENT) break;
    records.push(...page.entries.map((entry) => JSON.parse(entry.value) as UploadRecord));
    if (!page.more || page.entries.length === 0) break;
    after = page.entries.at(-1)!.key;
  }
  return records.sort((a, b) => a.created - b.created);
}

/**
 * Finishes a commit that published `record` but stopped before its clean-up: removes the chunks of
 * the entry it replaced and those past its end, then the record.
 */
export async function finishCommitted(io: Pointer, key: string, record: UploadRecord, concurrency = 16): Promise<void> {
  if (record.replaces !== undefined && !(record.replaces.id === record.id && record.replaces.ref === undefined)) await removeFileChunks(io, record.replaces, concurrency);
  await removeChunks(io, record.id, chunkCount(record.size, record.chunk), record.reserved, concurrency);
  await dropRecord(io, key, record.id);
}

/**
 * How recent a commit mark putContent saved before its chunks were all written must be for
 * the publish to go without a new one: no more than the shortest op timeout (1 s), the longest a
 * publish right after its own mark's save can follow the mark.
 */
const PREMARK_FRESH_MS = 1000;

export interface PublishOptions {
  signal?: AbortSignal;
  /** Checked against the entry the publish compares with. */
  conditions?: WriteConditions;
  /** As for `publish`: run once the entry is written. */
  beside?: () => Promise<void>;
  /** The record was saved with a commit mark for this very `current` (by `markCommit`, or at its creation when nothing is replaced): the first try publishes without saving it again, if the mark is fresh. */
  premarked?: boolean;
  /** The content, base64, of a putContent small enough to publish inline (the upload wrote no chunk). */
  data?: string;
}

/**
 * Checks `current` (the entry at `key` as last read) against the upload and `conditions`, then
 * saves the record with that size, the file it replaces and a fresh commit mark, so whoever finds
 * the record later can finish the commit's clean-up; the save fails when the record is gone (the
 * upload was aborted), so an aborted upload is not published. False when `current` is this upload
 * already (nothing left to publish).
 */
export async function markCommit(io: Pointer, path: string, key: string, record: UploadRecord, size: number, current: Found | undefined, conditions?: WriteConditions): Promise<boolean> {
  checkDeadline(key, record);
  if (current?.entry.kind === 'dir') throw new DriverError(`cannot write ${key}: it is a directory`);
  if (isUpload(current?.entry, record.id)) return false;
  checkConditions(path, current, conditions);
  record.replaces = current?.entry.kind === 'file' && holdsChunks(current.entry) ? chunksOf(current.entry) : undefined;
  record.size = size;
  record.committing = { at: Date.now(), token: randomUUID() };
  await saveRecord(io, key, record);
  return true;
}

function checkDeadline(key: string, record: UploadRecord): void {
  if (record.putDeadline !== undefined && Date.now() > record.putDeadline) {
    throw new DriverError(`cannot write ${key}: not published before its deadline (4 × optimeout), so it may be cleaned up as abandoned`, { retryable: true });
  }
}

/**
 * Publishes the upload of `record` (its chunks all written) as the file `key` of `size` bytes, over
 * whatever file is there (`current`, as last read): each try marks the commit (`markCommit`), then
 * publishes the entry compared with `current`. Resolves once published, also when an earlier try
 * already published it (whatever the conditions: its own content is there). The conditions hold
 * atomically: a change in between fails the comparison and they are checked again.
 */
export async function publishUpload(io: Pointer, path: string, key: string, record: UploadRecord, size: number, current: Found | undefined, options: PublishOptions = {}): Promise<void> {
  const entry = encodeEntry({ kind: 'file', id: record.id, size, chunk: record.chunk, mtime: Date.now(), ...(record.meta === undefined ? {} : { meta: record.meta }), ...(options.data === undefined ? {} : { data: options.data }) });
  for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    const marked = attempt === 0 && options.premarked === true && record.committing !== undefined && Date.now() - record.committing.at < PREMARK_FRESH_MS;
    if (marked) checkDeadline(key, record);
    else if (!(await markCommit(io, path, key, record, size, current, options.conditions))) return;
    options.signal?.throwIfAborted();
    if (await publish(io, key, entry, current?.raw ?? '', options.beside)) return;
    current = await lookup(io, key);
  }
  throw new DriverError(`cannot write ${key}: its entry kept changing`);
}

/** The chunk reference of a file entry, as a record keeps it. */
export function chunksOf(file: FileChunks): FileChunks {
  return { id: file.id, size: file.size, chunk: file.chunk, ...(file.ref === undefined ? {} : { ref: file.ref }) };
}

/**
 * Drops the writer's reference to each chunk an uncommitted upload may have written (up to
 * `reserved`): a chunk nothing else uses goes, one a copy shares stays (possible only when the
 * record outlived a commit whose file was then copied and replaced), and a reference dropped
 * already is a no-op.
 */
export async function dropUploadChunks(io: Pointer, record: UploadRecord, concurrency = 16): Promise<void> {
  const indexes = Array.from({ length: Math.max(record.reserved, chunkCount(record.size, record.chunk)) }, (_, i) => i);
  await forEachLimited(indexes, concurrency, async (i) => {
    expectOk((await refPut(io, chunkOid(record.id, i), '')).rc, `drop reference to ${chunkOid(record.id, i)}`, ENOENT);
  });
}

/** Removes an uncommitted upload: its chunks (up to every index it may have written) and its record. */
export async function discardUpload(io: Pointer, key: string, record: UploadRecord, concurrency = 16): Promise<void> {
  await removeChunks(io, record.id, 0, Math.max(record.reserved, chunkCount(record.size, record.chunk)), concurrency);
  await dropRecord(io, key, record.id);
}

/** The writer of one upload: bounded memory (chunk × (concurrency + 1)), chunks written with aio. */
export class ChunkWriter implements BackendWriter {
  readonly #ctx: WriterContext;
  readonly #record: UploadRecord;
  readonly #uploader: PartUploader;
  /** Sizes of chunks written, by index, from the record's first resumed index. */
  readonly #written = new Map<number, number>();
  readonly #firstIndex: number;
  readonly #baseBytes: number;
  #accepted = 0;
  /** Record updates run one at a time, in order. */
  #recordQueue: Promise<void> = Promise.resolve();
  #savedSize: number;
  #committed = false;

  /** `tail`: the bytes of a resumed upload's last, partial chunk (written again with what follows). */
  constructor(ctx: WriterContext, record: UploadRecord, tail: Buffer = Buffer.alloc(0)) {
    this.#ctx = ctx;
    this.#record = record;
    this.#firstIndex = Math.floor(record.size / record.chunk);
    this.#baseBytes = this.#firstIndex * record.chunk;
    this.#savedSize = record.size;
    this.#accepted = tail.length;
    this.#uploader = new PartUploader({
      partSize: record.chunk,
      concurrency: ctx.concurrency,
      firstIndex: this.#firstIndex,
      upload: (index, data) => this.#writeChunk(index, data),
    });
    if (tail.length > 0) void this.#uploader.write(tail);
  }

  get size(): number {
    return this.#baseBytes + this.#accepted;
  }

  async write(chunk: Buffer): Promise<void> {
    this.#accepted += chunk.length;
    await this.#uploader.write(chunk);
  }

  async #writeChunk(index: number, data: Buffer): Promise<void> {
    if (index >= this.#record.reserved) {
      const reserved = index + RESERVE_AHEAD;
      await this.#updateRecord((record) => (record.reserved = Math.max(record.reserved, reserved)));
    }
    await this.#ctx.use(async (io) => expectOk((await writeFull(io, chunkOid(this.#record.id, index), data)).rc, `write ${chunkOid(this.#record.id, index)}`));
    this.#written.set(index, data.length);
    const { bytes } = contiguousParts(this.#written, this.#firstIndex);
    const size = this.#baseBytes + bytes;
    if (size > this.#savedSize) void this.#updateRecord((record) => (record.size = Math.max(record.size, size))).catch(() => undefined);
  }

  /** Applies `change` to the record and saves it, after every earlier update. */
  #updateRecord(change: (record: UploadRecord) => void): Promise<void> {
    const run = this.#recordQueue.then(async () => {
      change(this.#record);
      await this.#ctx.use((io) => saveRecord(io, this.#ctx.key, this.#record));
      this.#savedSize = this.#record.size;
    });
    this.#recordQueue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#uploader.flush();
    await this.#settleRecord();
  }

  /** Waits for the record updates in flight, then saves the final size if it lags. */
  async #settleRecord(): Promise<void> {
    await this.#recordQueue;
    const size = this.#baseBytes + contiguousParts(this.#written, this.#firstIndex).bytes;
    if (size > this.#record.size || this.#savedSize !== this.#record.size) await this.#updateRecord((record) => (record.size = Math.max(record.size, size)));
  }

  async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
    await this.#uploader.flush(signal);
    await this.#recordQueue;
    const { key, path, concurrency } = this.#ctx;
    const record = this.#record;
    const size = this.size;
    await this.#ctx.use(async (io) => {
      if (!this.#committed) {
        await publishUpload(io, path, key, record, size, await lookup(io, key), { signal, conditions });
        this.#committed = true;
      }
      await finishCommitted(io, key, record, concurrency);
    });
  }

  async cancel(): Promise<void> {
    await this.#uploader.drain().catch(() => undefined);
    await this.#recordQueue;
    await this.#ctx.use(async (io) => {
      // A commit that failed on a lost answer may have published this upload: its chunks are the file's now.
      const current = await lookup(io, this.#ctx.key);
      if (isUpload(current?.entry, this.#record.id)) throw new DriverError(`cannot cancel: the upload to ${this.#ctx.key} is committed`);
      await discardUpload(io, this.#ctx.key, { ...this.#record, size: this.size }, this.#ctx.concurrency);
    });
  }
}

/** The bytes of a resumed upload's partial last chunk. */
export async function readTail(io: Pointer, record: UploadRecord): Promise<Buffer> {
  const length = record.size % record.chunk;
  if (length === 0) return Buffer.alloc(0);
  const index = Math.floor(record.size / record.chunk);
  const tail = Buffer.alloc(length);
  const { rc } = await readInto(io, chunkOid(record.id, index), tail, 0);
  if (rc !== length) throw new DriverError(`upload ${record.id}: chunk ${index} holds ${rc < 0 ? 'nothing' : `${rc} bytes`}, its record says ${length}`);
  return tail;
}
