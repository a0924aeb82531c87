import { Readable } from 'node:stream';

import {
  type BackendWriter,
  BaseDriver,
  directoryMoveError,
  type FileInfo,
  InvalidOffsetError,
  PathNotFoundError,
  type StorageBackend,
  joinPath,
} from '@storagedriver/core';

import { MemoryStore, type Node, type Upload } from './store.js';

export interface InMemoryOptions {
  /** Share one store between driver instances (to resume uploads from a new instance). Default: a new store. */
  store?: MemoryStore;
}

class InMemoryBackend implements StorageBackend {
  readonly name = 'inmemory';
  readonly #store: MemoryStore;

  constructor(store: MemoryStore) {
    this.#store = store;
  }

  async getContent(path: string): Promise<Buffer> {
    // A copy: the caller may modify what it gets, and stored content must not change.
    return Buffer.from(this.#file(path).data);
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    // Copied: the caller may reuse its buffer, and stored content must not change under readers.
    this.#store.setFile(path, Buffer.from(content));
  }

  async reader(path: string, offset: number): Promise<Readable> {
    const { data } = this.#file(path);
    if (offset > data.length) throw new InvalidOffsetError(path, offset);
    return Readable.from(chunks(data.subarray(offset)), { objectMode: false });
  }

  async writer(path: string, append: boolean): Promise<BackendWriter> {
    const store = this.#store;
    let upload: Upload;
    if (!append) upload = store.newUpload(path);
    else {
      const existing = store.newestUpload(path);
      if (existing !== undefined) upload = existing;
      else {
        // No upload in progress: continue the committed object (appending to a copy of it).
        const node = store.find(path);
        if (node?.kind !== 'file') throw new PathNotFoundError(path);
        upload = store.newUpload(path, node.data.length === 0 ? [] : [node.data]);
      }
    }
    return new InMemoryWriter(store, path, upload);
  }

  async stat(path: string): Promise<FileInfo> {
    const node = this.#store.find(path);
    if (node === undefined || (node.kind === 'dir' && node.children.size === 0 && path !== '/')) throw new PathNotFoundError(path);
    return describe(path, node);
  }

  async list(path: string): Promise<string[]> {
    const node = this.#store.find(path);
    if (node?.kind !== 'dir') throw new PathNotFoundError(path);
    return [...node.children.keys()].map((name) => joinPath(path, name));
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#store.find(sourcePath);
    if (source === undefined) throw new PathNotFoundError(sourcePath);
    if (source.kind === 'dir') throw directoryMoveError(sourcePath);
    this.#store.setFile(destPath, source.data);
    this.#store.remove(sourcePath);
  }

  async delete(path: string): Promise<void> {
    if (!this.#store.remove(path)) throw new PathNotFoundError(path);
  }

  #file(path: string): { data: Buffer } {
    const node = this.#store.find(path);
    if (node?.kind !== 'file') throw new PathNotFoundError(path);
    return node;
  }
}

/** Served in 1 MiB slices (no copies), so consumers see backpressure and aborts as with any stream. */
function* chunks(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += 1024 * 1024) yield data.subarray(at, at + 1024 * 1024);
}

function describe(path: string, node: Node): FileInfo {
  return node.kind === 'file'
    ? { path, size: node.data.length, modTime: node.modTime, isDir: false }
    : { path, size: 0, modTime: node.modTime, isDir: true };
}

class InMemoryWriter implements BackendWriter {
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

  async commit(): Promise<void> {
    this.store.setFile(this.path, Buffer.concat(this.upload.chunks, this.upload.size));
    this.store.dropUpload(this.path, this.upload);
  }

  async cancel(): Promise<void> {
    this.store.dropUpload(this.path, this.upload);
  }
}

/** The in-memory driver: for tests and examples. Nothing survives the process. */
export class InMemoryDriver extends BaseDriver {
  readonly store: MemoryStore;

  constructor(options: InMemoryOptions = {}) {
    const store = options.store ?? new MemoryStore();
    super(new InMemoryBackend(store));
    this.store = store;
  }
}
