import { Readable } from 'node:stream';

import {
  type BackendPutOptions,
  type BackendWriter,
  BaseDriver,
  type Capabilities,
  checkOptions,
  compareWalkOrder,
  decodeCursor,
  DriverError,
  directoryMoveError,
  encodeCursor,
  type Existence,
  type FileInfo,
  type FilePage,
  InvalidOffsetError,
  isWithin,
  joinPath,
  METADATA_KINDS,
  PathNotFoundError,
  type PendingUpload,
  type StorageBackend,
  type WriteConditions,
  type WriteMetadata,
} from '@storagedriver/core';

import { type DirNode, type FileNode, MemoryStore, type Node, type Upload, etagOf, md5Of } from './store.js';

/** Options of `new InMemoryDriver`. */
export interface InMemoryOptions {
  /** Share one store between driver instances (to resume uploads from a new instance). Default: a new store. */
  store?: MemoryStore;
}

/** Everything is native here: the store is the process's own memory, so every check is atomic. */
const CAPABILITIES: Partial<Capabilities> = {
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

class InMemoryBackend implements StorageBackend {
  readonly name = 'inmemory';
  readonly capabilities = CAPABILITIES;
  readonly #store: MemoryStore;

  constructor(store: MemoryStore) {
    this.#store = store;
  }

  async getContent(path: string): Promise<Buffer> {
    // A copy: the caller may modify what it gets, and stored content must not change.
    return Buffer.from(this.#file(path).data);
  }

  async putContent(path: string, content: Buffer, _signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    const { ifNoneMatch, ifMatch, ...headers } = options;
    // Copied: the caller may reuse its buffer, and stored content must not change under readers.
    this.#store.setFile(path, Buffer.from(content), headers, { ifNoneMatch, ifMatch });
  }

  async reader(path: string, offset: number, _signal?: AbortSignal, length?: number): Promise<Readable> {
    const { data } = this.#file(path);
    if (offset > data.length) throw new InvalidOffsetError(path, offset);
    if (length !== undefined && offset + length > data.length) throw new InvalidOffsetError(path, offset + length);
    return Readable.from(chunks(data.subarray(offset, length === undefined ? undefined : offset + length)), { objectMode: false });
  }

  async writer(path: string, append: boolean, _signal?: AbortSignal, metadata: WriteMetadata = {}): Promise<BackendWriter> {
    const store = this.#store;
    let upload: Upload;
    if (!append) upload = store.newUpload(path, metadata);
    else {
      const existing = store.newestUpload(path);
      // Continuing an upload keeps the metadata it started with.
      if (existing !== undefined) upload = existing;
      else {
        // No upload in progress: a new upload from a copy of the committed object, which keeps the
        // object's metadata (an empty object is a fresh start, with this writer's).
        const node = store.find(path);
        if (node?.kind !== 'file') throw new PathNotFoundError(path);
        upload = node.data.length === 0 ? store.newUpload(path, metadata) : store.newUpload(path, node.headers, [node.data]);
      }
    }
    return new InMemoryWriter(store, path, upload);
  }

  async stat(path: string): Promise<FileInfo> {
    const node = this.#store.find(path);
    if (node === undefined || isEmptyDir(path, node)) throw new PathNotFoundError(path);
    return describe(path, node);
  }

  async exists(path: string): Promise<Existence> {
    const node = this.#store.find(path);
    if (node === undefined || isEmptyDir(path, node)) return false;
    return node.kind === 'file' ? 'file' : 'directory';
  }

  async list(path: string): Promise<string[]> {
    const node = this.#store.find(path);
    if (node?.kind !== 'dir') throw new PathNotFoundError(path);
    return [...node.children.keys()].map((name) => joinPath(path, name));
  }

  /**
   * Pages from the tree itself. Direct children come in byte order of their names, a recursive
   * listing in walk order (depth first); the cursor is the last path handed out, so it resumes in
   * any instance on the same store, and after changes (entries added before it are not revisited).
   */
  async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }): Promise<FilePage> {
    const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor).after;
    const node = this.#store.find(path);
    if (node?.kind !== 'dir' || isEmptyDir(path, node)) {
      // The directory went away while a listing was being paged: that listing is over.
      if (after !== undefined) return { entries: [], cursor: undefined };
      throw new PathNotFoundError(path);
    }
    const entries: FileInfo[] = [];
    let more = false;
    for (const [child, childNode] of request.recursive ? filesBelow(path, node, after) : childrenAfter(path, node, after)) {
      if (entries.length === request.limit) {
        more = true;
        break;
      }
      entries.push(describe(child, childNode));
    }
    return { entries, cursor: more ? encodeCursor({ after: entries.at(-1)!.path }) : undefined };
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#store.find(sourcePath);
    if (source === undefined) throw new PathNotFoundError(sourcePath);
    if (source.kind === 'dir') throw directoryMoveError(sourcePath);
    this.#store.setFile(destPath, source.data, source.headers);
    this.#store.remove(sourcePath);
  }

  async copy(sourcePath: string, destPath: string): Promise<void> {
    // A directory source is PathNotFound here; core turns it into the directory error.
    const source = this.#file(sourcePath);
    // Content is never modified once stored, so the copy shares it.
    this.#store.setFile(destPath, source.data, source.headers);
  }

  async delete(path: string): Promise<void> {
    if (!this.#store.remove(path)) throw new PathNotFoundError(path);
  }

  /** The store's pending uploads at `path` or below; the id is the store's upload number. */
  async *uploads(path: string): AsyncGenerator<PendingUpload> {
    for (const [uploadPath, list] of this.#store.uploads) {
      if (!isWithin(uploadPath, path)) continue;
      for (const upload of list) yield { path: uploadPath, id: String(upload.id), startedAt: upload.startedAt, size: upload.size };
    }
  }

  /** An id that names no pending upload of `path` (gone already, or never one) is a no-op. */
  async abortUpload(path: string, id: string): Promise<void> {
    const upload = this.#store.uploads.get(path)?.find((pending) => String(pending.id) === id);
    if (upload !== undefined) this.#store.dropUpload(path, upload);
  }

  #file(path: string): FileNode {
    const node = this.#store.find(path);
    if (node?.kind !== 'file') throw new PathNotFoundError(path);
    return node;
  }
}

