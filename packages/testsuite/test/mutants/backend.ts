/**
 * The gallery's reference backend: a small object store in memory, shaped like the real ones so
 * that each mutant can break one thing a real driver could break. Flat keys in a store several
 * driver instances share, a root prefix, upload state as keys beside the root (`<root>~uploads/`),
 * uploads cut into parts of a fixed size and assembled on commit, listings in pages of 1000 keys,
 * a native walk over those pages, and transfer time (putContent, commit) that honours the signal.
 * It claims the issue-13 API it can prove without an HTTP server (everything but URLs): metadata
 * kept with each object and upload, etags and MD5s, conditions checked when the object is
 * published, copy, ranged reads and a listPage of its own.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  type BackendPutOptions,
  type SignedMethod,
  type SignedURL,
  type BackendWriter,
  type Capabilities,
  DriverError,
  type FilePage,
  type FileInfo,
  InvalidOffsetError,
  type PendingUpload,
  METADATA_KINDS,
  PathNotFoundError,
  PreconditionFailedError,
  type StorageBackend,
  type WalkFn,
  type WriteConditions,
  type WriteMetadata,
  genericListPage,
  isValidPath,
  walkSortedKeys,
} from '@storagedriver/core';

import type { SignedURLServer } from './server.js';

const MiB = 1024 * 1024;
const PAGE = 1000;
const pad = (n: number): string => String(n).padStart(6, '0');

export interface StoredObject {
  data: Buffer;
  modTime: Date;
  /** What the write stored with the object (on an upload's marker: what the upload started with). */
  metadata?: WriteMetadata;
  etag?: string;
  md5?: string;
}

export const REFERENCE_CAPABILITIES: Partial<Capabilities> = {
  writeIfNoneMatch: true,
  writeIfMatch: true,
  metadata: METADATA_KINDS,
  etag: true,
  copy: true,
  rangedRead: true,
  listPage: true,
  signedURL: ['GET', 'HEAD', 'PUT'],
  signedURLMaxExpiresIn: 3600,
  uploads: true,
};

/** What several driver instances share: the keys, and which uploads were committed. */
export class ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  /** Committed upload ids: a commit retried after its answer was lost recognises its own upload. */
  readonly committed = new Set<string>();
  nextUpload = 1;
  nextEtag = 1;
  /** The HTTP service signed URLs point at, when the test started one. */
  server: SignedURLServer | undefined;
}

export interface BackendOptions {
  /** Key prefix of the driver's root, without slashes at either end; '' for the whole store. */
  root: string;
  partSize: number;
}

export class MemoryObjectBackend implements StorageBackend {
  readonly name = 'gallery';
  readonly capabilities: Partial<Capabilities> = REFERENCE_CAPABILITIES;
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

