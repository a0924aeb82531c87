/**
 * The directory tree in RADOS objects (README "Design"): every directory is an object
 * `dir:/<key>` whose omap maps each child's name to its entry — a file's chunk id, size, chunk size
 * and mtime, or a directory link. Keys are the full object-name paths below the pool (`root/a/b`),
 * so drivers with nested roots share one tree. The pool's root directory object is `dir:/`.
 *
 * Visibility rules:
 * - a file appears when its entry lands in its parent (one atomic omap write op, guarded by a
 *   comparison with the entry it replaces); missing directory links are written after it, deepest
 *   first, so a directory never becomes reachable before something is in it;
 * - a link carries a fresh token each time it is written, so removing a link (when its directory
 *   emptied) is a compare-and-delete that fails if a commit re-linked it meanwhile;
 * - a removal unlinks before it deletes data: no reachable entry points at a removed chunk.
 */
import { randomUUID } from 'node:crypto';

import { DriverError, type FileInfo, type WriteMetadata } from '@storagedriver/core';

import { ECANCELED, ENOENT, RadosError, omapGet, omapPage, refPut, removeObject, writeOp, type OmapEntry, type Pointer } from './librados.js';

/** Entries per omap read: below librados' cap of 1024 per request (`osd_max_omap_entries_per_request`). */
export const OMAP_PAGE = 1000;
/**
 * The largest content putContent keeps inline, in its directory entry, instead of in a chunk object:
 * BlueStore's allocation unit, so such a file costs an omap key instead of an object of its own, and
 * its put and get skip the chunk's round trip. A listing page carries the data of the inline files it
 * lists (1000 such entries: some 5.6 MB).
 */
export const INLINE_MAX = 4096;
const ROOT_OBJECT = 'dir:/';

export interface FileEntry {
  kind: 'file';
  /** The upload id naming the chunk objects. */
  id: string;
  size: number;
  /** Bytes per chunk object of this file (the writing driver's chunksize). */
  chunk: number;
  /** Milliseconds since the epoch, set at publish. */
  mtime: number;
  /**
   * The chunks' reference this entry holds (cls_refcount tag): absent for the upload that wrote
   * them (the implicit reference), a fresh tag for each copy sharing them.
   */
  ref?: string;
  /** Content headers and user metadata, stored with the entry so they publish with the content. */
  meta?: WriteMetadata;
  /** The content itself (base64) of a file written inline (1 … INLINE_MAX bytes): it has no chunks. */
  data?: string;
}

export interface DirEntry {
  kind: 'dir';
  token: string;
}

export type Entry = FileEntry | DirEntry;

export function encodeEntry(entry: Entry): string {
  if (entry.kind === 'dir') return JSON.stringify({ dir: entry.token });
  const { id, size, chunk, mtime, ref, meta, data } = entry;
  return JSON.stringify({
    id,
    size,
    chunk,
    mtime,
    ...(ref === undefined ? {} : { ref }),
    ...(meta === undefined || Object.keys(meta).length === 0 ? {} : { meta }),
    ...(data === undefined ? {} : { data }),
  });
}

export function decodeEntry(raw: string): Entry {
  const value = JSON.parse(raw) as Record<string, unknown>;
  if (typeof value.dir === 'string') return { kind: 'dir', token: value.dir };
  if (typeof value.id === 'string' && typeof value.size === 'number' && typeof value.chunk === 'number' && typeof value.mtime === 'number') {
    const file: FileEntry = { kind: 'file', id: value.id, size: value.size, chunk: value.chunk, mtime: value.mtime };
    if (typeof value.ref === 'string') file.ref = value.ref;
    if (typeof value.meta === 'object' && value.meta !== null) file.meta = value.meta as WriteMetadata;
    if (typeof value.data === 'string') file.data = value.data;
    return file;
  }
  throw new DriverError(`unreadable directory entry ${JSON.stringify(raw)}`);
}