/** A directory that is not the root exists only while something is below it. */
function isEmptyDir(path: string, node: Node): boolean {
  return node.kind === 'dir' && node.children.size === 0 && path !== '/';
}

function byNames(dir: DirNode): Array<[string, Node]> {
  return [...dir.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function* childrenAfter(path: string, dir: DirNode, after: string | undefined): Generator<[string, Node]> {
  for (const [name, node] of byNames(dir)) {
    const child = joinPath(path, name);
    if (after === undefined || compareWalkOrder(child, after) > 0) yield [child, node];
  }
}

/** The files below `path` in walk order after `after`, never entering a directory wholly before it. */
function* filesBelow(path: string, dir: DirNode, after: string | undefined): Generator<[string, Node]> {
  for (const [name, node] of byNames(dir)) {
    const child = joinPath(path, name);
    if (after !== undefined && node.kind === 'dir' && isWithin(after, child)) {
      // Resumes inside this directory: what it holds after `after`.
      yield* filesBelow(child, node, after);
      continue;
    }
    // Otherwise the whole entry, with all it holds, is on one side of `after`.
    if (after !== undefined && compareWalkOrder(child, after) <= 0) continue;
    if (node.kind === 'file') yield [child, node];
    else yield* filesBelow(child, node, undefined);
  }
}

/** Served in 1 MiB slices (no copies), so consumers see backpressure and aborts as with any stream. */
function* chunks(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += 1024 * 1024) yield data.subarray(at, at + 1024 * 1024);
}

function describe(path: string, node: Node): FileInfo {
  if (node.kind === 'dir') return { path, size: 0, modTime: node.modTime, isDir: true };
  const { metadata, ...headers } = node.headers;
  return {
    path,
    size: node.data.length,
    modTime: node.modTime,
    isDir: false,
    etag: etagOf(node),
    version: String(node.generation),
    checksums: { md5: md5Of(node) },
    ...headers,
    ...(metadata === undefined ? {} : { metadata: { ...metadata } }),
  };
}

class InMemoryWriter implements BackendWriter {
  #committed = false;

  constructor(
    private readonly store: MemoryStore,
    private readonly path: string,
    private readonly upload: Upload,
  ) {}

  get size(): number {
    return this.upload.size;
  }

  async write(chunk: Buffer): Promise<void> {
    this.upload.chunks.push(chunk);
    this.upload.size += chunk.length;
  }

  async close(): Promise<void> {}

  /** The conditions are checked and the content stored with no await between: one of racing commits wins. */
  async commit(_signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
    // Called again after it succeeded (as when its answer was lost): this upload is the content.
    if (this.#committed) return;
    if (!this.store.holdsUpload(this.path, this.upload)) {
      throw new DriverError(`the upload of ${this.path} is gone (aborted, or ended by another writer): nothing to commit`, { path: this.path });
    }
    this.store.setFile(this.path, Buffer.concat(this.upload.chunks, this.upload.size), this.upload.headers, conditions);
    this.store.dropUpload(this.path, this.upload);
    this.#committed = true;
  }

  async cancel(): Promise<void> {
    this.store.dropUpload(this.path, this.upload);
  }
}

/** The in-memory driver: for tests and examples. Nothing survives the process. */
export class InMemoryDriver extends BaseDriver {
  /** The store holding this driver's content (the `store` option, or its own). */
  readonly store: MemoryStore;

  constructor(options: InMemoryOptions = {}) {
    checkOptions('inmemory', options, { store: null }, () => undefined);
    const store = options.store ?? new MemoryStore();
    super(new InMemoryBackend(store));
    this.store = store;
  }
}
