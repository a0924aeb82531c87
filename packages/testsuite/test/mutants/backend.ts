/**
 * The gallery's reference backend: a small object store in memory, shaped like the real ones so
 * that each mutant can break one thing a real driver could break. Flat keys in a store several
 * driver instances share, a root prefix, upload state as keys beside the root (`<root>~uploads/`),
 * uploads cut into parts of a fixed size and assembled on commit, listings in pages of 1000 keys,
 * a native walk over those pages, and transfer time (putContent, commit) that honours the signal.
 */
import { Readable } from 'node:stream';

import {
  type BackendWriter,
  DriverError,
  type FileInfo,
  InvalidOffsetError,
  PathNotFoundError,
  type StorageBackend,
  type WalkFn,
  isValidPath,
  walkSortedKeys,
} from '@storagedriver/core';

const MiB = 1024 * 1024;
const PAGE = 1000;
const pad = (n: number): string => String(n).padStart(6, '0');

interface StoredObject {
  data: Buffer;
  modTime: Date;
}

/** What several driver instances share: the keys, and which uploads were committed. */
export class ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  /** Committed upload ids: a commit retried after its answer was lost recognises its own upload. */
  readonly committed = new Set<string>();
  nextUpload = 1;
}

export interface BackendOptions {
  /** Key prefix of the driver's root, without slashes at either end; '' for the whole store. */
  root: string;
  partSize: number;
}

export class MemoryObjectBackend implements StorageBackend {
  readonly name = 'gallery';
  readonly store: ObjectStore;
  readonly partSize: number;
  /** Prefix of every key below the root ('' or `root/`). */
  protected readonly rootPrefix: string;
  protected readonly hiddenPrefix: string;

  constructor(store: ObjectStore, options: BackendOptions) {
    this.store = store;
    this.partSize = options.partSize;
    this.rootPrefix = options.root === '' ? '' : `${options.root}/`;
    this.hiddenPrefix = `${options.root}~uploads/`;
  }

  key(path: string): string {
    return `${this.rootPrefix}${path.slice(1)}`;
  }

  /** Where the uploads of `path` keep their parts: beside the root, out of every listing. */
  uploadPrefix(path: string): string {
    return `${this.hiddenPrefix}${path.slice(1)}~/`;
  }

  /** Keys below the root that belong to the driver itself and must not be listed (none here: they live beside it). */
  protected isOwnState(_key: string): boolean {
    return false;
  }

  /** Simulated transfer time: `steps` pauses of a millisecond, each a point where an abort stops the work. */
  async transfer(steps: number, signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < steps; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      signal?.throwIfAborted();
    }
  }

  protected notFound(path: string): Error {
    return new PathNotFoundError(path);
  }

  protected sortedKeys(prefix: string, after = ''): string[] {
    return [...this.store.objects.keys()].filter((k) => k.startsWith(prefix) && k > after && !this.isOwnState(k)).sort();
  }

  /** Keys below `prefix` in byte order, a page of 1000 at a time, as an object store lists them. */
  protected async *pages(prefix: string): AsyncGenerator<string[]> {
    let after = '';
    for (;;) {
      const page = this.sortedKeys(prefix, after).slice(0, PAGE);
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!;
    }
  }

  protected dirPrefix(path: string): string {
    return path === '/' ? this.rootPrefix : `${this.key(path)}/`;
  }

  protected object(path: string): StoredObject {
    const object = this.store.objects.get(this.key(path));
    if (object === undefined) throw this.notFound(path);
    return object;
  }

  async getContent(path: string): Promise<Buffer> {
    return Buffer.from(this.object(path).data);
  }

  async putContent(path: string, content: Buffer, signal?: AbortSignal): Promise<void> {
    await this.transfer(Math.ceil(content.length / MiB), signal);
    this.store.objects.set(this.key(path), { data: Buffer.from(content), modTime: new Date() });
  }

  async reader(path: string, offset: number): Promise<Readable> {
    const { data } = this.object(path);
    if (offset > data.length) throw new InvalidOffsetError(path, offset);
    return Readable.from(this.slices(path, data, offset));
  }

  /** The bytes a reader serves, in 256 KiB slices, from the version it opened. */
  protected *slices(_path: string, data: Buffer, offset: number): Generator<Buffer> {
    for (let at = offset; at < data.length; at += 256 * 1024) yield data.subarray(at, at + 256 * 1024);
  }

  async writer(path: string, append: boolean): Promise<BackendWriter> {
    const prefix = this.uploadPrefix(path);
    if (append) {
      const ids = new Set([...this.store.objects.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split('/')[0]!));
      const newest = [...ids].sort().at(-1);
      if (newest !== undefined) return this.createWriter(path, newest);
      const object = this.store.objects.get(this.key(path));
      if (object === undefined) throw this.notFound(path);
      const writer = this.newUpload(path);
      if (object.data.length > 0) await writer.write(Buffer.from(object.data));
      return writer;
    }
    return this.newUpload(path);
  }

  protected newUpload(path: string): PartWriter {
    const id = pad(this.store.nextUpload++);
    this.store.objects.set(`${this.uploadPrefix(path)}${id}/open`, { data: Buffer.alloc(0), modTime: new Date() });
    return this.createWriter(path, id);
  }

  protected createWriter(path: string, id: string): PartWriter {
    return new PartWriter(this, path, id);
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: new Date(0), isDir: true };
    const object = this.store.objects.get(this.key(path));
    if (object !== undefined) return { path, size: object.data.length, modTime: object.modTime, isDir: false };
    if (this.sortedKeys(this.dirPrefix(path)).length > 0) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw this.notFound(path);
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.dirPrefix(path);
    const names = new Set<string>();
    for await (const page of this.listPages(prefix)) {
      for (const key of page) {
        const name = key.slice(prefix.length).split('/')[0]!;
        if (isValidPath(`/${name}`)) names.add(name);
      }
    }
    if (names.size === 0 && path !== '/') throw this.notFound(path);
    return [...names].map((name) => (path === '/' ? `/${name}` : `${path}/${name}`));
  }

  /** The pages `list` reads. */
  protected listPages(prefix: string): AsyncIterable<string[]> {
    return this.pages(prefix);
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const object = this.store.objects.get(this.key(sourcePath));
    if (object === undefined) {
      if (this.sortedKeys(this.dirPrefix(sourcePath)).length > 0) throw new DriverError(`cannot move ${sourcePath}: it is a directory`);
      throw this.notFound(sourcePath);
    }
    if (sourcePath === destPath) return;
    this.store.objects.set(this.key(destPath), { data: object.data, modTime: new Date() });
    this.store.objects.delete(this.key(sourcePath));
  }

  async delete(path: string): Promise<void> {
    const keys = [this.key(path), ...this.sortedKeys(this.dirPrefix(path))].filter((k) => this.store.objects.has(k));
    if (keys.length === 0) throw this.notFound(path);
    for (const key of keys) this.store.objects.delete(key);
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    const prefix = this.dirPrefix(path);
    const rootPrefix = this.rootPrefix;
    const objects = this.store.objects;
    const pages = this.pages(prefix);
    async function* infos(): AsyncGenerator<FileInfo[]> {
      for await (const page of pages) {
        yield page.map((key) => {
          const object = objects.get(key)!;
          return { path: `/${key.slice(rootPrefix.length)}`, size: object.data.length, modTime: object.modTime, isDir: false };
        });
      }
    }
    const found = await walkSortedKeys(path, infos(), this.walkCallback(fn), startAfter, signal);
    if (!found && path !== '/') throw this.notFound(path);
  }

  /** The callback the native walk obeys. */
  protected walkCallback(fn: WalkFn): WalkFn {
    return fn;
  }
}

