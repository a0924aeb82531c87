/**
 * Pending uploads where the suite cannot reach: what a killed process leaves in `~staging`, an abort
 * beside open writers of the same path, and the leftovers of a commit killed half-way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvalidParameterError, PathNotFoundError, type PendingUpload, type StorageDriver, purgeUploads } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../src/index.js';

let temp: string;
beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), 'storagedriver-fs-uploads-'));
});
afterEach(() => rmSync(temp, { recursive: true, force: true }));

const DAY_MS = 24 * 60 * 60 * 1000;

/** Every file below `dir`, hidden ones included, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

async function collect(driver: StorageDriver, path = '/'): Promise<PendingUpload[]> {
  const found: PendingUpload[] = [];
  for await (const upload of driver.uploads(path)) found.push(upload);
  return found;
}

function uploadDirOf(path: string): string {
  return join(temp, '~staging', createHash('sha256').update(path).digest('hex'));
}

/**
 * What a writer of `path` started at `startedAt` leaves when its process is killed after writing
 * `data`: its record, then the upload file. Returns the upload's id.
 */
function leaveUpload(path: string, data: Buffer, startedAt: Date, metadata: Record<string, unknown> = {}): string {
  const id = `${startedAt.getTime().toString(36).padStart(10, '0')}-${randomBytes(6).toString('hex')}`;
  mkdirSync(uploadDirOf(path), { recursive: true });
  writeFileSync(join(uploadDirOf(path), `${id}.json`), JSON.stringify({ path, metadata }));
  writeFileSync(join(uploadDirOf(path), id), data);
  return id;
}

/** The identity (and so the sidecar name) of a file, as the driver computes it. */
function identityOf(file: string): string {
  const info = statSync(file, { bigint: true });
  return `${info.ino.toString(16)}-${info.size.toString(16)}-${info.mtimeNs.toString(16)}`;
}

test('an upload left by a killed process is listed with the bytes on disk and the start time its name records; purge removes it with its record and directory', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  const orphanPath = '/docker/registry/v2/repositories/r/_uploads/u1/data';
  const weekAgo = new Date(Date.now() - 7 * DAY_MS);
  const orphan = leaveUpload(orphanPath, patternBytes(12_345, 1), weekAgo, { contentType: 'application/x-orphan' });
  // A temporary file of a killed putContent has no path: it is not an upload.
  writeFileSync(join(temp, '~staging', `put-${randomBytes(8).toString('hex')}`), 'temporary');
  const young = await driver.writer('/young');
  await young.write(patternBytes(100, 2));
  await young.close();

  const listed = await collect(driver);
  expect(listed.map((u) => [u.path, u.size]).sort()).toEqual([[orphanPath, 12_345], ['/young', 100]]);
  expect(listed.find((u) => u.path === orphanPath)).toEqual({ path: orphanPath, id: orphan, startedAt: weekAgo, size: 12_345 });
  expect(await collect(driver, '/docker/registry')).toEqual([{ path: orphanPath, id: orphan, startedAt: weekAgo, size: 12_345 }]);
  // It is an upload like any other: a writer continues it from its size.
  const resumed = await driver.writer(orphanPath, { append: true });
  expect(resumed.size).toBe(12_345);
  await resumed.close();

  const purged = await purgeUploads(driver, { olderThan: new Date(Date.now() - DAY_MS) });
  expect(purged.map((u) => u.id)).toEqual([orphan]);
  expect(existsSync(uploadDirOf(orphanPath))).toBe(false);
  expect((await collect(driver)).map((u) => u.path)).toEqual(['/young']);
  await expect(driver.writer(orphanPath, { append: true })).rejects.toBeInstanceOf(PathNotFoundError);
  expect(filesUnder(join(temp, '~staging')).filter((file) => !file.startsWith('put-'))).toHaveLength(2);
});

