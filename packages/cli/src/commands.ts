/** The file commands: ls, stat, cat, get, put, mv, rm, tree, du, url. */
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { readAll, type FileInfo, type StorageDriver } from '@storagedriver/core';

import { UsageError } from './backend.js';
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

function describe(info: FileInfo): Record<string, unknown> {
  return { path: info.path, size: info.size, modTime: info.modTime.toISOString(), isDir: info.isDir };
}

export async function ls(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  const entries = (await driver.list(path)).sort();
  out.result(entries.join('\n'), { path, entries });
}

export async function stat(driver: StorageDriver, out: Output, path: string): Promise<void> {
  const info = await driver.stat(path);
  out.result(`${info.path}\t${info.isDir ? 'directory' : `${info.size} bytes`}\t${info.modTime.toISOString()}`, describe(info));
}

export async function cat(driver: StorageDriver, out: Output, path: string): Promise<void> {
  if (out.json) {
    const content = await readAll(await driver.reader(path));
    out.result(undefined, { path, size: content.length, base64: content.toString('base64') });
    return;
  }
  await pipeline(await driver.reader(path), process.stdout, { end: false });
}

/** `get PATH [FILE|-]`: streams the object to a file (default: its base name) or stdout. */
export async function get(driver: StorageDriver, out: Output, path: string, file?: string): Promise<void> {
  const target = file ?? path.slice(path.lastIndexOf('/') + 1);
  const { size } = await driver.stat(path);
  const progress = out.progress(`get ${path}`, { total: size });
  let bytes = 0;
  const sink: Writable = target === '-' ? process.stdout : createWriteStream(target);
  await pipeline(await driver.reader(path), counting((n) => ((bytes += n), progress.advance(n))), sink, { end: target !== '-' });
  progress.finish();
  if (target !== '-') out.result(`${path} → ${target} (${humanSize(bytes)})`, { path, file: target, bytes });
}

/** `put FILE|- PATH`: streams a file or stdin into a writer and commits it. */
export async function put(driver: StorageDriver, out: Output, file: string, path: string): Promise<void> {
  const source: Readable = file === '-' ? process.stdin : createReadStream(file);
  const total = file === '-' ? undefined : (await import('node:fs/promises')).stat(file).then((s) => s.size);
  const progress = out.progress(`put ${path}`, { total: total === undefined ? undefined : await total });
  const writer = await driver.writer(path);
  try {
    await pipeline(source, counting((n) => progress.advance(n)), writer.writable());
    await writer.commit();
  } catch (error) {
    await writer.cancel().catch(() => undefined);
    throw error;
  }
  progress.finish();
  out.result(`${file === '-' ? 'stdin' : file} → ${path} (${humanSize(writer.size)})`, { path, file, bytes: writer.size });
}

export async function mv(driver: StorageDriver, out: Output, from: string, to: string): Promise<void> {
  await driver.move(from, to);
  out.result(`${from} → ${to}`, { from, to });
}

export async function rm(driver: StorageDriver, out: Output, path: string): Promise<void> {
  await driver.delete(path);
  out.result(`deleted ${path}`, { deleted: path });
}

/** Walks the tree; with --json a JSON array streamed entry by entry (memory stays flat on huge trees). */
export async function tree(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  let first = true;
  if (out.json) process.stdout.write('[');
  await driver.walk(path, (info) => {
    if (out.json) {
      process.stdout.write(`${first ? '' : ','}\n${JSON.stringify(describe(info))}`);
      first = false;
    } else {
      process.stdout.write(`${info.path}${info.isDir ? '/' : `  ${humanSize(info.size)}`}\n`);
    }
  });
  if (out.json) process.stdout.write('\n]\n');
}

export async function du(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  let files = 0;
  let bytes = 0;
  const progress = out.progress(`du ${path}`, { unit: 'items' });
  await driver.walk(path, (info) => {
    if (info.isDir) return;
    files++;
    bytes += info.size;
    progress.advance(1);
  });
  progress.finish();
  out.result(`${humanSize(bytes)} (${bytes} bytes) in ${files} files under ${path}`, { path, files, bytes });
}

export async function url(driver: StorageDriver, out: Output, path: string, method = 'GET'): Promise<void> {
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'HEAD') throw new UsageError(`--method ${method}: GET or HEAD`);
  const redirect = await driver.redirectURL(path, { method: upper });
  if (redirect === undefined) throw new Error(`the ${driver.name} driver, as configured, issues no redirect URLs`);
  out.result(redirect, { path, method: upper, url: redirect });
}
