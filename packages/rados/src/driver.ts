/** The RADOS backend and RadosDriver. Design: README "Design"; behaviour follows contract.md. */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  BaseDriver,
  DriverError,
  InvalidOffsetError,
  KeyMapper,
  METADATA_KINDS,
  PathNotFoundError,
  PreconditionFailedError,
  ROOT,
  directoryMoveError,
  readerAtEnd,
  compareWalkOrder,
  isWithin,
  decodeCursor,
  encodeCursor,
  genericListPage,
  isValidPath,
  pollUntil,
  type BackendPutOptions,
  type BackendWriter,
  type Capabilities,
  type Existence,
  type FileInfo,
  type FilePage,
  type PendingUpload,
  type StorageBackend,
  type WalkFn,
  type WriteConditions,
  type WriteMetadata,
} from '@storagedriver/core';

import { Cluster } from './cluster.js';
import { shapeRadosError } from './errors.js';
import { ENOENT, omapGet, omapPage, readInto, refGet, refPut, writeFull, type OmapEntry, type Pointer } from './librados.js';
import { checkRadosOptions, type RadosOptions } from './params.js';
import {
  chunkCount,
  chunkOid,
  decodeEntry,
  dirOid,
  directoryPages,
  encodeEntry,
  expectOk,
  fileInfo,
  forEachLimited,
  ensureLinked,
  hasChildren,
  holdsChunks,
  INLINE_MAX,
  inlineContent,
  joinKey,
  lookup,
  OMAP_PAGE,
  prune,
  publish,
  removeChunks,
  removeFileChunks,
  removeTree,
  sameChunks,
  splitKey,
  unlink,
  type FileEntry,
  type Found,
} from './tree.js';
import {
  ChunkWriter,
  UPLOADS_OBJECT,
  checkConditions,
  createRecord,
  discardUpload,
  dropRecord,
  dropUploadChunks,
  finishCommitted,
  isUpload,
  markCommit,
  newRecord,
  publishUpload,
  readRecord,
  readTail,
  recordsOf,
  removeRecordIf,
  type UploadRecord,
} from './writer.js';

const MiB = 1024 * 1024;
const ATTEMPTS = 20;
/** Chunk reads in flight for getContent, and ahead of a reader's consumer. */
const READ_AHEAD = 4;
/** A putContent must publish within this many op timeouts of its start (see UploadRecord.putDeadline). */
const PUT_DEADLINE_TIMEOUTS = 4;
/** Deletes in flight while removing a tree. */
const DELETE_CONCURRENCY = 16;
/** Chunk references taken (or directories checked) at once. */
const REF_CONCURRENCY = 16;
/** Upload ids are UUIDs (newRecord): anything else names no upload. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The metadata of a put's options (core passes only claimed kinds that are set). */
function metadataOf(options: BackendPutOptions | undefined): WriteMetadata | undefined {
  if (options === undefined) return undefined;
  const picked: Record<string, unknown> = {};
  for (const kind of METADATA_KINDS) if (options[kind] !== undefined) picked[kind] = options[kind];
  return Object.keys(picked).length === 0 ? undefined : (picked as WriteMetadata);
}

function conditionsOf(options: BackendPutOptions | undefined): WriteConditions | undefined {
  if (options?.ifNoneMatch !== undefined) return { ifNoneMatch: options.ifNoneMatch };
  if (options?.ifMatch !== undefined) return { ifMatch: options.ifMatch };
  return undefined;
}

/** The Ceph RADOS StorageBackend (through librados); RadosDriver wraps it. */
export class RadosBackend implements StorageBackend {
  readonly name = 'rados';
  /** README "What each claim means here". No URLs: librados has no HTTP endpoint. */
  readonly capabilities: Partial<Capabilities> = {
    writeIfNoneMatch: true,
    writeIfMatch: true,
    metadata: METADATA_KINDS,
    etag: true,
    copy: true,
    rangedRead: true,
    listPage: true,
    uploads: true,
  };
  readonly #o: RadosOptions;
  readonly #keys: KeyMapper;
  readonly #cluster: Cluster;

  constructor(options: RadosOptions) {
    this.#o = checkRadosOptions(options);
    this.#keys = new KeyMapper(options.rootDirectory);
    this.#cluster = new Cluster(options);
  }