test('abortUpload beside open writers of the same path: the other upload stays and commits; a writer whose own upload was aborted fails its commit and creates no directory', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  const older = await driver.writer('/p');
  await older.write(patternBytes(1000, 3));
  await older.close();
  const newer = await driver.writer('/p');
  await newer.write(patternBytes(2000, 4));
  const first = (await collect(driver, '/p')).find((u) => u.size === 1000)!;
  await driver.abortUpload('/p', first.id);
  expect((await collect(driver, '/p')).map((u) => u.size)).toEqual([2000]);
  await newer.write(patternBytes(500, 5, 2000));
  await newer.commit();
  expect((await driver.getContent('/p')).equals(Buffer.concat([patternBytes(2000, 4), patternBytes(500, 5, 2000)]))).toBe(true);
  // The path's upload directory went with its last upload.
  expect(readdirSync(join(temp, '~staging'))).toEqual([]);

  const open = await driver.writer('/fresh/sub/obj', { contentType: 'text/plain' });
  await open.write(patternBytes(3000, 6));
  const [own] = await collect(driver, '/fresh');
  await driver.abortUpload('/fresh/sub/obj', own!.id);
  await open.write(patternBytes(10, 7));
  await expect(open.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', path: '/fresh/sub/obj' });
  await expect(open.commit()).rejects.toThrow(/aborted/);
  expect(existsSync(join(temp, 'fresh'))).toBe(false);
  await open.cancel();
  expect(filesUnder(temp)).toEqual(['p']);
});

test('aborting the last upload of a path while writers start new ones there: no writer fails, and each new upload commits whole (50 rounds)', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  for (let round = 0; round < 50; round++) {
    const old = await driver.writer('/race');
    await old.write('old');
    await old.close();
    const [upload] = await collect(driver, '/race');
    const aborted = driver.abortUpload('/race', upload!.id);
    // The writers start once the record is gone: as the abort prunes the directory.
    for (let i = 0; i < 1000 && existsSync(join(uploadDirOf('/race'), `${upload!.id}.json`)); i++) await new Promise(setImmediate);
    const [, ...writers] = await Promise.all([aborted, driver.writer('/race'), driver.writer('/race'), driver.writer('/race')]);
    for (const [i, writer] of writers.entries()) await writer.write(`round ${round} writer ${i}`);
    for (const writer of writers) await writer.commit();
    expect((await driver.getContent('/race')).toString()).toBe(`round ${round} writer 2`);
  }
  expect(await collect(driver)).toEqual([]);
});

test('a commit killed after writing its sidecar: abortUpload removes the sidecar with the upload; one killed after its create-only link keeps the committed content and its metadata', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  const killed = await driver.writer('/m', { contentType: 'text/m' });
  await killed.write('m content');
  await killed.close();
  const [m] = await collect(driver);
  const staged = join(uploadDirOf('/m'), m!.id);
  const sidecar = join(temp, '~meta', 'm~', identityOf(staged));
  mkdirSync(join(temp, '~meta', 'm~'), { recursive: true });
  writeFileSync(sidecar, JSON.stringify({ contentType: 'text/m' }));
  await driver.abortUpload('/m', m!.id);
  expect(filesUnder(temp)).toEqual([]);

  const linked = await driver.writer('/n', { contentType: 'text/n' });
  await linked.write('n content');
  await linked.close();
  const [n] = await collect(driver);
  const stagedN = join(uploadDirOf('/n'), n!.id);
  mkdirSync(join(temp, '~meta', 'n~'), { recursive: true });
  writeFileSync(join(temp, '~meta', 'n~', identityOf(stagedN)), JSON.stringify({ contentType: 'text/n' }));
  linkSync(stagedN, join(temp, 'n'));
  expect(await driver.stat('/n')).toMatchObject({ contentType: 'text/n', size: 9 });
  await expect(driver.abortUpload('/n', '../n')).rejects.toBeInstanceOf(InvalidParameterError);
  await driver.abortUpload('/n', n!.id);
  expect(await driver.stat('/n')).toMatchObject({ contentType: 'text/n', size: 9 });
  expect((await driver.getContent('/n')).toString()).toBe('n content');
  expect(await collect(driver)).toEqual([]);
});

test('listing reads staging entry by entry: stopping early closes every directory it opened', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  for (let i = 0; i < 40; i++) leaveUpload(`/many/${i}`, patternBytes(i, 8), new Date());
  const openFiles = () => readdirSync('/proc/self/fd').length;
  const before = openFiles();
  for (let stopAt = 1; stopAt <= 3; stopAt++) {
    let seen = 0;
    for await (const _ of driver.uploads('/many')) if (++seen === stopAt) break;
  }
  expect(openFiles()).toBe(before);
  expect((await collect(driver, '/many/1')).map((u) => u.path)).toEqual(['/many/1']);
  expect(await collect(driver)).toHaveLength(40);
});
