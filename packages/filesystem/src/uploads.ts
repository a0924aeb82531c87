/**
 * Pending uploads on disk. A writer's upload is the file `~staging/<sha256 of its path>/<name>`
 * beside its record `<name>.json` — the path it commits to and the metadata it started with — which
 * is made durable before the upload file exists and removed after it. So every upload file, also
 * one a killed process left behind, has a record that names its path: that is what `uploads`
 * lists and `abortUpload` removes.
 */
import type { Dir } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { DriverError, type PendingUpload, type WriteMetadata, isValidPath, isWithin } from '@storagedriver/core';

import { isMissing, readTextIfPresent } from './fs-errors.js';
import { STAGING_DIR, isUploadDirName, isUploadName, uploadDir, uploadRecordFile, uploadStartedAt } from './layout.js';

/** What `<upload>.json` holds. */
export interface UploadRecord {
  /** The path the upload commits to. */
  readonly path: string;
  /** What the upload started with; every writer that continues it keeps it. */
  readonly metadata: WriteMetadata;
}

/** The record in `file`; undefined when there is none. */
export async function readUploadRecord(file: string): Promise<UploadRecord | undefined> {
  const text = await readTextIfPresent(file);
  if (text === undefined) return undefined;
  let record: Partial<UploadRecord> | null;
  try {
    record = JSON.parse(text) as Partial<UploadRecord> | null;
  } catch (error) {
    throw new DriverError(`unreadable upload record ${file}`, { cause: error });
  }
  if (record === null || !isValidPath(record.path) || typeof record.metadata !== 'object' || record.metadata === null) {
    throw new DriverError(`unreadable upload record ${file}: not {path, metadata}`);
  }
  return record as UploadRecord;
}

/**
 * The uploads of `path` and of every path below it: every upload directory is read entry by entry
 * (so memory stays bounded however many there are), and every upload's record tells its path.
 * Uploads committed, cancelled or aborted meanwhile are skipped.
 */
export async function* pendingUploads(root: string, path: string, signal?: AbortSignal): AsyncGenerator<PendingUpload> {
  const staging = join(root, STAGING_DIR);
  const top = await openDirectory(staging);
  if (top === undefined) return;
  // Each loop closes its directory when it ends, throws or the consumer stops early.
  for await (const dirEntry of top) {
    signal?.throwIfAborted();
    // Not an upload directory: a temporary file of putContent or copy.
    if (!isUploadDirName(dirEntry.name)) continue;
    const dir = join(staging, dirEntry.name);
    const entries = await openDirectory(dir);
    if (entries === undefined) continue;
    for await (const entry of entries) {
      signal?.throwIfAborted();
      if (!isUploadName(entry.name)) continue;
      const upload = await describeUpload(root, dir, entry.name, path);
      if (upload !== undefined) yield upload;
    }
  }
}

/** The upload `name` in `dir` when it is at or below `path`; undefined when it is not, or gone. */
async function describeUpload(root: string, dir: string, name: string, path: string): Promise<PendingUpload | undefined> {
  const file = join(dir, name);
  const record = await readUploadRecord(uploadRecordFile(file));
  // No record: gone since the directory was read (the record goes after the upload file), or an
  // upload started by a version of this driver that kept none, whose path is unknown.
  if (record === undefined || !isWithin(record.path, path)) return undefined;
  // A record copied in from another upload directory: abortUpload, which finds an upload by its path, could not remove it.
  if (uploadDir(root, record.path) !== dir) return undefined;
  try {
    // The bytes on disk are what a writer continuing the upload starts from.
    return { path: record.path, id: name, startedAt: uploadStartedAt(name), size: (await stat(file)).size };
  } catch (error) {
    // Committed, cancelled or aborted since its record was read.
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** `dir` opened for reading entry by entry; undefined when it does not exist (pruned, or never made). */
async function openDirectory(dir: string): Promise<Dir | undefined> {
  try {
    return await opendir(dir);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}
