// Issue 13's calls on Azurite, beyond the shared suite: what Azure stores for them (seen through the
// SDK and through plain HTTPS), and the Azure-specific mechanisms (upload records, block-list commits).
import { createHash } from 'node:crypto';
import { Agent as HttpsAgent, request } from 'node:https';
import { pipeline } from 'node:stream/promises';

import type { HttpClient } from '@azure/core-rest-pipeline';
import { createDefaultHttpClient } from '@azure/core-rest-pipeline';
import { BlobServiceClient, StorageSharedKeyCredential, newPipeline } from '@azure/storage-blob';
import { InvalidOffsetError, InvalidParameterError, PathNotFoundError, PreconditionFailedError, type FileInfo, type StorageDriver } from '@storagedriver/core';
import { patternBytes, patternStream, verifyPatternStream } from '@storagedriver/testsuite';

import { AzureBackend } from '../src/index.js';

import { connection, createContainer, driverOptions, newDriver, rawContainer, trustingAgent } from './support/server.js';

const MiB = 1024 * 1024;
let container: string;

beforeAll(async () => {
  container = await createContainer('api');
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One plain HTTPS request (no SDK): what a browser or curl would do with a signed URL. */
function send(url: string, method: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(body.length) }, agent: trustingAgent() }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A driver whose every HTTP request is recorded as `METHOD ?query`. */
function countingDriver(): { driver: StorageDriver; requests: string[] } {
  const { endpoint, accountName, accountKey } = connection();
  const requests: string[] = [];
  const inner = createDefaultHttpClient();
  const agent = new HttpsAgent({ ca: connection().ca, keepAlive: true });
  const counting: HttpClient = {
    sendRequest: (req) => {
      requests.push(`${req.method} ${new URL(req.url).search}`);
      req.agent = agent;
      return inner.sendRequest(req);
    },
  };
  const pipe = newPipeline(new StorageSharedKeyCredential(accountName, accountKey));
  (pipe as unknown as { _coreHttpClient: HttpClient })._coreHttpClient = counting;
  return { driver: newDriver(container, { client: new BlobServiceClient(endpoint, pipe).getContainerClient(container) }), requests };
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');

const HEADERS = { contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=60', contentDisposition: 'attachment; filename="a b.txt"', contentEncoding: 'identity' };
const METADATA = { 'build-id': '42', owner: 'team-a', 'x-y-z': 'v a l' };

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

test('claims: everything issue 13 adds, signed URLs for 7 days at most', () => {
  expect(newDriver(container).capabilities).toEqual({
    redirectURL: true,
    signedURL: ['GET', 'HEAD', 'PUT'],
    signedURLMaxExpiresIn: 604_800,
    writeIfNoneMatch: true,
    writeIfMatch: true,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: true,
    uploads: true,
  });
  // A SAS connection string has nothing to sign with: no redirect, no signed URLs.
  const sas = newDriver(container, { connectionString: 'BlobEndpoint=https://127.0.0.1:1/acct;SharedAccessSignature=sv=2020-08-04&sig=abc', credentials: undefined, accountName: undefined, serviceUrl: undefined });
  expect(sas.capabilities).toMatchObject({ redirectURL: false, signedURL: [], signedURLMaxExpiresIn: 0 });
});

test('headers and metadata are stored natively ("-" as "_" in Azure names) and read back by stat and by a plain GET of a signed URL', async () => {
  const driver = newDriver(container);
  const data = patternBytes(70_000, 1);
  await driver.putContent('/meta/put', data, { ...HEADERS, metadata: METADATA });
  const properties = await rawContainer(container).getBlobClient('meta/put').getProperties();
  expect(properties).toMatchObject({ contentType: HEADERS.contentType, cacheControl: HEADERS.cacheControl, contentDisposition: HEADERS.contentDisposition, contentEncoding: HEADERS.contentEncoding });
  expect(properties.metadata).toEqual({ build_id: '42', owner: 'team-a', x_y_z: 'v a l' });
  const info = await driver.stat('/meta/put');
  expect(info).toMatchObject({ ...HEADERS, metadata: METADATA, etag: properties.etag, size: data.length, checksums: { md5: md5(data) } });
  expect(info.etag).toMatch(/^"0x[0-9A-F]+"$/);

  const signed = await driver.signedURL('/meta/put', { method: 'GET', expiresIn: 60 });
  expect(signed).toMatchObject({ method: 'GET', headers: {} });
  const got = await send(signed.url, 'GET');
  expect(got.status).toBe(200);
  expect(got.body.equals(data)).toBe(true);
  expect(got.headers).toMatchObject({
    'content-type': HEADERS.contentType, 'cache-control': HEADERS.cacheControl, 'content-disposition': HEADERS.contentDisposition, 'content-encoding': HEADERS.contentEncoding,
    'x-ms-meta-build_id': '42', 'x-ms-meta-owner': 'team-a', 'x-ms-meta-x_y_z': 'v a l', etag: info.etag, 'content-md5': md5(data),
  });
  const head = await send((await driver.signedURL('/meta/put', { method: 'HEAD', expiresIn: 60 })).url, 'HEAD');
  expect(head.status).toBe(200);
  expect(head.headers['content-length']).toBe(String(data.length));

  // Without options: Azure's usual octet-stream, no metadata; a writer's commit too, with the MD5 it computed over every byte.
  await driver.putContent('/meta/plain', 'x');
  expect(await driver.stat('/meta/plain')).toMatchObject({ contentType: 'application/octet-stream', metadata: {}, checksums: { md5: md5(Buffer.from('x')) } });
  const blocks = patternBytes(3 * MiB + 5, 2);
  const writer = await newDriver(container, { blockSize: MiB }).writer('/meta/written', { contentType: 'application/x-tar', metadata: { a: 'b' } });
  await writer.write(blocks);
  await writer.commit();
  expect(await driver.stat('/meta/written')).toMatchObject({ contentType: 'application/x-tar', metadata: { a: 'b' }, checksums: { md5: md5(blocks) } });
  await driver.delete('/meta');
});

test('a browser-style PUT to a signed URL with the returned headers stores the bytes; a tampered or expired URL is refused', async () => {
  const driver = newDriver(container);
  const before = Date.now();
  const signed = await driver.signedURL('/signed/upload', { method: 'PUT', expiresIn: 300, contentType: 'image/png' });
  expect(signed.headers).toEqual({ 'x-ms-blob-type': 'BlockBlob', 'content-type': 'image/png' });
  expect(signed.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 300_000);
  expect(signed.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 300_000);
  expect(new URL(signed.url).searchParams.get('sp')).toBe('cw');
  const data = patternBytes(123_457, 3);
  expect((await send(signed.url, 'PUT', signed.headers, data)).status).toBe(201);
  expect((await driver.getContent('/signed/upload')).equals(data)).toBe(true);
  expect(await driver.stat('/signed/upload')).toMatchObject({ contentType: 'image/png', size: data.length });

  // Tampered: another signature, another blob under the same signature, more permissions.
  const url = new URL(signed.url);
  const sig = url.searchParams.get('sig')!;
  const otherSig = new URL(signed.url);
  otherSig.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
  const otherBlob = signed.url.replace('/signed/upload?', '/signed/other?');
  const morePermissions = new URL(signed.url);
  morePermissions.searchParams.set('sp', 'cwd');
  for (const tampered of [otherSig.toString(), otherBlob, morePermissions.toString()]) {
    expect((await send(tampered, 'PUT', signed.headers, Buffer.from('evil'))).status).toBe(403);
  }
  expect((await driver.getContent('/signed/upload')).equals(data)).toBe(true);
  await expect(driver.exists('/signed/other')).resolves.toBe(false);
  // A GET URL cannot write; a PUT URL cannot read.
  expect((await send((await driver.signedURL('/signed/upload', { method: 'GET', expiresIn: 60 })).url, 'PUT', signed.headers, Buffer.from('evil'))).status).toBe(403);
  expect((await send(signed.url, 'GET')).status).toBe(403);
  // Expired: a URL signed for 1 s, 10 minutes ago (past the 5 minutes of clock skew it allows at the start).
  const realNow = Date.now();
  const clock = jest.spyOn(Date, 'now').mockReturnValue(realNow - 10 * 60 * 1000);
  const old = await driver.signedURL('/signed/upload', { method: 'GET', expiresIn: 1 });
  clock.mockRestore();
  expect((await send(old.url, 'GET')).status).toBe(403);
  // The cap: 7 days.
  await expect(driver.signedURL('/signed/upload', { method: 'GET', expiresIn: 604_801 })).rejects.toBeInstanceOf(InvalidParameterError);
  const week = await driver.signedURL('/signed/upload', { method: 'GET', expiresIn: 604_800 });
  expect((await send(week.url, 'GET')).status).toBe(200);
  await driver.delete('/signed');
});

test('copy of 64 MiB is server-side and keeps the bytes, headers, metadata and MD5; a missing source is PathNotFound', async () => {
  const { driver, requests } = countingDriver();
  const size = 64 * MiB;
  const data = patternBytes(size, 4);
  await driver.putContent('/copy/source', data, { ...HEADERS, metadata: METADATA });
  requests.length = 0;
  await driver.copy('/copy/source', '/copy/dest');
  // One Copy Blob (x-ms-copy-source), then polls only while pending: no bytes through the client.
  expect(requests[0]).toBe('PUT ');
  expect(requests.filter((line) => line.startsWith('GET '))).toEqual([]);
  await verifyPatternStream(await driver.reader('/copy/dest'), size, 4);
  const [source, dest] = [await driver.stat('/copy/source'), await driver.stat('/copy/dest')];
  expect(dest).toMatchObject({ ...HEADERS, metadata: METADATA, size, checksums: { md5: md5(data) } });
  expect(dest.checksums).toEqual(source.checksums);
  await expect(driver.copy('/copy/missing', '/copy/other')).rejects.toBeInstanceOf(PathNotFoundError);
  await expect(driver.exists('/copy/other')).resolves.toBe(false);
  await driver.delete('/copy');
});

test('create-only (ifNoneMatch) races of 8 leave exactly one winner, for putContent and for writer commits', async () => {
  const driver = newDriver(container);
  const contents = Array.from({ length: 8 }, (_, i) => patternBytes(50_000 + i, 20 + i));
  const puts = await Promise.allSettled(contents.map((content, i) => driver.putContent('/race/put', content, { ifNoneMatch: '*', metadata: { writer: String(i) } })));
  const putWinners = puts.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
  expect(putWinners).toHaveLength(1);
  for (const result of puts) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(PreconditionFailedError);
  expect((await driver.getContent('/race/put')).equals(contents[putWinners[0]!]!)).toBe(true);
  expect((await driver.stat('/race/put')).metadata).toEqual({ writer: String(putWinners[0]) });

  const writers = await Promise.all(contents.map((_, i) => newDriver(container, { blockSize: 16_384 }).writer('/race/writer', { metadata: { writer: String(i) } })));
  await Promise.all(writers.map((writer, i) => writer.write(contents[i]!)));
  const commits = await Promise.allSettled(writers.map((writer) => writer.commit({ ifNoneMatch: '*' })));
  const winners = commits.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
  expect(winners).toHaveLength(1);
  for (const result of commits) if (result.status === 'rejected') expect((result.reason as PreconditionFailedError).code).toBe('PRECONDITION_FAILED');
  const won = await driver.stat('/race/writer');
  expect(won.metadata).toEqual({ writer: String(winners[0]) });
  expect((await driver.getContent('/race/writer')).equals(contents[winners[0]!]!)).toBe(true);
  // The losers' cancels leave the winner's blob exactly as it is, ETag included (no re-commit), and
  // no append continues a loser's upload.
  await Promise.all(writers.map((writer, i) => (winners.includes(i) ? undefined : writer.cancel())));
  expect((await driver.stat('/race/writer')).etag).toBe(won.etag);
  expect((await driver.getContent('/race/writer')).equals(contents[winners[0]!]!)).toBe(true);
  expect((await driver.writer('/race/writer', { append: true })).size).toBe(won.size);
  await driver.delete('/race');
});

test('ifMatch replaces only the blob with that ETag (a listing ETag works too); a refused put leaves the blob and its ETag', async () => {
  const driver = newDriver(container);
  await driver.putContent('/match/x', 'one');
  const first = (await driver.stat('/match/x')).etag!;
  await driver.putContent('/match/x', 'two', { ifMatch: first, contentType: 'text/plain' });
  const second = (await driver.stat('/match/x')).etag!;
  expect(second).not.toBe(first);
  const stale = await failure(driver.putContent('/match/x', 'three', { ifMatch: first }));
  expect(stale).toBeInstanceOf(PreconditionFailedError);
  expect((stale as PreconditionFailedError).path).toBe('/match/x');
  expect((await driver.getContent('/match/x')).toString()).toBe('two');
  expect((await driver.stat('/match/x')).etag).toBe(second);
  // A writer's commit, with the ETag from a listing page.
  const listed = (await driver.listPage('/match')).entries.find((entry) => entry.path === '/match/x')!;
  expect(listed.etag).toBe(second);
  const writer = await driver.writer('/match/x');
  await writer.write('four');
  await expect(writer.commit({ ifMatch: first })).rejects.toBeInstanceOf(PreconditionFailedError);
  await writer.commit({ ifMatch: listed.etag! });
  expect((await driver.getContent('/match/x')).toString()).toBe('four');
  // Nothing at the path: ifMatch fails, ifNoneMatch creates.
  await expect(driver.putContent('/match/none', 'x', { ifMatch: second })).rejects.toBeInstanceOf(PreconditionFailedError);
  await expect(driver.exists('/match/none')).resolves.toBe(false);
  await driver.putContent('/match/none', 'x', { ifNoneMatch: '*' });
  await expect(driver.putContent('/match/none', 'y', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
  await driver.delete('/match');
});

test('a conditional commit tried again after it succeeded recognises its own block list; another upload still fails', async () => {
  const backend = new AzureBackend(driverOptions(container));
  const writer = await backend.writer('/again/x', false);
  await writer.write(Buffer.from('mine'));
  await writer.commit(undefined, { ifNoneMatch: '*' });
  // As if the first answer was lost: the same commit again finds the blob it made.
  await writer.commit(undefined, { ifNoneMatch: '*' });
  const etag = (await backend.stat('/again/x')).etag!;
  const other = await backend.writer('/again/x', false);
  await other.write(Buffer.from('theirs'));
  await expect(other.commit(undefined, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
  // ifMatch: after the commit the ETag changed, and the retry still succeeds.
  const replacing = await backend.writer('/again/x', false);
  await replacing.write(Buffer.from('newer'));
  await replacing.commit(undefined, { ifMatch: etag });
  await replacing.commit(undefined, { ifMatch: etag });
  expect((await backend.getContent('/again/x')).toString()).toBe('newer');
  await other.cancel();
  await backend.delete('/again/x');
});

test('listPage: 2 500 entries in pages, resumed from a cursor in new driver instances, each entry exactly once with its ETag', async () => {
  const client = rawContainer(container);
  const names = Array.from({ length: 2500 }, (_, i) => `pages/f${String(i).padStart(4, '0')}`);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      await client.getBlockBlobClient(name).upload(name, name.length);
    }
  }));
  await client.getBlockBlobClient('pages/sub/inner').upload('x', 1);
  const seen: FileInfo[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await newDriver(container).listPage('/pages', { limit: 700, cursor });
    expect(page.entries.length).toBeLessThanOrEqual(700);
    seen.push(...page.entries);
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined && pages < 10);
  expect(cursor).toBeUndefined();
  expect(seen.map((entry) => entry.path)).toEqual([...names.map((name) => `/${name}`), '/pages/sub']);
  expect(seen.at(-1)).toMatchObject({ isDir: true });
  const sample = seen[1234]!;
  expect(sample).toMatchObject({ size: names[1234]!.length, isDir: false });
  expect(sample.etag).toBe((await newDriver(container).stat(sample.path)).etag);
  // Recursive pages reach into sub/.
  const recursive = await newDriver(container).listPage('/pages/sub', { recursive: true });
  expect(recursive).toEqual({ entries: [expect.objectContaining({ path: '/pages/sub/inner', size: 1 })], cursor: undefined });
  await newDriver(container).delete('/pages');
});

test('a ranged read is one ranged request; a range past the end fails at open with InvalidOffsetError', async () => {
  const { driver, requests } = countingDriver();
  const data = patternBytes(100_000, 5);
  await driver.putContent('/range/x', data);
  requests.length = 0;
  expect((await driver.getContent('/range/x', { offset: 1000, length: 5000 })).equals(data.subarray(1000, 6000))).toBe(true);
  expect(requests).toEqual(['GET ']);
  expect((await driver.getContent('/range/x', { offset: 99_000, length: 1000 })).equals(data.subarray(99_000))).toBe(true);
  expect((await driver.getContent('/range/x', { offset: 100_000, length: 0 })).length).toBe(0);
  for (const [offset, length] of [[99_000, 1001], [100_000, 1], [200_000, 10], [100_001, 0]] as const) {
    const error = await failure(driver.reader('/range/x', offset, { length }));
    expect(error).toBeInstanceOf(InvalidOffsetError);
    expect((error as InvalidOffsetError).offset).toBe(offset + length);
  }
  await expect(driver.getContent('/range/missing', { offset: 0, length: 1 })).rejects.toBeInstanceOf(PathNotFoundError);
  await driver.delete('/range');
});

test('a continued upload commits with the metadata it started with (from a new instance), and its record is removed', async () => {
  const options = { blockSize: MiB };
  const size = 3 * MiB + 77;
  const first = await newDriver(container, options).writer('/resumed/x', { contentType: 'video/mp4', metadata: { step: 'first' } });
  await pipeline(patternStream(2 * MiB + 10, 6), first.writable());
  await first.close();
  const hidden = async (): Promise<string[]> => {
    const found: string[] = [];
    for await (const blob of rawContainer(container).listBlobsFlat({ prefix: '~uploads/' })) found.push(blob.name);
    return found;
  };
  expect(await hidden()).toHaveLength(1);
  // Another instance continues it, asking for other metadata, which is ignored.
  const second = await newDriver(container, options).writer('/resumed/x', { append: true, contentType: 'text/html', metadata: { step: 'second' } });
  expect(second.size).toBe(2 * MiB + 10);
  await second.write(patternBytes(size - (2 * MiB + 10), 6, 2 * MiB + 10));
  await second.commit();
  await verifyPatternStream(await newDriver(container).reader('/resumed/x'), size, 6);
  const info = await newDriver(container).stat('/resumed/x');
  expect(info).toMatchObject({ contentType: 'video/mp4', metadata: { step: 'first' } });
  // Not every byte went through the second writer: no MD5 is claimed.
  expect(info.checksums).toBeUndefined();
  expect(await hidden()).toEqual([]);
  await expect(newDriver(container).list('/')).resolves.not.toContain('/~uploads');

  // An append to committed content keeps that content's headers and metadata.
  const appended = await newDriver(container, options).writer('/resumed/x', { append: true, contentType: 'text/html' });
  await appended.write(Buffer.from('tail'));
  await appended.commit();
  expect(await newDriver(container).stat('/resumed/x')).toMatchObject({ size: size + 4, contentType: 'video/mp4', metadata: { step: 'first' } });
  // A cancelled upload leaves no record either.
  const cancelled = await newDriver(container, options).writer('/resumed/y', { metadata: { a: 'b' } });
  await cancelled.write(patternBytes(MiB + 1, 7));
  await cancelled.close();
  expect(await hidden()).toHaveLength(1);
  await (await newDriver(container, options).writer('/resumed/y', { append: true })).cancel();
  expect(await hidden()).toEqual([]);
  await newDriver(container).delete('/resumed');
});

test('exists answers file, directory or false, a file in one request, past siblings that share the name', async () => {
  const { driver, requests } = countingDriver();
  await driver.putContent('/ex/a', 'file');
  await driver.putContent('/ex/d/inner', 'x');
  for (let i = 0; i < 60; i++) await driver.putContent(`/ex/s-${String(i).padStart(2, '0')}`, 'sibling');
  await driver.putContent('/ex/s/child', 'x');
  requests.length = 0;
  await expect(driver.exists('/ex/a')).resolves.toBe('file');
  expect(requests).toHaveLength(1);
  await expect(driver.exists('/ex/d')).resolves.toBe('directory');
  await expect(driver.exists('/ex/d/inner')).resolves.toBe('file');
  await expect(driver.exists('/ex/s')).resolves.toBe('directory');
  await expect(driver.exists('/ex/s-0')).resolves.toBe(false);
  await expect(driver.exists('/ex/nothing')).resolves.toBe(false);
  await expect(driver.exists('/')).resolves.toBe('directory');
  await driver.delete('/ex');
});