/** The name of a file's chunk object. */
export function chunkOid(id: string, index: number): string {
  return `chunk:${id}:${index}`;
}

export function chunkCount(size: number, chunk: number): number {
  return Math.ceil(size / chunk);
}

export function dirOid(key: string): string {
  return key === '' ? ROOT_OBJECT : `dir:/${key}`;
}

/** `a/b/c` → [`a/b`, `c`]; `a` → [``, `a`]. */
export function splitKey(key: string): [parent: string, name: string] {
  const at = key.lastIndexOf('/');
  return at === -1 ? ['', key] : [key.slice(0, at), key.slice(at + 1)];
}

export function joinKey(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Throws for any negative code but those in `allowed`. */
export function expectOk(rc: number, what: string, ...allowed: number[]): number {
  if (rc < 0 && !allowed.includes(rc)) throw new RadosError(rc, what);
  return rc;
}

export interface Found {
  entry: Entry;
  /** The entry as stored, for compare-and-swap. */
  raw: string;
}

/** The entry of `key` in its parent directory, or undefined. */
export async function lookup(io: Pointer, key: string): Promise<Found | undefined> {
  const [parent, name] = splitKey(key);
  const { rc, entries } = await omapGet(io, dirOid(parent), [name]);
  expectOk(rc, `read directory ${dirOid(parent)}`, ENOENT);
  const raw = entries.find((entry) => entry.key === name)?.value;
  return raw === undefined ? undefined : { entry: decodeEntry(raw), raw };
}

/** True when the directory object of `key` lists at least one entry. */
export async function hasChildren(io: Pointer, key: string): Promise<boolean> {
  const { rc, entries } = await omapPage(io, dirOid(key), '', 1);
  expectOk(rc, `read directory ${dirOid(key)}`, ENOENT);
  return entries.length > 0;
}

/** Every page of a directory's entries (none when the directory object is missing). */
export async function* directoryPages(io: Pointer, key: string, startAfter = ''): AsyncGenerator<{ entries: OmapEntry[]; version: bigint }> {
  let after = startAfter;
  for (;;) {
    const page = await omapPage(io, dirOid(key), after, OMAP_PAGE);
    if (expectOk(page.rc, `list directory ${dirOid(key)}`, ENOENT) === ENOENT) return;
    if (page.entries.length > 0) yield { entries: page.entries, version: page.version };
    if (!page.more || page.entries.length === 0) return;
    after = page.entries.at(-1)!.key;
  }
}

/**
 * Sets `key`'s entry to `value` if it still holds `expected` (`''`: absent), then makes sure every
 * ancestor is linked. Returns false when the comparison failed (someone changed the entry).
 * `beside` starts once the entry is written and runs while the links are read: work that needs the
 * entry in place but not yet reachable, one round trip fewer than after. It is awaited either way;
 * its failure is thrown after a failure to link.
 */
export async function publish(io: Pointer, key: string, value: string, expected: string, beside?: () => Promise<void>): Promise<boolean> {
  const [parent, name] = splitKey(key);
  const { rc } = await writeOp(io, dirOid(parent), { create: true, compare: [[name, expected]], set: [[name, value]] });
  if (expectOk(rc, `publish ${key} in ${dirOid(parent)}`, ECANCELED) === ECANCELED) return false;
  const besideDone = beside?.();
  // Observed now: it may fail while the links are read, before it is awaited.
  besideDone?.catch(() => undefined);
  try {
    await ensureLinked(io, parent);
  } catch (error) {
    // An ancestor is a file: the entry just written must not linger in an unreachable directory.
    await writeOp(io, dirOid(parent), { compare: [[name, value]], remove: [name], ...(expected === '' ? {} : { set: [[name, expected]] }) });
    await besideDone?.catch(() => undefined);
    throw error;
  }
  await besideDone;
  return true;
}

/** `a/b/c` → [`a/b/c`, `a/b`, `a`] (bottom-up; the pool root has no link). */
function ancestorsOf(key: string): string[] {
  const result: string[] = [];
  for (let dir = key; dir !== ''; dir = splitKey(dir)[0]) result.push(dir);
  return result;
}

/**
 * Links directory `key` and its ancestors where a link is missing, deepest first (so no directory
 * becomes reachable before what it holds). Read after the entry was written: a prune unlinks a
 * directory before it removes the directory's object, so either this read sees the link gone and
 * writes it again, or the prune's removal finds the new entry and puts the link back.
 */
export async function ensureLinked(io: Pointer, key: string): Promise<void> {
  const ancestors = ancestorsOf(key);
  const links = await Promise.all(ancestors.map((dir) => lookup(io, dir)));
  links.forEach((found, i) => {
    if (found?.entry.kind === 'file') throw new DriverError(`cannot write below ${ancestors[i]}: it is a file`);
  });
  for (const [i, dir] of ancestors.entries()) if (links[i] === undefined) await link(io, dir);
}

/** Links directory `key` into its parent with a fresh token (unconditional: concurrent writers all succeed). */
async function link(io: Pointer, key: string): Promise<void> {
  const [parent, name] = splitKey(key);
  const { rc } = await writeOp(io, dirOid(parent), { create: true, set: [[name, encodeEntry({ kind: 'dir', token: randomUUID() })]] });
  expectOk(rc, `link ${key} in ${dirOid(parent)}`);
}

/** Removes `key`'s entry if it still holds `expected`; false when it changed or is gone. */
export async function unlink(io: Pointer, key: string, expected: string): Promise<boolean> {
  const [parent, name] = splitKey(key);
  const { rc } = await writeOp(io, dirOid(parent), { compare: [[name, expected]], remove: [name] });
  return expectOk(rc, `unlink ${key} from ${dirOid(parent)}`, ECANCELED, ENOENT) === 0;
}

/**
 * Removes the directory object of `key` if it is still at `version` (read empty then); a commit
 * that wrote into it since keeps it, and gets its link back.
 */
async function removeEmptyDirectory(io: Pointer, key: string, version: bigint): Promise<boolean> {
  const { rc } = await writeOp(io, dirOid(key), { assertVersion: version, removeObject: true });
  if (rc === 0 || rc === ENOENT) return true;
  await ensureLinked(io, key);
  return false;
}

/**
 * Removes emptied directories from `key` upwards (never the pool root): unlink first (compared with
 * the link read), then the object, only if unchanged since it was read empty.
 */
export async function prune(io: Pointer, key: string): Promise<void> {
  for (let dir = key; dir !== ''; dir = splitKey(dir)[0]) {
    const [found, page] = await Promise.all([lookup(io, dir), omapPage(io, dirOid(dir), '', 1)]);
    if (expectOk(page.rc, `read directory ${dirOid(dir)}`, ENOENT) === 0 && page.entries.length > 0) return;
    if (found === undefined || found.entry.kind !== 'dir' || !(await unlink(io, dir, found.raw))) return;
    if (page.rc === 0 && !(await removeEmptyDirectory(io, dir, page.version))) return;
  }
}

/** Removes chunk objects `from` ≤ index < `to` of upload `id`, `concurrency` at a time; chunks already gone are fine. */
export async function removeChunks(io: Pointer, id: string, from: number, to: number, concurrency = 16): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const index = next++;
      expectOk((await removeObject(io, chunkOid(id, index))).rc, `remove ${chunkOid(id, index)}`, ENOENT);
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(concurrency, to - from)) }, worker));
}

