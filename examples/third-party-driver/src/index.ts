/**
 * An example of a third-party driver: objects in a flat, sorted key-value map, the way object
 * stores keep them. It uses only @storagedriver/core: KeyMapper for keys, walkSortedKeys for a
 * native walk from flat listings, and BaseDriver for validation, errors and the writer state machine.
 */
import { Readable } from 'node:stream';

import {
  type BackendWriter,
  BaseDriver,
  DriverError,
  directoryMoveError,
  type FileInfo,
  InvalidOffsetError,
  KeyMapper,
  ParameterReader,
  PathNotFoundError,
  type PendingUpload,
  type StorageBackend,
  type WalkFn,
  register,
  walkSortedKeys,
} from '@storagedriver/core';

interface Entry {
  data: Buffer;
  modTime: Date;
}

/** An upload in progress, as a service keeps one: its parts, an id and when it started. */
export interface Upload {
  readonly id: string;
  readonly startedAt: Date;
  readonly parts: Buffer[];
  /** Set by `abortUpload`: a writer still holding the upload must not commit it. */
  aborted: boolean;
}

/** The "service": keys to objects, plus uploads in progress. Shared by driver instances. */
export class KeyValueStore {
  readonly objects = new Map<string, Entry>();
  /** The newest upload of each key: what a writer with append continues. */
  readonly uploads = new Map<string, Upload>();
  #nextUploadId = 1;

  newUpload(key: string, parts: Buffer[]): Upload {
    const upload: Upload = { id: String(this.#nextUploadId++), startedAt: new Date(), parts, aborted: false };
    this.uploads.set(key, upload);
    return upload;
  }

  /** Forgets the upload of `key` if it is still `upload`: a newer writer on the same key has replaced it and keeps its own. */
  dropUpload(key: string, upload: Upload): void {
    if (this.uploads.get(key) === upload) this.uploads.delete(key);
  }

    /** Keys under `prefix`, in byte order, after `startAfter`. */
  keys(prefix: string, startAfter = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix) && k > startAfter).sort();
  }
}

class KeyValueBackend implements StorageBackend {
  readonly name = 'kv';
  /** What the base may call beyond the required operations: here, listing and aborting pending uploads. */
  readonly capabilities = { uploads: true };
  readonly #keys: KeyMapper;

  constructor(
    private readonly store: KeyValueStore,
    rootDirectory: string,
  ) {
    this.#keys = new KeyMapper(rootDirectory);
  }

