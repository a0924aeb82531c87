/**
 * What every key/value object store driver shares (S3, Azure, GCS, and the ones to come): the
 * directory tree a flat key space implies. A driver supplies two requests — one page of a listing,
 * and a batch delete — and ObjectStoreTree turns them into the contract's `list`, `walk`, the
 * directory half of `stat`, and recursive `delete`, once for all of them:
 * - every listing page is retried when its request or its body is cut (listings are idempotent);
 * - keys outside the path grammar (hidden upload state, another driver's, another tool's) never
 *   surface, not even as a directory made only of them;
 * - a directory is a prefix with something visible below `dir/`, never a sibling sharing a textual
 *   prefix (`/a` is not a directory because `/ab` exists);
 * - entries a service repeats across pages are listed once.
 */
import type { FileInfo, FilePage, WalkFn } from './driver.js';
import { PathNotFoundError } from './errors.js';
import { decodeCursor, encodeCursor } from './listing.js';
import { type KeyMapper, ROOT, isValidPath } from './path.js';
import { retry } from './retry.js';
import { walkSortedKeys } from './walk.js';

/** One object of a listing page. */
export interface ObjectEntry {
  /** The object's full key, root prefix included. */
  key: string;
  /** Bytes. */
  size: number;
  /** Last modification. */
  modTime: Date;
  /** As the listing gives it, when it does. */
  etag?: string;
}

/** One listing request a driver sends to its service. */
export interface ListPageRequest {
  /** Only keys starting with this. */
  prefix: string;
  /** Group keys at the next `/` after the prefix into `prefixes` (a one-level listing). */
  delimited: boolean;
  /** At most this many entries. */
  limit: number;
  /** The previous page's `next`; absent for the first page. */
  token?: string;
  /** First page only: the listing may start at or after this key (a hint; the tree drops what comes before). */
  startAfter?: string;
}

/** One page of a listing, as the service answered it. */
export interface ListPage {
  /** Objects in byte order of their keys. */
  objects: ObjectEntry[];
  /** With `delimited`: the common prefixes, each ending in `/`. */
  prefixes: string[];
  /** The token of the next page, or undefined on the last one. */
  next: string | undefined;
}

/** The two requests a driver implements; both may be sent again (they are idempotent). */
export interface ObjectStoreRequests {
  /** One page of the service's listing for `request`. */
  listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage>;
  /** Deletes these keys (at most `deleteBatchSize` of them); a key already gone is not a failure. */
  deleteKeys(keys: string[], signal?: AbortSignal): Promise<void>;
}

/** The service's limits ObjectStoreTree works within. */
export interface ObjectStoreTreeOptions {
  /** Entries per listing page (the service's maximum: 1000 on S3 and GCS, 5000 on Azure). */
  pageSize: number;
  /** Keys per batch delete request. */
  deleteBatchSize: number;
  /**
   * Sends one request again while it fails transiently. Default: core's `retry`. A driver whose
   * SDK retries some failures itself passes its own, so the two layers' tries never multiply.
   */
  retried?: <T>(request: () => Promise<T>, signal?: AbortSignal) => Promise<T>;
}

/**
 * The directory tree of a flat key space, for object-store drivers: `list`, `walk`, `listPage`, the directory half of `stat`
 * and recursive `delete`, built on the driver's two ObjectStoreRequests. Listing pages are retried; keys outside the
 * path grammar never surface; a directory is a prefix with something visible below `dir/`.
 */
export class ObjectStoreTree {
  readonly #requests: ObjectStoreRequests;
  readonly #keys: KeyMapper;
  readonly #o: ObjectStoreTreeOptions;
  readonly #retried: <T>(request: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

  constructor(requests: ObjectStoreRequests, keys: KeyMapper, options: ObjectStoreTreeOptions) {
    this.#requests = requests;
    this.#keys = keys;
    this.#o = options;
    this.#retried = options.retried ?? ((request, signal) => retry(request, { signal }));
  }

  /**
   * Every page of a listing, each page request retried on transient failures. The next page is
   * requested as soon as its token is known, so the service answers it while the caller handles
   * this one (one page ahead at most); a caller that stops early cancels it.
   */
  async *pages(request: Omit<ListPageRequest, 'token'>, signal?: AbortSignal): AsyncGenerator<ListPage> {
    const abandoned = new AbortController();
    const linked = signal === undefined ? abandoned.signal : AbortSignal.any([signal, abandoned.signal]);
    const fetchPage = (token: string | undefined): Promise<ListPage> =>
      this.#retried(() => this.#requests.listPage(token === undefined ? request : { ...request, startAfter: undefined, token }, linked), linked);
    let next = fetchPage(undefined);
    try {
      for (;;) {
        const page = await next;
        if (page.next === undefined) {
          yield page;
          return;
        }
        next = fetchPage(page.next);
        // Awaited on the next turn; until then (or for good, when the caller stops) its failure must not go unhandled.
        next.catch(() => undefined);
        yield page;
      }
    } finally {
      abandoned.abort();
    }
  }

