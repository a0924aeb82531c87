/**
 * Issue 13 on GCS, against fake-gcs-server: metadata (across a resumed upload too), signed URLs,
 * copy, conditional writes, ranged reads, paged listings. What the emulator cannot prove (signature
 * checks, compose preconditions) is said in README.md and covered by signed-url.test.ts.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { InvalidOffsetError, InvalidParameterError, PreconditionFailedError, UnsupportedMethodError } from '@storagedriver/core';
import { patternBytes, verifyPatternStream } from '@storagedriver/testsuite';

import { GcsDriver } from '../src/index.js';

import { createBucket, endpoint, newDriver, rawBucket, serviceAccountKey } from './support/server.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 256 * KiB;
const credentials = serviceAccountKey();
let bucket: string;

beforeAll(async () => {
  bucket = await createBucket('api');
});

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');

const HEADERS = {
  contentType: 'text/plain; charset=utf-8',
  cacheControl: 'public, max-age=60',
  contentDisposition: 'attachment; filename="report.txt"',
  metadata: { owner: 'team-a', 'build-id': '42' },
};

test('claims: what fake-gcs-server proves, signed URLs only with a key, conditional writes only where compose checks them', () => {
  expect(newDriver(bucket, { credentials }).capabilities).toEqual({
    redirectURL: true,
    signedURL: ['GET', 'HEAD', 'PUT'],
    signedURLMaxExpiresIn: 604800,
    writeIfNoneMatch: false,
    writeIfMatch: false,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: true,
    uploads: true,
  });
  expect(newDriver(bucket).capabilities).toMatchObject({ redirectURL: false, signedURL: [], signedURLMaxExpiresIn: 0 });
  expect(newDriver(bucket, { conditionalWrites: true }).capabilities).toMatchObject({ writeIfNoneMatch: true, writeIfMatch: true });
  expect(new GcsDriver({ bucket: 'b' }).capabilities).toMatchObject({ writeIfNoneMatch: true, writeIfMatch: true });
});

describe('metadata', () => {
  test('putContent stores the content headers and metadata; stat returns them with etag, generation and checksums', async () => {
    const driver = newDriver(bucket);
    const data = patternBytes(10_000, 1);
    await driver.putContent('/meta/small', data, HEADERS);
    const info = await driver.stat('/meta/small');
    expect(info).toMatchObject({ ...HEADERS, size: data.length, checksums: { md5: md5(data) } });
    expect(info.metadata).toEqual(HEADERS.metadata);
    const [raw] = await rawBucket(bucket).file('meta/small').getMetadata();
    expect(info.etag).toBe(raw.etag);
    expect(info.version).toBe(String(raw.generation));
    expect(info.checksums?.crc32c).toBe(raw.crc32c);
    // Without options: the default content type, no user metadata, the driver's marker never shown.
    await driver.putContent('/meta/plain', 'x');
    expect(await driver.stat('/meta/plain')).toMatchObject({ contentType: 'application/octet-stream', metadata: {} });
    await driver.delete('/meta');
  });

  test('an object stored with contentEncoding gzip is read back as the stored bytes (no decompressive transcoding)', async () => {
    const driver = newDriver(bucket);
    const gzipped = gzipSync(patternBytes(50_000, 2));
    await driver.putContent('/gz/object', gzipped, { contentEncoding: 'gzip', contentType: 'application/json' });
    expect(await driver.stat('/gz/object')).toMatchObject({ contentEncoding: 'gzip', size: gzipped.length });
    expect((await driver.getContent('/gz/object')).equals(gzipped)).toBe(true);
    expect((await driver.getContent('/gz/object', { offset: 10, length: 100 })).equals(gzipped.subarray(10, 110))).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await driver.reader('/gz/object', 3)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(gzipped.subarray(3))).toBe(true);
    await driver.delete('/gz');
  });

  test('a writer commits with the metadata its upload started with, also when continued from a new instance', async () => {
    const first = newDriver(bucket, { chunkSize: CHUNK });
    const writer = await first.writer('/meta/resumed', HEADERS);
    await writer.write(patternBytes(2 * CHUNK + 100, 3));
    await writer.close();
    // A new instance continues the upload; its own options are ignored (the upload keeps its metadata).
    const resumed = await newDriver(bucket, { chunkSize: CHUNK }).writer('/meta/resumed', { append: true, contentType: 'image/png', metadata: { owner: 'other' } });
    expect(resumed.size).toBe(2 * CHUNK + 100);
    await resumed.write(patternBytes(CHUNK + 7, 3, resumed.size));
    await resumed.commit();
    const info = await first.stat('/meta/resumed');
    expect(info).toMatchObject({ ...HEADERS, size: 3 * CHUNK + 107 });
    expect(info.metadata).toEqual(HEADERS.metadata);
    await verifyPatternStream(await first.reader('/meta/resumed'), 3 * CHUNK + 107, 3);
    // putContent above one chunk goes through the compose writer and keeps its metadata too.
    await first.putContent('/meta/large', patternBytes(3 * CHUNK, 4), { contentType: 'video/mp4', metadata: { k: 'v' } });
    expect(await first.stat('/meta/large')).toMatchObject({ contentType: 'video/mp4', metadata: { k: 'v' }, size: 3 * CHUNK });
    await first.delete('/meta');
  });

  test('a writer replacing an object stores only its own content headers (fake-gcs-server keeps the old ones on compose)', async () => {
    const driver = newDriver(bucket, { chunkSize: CHUNK });
    await driver.putContent('/meta/replaced', 'old', HEADERS);
    const writer = await driver.writer('/meta/replaced', { contentType: 'application/json', metadata: { v: '2' } });
    await writer.write(patternBytes(CHUNK + 5, 10));
    await writer.commit();
    const info = await driver.stat('/meta/replaced');
    expect(info).toMatchObject({ contentType: 'application/json', metadata: { v: '2' }, size: CHUNK + 5 });
    expect(info.cacheControl).toBeUndefined();
    expect(info.contentDisposition).toBeUndefined();
    await verifyPatternStream(await driver.reader('/meta/replaced'), CHUNK + 5, 10);
    expect(await rawBucket(bucket).getFiles({ prefix: '~uploads/meta/' }).then(([files]) => files.length)).toBe(0);
    await driver.delete('/meta');
  });
});

describe('signed URLs', () => {
  test('a browser-style PUT with the returned headers stores the bytes and content type; GET and HEAD serve them', async () => {
    const driver = newDriver(bucket, { credentials });
    const data = patternBytes(30_000, 5);
    const put = await driver.signedURL('/signed/upload', { method: 'PUT', expiresIn: 600, contentType: 'image/png' });
    expect(put.headers).toEqual({ 'content-type': 'image/png' });
    expect(put.method).toBe('PUT');
    expect(Math.abs(put.expiresAt.getTime() - (Date.now() + 600_000))).toBeLessThan(5_000);
    const url = new URL(put.url);
    expect(url.origin).toBe(endpoint());
    expect(url.pathname).toBe(`/${bucket}/signed/upload`);
    expect(url.searchParams.get('X-Goog-SignedHeaders')).toBe('content-type;host');
    const stored = await fetch(put.url, { method: 'PUT', headers: put.headers, body: data });
    expect(stored.status).toBe(200);
    expect((await driver.getContent('/signed/upload')).equals(data)).toBe(true);
    expect(await driver.stat('/signed/upload')).toMatchObject({ contentType: 'image/png', size: data.length });

    await driver.putContent('/signed/meta', data, HEADERS);
    const get = await driver.signedURL('/signed/meta', { method: 'GET' });
    expect(get.headers).toEqual({});
    const got = await fetch(get.url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(HEADERS.contentType);
    expect(got.headers.get('cache-control')).toBe(HEADERS.cacheControl);
    expect(got.headers.get('x-goog-meta-owner')).toBe('team-a');
    expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
    const head = await fetch((await driver.signedURL('/signed/meta', { method: 'HEAD' })).url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    await driver.delete('/signed');
  });

  test('expiry up to 7 days; beyond is refused; without a key nothing is signed', async () => {
    const driver = newDriver(bucket, { credentials });
    const week = await driver.signedURL('/any', { method: 'GET', expiresIn: 604800 });
    expect(new URL(week.url).searchParams.get('X-Goog-Expires')).toBe('604800');
    await expect(driver.signedURL('/any', { method: 'GET', expiresIn: 604801 })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(newDriver(bucket).signedURL('/any', { method: 'GET' })).rejects.toBeInstanceOf(UnsupportedMethodError);
  });
});

describe('copy', () => {
  test('64 MiB is copied server-side, intact, with its content headers and metadata', async () => {
    const driver = newDriver(bucket, { chunkSize: 8 * MiB, uploadConcurrency: 4 });
    const size = 64 * MiB + 5;
    const writer = await driver.writer('/copy/source', HEADERS);
    await writer.write(patternBytes(size, 6));
    await writer.commit();
    await driver.copy('/copy/source', '/copy/dest');
    const [source, dest] = await Promise.all([driver.stat('/copy/source'), driver.stat('/copy/dest')]);
    expect(dest).toMatchObject({ ...HEADERS, size });
    expect(dest.metadata).toEqual(HEADERS.metadata);
    expect(dest.checksums?.crc32c).toBe(source.checksums?.crc32c);
    await verifyPatternStream(await driver.reader('/copy/dest'), size, 6);
    await expect(driver.copy('/copy/missing', '/copy/other')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.copy('/copy', '/elsewhere')).rejects.toThrow(/directory/);
    await driver.delete('/copy');
  });
});

/**
 * Claimed on fake-gcs-server only when asked (`conditionalWrites`): uploads check their
 * preconditions atomically there, a compose does not (v1.56.1), so only putContent races here.
 */