  async getContent(path: string): Promise<Buffer> {
    return this.#entry(path).data;
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    this.store.objects.set(this.#keys.key(path), { data: Buffer.from(content), modTime: new Date() });
  }

  async reader(path: string, offset: number): Promise<Readable> {
    const { data } = this.#entry(path);
    if (offset > data.length) throw new InvalidOffsetError(path, offset);
    return Readable.from(slices(data.subarray(offset)));
  }

  async writer(path: string, append: boolean): Promise<BackendWriter> {
    const key = this.#keys.key(path);
    let upload = append ? this.store.uploads.get(key) : undefined;
    if (upload === undefined) {
      if (append) {
        const existing = this.store.objects.get(key);
        if (existing === undefined) throw new PathNotFoundError(path);
        upload = this.store.newUpload(key, [existing.data]);
      } else upload = this.store.newUpload(key, []);
    }
    const current = upload;
    const { parts } = current;
    const store = this.store;
    return {
      get size() {
        return parts.reduce((n, c) => n + c.length, 0);
      },
      async write(chunk) {
        parts.push(Buffer.from(chunk));
      },
      async close() {},
      async commit() {
        if (current.aborted) throw new DriverError(`the upload of ${path} was aborted: nothing to commit`, { path });
        store.objects.set(key, { data: Buffer.concat(parts), modTime: new Date() });
        store.dropUpload(key, current);
      },
      async cancel() {
        store.dropUpload(key, current);
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const entry = this.store.objects.get(this.#keys.key(path));
    if (entry) return { path, size: entry.data.length, modTime: entry.modTime, isDir: false };
    if (this.store.keys(this.#keys.directoryPrefix(path)).length > 0) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw new PathNotFoundError(path);
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.#keys.directoryPrefix(path);
    const children = new Set(this.store.keys(prefix).map((key) => prefix + key.slice(prefix.length).split('/')[0]));
    if (children.size === 0 && path !== '/') throw new PathNotFoundError(path);
    return [...children].map((key) => this.#keys.path(key));
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const entry = this.store.objects.get(this.#keys.key(sourcePath));
    if (entry === undefined) {
      if (this.store.keys(this.#keys.directoryPrefix(sourcePath)).length > 0) throw directoryMoveError(sourcePath);
      throw new PathNotFoundError(sourcePath);
    }
    this.store.objects.set(this.#keys.key(destPath), entry);
    this.store.objects.delete(this.#keys.key(sourcePath));
  }

  async delete(path: string): Promise<void> {
    const doomed = [this.#keys.key(path), ...this.store.keys(this.#keys.directoryPrefix(path))].filter((k) => this.store.objects.has(k));
    if (doomed.length === 0) throw new PathNotFoundError(path);
    for (const key of doomed) this.store.objects.delete(key);
  }

  /** The uploads at `path`'s key or under its directory prefix (so not those of a sibling sharing its name's start). */
  async *uploads(path: string): AsyncGenerator<PendingUpload> {
    const prefix = this.#keys.directoryPrefix(path);
    const own = path === '/' ? undefined : this.#keys.key(path);
    for (const [key, upload] of this.store.uploads) {
      if (key !== own && !key.startsWith(prefix)) continue;
      yield { path: this.#keys.path(key), id: upload.id, startedAt: upload.startedAt, size: upload.parts.reduce((n, c) => n + c.length, 0) };
    }
  }

  /** An id that is not the path's pending upload (gone already, or never one) is a no-op. */
  async abortUpload(path: string, id: string): Promise<void> {
    const key = this.#keys.key(path);
    const upload = this.store.uploads.get(key);
    if (upload?.id !== id) return;
    upload.aborted = true;
    this.store.uploads.delete(key);
  }

  async walk(path: string, fn: WalkFn, startAfter?: string): Promise<void> {
    const keys = this.#keys;
    const store = this.store;
    async function* pages(): AsyncGenerator<FileInfo[]> {
      const all = store.keys(keys.directoryPrefix(path), startAfter ? keys.key(startAfter) : '');
      for (let i = 0; i < all.length; i += 1000) {
        yield all.slice(i, i + 1000).map((key) => ({ path: keys.path(key), size: store.objects.get(key)!.data.length, modTime: store.objects.get(key)!.modTime, isDir: false }));
      }
    }
    const found = await walkSortedKeys(path, pages(), fn, startAfter);
    if (!found && path !== '/' && startAfter === undefined) throw new PathNotFoundError(path);
  }

  #entry(path: string): Entry {
    const entry = this.store.objects.get(this.#keys.key(path));
    if (entry === undefined) throw new PathNotFoundError(path);
    return entry;
  }
}

/** 1 MiB slices (no copies), the way a service streams a body: consumers see backpressure, and an abort lands mid-stream. */
function* slices(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += 1024 * 1024) yield data.subarray(at, at + 1024 * 1024);
}

export interface KeyValueOptions {
  store?: KeyValueStore;
  rootDirectory?: string;
}

export class KeyValueDriver extends BaseDriver {
  constructor(options: KeyValueOptions = {}) {
    super(new KeyValueBackend(options.store ?? new KeyValueStore(), options.rootDirectory ?? ''));
  }
}

register(
  'kv',
  (parameters) => {
    const reader = new ParameterReader('kv', parameters, ['rootdirectory']);
    return new KeyValueDriver({ rootDirectory: reader.string('rootdirectory', '') });
  },
  { owner: 'storagedriver-example-kv' },
);
