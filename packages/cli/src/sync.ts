/**
 * `sync`: copies a tree from one backend to another, streamed, a bounded number of objects at once.
 *
 * Safe to interrupt at any moment: each object goes through the destination's writer and appears only
 * at commit, so a killed run leaves whole objects or none. The next run skips what is already
 * identical, and continues an object whose copy was cut off from the upload the destination kept
 * (reading the source from that offset) instead of starting it again.
 *
 * A registry's storage (`…/docker/registry/v2/`) is copied in steps, so that a registry serving the
 * destination during the sync, or after a killed or failed one, never resolves a reference to
 * something that has not arrived: blobs, then repositories' layer links, then manifest revision links,
 * then everything else, and tag links last. A step starts once the one before it has finished.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { PathNotFoundError, readAll, type FileInfo, type StorageDriver } from '@storagedriver/core';

import type { Output } from './output.js';
import { humanSize } from './progress.js';

/** Objects up to this size are compared and verified by SHA-256 (reading them back is cheap). */
const HASH_LIMIT = 8 * 1024 * 1024;

export interface SyncSummary {
  files: number;
  copied: number;
  resumed: number;
  skipped: number;
  bytesCopied: number;
  failed: { path: string; error: string }[];
  /** Registry objects not attempted because something they may reference failed to copy (the next run copies them). */
  heldBack: number;
}

interface Options {
  from: string;
  to: string;
  concurrency: number;
}

/** The copy order of a registry layout; anything outside one is 'other', copied in walk order. */
const STEPS = ['blobs', 'layer links', 'revisions', 'other', 'tags'] as const;
type Step = (typeof STEPS)[number];
/** Later steps may name what these copy: a failure in one of them holds the later steps back. */
const REFERENCED = new Set<Step>(['blobs', 'layer links', 'revisions']);

function stepOf(path: string): Step {
  const registry = /(?:^|\/)docker\/registry\/v2\/(.*)$/.exec(path)?.[1];
  if (registry === undefined) return 'other';
  if (registry.startsWith('blobs/')) return 'blobs';
  if (!registry.startsWith('repositories/')) return 'other';
  // A repository name's components never start with '_': the first one that does is the registry's own.
  const parts = registry.split('/');
  const own = parts.findIndex((part) => part.startsWith('_'));
  const kind = own < 0 ? '' : parts[own] === '_manifests' ? `_manifests/${parts[own + 1]}` : parts[own]!;
  return kind === '_layers' ? 'layer links' : kind === '_manifests/revisions' ? 'revisions' : kind === '_manifests/tags' ? 'tags' : 'other';
}

function destinationOf(info: FileInfo, options: Options): string {
  const relative = options.from === '/' ? info.path : info.path.slice(options.from.length);
  return options.to === '/' ? relative : `${options.to}${relative}`;
}

async function sha256Of(driver: StorageDriver, path: string): Promise<string> {
  return createHash('sha256').update(await readAll(await driver.reader(path))).digest('hex');
}

async function statOrMissing(driver: StorageDriver, path: string): Promise<FileInfo | undefined> {
  try {
    return await driver.stat(path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/** Already there: same size, and the same SHA-256 for small objects or a copy newer than the source for large ones. */
async function identical(source: StorageDriver, info: FileInfo, destination: StorageDriver, existing: FileInfo | undefined, path: string): Promise<boolean> {
  if (existing === undefined || existing.isDir || existing.size !== info.size) return false;
  if (info.size <= HASH_LIMIT) return (await sha256Of(source, info.path)) === (await sha256Of(destination, path));
  return existing.modTime.getTime() >= info.modTime.getTime();
}

function tap(hash: Hash | undefined, onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash?.update(chunk);
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

async function copyOne(source: StorageDriver, info: FileInfo, destination: StorageDriver, path: string, existing: FileInfo | undefined, onBytes: (n: number) => void): Promise<{ resumed: boolean; bytes: number }> {
  let writer;
  if (existing === undefined) {
    // An earlier run may have been cut off in the middle of this object: continue its upload.
    writer = await destination.writer(path, { append: true }).catch((error: unknown) => {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    });
    if (writer !== undefined && writer.size > info.size) {
      await writer.cancel();
      writer = undefined;
    }
  }
  writer ??= await destination.writer(path);
  const offset = writer.size;
  const hash = offset === 0 && info.size <= HASH_LIMIT ? createHash('sha256') : undefined;
  try {
    await pipeline(await source.reader(info.path, offset), tap(hash, onBytes), writer.writable());
    if (writer.size !== info.size) throw new Error(`copied ${writer.size} bytes of ${info.size}: the source changed during the copy`);
    await writer.commit();
  } catch (error) {
    // Keep the upload for the next run to continue, unless it is wrong.
    if (writer.size > info.size) await writer.cancel().catch(() => undefined);
    else await writer.close().catch(() => undefined);
    throw error;
  }
  const copied = await destination.stat(path);
  if (copied.size !== info.size) throw new Error(`verification failed: ${path} has ${copied.size} bytes, the source ${info.size}`);
  if (hash !== undefined && (await sha256Of(destination, path)) !== hash.digest('hex')) throw new Error(`verification failed: ${path} differs from the source`);
  return { resumed: offset > 0, bytes: info.size - offset };
}

export async function sync(source: StorageDriver, destination: StorageDriver, out: Output, options: Options): Promise<SyncSummary> {
  const files: FileInfo[] = [];
  await source.walk(options.from, (info) => void (info.isDir || files.push(info)));
  const total = files.reduce((sum, info) => sum + info.size, 0);
  const summary: SyncSummary = { files: files.length, copied: 0, resumed: 0, skipped: 0, bytesCopied: 0, failed: [], heldBack: 0 };
  const progress = out.progress(`sync ${files.length} objects`, { total });

  const copyAll = async (batch: FileInfo[]): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(options.concurrency, batch.length) }, async () => {
      while (next < batch.length) {
        const info = batch[next++]!;
        const path = destinationOf(info, options);
        try {
          const existing = await statOrMissing(destination, path);
          if (await identical(source, info, destination, existing, path)) {
            summary.skipped++;
            progress.advance(info.size, `skipped ${summary.skipped}`);
            continue;
          }
          const { resumed, bytes } = await copyOne(source, info, destination, path, existing, (n) => progress.advance(n));
          summary.copied++;
          summary.bytesCopied += bytes;
          if (resumed) {
            summary.resumed++;
            progress.advance(info.size - bytes);
          }
        } catch (error) {
          summary.failed.push({ path: info.path, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }));
  };

  let holding = false;
  for (const step of STEPS) {
    const batch = files.filter((info) => stepOf(info.path) === step);
    if (holding) {
      summary.heldBack += batch.length;
      continue;
    }
    const failedBefore = summary.failed.length;
    await copyAll(batch);
    holding = REFERENCED.has(step) && summary.failed.length > failedBefore;
  }
  progress.finish();
  const failures = summary.failed.map((f) => `  failed ${f.path}: ${f.error}`).join('\n');
  out.result(
    `${summary.files} objects (${humanSize(total)}): ${summary.copied} copied (${summary.resumed} resumed, ${humanSize(summary.bytesCopied)}), ` +
      `${summary.skipped} already identical, ${summary.failed.length} failed` +
      `${summary.heldBack === 0 ? '' : `, ${summary.heldBack} held back (registry links and tags wait for the failed objects they may name)`}` +
      `${failures === '' ? '' : `\n${failures}`}`,
    summary,
  );
  return summary;
}