/** An upload: parts of `partSize` bytes stored as keys under the upload's prefix, assembled on commit. */
export class PartWriter implements BackendWriter {
  readonly #backend: MemoryObjectBackend;
  readonly #path: string;
  readonly #id: string;
  readonly #prefix: string;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stored: number;
  #nextPart: number;

  constructor(backend: MemoryObjectBackend, path: string, id: string) {
    this.#backend = backend;
    this.#path = path;
    this.#id = id;
    this.#prefix = `${backend.uploadPrefix(path)}${id}/`;
    const parts = this.parts();
    this.#nextPart = parts.length;
    this.#stored = parts.reduce((n, part) => n + part.length, 0);
  }

  protected get objects(): Map<string, StoredObject> {
    return this.#backend.store.objects;
  }

  get size(): number {
    return this.#stored + this.#pendingBytes;
  }

  /** The stored parts in index order. */
  parts(): Buffer[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(this.#prefix) && /\/\d{6}$/.test(k)).sort().map((k) => this.objects.get(k)!.data);
  }

  async write(chunk: Buffer): Promise<void> {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= this.#backend.partSize) this.#storePart(this.#backend.partSize);
  }

  /** Persists what is buffered as a (short) part, so an append from anywhere continues it. */
  async close(): Promise<void> {
    if (this.#pendingBytes > 0) this.#storePart(this.#pendingBytes);
  }

  async commit(signal?: AbortSignal): Promise<void> {
    if (this.recognisesCommitted()) return;
    if (!this.objects.has(this.marker)) throw new DriverError(`upload ${this.#id} of ${this.#path} not found`, { path: this.#path });
    await this.close();
    const parts = this.parts();
    // Assembling takes a while; an abort meanwhile leaves every part in place for the next try.
    await this.transfer(parts.length + 2, signal);
    this.finish(this.assemble(parts));
  }

  async cancel(): Promise<void> {
    this.dropUpload();
  }

  /** Whether this very upload is already the committed object (a commit retried after its answer was lost). */
  protected recognisesCommitted(): boolean {
    return this.#backend.store.committed.has(this.#id);
  }

  protected get marker(): string {
    return `${this.#prefix}open`;
  }

  protected transfer(steps: number, signal?: AbortSignal): Promise<void> {
    return this.#backend.transfer(steps, signal);
  }

  protected assemble(parts: Buffer[]): Buffer {
    return Buffer.concat(parts);
  }

  protected get objectKey(): string {
    return this.#backend.key(this.#path);
  }

  protected finish(data: Buffer): void {
    this.objects.set(this.objectKey, { data, modTime: new Date() });
    this.#backend.store.committed.add(this.#id);
    this.dropUpload();
  }

  protected dropUpload(): void {
    for (const key of [...this.objects.keys()]) if (key.startsWith(this.#prefix)) this.objects.delete(key);
  }

  protected get path(): string {
    return this.#path;
  }

  /** Stores the first `bytes` pending bytes as the next part (slicing, not copying, what stays pending). */
  #storePart(bytes: number): void {
    const taken: Buffer[] = [];
    for (let need = bytes; need > 0; ) {
      const head = this.#pending[0]!;
      if (head.length <= need) {
        taken.push(head);
        this.#pending.shift();
        need -= head.length;
      } else {
        taken.push(head.subarray(0, need));
        this.#pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.objects.set(`${this.#prefix}${pad(this.#nextPart++)}`, { data: Buffer.concat(taken, bytes), modTime: new Date() });
    this.#pendingBytes -= bytes;
    this.#stored += bytes;
  }
}