/** The chunks a file entry holds, and the reference it holds them by (none when its data is inline). */
export type FileChunks = Pick<FileEntry, 'id' | 'size' | 'chunk' | 'ref' | 'data'>;

/** Whether a file's content is in chunk objects (not inline, not empty). */
export function holdsChunks(file: FileChunks): boolean {
  return file.data === undefined && file.size > 0;
}

/** The content of a file written inline; a size that disagrees with the data is a damaged entry. */
export function inlineContent(path: string, size: number, data: string): Buffer {
  const content = Buffer.from(data, 'base64');
  if (content.length !== size) throw new DriverError(`the entry of ${path} is damaged: ${size} bytes by its size, ${content.length} in its data`, { path });
  return content;
}

/**
 * Drops a file's reference to each of its chunks: the OSD removes a chunk with its last reference
 * (copies share chunks), so a file never removes data another file uses.
 */
export async function removeFileChunks(io: Pointer, file: FileChunks, concurrency = 16): Promise<void> {
  if (!holdsChunks(file)) return;
  const indexes = Array.from({ length: chunkCount(file.size, file.chunk) }, (_, i) => i);
  await forEachLimited(indexes, concurrency, async (i) => {
    expectOk((await refPut(io, chunkOid(file.id, i), file.ref ?? '')).rc, `drop reference to ${chunkOid(file.id, i)}`, ENOENT);
  });
}