  get #chunkSize(): number {
    return this.#o.chunkSize ?? 4 * MiB;
  }

  get #opTimeoutMs(): number {
    return this.#o.opTimeoutMs ?? 30_000;
  }

  get #concurrency(): number {
    return this.#o.uploadConcurrency ?? 4;
  }

  /** The full key of `path` below the pool: the root prefix joined with the path (`/` → the root prefix itself). */
  key(path: string): string {
    return path === ROOT ? this.#keys.prefix.replace(/\/$/, '') : this.#keys.key(path);
  }

  /** Runs `fn` with the pool context; librados failures become typed errors. */
  async #use<T>(fn: (io: Pointer) => Promise<T>): Promise<T> {
    try {
      return await this.#cluster.use(fn);
    } catch (error) {
      throw shapeRadosError(error);
    }
  }

  /** Waits for operations in flight, then shuts the cluster handle down. Later operations fail. */
  close(): Promise<void> {
    return this.#cluster.close();
  }

  async #file(io: Pointer, path: string): Promise<FileEntry> {
    const found = await lookup(io, this.key(path));
    if (found?.entry.kind !== 'file') throw new PathNotFoundError(path);
    return found.entry;
  }

  /** Reads chunk `index` of `file` whole into `into`; a chunk gone means the file was replaced or deleted meanwhile. */
  async #readChunk(io: Pointer, path: string, file: FileEntry, index: number, into: Buffer, offsetInChunk = 0): Promise<void> {
    const { rc } = await readInto(io, chunkOid(file.id, index), into, offsetInChunk);
    if (rc === into.length) return;
    if (rc === ENOENT || rc >= 0) {
      const now = await lookup(io, this.key(path));
      if (now === undefined) throw new PathNotFoundError(path);
      throw new PreconditionFailedError(path, `the file was replaced during the read (chunk ${index} of upload ${file.id} ${rc === ENOENT ? 'is gone' : `holds ${offsetInChunk + rc} bytes`})`);
    }
    expectOk(rc, `read ${chunkOid(file.id, index)}`);
  }

  async getContent(path: string): Promise<Buffer> {
    return this.#use(async (io) => {
      const file = await this.#file(io, path);
      if (file.data !== undefined) return inlineContent(path, file.size, file.data);
      const content = Buffer.allocUnsafe(file.size);
      const indexes = Array.from({ length: chunkCount(file.size, file.chunk) }, (_, i) => i);
      await forEachLimited(indexes, READ_AHEAD, (i) => this.#readChunk(io, path, file, i, content.subarray(i * file.chunk, Math.min(file.size, (i + 1) * file.chunk))));
      return content;
    });
  }

  /**
   * Content of at most INLINE_MAX bytes is published inline, in its entry, when what it replaces
   * holds no chunks (nothing, an empty or an inline file): the look-up beside a publish compared
   * with nothing, then the directory links read (a file replaced: its publish after the look-up).
   * Anything else goes through an upload record (#putWithRecord).
   */
  async putContent(path: string, content: Buffer, signal?: AbortSignal, options?: BackendPutOptions): Promise<void> {
    const key = this.key(path);
    const conditions = conditionsOf(options);
    const meta = metadataOf(options);
    await this.#use(async (io) => {
      if (content.length > INLINE_MAX) return this.#putWithRecord(io, path, key, content, signal, conditions, meta);
      const entry: FileEntry = { kind: 'file', id: randomUUID(), size: content.length, chunk: this.#chunkSize, mtime: Date.now(), ...(meta === undefined ? {} : { meta }) };
      if (content.length > 0) entry.data = content.toString('base64');
      const value = encodeEntry(entry);
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        signal?.throwIfAborted();
        const looked = lookup(io, key);
        // The first publish, compared with nothing, goes beside the look-up instead of after it: a new
        // file lands one round trip sooner. Whatever is at the path makes the comparison fail, and the
        // look-up decides what follows. Not under ifMatch, which nothing at the path can satisfy.
        if (attempt === 0 && conditions?.ifMatch === undefined) {
          looked.catch(() => undefined);
          if (await this.#publishInline(io, key, value, undefined)) return;
        }
        const current = await looked;
        // Chunks replaced need a record naming them: a crash after the publish must not orphan them.
        if (current?.entry.kind === 'file' && holdsChunks(current.entry)) return this.#putWithRecord(io, path, key, content, signal, conditions, meta, current);
        if (current?.entry.kind === 'dir') throw new DriverError(`cannot write ${path}: it is a directory`, { path });
        checkConditions(path, current, conditions);
        signal?.throwIfAborted();
        if (await this.#publishInline(io, key, value, current)) return;
      }
      throw new DriverError(`cannot write ${path}: its entry kept changing`, { path });
    });
  }

  /** Publishes an entry that holds no chunks over `current`; false when `current` changed meanwhile. */
  async #publishInline(io: Pointer, key: string, value: string, current: Found | undefined): Promise<boolean> {
    try {
      return await publish(io, key, value, current?.raw ?? '');
    } catch (error) {
      // A publish whose answer was lost may have landed: then only its directory links are left to do.
      if ((await lookup(io, key).catch(() => undefined))?.raw !== value) throw error;
      await ensureLinked(io, splitKey(key)[0]);
      return true;
    }
  }

  /**
   * Like a writer in one call: an upload record (so a crash leaves nothing a later writer cannot
   * clean up), chunks under a fresh id, one publish of the entry compared with the entry it
   * replaces, then the replaced chunks and the record are removed. An abort before the publish
   * publishes nothing and removes the chunks written. Four dependent round trips for a new file:
   * the look-up (unless `looked` is given) beside the record's creation (with its commit mark), the
   * chunks (beside the record saved again with what it replaces, when something is), the publish,
   * then the directory links read beside the record's removal. Content of at most INLINE_MAX bytes
   * (here when it replaces chunks) is published inline and writes no chunk.
   */
  async #putWithRecord(
    io: Pointer,
    path: string,
    key: string,
    content: Buffer,
    signal: AbortSignal | undefined,
    conditions: WriteConditions | undefined,
    meta: WriteMetadata | undefined,
    looked?: Found,
  ): Promise<void> {
    const record: UploadRecord = { ...newRecord(this.#chunkSize, meta), size: content.length };
    record.putDeadline = this.#opTimeoutMs > 0 ? record.created + PUT_DEADLINE_TIMEOUTS * this.#opTimeoutMs : Number.MAX_SAFE_INTEGER;
    const data = content.length > 0 && content.length <= INLINE_MAX ? content.toString('base64') : undefined;
    const count = data === undefined ? chunkCount(content.length, record.chunk) : 0;
    record.reserved = count;
    // Saved with a commit mark already: for a new file (nothing to replace) that is the record
    // markCommit would save, so the publish needs no save of its own while the mark is fresh.
    record.committing = { at: Date.now(), token: randomUUID() };
    // The record is saved before any chunk exists; what the put replaces goes into it with a new
    // commit mark (markCommit), so the look-up need not come first.
    const [found, saved] = await Promise.allSettled([looked ?? lookup(io, key), createRecord(io, key, record)]);
    const current = found.status === 'fulfilled' ? found.value : undefined;
    try {
      if (found.status === 'rejected') throw found.reason;
      if (saved.status === 'rejected') throw saved.reason;
      // Checked again at the publish; here so a write bound to fail writes nothing.
      checkConditions(path, current, conditions);
    } catch (error) {
      if (saved.status === 'fulfilled') await dropRecord(io, key, record.id).catch(() => undefined);
      throw error;
    }
    let cleanedUp = false;
    try {
      const indexes = Array.from({ length: count }, (_, i) => i);
      // The commit is marked while the chunks are written: one dependent round trip fewer. Both
      // settle before anything else happens, so a failure's clean-up races no chunk write.
      const [written, marked] = await Promise.allSettled([
        forEachLimited(indexes, this.#concurrency, async (i) => {
          signal?.throwIfAborted();
          const part = content.subarray(i * record.chunk, Math.min(content.length, (i + 1) * record.chunk));
          expectOk((await writeFull(io, chunkOid(record.id, i), part)).rc, `write ${chunkOid(record.id, i)}`);
        }),
        current === undefined ? Promise.resolve(true) : markCommit(io, path, key, record, content.length, current, conditions),
      ]);
      if (written.status === 'rejected') throw written.reason;
      if (marked.status === 'rejected') throw marked.reason;
      // A new file's clean-up is only its record: removed while the directory links are read. A
      // replacing put removes the replaced chunks after the links, as a writer's commit does.
      const besideLinks = async (): Promise<void> => {
        if (record.replaces !== undefined) return;
        await finishCommitted(io, key, record, this.#concurrency);
        cleanedUp = true;
      };
      await publishUpload(io, path, key, record, content.length, current, { signal, conditions, beside: besideLinks, premarked: true, ...(data === undefined ? {} : { data }) });
    } catch (error) {
      // A publish whose answer was lost (a timeout) may have landed: then the content is stored and
      // its chunks must stay. When that cannot be told, the record stays for a later clean-up.
      const published = await lookup(io, key).then((now) => isUpload(now?.entry, record.id), () => undefined);
      if (published === false) {
        await removeChunks(io, record.id, 0, count)
          .then(() => dropRecord(io, key, record.id))
          .catch(() => undefined);
      }
      if (published !== true) throw error;
    }
    if (!cleanedUp) await finishCommitted(io, key, record, this.#concurrency);
  }

  /** With `length`, reads only the chunks the range touches, and only the range's bytes of them. */
  async reader(path: string, offset: number, signal?: AbortSignal, length?: number): Promise<Readable> {
    const file = await this.#use((io) => this.#file(io, path));
    const end = length === undefined ? file.size : offset + length;
    if (end > file.size) throw new InvalidOffsetError(path, end);
    if (offset >= end) return length === undefined ? readerAtEnd(path, offset, file.size) : Readable.from([]);
    if (file.data !== undefined) return Readable.from([inlineContent(path, file.size, file.data).subarray(offset, end)]);
    return Readable.from(this.#chunks(path, file, offset, end, signal), { objectMode: false, highWaterMark: file.chunk });
  }

  /** The bytes of `file` from `offset` to `end`, READ_AHEAD chunk reads in flight ahead of the consumer. */
  async *#chunks(path: string, file: FileEntry, offset: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const first = Math.floor(offset / file.chunk);
    const last = chunkCount(end, file.chunk);
    const read = (index: number): Promise<Buffer> => {
      const start = index === first ? offset - index * file.chunk : 0;
      const into = Buffer.allocUnsafe(Math.min(end, (index + 1) * file.chunk) - index * file.chunk - start);
      return this.#use((io) => this.#readChunk(io, path, file, index, into, start)).then(() => into);
    };
    const ahead: Array<Promise<Buffer>> = [];
    let next = first;
    try {
      for (;;) {
        while (ahead.length < READ_AHEAD && next < last) {
          const promise = read(next++);
          promise.catch(() => undefined);
          ahead.push(promise);
        }
        const head = ahead.shift();
        if (head === undefined) return;
        signal?.throwIfAborted();
        yield await head;
      }
    } finally {
      // Reads still in flight finish into buffers nobody reads; their callbacks keep them alive.
      ahead.length = 0;
    }
  }

  /** `metadata` goes into the record of a new upload; a resumed upload keeps its record's. */
  async writer(path: string, append: boolean, _signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
    const key = this.key(path);
    const ctx = { use: <T>(fn: (io: Pointer) => Promise<T>) => this.#use(fn), key, path, concurrency: this.#concurrency };
    return this.#use(async (io) => {
      if (!append) {
        const record = newRecord(this.#chunkSize, metadata);
        await createRecord(io, key, record);
        return new ChunkWriter(ctx, record);
      }
      const current = await lookup(io, key);
      let resumable;
      for (const record of await recordsOf(io, key)) {
        // The record of a commit that stopped before its clean-up: finish that, resume nothing.
        if (isUpload(current?.entry, record.id)) await finishCommitted(io, key, record);
        // A putContent's: never resumed; its chunks go once it is surely dead (past its deadline and
        // two more op timeouts: its publish can be in flight one, the other absorbs clock skew).
        else if (record.putDeadline !== undefined) {
          if (this.#opTimeoutMs > 0 && Date.now() > record.putDeadline + 2 * this.#opTimeoutMs) await discardUpload(io, key, record);
        } else resumable = record;
      }
      if (resumable !== undefined) return new ChunkWriter(ctx, resumable, await readTail(io, resumable));
      if (current?.entry.kind !== 'file') throw new PathNotFoundError(path);
      if (current.entry.size > 0) {
        throw new DriverError(`cannot append to ${path}: it holds ${current.entry.size} committed bytes (an append writer continues an uncommitted upload or an empty file)`, { path });
      }
      const record = newRecord(this.#chunkSize, metadata);
      await createRecord(io, key, record);
      return new ChunkWriter(ctx, record);
    });
  }

  /**
   * The upload records of `path` (omap keys `<key> …`) and below it (`<key>/…`; not a sibling such as
   * `<key>b`), an omap page at a time: started at the record's creation, holding its `size` (what a
   * resume continues from; a putContent's record: its whole size). A record whose upload is the file
   * at its path is a commit's unfinished clean-up, not pending.
   */
  async *uploads(path: string): AsyncGenerator<PendingUpload> {
    const prefixes = path === ROOT ? [this.#keys.prefix] : [`${this.key(path)} `, `${this.key(path)}/`];
    for (const prefix of prefixes) {
      // Records of one key are listed together: one look-up of its entry per key.
      let published: { key: string; id: string | undefined } | undefined;
      for (let after = ''; ; ) {
        const page = await this.#use((io) => omapPage(io, UPLOADS_OBJECT, after, OMAP_PAGE, prefix));
        if (expectOk(page.rc, 'read upload records', ENOENT) === ENOENT) return;
        for (const { key: name, value } of page.entries) {
          const at = name.lastIndexOf(' ');
          const key = name.slice(0, at);
          const uploadPath = `/${key.slice(this.#keys.prefix.length)}`;
          if (at <= 0 || !isValidPath(uploadPath)) continue;
          const record = JSON.parse(value) as UploadRecord;
          if (published?.key !== key) {
            const entry = (await this.#use((io) => lookup(io, key)))?.entry;
            published = { key, id: entry?.kind === 'file' && entry.ref === undefined ? entry.id : undefined };
          }
          if (published.id === record.id) continue;
          yield { path: uploadPath, id: record.id, startedAt: new Date(record.created), size: record.size };
        }
        if (!page.more || page.entries.length === 0) break;
        after = page.entries.at(-1)!.key;
      }
    }
  }

  /**
   * Removes the record (compared with what was read, so a writer's concurrent update is seen and
   * read again), then drops the upload's references to its chunks. The upload the file at `path`
   * publishes is committed: only its clean-up is finished. A writer still on the upload fails its
   * next record save, which its commit does before publishing (README "Pending uploads").
   */
  async abortUpload(path: string, id: string): Promise<void> {
    if (!UPLOAD_ID.test(id)) return;
    const key = this.key(path);
    await this.#use(async (io) => {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const found = await readRecord(io, key, id);
        if (found === undefined) return;
        if (isUpload((await lookup(io, key))?.entry, id)) return finishCommitted(io, key, found.record, DELETE_CONCURRENCY);
        // A commit saved the record just before its publish, which may still land: dropping the chunks
        // now could leave a published file without them. Wait until it has landed or surely will not.
        if (found.record.committing !== undefined && (await this.#publishLands(io, path, key, id, found.record.committing.at))) continue;
        // The removal compares with the record as read: a commit that saved it since (with a new mark) keeps it.
        if (!(await removeRecordIf(io, key, id, found.raw))) continue;
        // A commit that saved the record just before it went may have published meanwhile: then the chunks are the file's.
        if (isUpload((await lookup(io, key))?.entry, id)) return;
        return dropUploadChunks(io, found.record, DELETE_CONCURRENCY);
      }
      throw new DriverError(`cannot abort upload ${id} of ${path}: its record kept changing`, { path });
    });
  }

  /**
   * Whether the publish a commit sent after marking its record at `markedAt` lands: polled until it
   * has (true), or until it cannot (false): two op timeouts past the mark, as a dead putContent is
   * judged. Without an op timeout nothing bounds that publish, so the abort fails, to be tried again.
   */
  async #publishLands(io: Pointer, path: string, key: string, id: string, markedAt: number): Promise<boolean> {
    if (this.#opTimeoutMs <= 0) {
      if (isUpload((await lookup(io, key))?.entry, id)) return true;
      throw new DriverError(`cannot abort upload ${id} of ${path}: a commit of it may still publish it (with optimeout 0 nothing bounds when)`, { path, retryable: true });
    }
    return pollUntil(async () => isUpload((await lookup(io, key))?.entry, id), markedAt + 2 * this.#opTimeoutMs);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === ROOT) return { path, size: 0, modTime: new Date(0), isDir: true };
    return this.#use(async (io) => {
      const key = this.key(path);
      const found = await lookup(io, key);
      if (found?.entry.kind === 'file') return fileInfo(path, found.entry);
      if (found?.entry.kind === 'dir' && (await hasChildren(io, key))) return { path, size: 0, modTime: new Date(0), isDir: true };
      throw new PathNotFoundError(path);
    });
  }

  /** One omap read of the parent; a second only for a directory link (it may be a tree being deleted). */
  async exists(path: string): Promise<Existence> {
    if (path === ROOT) return 'directory';
    return this.#use(async (io) => {
      const key = this.key(path);
      const found = await lookup(io, key);
      if (found?.entry.kind === 'file') return 'file';
      return found?.entry.kind === 'dir' && (await hasChildren(io, key)) ? 'directory' : false;
    });
  }

  /**
   * Direct children: one omap page of the directory object, `limit` keys after the cursor's name,
   * entries filled from their values (a directory link is checked for children, as stat does).
   * Recursive: the files of the native walk (depth first, names in byte order), resumed after the
   * cursor's path.
   */
  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    if (request.recursive) return genericListPage(this, path, request, signal);
    const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor).after;
    return this.#use(async (io) => {
      const key = this.key(path);
      const gone = (): FilePage => {
        // A directory emptied while its listing was paged: that listing is over.
        if (after !== undefined) return { entries: [], cursor: undefined };
        throw new PathNotFoundError(path);
      };
      if (path !== ROOT && (await lookup(io, key))?.entry.kind !== 'dir') return gone();
      const page = await omapPage(io, dirOid(key), after ?? '', request.limit);
      expectOk(page.rc, `list directory ${dirOid(key)}`, ENOENT);
      const entries: Array<FileInfo | undefined> = [];
      await forEachLimited([...page.entries.entries()], REF_CONCURRENCY, async ([i, { key: name, value }]) => {
        const child = path === ROOT ? `/${name}` : `${path}/${name}`;
        const entry = decodeEntry(value);
        if (entry.kind === 'file') entries[i] = fileInfo(child, entry);
        else if (await hasChildren(io, joinKey(key, name))) entries[i] = { path: child, size: 0, modTime: new Date(0), isDir: true };
      });
      const listed = entries.filter((entry): entry is FileInfo => entry !== undefined);
      const last = page.entries.at(-1);
      if (listed.length === 0 && !page.more && path !== ROOT) return gone();
      return { entries: listed, cursor: page.more && last !== undefined ? encodeCursor({ after: last.key }) : undefined };
    });
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    return this.#use(async (io) => {
      const key = this.key(path);
      if (path !== ROOT) {
        const found = await lookup(io, key);
        if (found?.entry.kind !== 'dir') throw new PathNotFoundError(path);
      }
      const children: string[] = [];
      for await (const page of directoryPages(io, key)) {
        signal?.throwIfAborted();
        for (const { key: name } of page.entries) children.push(path === ROOT ? `/${name}` : `${path}/${name}`);
      }
      if (children.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
      return children;
    });
  }

  /** Rewrites references only: the source's entry is published at the destination, then unlinked. */
  async move(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.key(sourcePath);
    const dest = this.key(destPath);
    await this.#use(async (io) => {
      const found = await lookup(io, source);
      if (found === undefined) throw new PathNotFoundError(sourcePath);
      if (found.entry.kind === 'dir') {
        if (await hasChildren(io, source)) throw directoryMoveError(sourcePath);
        throw new PathNotFoundError(sourcePath);
      }
      const moved = found.entry;
      // A commit of this file stopped before its clean-up left its record at the source: finished
      // here, since an abort of that record later would drop the chunks the moved file uses.
      if (moved.ref === undefined) {
        const stale = await readRecord(io, source, moved.id);
        if (stale !== undefined) await finishCommitted(io, source, stale.record, DELETE_CONCURRENCY);
      }
      const replaced = await this.#publishOver(io, destPath, dest, encodeEntry({ ...moved, mtime: Date.now() }), signal);
      await unlink(io, source, found.raw);
      if (replaced !== undefined && !sameChunks(replaced, moved)) await removeFileChunks(io, replaced);
      await prune(io, splitKey(source)[0]);
    });
  }

  /** Publishes `entry` at `key` over whatever file is there; returns the file it replaced. */
  async #publishOver(io: Pointer, path: string, key: string, entry: string, signal?: AbortSignal, verb = 'move'): Promise<FileEntry | undefined> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await lookup(io, key);
      if (current?.entry.kind === 'dir') throw new DriverError(`cannot ${verb} onto ${path}: it is a directory`, { path });
      signal?.throwIfAborted();
      if (await publish(io, key, entry, current?.raw ?? '')) return current?.entry;
    }
    throw new DriverError(`cannot ${verb} onto ${path}: its entry kept changing`, { path });
  }

  /**
   * Server-side, no data moves: the destination's entry shares the source's chunks under a new
   * reference (cls_refcount on each chunk, taken before the publish), with the source's metadata.
   * Each file drops only its own reference, so the OSD removes a chunk with the last file using it.
   */
  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const source = this.key(sourcePath);
    const dest = this.key(destPath);
    await this.#use(async (io) => {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const found = await lookup(io, source);
        if (found?.entry.kind !== 'file') throw new PathNotFoundError(sourcePath);
        const copied: FileEntry = { ...found.entry, ref: randomUUID(), mtime: Date.now() };
        // A chunk gone: the source was replaced or deleted meanwhile; look again.
        if (!(await this.#share(io, copied))) continue;
        let replaced: FileEntry | undefined;
        try {
          replaced = await this.#publishOver(io, destPath, dest, encodeEntry(copied), signal, 'copy');
        } catch (error) {
          // A publish whose answer was lost may have landed: then the references are the copy's.
          const landed = await lookup(io, dest).then((now) => now?.entry.kind === 'file' && sameChunks(now.entry, copied), () => undefined);
          if (landed === false) await removeFileChunks(io, copied, REF_CONCURRENCY).catch(() => undefined);
          if (landed !== true) throw error;
        }
        if (replaced !== undefined) await removeFileChunks(io, replaced);
        return;
      }
      throw new DriverError(`cannot copy ${sourcePath}: it kept changing`, { path: sourcePath });
    });
  }

  /** Takes `file.ref` on each of its chunks; false (references dropped again) when a chunk is gone. */
  async #share(io: Pointer, file: FileEntry): Promise<boolean> {
    if (!holdsChunks(file)) return true;
    const ref = file.ref!;
    const taken: number[] = [];
    let missing = false;
    try {
      await forEachLimited(Array.from({ length: chunkCount(file.size, file.chunk) }, (_, i) => i), REF_CONCURRENCY, async (i) => {
        if (missing) return;
        const { rc } = await refGet(io, chunkOid(file.id, i), ref);
        if (rc === ENOENT) missing = true;
        else if (expectOk(rc, `add reference to ${chunkOid(file.id, i)}`) === 0) taken.push(i);
      });
    } catch (error) {
      await this.#unshare(io, file, taken);
      throw error;
    }
    if (missing) await this.#unshare(io, file, taken);
    return !missing;
  }

  async #unshare(io: Pointer, file: FileEntry, indexes: number[]): Promise<void> {
    await forEachLimited(indexes, REF_CONCURRENCY, async (i) => {
      expectOk((await refPut(io, chunkOid(file.id, i), file.ref!)).rc, `drop reference to ${chunkOid(file.id, i)}`, ENOENT);
    });
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    await this.#use(async (io) => {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const found = await lookup(io, key);
        if (found === undefined) throw new PathNotFoundError(path);
        // Unlinked first: the file, or the whole tree, disappears at once; its data goes after.
        if (!(await unlink(io, key, found.raw))) continue;
        if (found.entry.kind === 'file') await removeFileChunks(io, found.entry);
        else await removeTree(io, key, DELETE_CONCURRENCY);
        await prune(io, splitKey(key)[0]);
        return;
      }
      throw new DriverError(`cannot delete ${path}: its entry kept changing`, { path });
    });
  }

  /**
   * Depth first, each directory's children in byte order of their names (omap order), a directory
   * before its contents: the generic walk's order, from one omap page per 1000 entries, no stat per
   * entry. A linked directory found empty (a delete in progress) is not yielded, as stat would not.
   */
  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    let hint = startAfter === undefined || startAfter === '' ? undefined : startAfter;
    if (hint !== undefined && !isWithin(hint, path)) {
      if (compareWalkOrder(hint, path) > 0) return;
      hint = undefined;
    }
    await this.#use(async (io) => {
      const key = this.key(path);
      if (path !== ROOT && (await lookup(io, key))?.entry.kind !== 'dir') throw new PathNotFoundError(path);
      const pages = pagesFrom(io, key, path, hint);
      const first = await pages.next();
      if (first.done) {
        // Nothing at or after the hint is not a missing directory.
        if (path !== ROOT && (hint === undefined || !(await hasChildren(io, key)))) throw new PathNotFoundError(path);
        return;
      }
      await this.#walkDirectory(io, path, key, first.value.entries, pages, fn, hint, signal);
    });
  }

  /** Returns false once the callback said stop. */
  async #walkDirectory(
    io: Pointer,
    dir: string,
    key: string,
    firstPage: OmapEntry[],
    pages: AsyncGenerator<{ entries: OmapEntry[] }>,
    fn: WalkFn,
    hint: string | undefined,
    signal?: AbortSignal,
  ): Promise<boolean> {
    for (let page: OmapEntry[] | undefined = firstPage; page !== undefined; ) {
      for (const { key: name, value } of page) {
        signal?.throwIfAborted();
        const child = dir === ROOT ? `/${name}` : `${dir}/${name}`;
        let childHint: string | undefined;
        if (hint !== undefined) {
          if (child === hint) childHint = undefined;
          else if (hint.startsWith(`${child}/`)) childHint = hint;
          else if (compareWalkOrder(child, hint) < 0) continue;
        }
        // The hint itself and its ancestors come at or before it: their contents after it are walked.
        const emit = hint === undefined || (child !== hint && !hint.startsWith(`${child}/`));
        const entry = decodeEntry(value);
        if (entry.kind === 'file') {
          if (emit && (await fn(fileInfo(child, entry))) === 'stop') return false;
          continue;
        }
        const childKey = joinKey(key, name);
        const childPages = pagesFrom(io, childKey, child, childHint);
        const childFirst = await childPages.next();
        if (childFirst.done) continue;
        const decision = emit ? await fn({ path: child, size: 0, modTime: new Date(0), isDir: true }) : undefined;
        if (decision === 'stop') return false;
        if (decision === 'skipDir') {
          await childPages.return(undefined);
          continue;
        }
        if (!(await this.#walkDirectory(io, child, childKey, childFirst.value.entries, childPages, fn, childHint, signal))) return false;
      }
      const next = await pages.next();
      page = next.done ? undefined : next.value.entries;
    }
    return true;
  }
}

/**
 * The pages of directory `key` (at `dir`) a walk resumed after `hint` needs: the entry of the
 * hint's component in it, then the entries after that name (siblings compare in byte order of
 * their names, as omap keys do), so a resumed walk reads no page before its position.
 */
async function* pagesFrom(io: Pointer, key: string, dir: string, hint: string | undefined): AsyncGenerator<{ entries: OmapEntry[] }> {
  if (hint === undefined || !isWithin(hint, dir) || hint === dir) {
    yield* directoryPages(io, key);
    return;
  }
  const name = hint.slice(dir === ROOT ? 1 : dir.length + 1).split('/')[0]!;
  const { rc, entries } = await omapGet(io, dirOid(key), [name]);
  if (expectOk(rc, `read directory ${dirOid(key)}`, ENOENT) === ENOENT) return;
  if (entries.length > 0) yield { entries };
  yield* directoryPages(io, key, name);
}

/** The Ceph RADOS driver: a BaseDriver over RadosBackend, with `close()` to release the cluster handle. */
export class RadosDriver extends BaseDriver {
  /** The RADOS backend, which holds the cluster handle. */
  declare readonly backend: RadosBackend;

  constructor(options: RadosOptions) {
    super(new RadosBackend(options), { maxConcurrency: options.maxConcurrency ?? 128 });
  }

  /** Waits for operations in flight, then shuts down the librados cluster handle (its threads). */
  close(): Promise<void> {
    return this.backend.close();
  }
}