  async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
    const { ifNoneMatch, ifMatch, ...metadata } = options;
    await this.transfer(Math.ceil(content.length / MiB), signal);
    this.publish(path, Buffer.from(content), metadata, { ifNoneMatch, ifMatch }, createHash('md5').update(content).digest('base64'));
  }

  /** Fails unless the conditions hold for what is at `path` now. */
  checkConditions(path: string, conditions: WriteConditions): void {
    const current = this.store.objects.get(this.key(path));
    if (conditions.ifNoneMatch !== undefined && current !== undefined) throw new PreconditionFailedError(path, 'an object exists');
    if (conditions.ifMatch !== undefined && current?.etag !== conditions.ifMatch) throw new PreconditionFailedError(path, `the etag is not ${conditions.ifMatch}`);
  }

  /** Makes `data` the object, checking the conditions in the same step (atomically: nothing runs between). */
  publish(path: string, data: Buffer, metadata: WriteMetadata | undefined, conditions: WriteConditions, md5: string | undefined): void {
    this.checkConditions(path, conditions);
    this.store.objects.set(this.key(path), { data, modTime: new Date(), metadata: structuredClone(metadata ?? {}), etag: `"${this.store.nextEtag++}"`, ...(md5 === undefined ? {} : { md5 }) });
  }

  async reader(path: string, offset: number, _signal?: AbortSignal, length?: number): Promise<Readable> {
    const { data } = this.object(path);
    if (offset > data.length) throw new InvalidOffsetError(path, offset);
    if (length !== undefined) this.checkRange(path, data.length, offset, length);
    return Readable.from(this.slices(path, data, offset));
  }

  /** A ranged read past the end fails when it is opened. */
  protected checkRange(path: string, size: number, offset: number, length: number): void {
    if (offset + length > size) throw new InvalidOffsetError(path, offset + length);
  }

  /** The bytes a reader serves, in 256 KiB slices, from the version it opened. */
  protected *slices(_path: string, data: Buffer, offset: number): Generator<Buffer> {
    for (let at = offset; at < data.length; at += 256 * 1024) yield data.subarray(at, at + 256 * 1024);
  }

  async writer(path: string, append: boolean, _signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
    const prefix = this.uploadPrefix(path);
    if (append) {
      const ids = new Set([...this.store.objects.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split('/')[0]!));
      const newest = [...ids].sort().at(-1);
      if (newest !== undefined) {
        const marker = this.store.objects.get(`${prefix}${newest}/open`);
        if (marker !== undefined) marker.metadata = this.resumedMetadata(marker.metadata, metadata);
        return this.createWriter(path, newest);
      }
      const object = this.store.objects.get(this.key(path));
      if (object === undefined) throw this.notFound(path);
      const writer = this.newUpload(path, metadata);
      if (object.data.length > 0) await writer.write(Buffer.from(object.data));
      return writer;
    }
    return this.newUpload(path, metadata);
  }

  /** What a continued upload keeps: the metadata it started with, not the continuing writer's. */
  protected resumedMetadata(started: WriteMetadata | undefined, _given: WriteMetadata | undefined): WriteMetadata | undefined {
    return started;
  }

  /** Every upload marker below the hidden prefix of `path`: `<hidden><path>~/<id>/open`. */
  async *uploads(path: string): AsyncGenerator<PendingUpload> {
    const base = path === '/' ? this.hiddenPrefix : `${this.hiddenPrefix}${path.slice(1)}`;
    for (const key of [...this.store.objects.keys()].filter((k) => k.startsWith(base)).sort()) {
      const match = /^(.*)~\/(\d{6})\/open$/.exec(key.slice(this.hiddenPrefix.length));
      if (match === null) continue;
      const uploadPath = `/${match[1]!}`;
      const size = this.uploadSize(uploadPath, match[2]!);
      yield { path: uploadPath, id: match[2]!, startedAt: this.store.objects.get(key)!.modTime, size };
    }
  }

  protected uploadSize(path: string, id: string): number {
    return this.createWriter(path, id).size;
  }

  async abortUpload(path: string, id: string): Promise<void> {
    const prefix = `${this.uploadPrefix(path)}${id}/`;
    for (const key of [...this.store.objects.keys()]) if (key.startsWith(prefix)) this.store.objects.delete(key);
  }

  protected newUpload(path: string, metadata: WriteMetadata | undefined): PartWriter {
    const id = pad(this.store.nextUpload++);
    this.store.objects.set(`${this.uploadPrefix(path)}${id}/open`, { data: Buffer.alloc(0), modTime: new Date(), metadata: structuredClone(metadata ?? {}) });
    return this.createWriter(path, id);
  }

  protected createWriter(path: string, id: string): PartWriter {
    return new PartWriter(this, path, id);
  }

  async copy(sourcePath: string, destPath: string, signal?: AbortSignal): Promise<void> {
    const object = this.object(sourcePath);
    await this.transfer(1, signal);
    this.publish(destPath, object.data, this.copiedMetadata(object), {}, object.md5);
  }

  protected copiedMetadata(object: StoredObject): WriteMetadata | undefined {
    return object.metadata;
  }

  listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    return genericListPage(this, path, request, signal);
  }

  async signedURL(path: string, request: { method: SignedMethod; expiresIn: number; contentType: string | undefined }): Promise<SignedURL> {
    const server = this.store.server;
    if (server === undefined) throw new DriverError('no signed-URL server was started for this store');
    const expires = Math.floor(Date.now() / 1000) + request.expiresIn;
    const signed = { method: request.method, key: this.key(path), expires, contentType: request.contentType };
    return {
      url: server.url(signed.key, expires, server.signature(signed)),
      method: request.method,
      headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  async stat(path: string): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: new Date(0), isDir: true };
    const object = this.store.objects.get(this.key(path));
    if (object !== undefined) {
      return {
        path,
        size: object.data.length,
        modTime: object.modTime,
        isDir: false,
        ...structuredClone(object.metadata ?? {}),
        ...(object.etag === undefined ? {} : { etag: object.etag }),
        ...(object.md5 === undefined ? {} : { checksums: { md5: object.md5 } }),
      };
    }
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
    this.store.objects.set(this.key(destPath), { ...object, modTime: new Date() });
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
          return { path: `/${key.slice(rootPrefix.length)}`, size: object.data.length, modTime: object.modTime, isDir: false, ...(object.etag === undefined ? {} : { etag: object.etag }) };
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

  async commit(signal?: AbortSignal, conditions: WriteConditions = {}): Promise<void> {
    if (this.recognisesCommitted()) return;
    if (!this.objects.has(this.marker)) throw new DriverError(`upload ${this.#id} of ${this.#path} not found`, { path: this.#path });
    await this.close();
    const parts = this.parts();
    // Assembling takes a while; an abort meanwhile leaves every part in place for the next try.
    await this.transfer(parts.length + 2, signal);
    this.finish(this.assemble(parts), conditions, this.md5(parts));
  }

  /** The MD5 of the whole content (base64), as a service reports it. */
  protected md5(parts: Buffer[]): string | undefined {
    const hash = createHash('md5');
    for (const part of parts) hash.update(part);
    return hash.digest('base64');
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

  /** Publishes the upload with the metadata it started with; a condition that does not hold leaves the upload in place. */
  protected finish(data: Buffer, conditions: WriteConditions = {}, md5?: string): void {
    this.#backend.publish(this.#path, data, this.objects.get(this.marker)?.metadata, conditions, md5);
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
