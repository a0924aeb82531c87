import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvalidParameterError, create, registeredDrivers } from '@storagedriver/core';
import { patternBytes, verifyPatternStream } from '@storagedriver/testsuite';

import { parseGcsParameters } from '../src/index.js';

import { createBucket, endpoint, newDriver, rawBucket, serviceAccountKey } from './support/server.js';

const KiB = 1024;
const CHUNK = 256 * KiB;
let bucket: string;

beforeAll(async () => {
  bucket = await createBucket('gcs');
});

async function allNames(prefix = ''): Promise<string[]> {
  const [files] = await rawBucket(bucket).getFiles({ prefix });
  return files.map((file) => file.name).sort();
}

function httpGet(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('pending uploads: abortUpload removes every object of the upload, intermediate composites too; chunks left by the committed upload are not pending', async () => {
  const driver = newDriver(bucket);
  const pending = async (path: string) => {
    const found = [];
    for await (const upload of driver.uploads(path)) found.push(upload);
    return found;
  };
  const writer = await driver.writer('/pending/a');
  await writer.write(patternBytes(3 * 5 * CHUNK + 7, 20));
  await writer.close();
  const [upload, ...more] = await pending('/pending');
  expect(more).toEqual([]);
  expect(upload).toMatchObject({ path: '/pending/a', size: 3 * 5 * CHUNK + 7 });
  // What a commit in rounds that failed midway leaves beside the chunks.
  await rawBucket(bucket).file(`~uploads/pending/a~/${upload!.id}/c0-000000`).save('composite');
  expect(await allNames('~uploads/')).toHaveLength(5);
  await driver.abortUpload('/pending/a', upload!.id);
  expect(await allNames('~uploads/')).toEqual([]);
  expect(await pending('/')).toEqual([]);

  const committed = await driver.writer('/pending/b');
  await committed.write(patternBytes(CHUNK, 21));
  await committed.commit();
  const [marked] = await rawBucket(bucket).file('pending/b').getMetadata();
  const uploadId = String(marked.metadata?.['storagedriver-upload']);
  // A clean-up that failed after the commit: its chunk is back, and is no pending upload.
  await rawBucket(bucket).file(`~uploads/pending/b~/${uploadId}/000000`).save('leftover');
  expect(await pending('/pending')).toEqual([]);
  await rawBucket(bucket).deleteFiles({ prefix: '~uploads/' });
  await driver.delete('/pending');
});

test('registers as gcs; parameters are parsed strictly', async () => {
  expect(registeredDrivers()).toContain('gcs');
  expect(() => parseGcsParameters({})).toThrow(/bucket/);
  expect(() => parseGcsParameters({ bucket: 'b', chunksize: 100 * KiB })).toThrow(InvalidParameterError);
  expect(() => parseGcsParameters({ bucket: 'b', chunksize: '300KiB' })).toThrow(/multiple of 256 KiB/);
  expect(parseGcsParameters({ bucket: 'b', chunksize: '512KiB' }).chunkSize).toBe(512 * KiB);
  expect(parseGcsParameters({ bucket: 'b' })).toMatchObject({ chunkSize: 16 * 1024 * KiB, maxConcurrency: 50, answerTimeoutMs: 30_000 });
  expect(parseGcsParameters({ bucket: 'b', answertimeout: '2.5s' }).answerTimeoutMs).toBe(2500);
  expect(() => parseGcsParameters({ bucket: 'b', answertimeout: 'never' })).toThrow(/answertimeout/);
  expect(parseGcsParameters({ bucket: 'b', maxconcurrency: 3 }).maxConcurrency).toBe(25);
  expect(() => parseGcsParameters({ bucket: 'b', keyfile: '/nonexistent/key.json' })).toThrow(/keyfile/);
  expect(() => parseGcsParameters({ bucket: 'b', credentials: { client_email: 'x' } })).toThrow(/private_key/);
  expect(() => parseGcsParameters({ bucket: 'b', apiendpoint: 'localhost:4443' })).toThrow(/apiendpoint/);
  const keyfile = join(tmpdir(), `gcs-key-${process.pid}.json`);
  writeFileSync(keyfile, JSON.stringify(serviceAccountKey()));
  expect(parseGcsParameters({ bucket: 'b', keyfile }).credentials?.client_email).toMatch(/@/);

  const driver = await create('gcs', { bucket, apiendpoint: endpoint(), rootdirectory: 'factory' });
  await driver.putContent('/made/by/factory', 'yes');
  expect((await rawBucket(bucket).file('factory/made/by/factory').download())[0].toString()).toBe('yes');
  await driver.delete('/made');
});

test('an interrupted upload resumes from a new driver instance at its last whole chunk', async () => {
  const first = newDriver(bucket, { chunkSize: CHUNK });
  const writer = await first.writer('/resume/blob');
  // Three whole chunks reach the service; the 1000 bytes still buffered die with the process.
  await writer.write(patternBytes(3 * CHUNK + 1000, 3));
  // write() resolves once the chunks are handed to the uploader (four upload at once): wait until
  // the service holds all three, however slow the machine is (a fixed 200 ms sleep raced them).
  for (const deadline = Date.now() + 10_000; (await allNames('~uploads/resume/blob~/')).length < 3 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const resumed = await newDriver(bucket, { chunkSize: CHUNK }).writer('/resume/blob', { append: true });
  expect(resumed.size).toBe(3 * CHUNK);
  await resumed.write(patternBytes(2 * CHUNK + 77, 3, resumed.size));
  await resumed.commit();
  await verifyPatternStream(await first.reader('/resume/blob'), 5 * CHUNK + 77, 3);
  expect(await allNames('~uploads/')).toEqual([]);
  await first.delete('/resume');
});

test('a commit with no bytes written makes an empty object', async () => {
  const driver = newDriver(bucket);
  const writer = await driver.writer('/empty/object');
  await writer.commit();
  expect(await driver.stat('/empty/object')).toMatchObject({ size: 0, isDir: false });
  expect((await driver.getContent('/empty/object')).length).toBe(0);
  await driver.delete('/empty');
});

test('more chunks than one compose call takes (32) are composed in rounds, and nothing is left behind', async () => {
  const driver = newDriver(bucket, { chunkSize: CHUNK, uploadConcurrency: 8 });
  const size = 70 * CHUNK + 5;
  const writer = await driver.writer('/many/chunks');
  await writer.write(patternBytes(size, 4));
  await writer.commit();
  await verifyPatternStream(await driver.reader('/many/chunks'), size, 4);
  expect(await allNames('~uploads/')).toEqual([]);
  await driver.delete('/many');
});

test('cancel leaves no upload state visible to list, walk or a raw listing', async () => {
  const driver = newDriver(bucket, { chunkSize: CHUNK });
  const writer = await driver.writer('/cancel/blob');
  await writer.write(patternBytes(2 * CHUNK + 10, 5));
  await writer.close();
  expect((await allNames('~uploads/')).length).toBe(3);
  expect(await driver.list('/')).not.toContain('/~uploads');
  const walked: string[] = [];
  await driver.walk('/', (info) => void walked.push(info.path));
  expect(walked.some((path) => path.includes('~'))).toBe(false);
  const again = await newDriver(bucket, { chunkSize: CHUNK }).writer('/cancel/blob', { append: true });
  expect(again.size).toBe(2 * CHUNK + 10);
  await again.cancel();
  expect(await allNames('~uploads/')).toEqual([]);
  await expect(driver.stat('/cancel/blob')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
});

test('chunks left behind by a committed upload are never resumed as an upload', async () => {
  const driver = newDriver(bucket, { chunkSize: CHUNK });
  const writer = await driver.writer('/stale/blob');
  await writer.write(patternBytes(CHUNK + 3, 6));
  await writer.commit();
  // As if deleting the chunks after the compose had failed.
  const [metadata] = await rawBucket(bucket).file('stale/blob').getMetadata();
  const uploadId = metadata.metadata?.['storagedriver-upload'] as string;
  await rawBucket(bucket).file(`~uploads/stale/blob~/${uploadId}/000000`).save(patternBytes(CHUNK, 99));
  const append = await driver.writer('/stale/blob', { append: true });
  expect(append.size).toBe(CHUNK + 3);
  await append.write(patternBytes(10, 6, CHUNK + 3));
  await append.commit();
  await verifyPatternStream(await driver.reader('/stale/blob'), CHUNK + 13, 6);
  expect(await allNames('~uploads/')).toEqual([]);
  await driver.delete('/stale');
});

test('a non-empty rootdirectory keeps every object under it, and upload chunks beside it in <root>~uploads/', async () => {
  const driver = newDriver(bucket, { rootDirectory: '/tenant/a/', chunkSize: CHUNK });
  await driver.putContent('/x/one', 'one');
  const open = await driver.writer('/x/pending');
  await open.write(patternBytes(CHUNK, 7));
  await open.close();
  const writer = await driver.writer('/x/two');
  await writer.write('two');
  await writer.commit();
  await driver.move('/x/two', '/y/three');
  const names = (await allNames()).filter((name) => !name.startsWith('factory/'));
  expect(names.every((name) => name.startsWith('tenant/a/') || name.startsWith('tenant/a~uploads/'))).toBe(true);
  expect(names.some((name) => name.startsWith('tenant/a~uploads/x/pending~/'))).toBe(true);
  expect(names).toEqual(expect.arrayContaining(['tenant/a/x/one', 'tenant/a/y/three']));
  expect(await driver.list('/')).toEqual(['/x', '/y']);
  await (await driver.writer('/x/pending', { append: true })).cancel();
  await driver.delete('/x');
  await driver.delete('/y');
  expect((await allNames('tenant/')).length).toBe(0);
});

test('a V4 signed URL made offline from a service-account key serves GET from the emulator', async () => {
  const key = serviceAccountKey();
  const driver = newDriver(bucket, { credentials: key });
  const data = patternBytes(40_000, 8);
  await driver.putContent('/signed/object', data);
  const url = new URL((await driver.redirectURL('/signed/object', { method: 'GET' }))!);
  expect(url.origin).toBe(endpoint());
  expect(url.pathname).toBe(`/${bucket}/signed/object`);
  expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
  expect(url.searchParams.get('X-Goog-Credential')).toMatch(new RegExp(`^${key.client_email}/\\d{8}/auto/storage/goog4_request$`));
  expect(url.searchParams.get('X-Goog-Expires')).toBe('1200');
  expect(url.searchParams.get('X-Goog-Signature')).toMatch(/^[0-9a-f]{512}$/);
  const got = await httpGet(url.toString());
  expect(got.status).toBe(200);
  expect(got.body.equals(data)).toBe(true);
  // Without a key there is nothing to sign with.
  expect(await newDriver(bucket).redirectURL('/signed/object', { method: 'GET' })).toBeUndefined();
  await driver.delete('/signed');
});

test('apiendpoint is parsed at creation: a malformed URL is InvalidParameterError, not a failure at first use', async () => {
  for (const apiendpoint of ['http://bad host', 'http://127.0.0.1:99999', 'ftp://127.0.0.1:4443', 'http://user:secret@127.0.0.1:4443', 'http://127.0.0.1:4443/?x=1']) {
    const made = Promise.resolve().then(() => create('gcs', { bucket, apiendpoint }));
    await expect(made).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(made).rejects.toThrow(/apiendpoint/);
  }
  expect(parseGcsParameters({ bucket: 'b', apiendpoint: 'http://127.0.0.1:4443/' }).apiEndpoint).toBe('http://127.0.0.1:4443');
});

test('an upload in flight below a nested root is invisible to a driver rooted above it: no /inner, no invalid paths', async () => {
  const outer = newDriver(bucket, { rootDirectory: 'nest' });
  const inner = newDriver(bucket, { rootDirectory: 'nest/inner', chunkSize: CHUNK });
  await outer.putContent('/visible', 'x');
  const writer = await inner.writer('/pending/blob');
  await writer.write(patternBytes(2 * CHUNK + 5, 12));
  await writer.close();
  expect((await allNames('nest/inner~uploads/pending/blob~/')).length).toBe(3);
  expect(await outer.list('/')).toEqual(['/visible']);
  const walked: string[] = [];
  await outer.walk('/', (info) => void walked.push(info.path));
  expect(walked).toEqual(['/visible']);
  await expect(outer.stat('/inner')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  expect(await inner.list('/')).toEqual([]);
  // The upload is still there for its own driver.
  const resumed = await inner.writer('/pending/blob', { append: true });
  expect(resumed.size).toBe(2 * CHUNK + 5);
  await resumed.cancel();
  await outer.delete('/visible');
  expect(await allNames('nest')).toEqual([]);
});

test('list returns each directory once when listing pages repeat its prefix (more than 1000 entries)', async () => {
  // fake-gcs-server puts every prefix at or after the page token on each page, as GCS may: the
  // subdirectories, sorted after the 1000th file, come on both pages.
  const driver = newDriver(bucket, { rootDirectory: 'paged' });
  const paths = [
    ...Array.from({ length: 1001 }, (_, i) => `/dir/f${String(i).padStart(4, '0')}`),
    ...['/dir/s0/x', '/dir/s1/x', '/dir/s2/y/z'],
  ];
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < paths.length) await driver.putContent(paths[next++]!, 'x');
  }));
  const listed = await driver.list('/dir');
  expect(listed.length).toBe(1004);
  expect(new Set(listed).size).toBe(listed.length);
  expect(listed).toEqual(expect.arrayContaining(['/dir/f0000', '/dir/f1000', '/dir/s0', '/dir/s1', '/dir/s2']));
  await driver.delete('/dir');
});