  /** The contract's `list`: absolute paths of the visible direct children of `path`. */
  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = this.#keys.directoryPrefix(path);
    const entries = new Set<string>();
    for await (const page of this.pages({ prefix, delimited: true, limit: this.#o.pageSize }, signal)) {
      for (const object of page.objects) if (object.key !== prefix) entries.add(this.#keys.path(object.key));
      for (const common of page.prefixes) entries.add(this.#keys.path(common));
    }
    const visible = [...entries].filter(isValidPath);
    if (visible.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
    return visible;
  }

  /**
   * The contract's `listPage` from listing requests alone (no request per entry). Each page ends
   * where a service page ends, so the cursor carries the service's own continuation token as well
   * as the greatest key handed out. Services never repeat an object across pages, but some repeat
   * common prefixes (fake-gcs-server sends every prefix of the listing on every page): a directory
   * at or before that key was handed out already. A service page holding more than it was asked for
   * makes a page that does too: nothing is dropped to fit (it could not come again).
   */
  async page(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
    const prefix = this.#keys.directoryPrefix(path);
    const from = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    let token = from?.token;
    let after = from?.after;
    const entries: FileInfo[] = [];
    // Keys outside the path grammar are dropped, so a service page may yield fewer entries than it
    // held: ask again for the rest, each time from where the service stopped.
    do {
      const limit = Math.min(request.limit - entries.length, this.#o.pageSize);
      const listRequest = { prefix, delimited: !request.recursive, limit, ...(token === undefined ? (after === undefined ? {} : { startAfter: after }) : { token }) };
      const page = await this.#retried(() => this.#requests.listPage(listRequest, signal), signal);
      for (const entry of this.#pageEntries(page, prefix)) {
        if (entry.info.isDir && after !== undefined && entry.key <= after) continue;
        if (after === undefined || entry.key > after) after = entry.key;
        if (isValidPath(entry.info.path)) entries.push(entry.info);
      }
      token = page.next;
    } while (token !== undefined && entries.length < request.limit);
    if (request.cursor === undefined && entries.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
    return { entries, cursor: token === undefined ? undefined : encodeCursor({ after: after ?? '', token }) };
  }

  /** A page's objects and prefixes in key order, as entries; a prefix's key sorts after all it holds. */
  *#pageEntries(page: ListPage, prefix: string): Generator<{ key: string; info: FileInfo }> {
    const merged: { key: string; info: FileInfo }[] = [];
    for (const object of page.objects) {
      if (object.key === prefix || object.key.endsWith('/')) continue;
      const info: FileInfo = { path: this.#keys.path(object.key), size: object.size, modTime: object.modTime, isDir: false, ...(object.etag === undefined ? {} : { etag: object.etag }) };
      merged.push({ key: object.key, info });
    }
    for (const common of page.prefixes) {
      // Any key inside the directory (path characters end at 'z') sorts before `dir/~`.
      merged.push({ key: `${common}~`, info: { path: this.#keys.path(common), size: 0, modTime: new Date(0), isDir: true } });
    }
    yield* merged.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** True when something visible lies below `path/` (the directory half of `stat`). */
  async isDirectory(path: string, signal?: AbortSignal): Promise<boolean> {
    if (path === ROOT) return true;
    const prefix = this.#keys.directoryPrefix(path);
    // Usually the first key answers; hidden keys first (another driver's uploads) need more pages.
    let limit = 1;
    let token: string | undefined;
    do {
      const page = await this.#retried(() => this.#requests.listPage({ prefix, delimited: false, limit, token }, signal), signal);
      if (page.objects.some((object) => isValidPath(this.#keys.path(object.key)))) return true;
      token = page.next;
      limit = this.#o.pageSize;
    } while (token !== undefined);
    return false;
  }

  /** The contract's directory answer of `stat`, or PathNotFound. */
  async statDirectory(path: string, signal?: AbortSignal): Promise<FileInfo> {
    if (!(await this.isDirectory(path, signal))) throw new PathNotFoundError(path);
    return { path, size: 0, modTime: new Date(0), isDir: true };
  }

  /** The flat-listing walk: one listing request per page, in byte order of keys. */
  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    const prefix = this.#keys.directoryPrefix(path);
    const hint = startAfter === undefined || startAfter === '' ? undefined : startAfter;
    const startKey = hint === undefined ? undefined : this.#keys.key(hint);
    const keys = this.#keys;
    const request = { prefix, delimited: false, limit: this.#o.pageSize, ...(startKey !== undefined && startKey > prefix ? { startAfter: startKey } : {}) };
    const pages = this.pages(request, signal);
    async function* entries(): AsyncGenerator<FileInfo[]> {
      for await (const page of pages) {
        yield page.objects.map((object): FileInfo => {
          const path = keys.path(object.key);
          if (object.key.endsWith('/')) return { path, size: 0, modTime: object.modTime, isDir: true };
          return object.etag === undefined ? { path, size: object.size, modTime: object.modTime, isDir: false } : { path, size: object.size, modTime: object.modTime, isDir: false, etag: object.etag };
        });
      }
    }
    const found = await walkSortedKeys(path, entries(), fn, hint, signal);
    // Nothing after the hint is no proof the directory is missing.
    if (!found && path !== ROOT && (hint === undefined || !(await this.isDirectory(path, signal)))) throw new PathNotFoundError(path);
  }

  /**
   * The contract's `delete`: the object at `path` and every key below `path/` (never a sibling
   * sharing a textual prefix), in batch deletes. PathNotFound only when neither exists.
   */
  async delete(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.#keys.key(path);
    const doomed: string[] = [];
    // The key itself sorts first among the keys it prefixes.
    const first = await this.#retried(() => this.#requests.listPage({ prefix: key, delimited: false, limit: 1 }, signal), signal);
    if (first.objects[0]?.key === key) doomed.push(key);
    for await (const page of this.pages({ prefix: `${key}/`, delimited: false, limit: this.#o.pageSize }, signal)) {
      for (const object of page.objects) doomed.push(object.key);
    }
    if (doomed.length === 0) throw new PathNotFoundError(path);
    for (let i = 0; i < doomed.length; i += this.#o.deleteBatchSize) {
      const batch = doomed.slice(i, i + this.#o.deleteBatchSize);
      await this.#retried(() => this.#requests.deleteKeys(batch, signal), signal);
    }
  }
}