/** Whether two entries hold the same reference to the same chunks. */
export function sameChunks(a: FileChunks, b: FileChunks): boolean {
  return a.id === b.id && a.ref === b.ref;
}

/** The etag of a file: its reference (unique to each write or copy), quoted as HTTP etags are. */
export function etagOf(file: FileEntry): string {
  return `"${file.ref ?? file.id}"`;
}

/** What stat and listings tell of a file: size, time, etag and version, and its metadata. */
export function fileInfo(path: string, file: FileEntry): FileInfo {
  const { metadata, ...headers } = file.meta ?? {};
  return {
    path,
    size: file.size,
    modTime: new Date(file.mtime),
    isDir: false,
    etag: etagOf(file),
    version: file.ref ?? file.id,
    ...headers,
    ...(metadata === undefined ? {} : { metadata: { ...metadata } }),
  };
}

/**
 * Deletes what the directory `key` holds (already unlinked by the caller, or linked below such a
 * directory), `concurrency` operations at a time: each entry is unlinked (compared with what was
 * listed) before its chunks or its subtree go, so no reachable entry ever points at removed data;
 * then the directory object, if nothing was written into it meanwhile. Returns whether it is gone.
 */
export async function removeTree(io: Pointer, key: string, concurrency = 16): Promise<boolean> {
  let emptied = true;
  for await (const page of directoryPages(io, key)) {
    const files = page.entries.filter(({ value }) => decodeEntry(value).kind === 'file');
    const dirs = page.entries.filter(({ value }) => decodeEntry(value).kind === 'dir');
    // One op unlinks a page of files; if any changed meanwhile, one op per file.
    let unlinked = files;
    if (files.length > 0) {
      const batch = await writeOp(io, dirOid(key), { compare: files.map(({ key: name, value }) => [name, value]), remove: files.map(({ key: name }) => name) });
      if (batch.rc !== 0) {
        unlinked = [];
        for (const file of files) if (await unlink(io, joinKey(key, file.key), file.value)) unlinked.push(file);
      }
    }
    if (unlinked.length < files.length) emptied = false;
    await forEachLimited(unlinked, concurrency, async ({ value }) => removeFileChunks(io, decodeEntry(value) as FileEntry, 4));
    await forEachLimited(dirs, concurrency, async ({ key: name, value }) => {
      const child = joinKey(key, name);
      if ((await removeTree(io, child, concurrency)) && (await unlink(io, child, value))) return;
      emptied = false;
    });
  }
  if (!emptied) return false;
  const last = await omapPage(io, dirOid(key), '', 1);
  if (last.rc === ENOENT) return true;
  expectOk(last.rc, `read directory ${dirOid(key)}`);
  if (last.entries.length > 0) return false;
  const { rc } = await writeOp(io, dirOid(key), { assertVersion: last.version, removeObject: true });
  return rc === 0 || rc === ENOENT;
}

/** Runs `fn` over `items` with at most `limit` at once; the first failure rejects (after the others settle). */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
