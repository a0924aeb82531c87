/** The file commands: ls, stat, cat, get, put, mv, cp, rm, tree, du, url, sign, caps. */
import { randomBytes } from 'node:crypto';
import { open, rename, stat as localStat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { readAll, type FileInfo, type SignedMethod, type StorageDriver, type WriteMetadata } from '@storagedriver/core';

import { LocalFileError, UsageError } from './errors.js';
import { interruptible, interruption } from './interrupt.js';
import type { Output } from './output.js';
import { humanSize } from './progress.js';

function counting(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

/** What the backend tells beyond size and time, as given (absent fields left out). */
const DETAILS = ['etag', 'version', 'contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata', 'checksums'] as const;

function describe(info: FileInfo): Record<string, unknown> {
  const details = Object.fromEntries(DETAILS.filter((key) => info[key] !== undefined).map((key) => [key, info[key]]));
  return { path: info.path, size: info.size, modTime: info.modTime.toISOString(), isDir: info.isDir, ...details };
}

/** A failure of the local file system (it names a syscall), as opposed to the backend's typed errors. */
function localOr(error: unknown, file: string): unknown {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string' ? new LocalFileError(file, error) : error;
}

export async function ls(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  const entries = (await driver.list(path)).sort();
  out.result(entries.join('\n'), { path, entries });
}

export async function stat(driver: StorageDriver, out: Output, path: string): Promise<void> {
  const info = await driver.stat(path);
  const details = DETAILS.filter((key) => info[key] !== undefined).map((key) => `\n${key}: ${typeof info[key] === 'object' ? JSON.stringify(info[key]) : String(info[key])}`);
  out.result(`${info.path}\t${info.isDir ? 'directory' : `${info.size} bytes`}\t${info.modTime.toISOString()}${details.join('')}`, describe(info));
}

export async function cat(driver: StorageDriver, out: Output, path: string): Promise<void> {
  if (out.json) {
    const content = await readAll(await driver.reader(path));
    out.result(undefined, { path, size: content.length, base64: content.toString('base64') });
    return;
  }
  await pipeline(await driver.reader(path), process.stdout, { end: false });
}

/**
 * `get PATH [FILE|DIR|-] [--force]`: streams the object to a file (default: its base name; inside DIR
 * when that is a directory) or stdout. An existing file is never replaced without `force`, and then
 * only by a complete download (written beside it, renamed over it). A failed or interrupted get
 * leaves no partial file.
 */
export async function get(driver: StorageDriver, out: Output, path: string, file: string | undefined, options: { force: boolean }): Promise<void> {
  const info = await driver.stat(path);
  if (info.isDir) throw new Error(`${path} is a directory: get downloads one object`);
  if (file === '-') {
    // On a terminal the content itself is on screen: no progress line through it.
    const progress = out.progress(`get ${path}`, { total: info.size, enabled: process.stdout.isTTY !== true });
    try {
      await pipeline(await driver.reader(path), counting((n) => progress.advance(n)), process.stdout, { end: false });
      progress.finish();
    } finally {
      progress.stop();
    }
    return;
  }
  let target = file ?? basename(path);
  if ((await localStat(target).catch(() => undefined))?.isDirectory() === true) target = join(target, basename(path));
  await interruptible(async (signal) => {
    const partial = options.force ? join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.part`) : target;
    const handle = await open(partial, 'wx').catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      throw new LocalFileError(target, error, code === 'ENOENT' ? `no such directory ${dirname(target)}` : undefined);
    });
    const progress = out.progress(`get ${path}`, { total: info.size });
    let bytes = 0;
    try {
      await pipeline(await driver.reader(path, 0, { signal }), counting((n) => ((bytes += n), progress.advance(n))), handle.createWriteStream(), { signal });
      if (partial !== target) await rename(partial, target);
      progress.finish();
    } catch (error) {
      progress.stop();
      // The stream closes the handle, unless the reader failed before there was one.
      await handle.close().catch(() => undefined);
      // Ours alone (created exclusively); already gone if the rename happened.
      await unlink(partial).catch(() => undefined);
      throw interruption(signal, `interrupted; ${target} was not written`) ?? localOr(error, target);
    }
    out.result(`${path} → ${target} (${humanSize(bytes)})`, { path, file: target, bytes });
  });
}

/**
 * `put FILE|- PATH [--content-type T] [--meta K=V ...]`: streams a file or stdin into a writer and
 * commits it; a failure or SIGINT cancels the upload.
 */
export async function put(driver: StorageDriver, out: Output, file: string, path: string, metadata: WriteMetadata = {}): Promise<void> {
  let source: Readable = process.stdin;
  let total: number | undefined;
  if (file !== '-') {
    const handle = await open(file, 'r').catch((error: unknown) => {
      throw new LocalFileError(file, error);
    });
    total = (await handle.stat()).size;
    source = handle.createReadStream();
  }
  await interruptible(async (signal) => {
    const writer = await driver.writer(path, { ...metadata, signal }).catch((error: unknown) => {
      source.destroy();
      throw interruption(signal, `interrupted; the upload to ${path} was cancelled`) ?? error;
    });
    const progress = out.progress(`put ${path}`, { total });
    try {
      await pipeline(source, counting((n) => progress.advance(n)), writer.writable(), { signal });
      // Everything is written: the commit runs to its end even if interrupted now, or it could leave a committed object behind a report of a cancelled upload.
      await writer.commit();
      progress.finish();
    } catch (error) {
      progress.stop();
      // A cancel that fails leaves the upload to the backend's purge, like any failed upload.
      await writer.cancel().catch(() => undefined);
      throw interruption(signal, `interrupted; the upload to ${path} was cancelled`) ?? localOr(error, file);
    }
    out.result(`${file === '-' ? 'stdin' : file} → ${path} (${humanSize(writer.size)})`, { path, file, bytes: writer.size });
  });
}

export async function mv(driver: StorageDriver, out: Output, from: string, to: string): Promise<void> {
  await driver.move(from, to);
  out.result(`${from} → ${to}`, { from, to });
}

export async function cp(driver: StorageDriver, out: Output, from: string, to: string): Promise<void> {
  await driver.copy(from, to);
  out.result(`${from} → ${to}`, { from, to });
}

export async function rm(driver: StorageDriver, out: Output, path: string): Promise<void> {
  await driver.delete(path);
  out.result(`deleted ${path}`, { deleted: path });
}

/**
 * Walks the tree; with --json a JSON array streamed entry by entry (memory stays flat on huge trees).
 * The walk stops as soon as stdout's reader is gone (`tree | head`).
 */
export async function tree(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  let first = true;
  // The array opens with its first entry, so a walk refused at once (a missing path) leaves only the error document on stdout.
  await driver.walk(path, (info) => {
    const line = out.json ? `${first ? '[' : ','}\n${JSON.stringify(describe(info))}` : `${info.path}${info.isDir ? '/' : `  ${humanSize(info.size)}`}\n`;
    first = false;
    return out.write(line) ? undefined : 'stop';
  });
  if (out.json) out.write(`${first ? '[' : ''}\n]\n`);
}

export async function du(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  let files = 0;
  let bytes = 0;
  const progress = out.progress(`du ${path}`, { unit: 'items' });
  try {
    await driver.walk(path, (info) => {
      if (info.isDir) return;
      files++;
      bytes += info.size;
      progress.advance(1);
    });
    progress.finish();
  } finally {
    progress.stop();
  }
  out.result(`${humanSize(bytes)} (${bytes} bytes) in ${files} files under ${path}`, { path, files, bytes });
}

export async function url(driver: StorageDriver, out: Output, path: string, method = 'GET'): Promise<void> {
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'HEAD') throw new UsageError(`--method ${method}: GET or HEAD`, { showUsage: true });
  const redirect = await driver.redirectURL(path, { method: upper });
  if (redirect === undefined) throw new Error(`the ${driver.name} driver, as configured, issues no redirect URLs`);
  out.result(redirect, { path, method: upper, url: redirect });
}

/** `sign PATH [--method GET|HEAD|PUT] [--expires SECONDS] [--content-type T]`: a URL and the headers to send with it. */
export async function sign(driver: StorageDriver, out: Output, path: string, options: { method: string | undefined; expiresIn: number | undefined; contentType: string | undefined }): Promise<void> {
  const method = (options.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') throw new UsageError(`--method ${options.method}: GET, HEAD or PUT`, { showUsage: true });
  const signed = await driver.signedURL(path, { method: method as SignedMethod, expiresIn: options.expiresIn, contentType: options.contentType });
  const headers = Object.entries(signed.headers).map(([name, value]) => `\n${name}: ${value}`);
  out.result(`${signed.url}${headers.join('')}`, { path, method, url: signed.url, headers: signed.headers, expiresAt: signed.expiresAt.toISOString() });
}

/** `caps`: what the driver does natively, as its capabilities say. */
export function caps(driver: StorageDriver, out: Output): void {
  const lines = Object.entries(driver.capabilities).map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') || '—' : String(value)}`);
  out.result(lines.join('\n'), { driver: driver.name, capabilities: driver.capabilities });
}