describe('conditional writes', () => {
  test('8 concurrent create-only puts: exactly one wins, and its content is there', async () => {
    const driver = newDriver(bucket, { conditionalWrites: true });
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => driver.putContent('/race/object', `writer ${i}`, { ifNoneMatch: '*' })));
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
    expect((await driver.getContent('/race/object')).toString()).toBe(`writer ${winners[0]}`);
    await driver.delete('/race');
  });

  test('8 concurrent puts with the same ifMatch: exactly one replaces the object', async () => {
    const driver = newDriver(bucket, { conditionalWrites: true });
    await driver.putContent('/race/matched', 'original');
    const { etag } = await driver.stat('/race/matched');
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => driver.putContent('/race/matched', `writer ${i}`, { ifMatch: etag })));
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect((await driver.getContent('/race/matched')).toString()).toBe(`writer ${winners[0]}`);
    await driver.delete('/race');
  });

  test('ifMatch: the current etag replaces, a stale one is PreconditionFailed; ifNoneMatch on an existing object too; on putContent and commit', async () => {
    const driver = newDriver(bucket, { chunkSize: CHUNK, conditionalWrites: true });
    await driver.putContent('/cond/object', 'one');
    const first = (await driver.stat('/cond/object')).etag!;
    await driver.putContent('/cond/object', 'two', { ifMatch: first });
    const second = (await driver.stat('/cond/object')).etag!;
    expect(second).not.toBe(first);
    await expect(driver.putContent('/cond/object', 'three', { ifMatch: first })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(driver.putContent('/cond/object', 'three', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(driver.putContent('/cond/absent', 'x', { ifMatch: second })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await driver.getContent('/cond/object')).toString()).toBe('two');

    // The same on a writer's commit (a compose).
    const stale = await driver.writer('/cond/object');
    await stale.write(patternBytes(CHUNK + 1, 7));
    await expect(stale.commit({ ifMatch: first })).rejects.toBeInstanceOf(PreconditionFailedError);
    const current = await driver.writer('/cond/object');
    await current.write(patternBytes(CHUNK + 1, 7));
    await current.commit({ ifMatch: second });
    await verifyPatternStream(await driver.reader('/cond/object'), CHUNK + 1, 7);
    const create = await driver.writer('/cond/new');
    await create.write(patternBytes(2 * CHUNK, 8));
    await create.commit({ ifNoneMatch: '*' });
    const again = await driver.writer('/cond/new');
    await again.write('late');
    await expect(again.commit({ ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await verifyPatternStream(await driver.reader('/cond/new'), 2 * CHUNK, 8);
    await driver.delete('/cond');
  });
});

describe('ranged reads', () => {
  test('exactly the range; a range past the end is InvalidOffset at open', async () => {
    const driver = newDriver(bucket);
    const data = patternBytes(100_000, 9);
    await driver.putContent('/range/object', data);
    expect((await driver.getContent('/range/object', { offset: 99_000, length: 1000 })).equals(data.subarray(99_000))).toBe(true);
    expect((await driver.getContent('/range/object', { offset: 0, length: 1 })).equals(data.subarray(0, 1))).toBe(true);
    expect((await driver.getContent('/range/object', { offset: 100_000, length: 0 })).length).toBe(0);
    await expect(driver.reader('/range/object', 99_000, { length: 1001 })).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.reader('/range/object', 100_001, { length: 1 })).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.getContent('/range/object', { offset: 100_001, length: 0 })).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.getContent('/range/missing', { offset: 0, length: 1 })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await driver.delete('/range');
  });
});

describe('listing', () => {
  test('exists answers file, directory or false', async () => {
    const driver = newDriver(bucket, { rootDirectory: 'exists' });
    await driver.putContent('/dir/file', 'x');
    expect(await driver.exists('/dir/file')).toBe('file');
    expect(await driver.exists('/dir')).toBe('directory');
    expect(await driver.exists('/')).toBe('directory');
    expect(await driver.exists('/di')).toBe(false);
    expect(await driver.exists('/dir/file/below')).toBe(false);
    await driver.delete('/dir');
  });

  test('2 500 files and 3 directories in pages of 1000, each page from a new driver instance: each entry once, in order, files with their etag', async () => {
    const driver = newDriver(bucket, { rootDirectory: 'pages' });
    const names = Array.from({ length: 2500 }, (_, i) => `/dir/f${String(i).padStart(4, '0')}`);
    // Directories before, between and after the files: fake-gcs-server sends every prefix from a
    // page's start on each page, beyond the page's limit.
    const nested = ['/dir/d/x', '/dir/f1200-sub/x', '/dir/z/x'];
    let next = 0;
    const all = [...names, ...nested];
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < all.length) {
        const name = all[next++]!;
        await driver.putContent(name, name);
      }
    }));
    const expected = ['/dir/d', ...names.slice(0, 1201), '/dir/f1200-sub', ...names.slice(1201), '/dir/z'];
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await newDriver(bucket, { rootDirectory: 'pages' }).listPage('/dir', { limit: 1000, cursor });
      expect(page.entries.length).toBeLessThanOrEqual(1000);
      for (const entry of page.entries) {
        if (!entry.isDir) expect(entry.size).toBe(entry.path.length);
        seen.push(entry.path);
      }
      // The listing's etag is the one stat gives (what ifMatch takes).
      const sample = page.entries.find((entry) => !entry.isDir)!;
      expect(sample.etag).toBe((await driver.stat(sample.path)).etag);
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);
    // Left in place: deleting 2 500 objects one request each takes longer than the test (the bucket is this file's own).
  });

});
