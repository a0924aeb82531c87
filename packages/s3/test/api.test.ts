/**
 * Issue 13's calls on S3, against the Ceph gateway globalSetup started: what the service itself
 * stores and answers (read back with a plain client), beyond what the shared suite can see.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';

import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InvalidOffsetError, InvalidParameterError, PathNotFoundError, UnsupportedMethodError, type FileInfo } from '@storagedriver/core';
import { patternBytes, patternStream, verifyPatternStream } from '@storagedriver/testsuite';

import { planParts } from '../src/copy.js';
import { S3Driver } from '../src/index.js';
import { createBucket, driverOptions, newDriver, rawClient } from './support/server.js';

const MiB = 1024 * 1024;
let bucket: string;
const raw = rawClient();

beforeAll(async () => {
  bucket = await createBucket('s3-api');
});

const METADATA = {
  contentType: 'text/plain; charset=utf-8',
  cacheControl: 'public, max-age=60',
  contentDisposition: 'attachment; filename="report 1.txt"',
  contentEncoding: 'identity',
  metadata: { color: 'blue', 'trace-id': 'A1-b2 C3' },
};

/** A driver whose client counts the SDK commands it sends (the direct path sends none). */
function counting(extra: Parameters<typeof driverOptions>[1] = {}): { driver: S3Driver; counts: Map<string, number> } {
  const client = rawClient();
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      counts.set(context.commandName!, (counts.get(context.commandName!) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { driver: new S3Driver({ ...driverOptions(bucket), ...extra, client }), counts };
}

async function head(key: string) {
  return raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

function expectStored(info: FileInfo): void {
  expect(info).toMatchObject(METADATA);
  expect(info.metadata).toEqual(METADATA.metadata); // the writer's marker is the driver's, not shown
}

describe('metadata', () => {
  test('putContent (direct path and SDK) and a multipart writer store every kind as S3 headers; stat reads them back with etag and md5 only when it is one', async () => {
    const small = patternBytes(1000, 1);
    const direct = newDriver(bucket);
    const { driver: sdk } = counting();
    await direct.putContent('/meta/direct', small, METADATA);
    await sdk.putContent('/meta/sdk', small, METADATA);
    // Above one part putContent is a multipart upload too.
    await direct.putContent('/meta/large', patternBytes(5 * MiB + 1, 1), METADATA);
    const writer = await direct.writer('/meta/multipart', METADATA);
    await writer.write(patternBytes(11 * MiB + 3, 2));
    await writer.commit();
    for (const key of ['meta/direct', 'meta/sdk', 'meta/large', 'meta/multipart']) {
      const out = await head(key);
      expect([key, out]).toMatchObject([key, { ContentType: METADATA.contentType, CacheControl: METADATA.cacheControl, ContentDisposition: METADATA.contentDisposition, ContentEncoding: 'identity' }]);
      expect(out.Metadata).toMatchObject(METADATA.metadata);
      for (const driver of [direct, sdk]) {
        const info = await driver.stat(`/${key}`);
        expectStored(info);
        expect(info.etag).toBe(out.ETag);
      }
    }
    const single = await direct.stat('/meta/direct');
    expect(single.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(single.checksums).toEqual({ md5: md5Base64(small) });
    expect((await sdk.stat('/meta/sdk')).checksums).toEqual({ md5: md5Base64(small) });
    // A multipart ETag (`"<md5 of md5s>-3"`) is no checksum of the content.
    const multipart = await direct.stat('/meta/multipart');
    expect(multipart.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(multipart.checksums).toBeUndefined();
    expect((await direct.stat('/meta/large')).checksums).toBeUndefined();
    // Without metadata: S3's default type, nothing else.
    await direct.putContent('/meta/plain', 'x');
    const plain = await direct.stat('/meta/plain');
    expect(plain).toMatchObject({ contentType: 'application/octet-stream', metadata: {} });
    expect(plain.cacheControl).toBeUndefined();
  });

  test('the direct path\'s own SigV4: runs of spaces in values (signed collapsed, sent as given), an unsigned cache-control', async () => {
    const driver = newDriver(bucket);
    const spaced = { contentType: 'text/plain;  charset=utf-8', cacheControl: 'no-cache,   max-age=0', metadata: { note: 'two  spaces   three' } };
    for (const path of ['/sign/plain', '/sign/A.b-c_1']) {
      await driver.putContent(path, path, spaced);
      expect((await driver.getContent(path)).toString()).toBe(path);
      expect(await driver.stat(path)).toMatchObject(spaced);
    }
  });

  test('in a versioned bucket stat gives the version id (direct path and SDK); without versioning there is none', async () => {
    const versioned = await createBucket('s3-api-versioned');
    await raw.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    for (const driver of [newDriver(versioned), new S3Driver({ ...driverOptions(versioned), client: rawClient() })]) {
      await driver.putContent('/v', 'one');
      const first = await driver.stat('/v');
      await driver.putContent('/v', 'two');
      const second = await driver.stat('/v');
      expect(first.version).toEqual(expect.any(String));
      expect(second.version).not.toBe(first.version);
      expect(second.version).toBe((await raw.send(new HeadObjectCommand({ Bucket: versioned, Key: 'v' }))).VersionId);
    }
    await newDriver(bucket).putContent('/meta/unversioned', 'x');
    expect((await newDriver(bucket).stat('/meta/unversioned')).version).toBeUndefined();
  });

  test('a content encoding is stored and served, the bytes never decoded on the way', async () => {
    const driver = newDriver(bucket);
    const gzipped = gzipSync(patternBytes(50_000, 3));
    await driver.putContent('/meta/gzipped', gzipped, { contentType: 'application/json', contentEncoding: 'gzip' });
    expect((await driver.getContent('/meta/gzipped')).equals(gzipped)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await driver.reader('/meta/gzipped')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(gzipped)).toBe(true);
    expect(await driver.stat('/meta/gzipped')).toMatchObject({ contentEncoding: 'gzip', contentType: 'application/json' });
  });

  test('a plain fetch of a signed GET answers with the stored headers and bytes; HEAD with them too', async () => {
    const driver = newDriver(bucket);
    const data = patternBytes(5000, 4);
    await driver.putContent('/meta/fetched', data, METADATA);
    const get = await driver.signedURL('/meta/fetched', { method: 'GET' });
    expect(get.headers).toEqual({});
    const response = await fetch(get.url, { headers: get.headers });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(data)).toBe(true);
    expect(Object.fromEntries(['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'x-amz-meta-color', 'x-amz-meta-trace-id'].map((h) => [h, response.headers.get(h)]))).toEqual({
      'content-type': METADATA.contentType,
      'cache-control': METADATA.cacheControl,
      'content-disposition': METADATA.contentDisposition,
      'content-encoding': 'identity',
      'x-amz-meta-color': 'blue',
      'x-amz-meta-trace-id': 'A1-b2 C3',
    });
    const signedHead = await driver.signedURL('/meta/fetched', { method: 'HEAD' });
    const headResponse = await fetch(signedHead.url, { method: 'HEAD' });
    expect(headResponse.status).toBe(200);
    expect(headResponse.headers.get('content-length')).toBe('5000');
    expect(headResponse.headers.get('content-type')).toBe(METADATA.contentType);
  });

  test('writers continuing an upload keep its metadata; append to committed content keeps the object\'s', async () => {
    const first = await newDriver(bucket).writer('/meta/resumed', METADATA);
    await first.write(patternBytes(6 * MiB, 5));
    await first.close();
    const second = await newDriver(bucket).writer('/meta/resumed', { append: true, contentType: 'application/json', metadata: { color: 'red' } });
    await second.write(patternBytes(MiB, 5, 6 * MiB));
    await second.commit();
    expectStored(await newDriver(bucket).stat('/meta/resumed'));
    // Continuing committed content (UploadPartCopy of its whole parts) makes a new upload: with the object's metadata.
    const third = await newDriver(bucket).writer('/meta/resumed', { append: true, contentType: 'application/json' });
    expect(third.size).toBe(7 * MiB);
    await third.write(patternBytes(MiB, 5, 7 * MiB));
    await third.commit();
    expectStored(await newDriver(bucket).stat('/meta/resumed'));
    await verifyPatternStream(await newDriver(bucket).reader('/meta/resumed'), 8 * MiB, 5);
  });

  test('the upload marker key is the driver\'s own: a user key of that name is refused', async () => {
    const driver = newDriver(bucket);
    await expect(driver.putContent('/meta/reserved', 'x', { metadata: { 'storagedriver-upload': 'mine' } })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(driver.writer('/meta/reserved', { metadata: { 'storagedriver-upload': 'mine' } })).rejects.toBeInstanceOf(InvalidParameterError);
    expect(await driver.exists('/meta/reserved')).toBe(false);
  });
});

describe('signed URLs', () => {
  test('a browser-style PUT with the returned headers stores the bytes and the type; another type or a tampered URL is refused', async () => {
    const driver = newDriver(bucket);
    const data = patternBytes(70_001, 6);
    const signed = await driver.signedURL('/signed/upload', { method: 'PUT', contentType: 'text/csv', expiresIn: 600 });
    expect(signed.method).toBe('PUT');
    expect(signed.headers).toEqual({ 'content-type': 'text/csv' });
    expect(Math.abs(signed.expiresAt.getTime() - (Date.now() + 600_000))).toBeLessThan(5000);
    const url = new URL(signed.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');

    const wrongType = await fetch(signed.url, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: data });
    expect(wrongType.status).toBe(403);
    const tampered = new URL(signed.url);
    tampered.pathname = tampered.pathname.replace('/signed/upload', '/signed/elsewhere');
    expect((await fetch(tampered, { method: 'PUT', headers: signed.headers, body: data })).status).toBe(403);
    await expect(driver.exists('/signed/upload')).resolves.toBe(false);
    expect(await driver.exists('/signed/elsewhere')).toBe(false);

    const response = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: data });
    expect(response.status).toBe(200);
    expect((await driver.getContent('/signed/upload')).equals(data)).toBe(true);
    expect(await driver.stat('/signed/upload')).toMatchObject({ contentType: 'text/csv', size: data.length, checksums: { md5: md5Base64(data) } });
  });

  test('a signed PUT without a type signs only the host; a GET URL cannot be used to PUT', async () => {
    const driver = newDriver(bucket);
    const signed = await driver.signedURL('/signed/untyped', { method: 'PUT' });
    expect(signed.headers).toEqual({});
    expect(new URL(signed.url).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect((await fetch(signed.url, { method: 'PUT', body: 'untyped' })).status).toBe(200);
    expect((await driver.getContent('/signed/untyped')).toString()).toBe('untyped');
    const get = await driver.signedURL('/signed/untyped', { method: 'GET' });
    expect((await fetch(get.url, { method: 'PUT', body: 'overwritten' })).status).toBe(403);
    expect((await driver.getContent('/signed/untyped')).toString()).toBe('untyped');
  });

  test('URLs for AWS carry no SDK checksum parameters (a CRC32 of the empty body would fail every browser upload)', async () => {
    // Default AWS settings: the SDK's flexible checksums are on (WHEN_SUPPORTED). Signing needs no network.
    const driver = new S3Driver({ bucket: 'b', region: 'eu-west-1', accessKey: 'AKIDEXAMPLE', secretKey: 'secret' });
    for (const method of ['GET', 'HEAD', 'PUT'] as const) {
      const signed = await driver.signedURL('/a/b', { method, ...(method === 'PUT' ? { contentType: 'image/png' } : {}) });
      const names = [...new URL(signed.url).searchParams.keys()].map((name) => name.toLowerCase());
      expect([method, names.filter((name) => name.includes('checksum'))]).toEqual([method, []]);
    }
    expect(driver.capabilities.signedURLMaxExpiresIn).toBe(604800);
    const week = await driver.signedURL('/a/b', { method: 'GET', expiresIn: 604800 });
    expect(new URL(week.url).searchParams.get('X-Amz-Expires')).toBe('604800');
    await expect(driver.signedURL('/a/b', { method: 'GET', expiresIn: 604801 })).rejects.toBeInstanceOf(InvalidParameterError);
  });
});

describe('copy', () => {
  test('64 MiB: UploadPartCopy into an upload with the source\'s metadata, intact; the source stays', async () => {
    const { driver, counts } = counting({ multipartCopyChunkSize: 16 * MiB });
    const writer = await driver.writer('/copy/big', METADATA);
    await pipeline(patternStream(64 * MiB, 7), writer.writable());
    await writer.commit();
    counts.clear();
    await driver.copy('/copy/big', '/copy/big-copy');
    expect(counts.get('UploadPartCopyCommand')).toBe(4);
    expect(counts.get('CopyObjectCommand')).toBeUndefined();
    expect(counts.get('GetObjectCommand')).toBeUndefined();
    const copied = await driver.stat('/copy/big-copy');
    expect(copied.size).toBe(64 * MiB);
    expectStored(copied);
    await verifyPatternStream(await driver.reader('/copy/big-copy'), 64 * MiB, 7);
    await verifyPatternStream(await driver.reader('/copy/big'), 64 * MiB, 7);
    expect((await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'copy/' }))).Uploads ?? []).toEqual([]);
  });

  test('up to the threshold: one CopyObject keeping the metadata; move keeps it too; a missing source is PathNotFound and leaves the destination', async () => {
    const { driver, counts } = counting();
    await driver.putContent('/copy/small', 'small', METADATA);
    await driver.putContent('/copy/dest', 'untouched');
    counts.clear();
    await driver.copy('/copy/small', '/copy/small-copy');
    expect(counts.get('CopyObjectCommand')).toBe(1);
    expect(counts.get('UploadPartCopyCommand')).toBeUndefined();
    expectStored(await driver.stat('/copy/small-copy'));
    expect((await driver.getContent('/copy/small-copy')).toString()).toBe('small');
    await driver.move('/copy/small-copy', '/copy/moved');
    expectStored(await driver.stat('/copy/moved'));
    await expect(driver.copy('/copy/none', '/copy/dest')).rejects.toBeInstanceOf(PathNotFoundError);
    expect((await driver.getContent('/copy/dest')).toString()).toBe('untouched');
    await expect(driver.copy('/copy', '/elsewhere')).rejects.toThrow(/director/);
  });

  test('part planning: the configured size, grown only where S3\'s 10 000 parts would not do', () => {
    expect(planParts(64 * MiB, 16 * MiB)).toEqual([0, 1, 2, 3].map((i) => ({ first: i * 16 * MiB, last: (i + 1) * 16 * MiB - 1 })));
    expect(planParts(33 * MiB + 1, 16 * MiB).map((p) => p.last - p.first + 1)).toEqual([16 * MiB, 16 * MiB, MiB + 1]);
    const huge = 5 * 1024 * 1024 * MiB; // 5 TiB, S3's largest object
    const parts = planParts(huge, 32 * MiB);
    expect(parts.length).toBeLessThanOrEqual(10_000);
    expect(parts[0]!.last + 1).toBe(525 * MiB);
    expect(parts.at(-1)!.last).toBe(huge - 1);
    expect(parts.every((p, i) => i === 0 || p.first === parts[i - 1]!.last + 1)).toBe(true);
  });
});

describe('conditional writes', () => {
  test('are not claimed: Ceph Pacific checks If-None-Match on PutObject but completes a multipart upload over an existing object regardless', async () => {
    const driver = newDriver(bucket);
    expect(driver.capabilities).toMatchObject({ writeIfNoneMatch: false, writeIfMatch: false });
    await expect(driver.putContent('/cond/a', 'x', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(UnsupportedMethodError);
    // What the server does (when this changes, the claim can be made: see the README).
    const client: S3Client = raw;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/existing', Body: 'first' }));
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/existing', Body: 'second', IfNoneMatch: '*' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'cond/existing' }));
    const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: 'cond/existing', UploadId, PartNumber: 1, Body: 'third' }));
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'cond/existing', UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }));
    expect((await driver.getContent('/cond/existing')).toString()).toBe('third');
  });
});

describe('exists', () => {
  test('file, directory, nothing; a textual prefix is no directory; hidden upload state is nothing', async () => {
    const driver = newDriver(bucket, { rootDirectory: 'exists' });
    await driver.putContent('/dir/file', 'f');
    await driver.putContent('/ab', 'x');
    const writer = await driver.writer('/pending/blob');
    await writer.write(patternBytes(MiB, 8));
    await writer.close();
    expect(await driver.exists('/dir/file')).toBe('file');
    expect(await driver.exists('/dir')).toBe('directory');
    expect(await driver.exists('/')).toBe('directory');
    expect(await driver.exists('/a')).toBe(false);
    expect(await driver.exists('/pending')).toBe(false);
    expect(await driver.exists('/pending/blob')).toBe(false);
    await (await driver.writer('/pending/blob', { append: true })).cancel();
  });
});

describe('ranged reads', () => {
  test('exactly the range, through the SDK reader and the direct getContent; past the end is InvalidOffset at open; length 0 needs no range', async () => {
    const driver = newDriver(bucket);
    const data = patternBytes(3 * MiB + 7, 9);
    await driver.putContent('/range/blob', data);
    for (const [offset, length] of [[0, 1], [MiB - 3, MiB + 5], [3 * MiB, 7], [0, 3 * MiB + 7]] as const) {
      expect((await driver.getContent('/range/blob', { offset, length })).equals(data.subarray(offset, offset + length))).toBe(true);
      const chunks: Buffer[] = [];
      for await (const chunk of await driver.reader('/range/blob', offset, { length })) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(data.subarray(offset, offset + length))).toBe(true);
    }
    for (const [offset, length] of [[3 * MiB, 8], [3 * MiB + 7, 1], [4 * MiB, 1]] as const) {
      const error = await driver.reader('/range/blob', offset, { length }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOffsetError);
      expect(error).toMatchObject({ offset: offset + length });
    }
    expect((await driver.getContent('/range/blob', { offset: 3 * MiB + 7, length: 0 })).length).toBe(0);
    expect((await driver.getContent('/range/blob', { offset: 5, length: 0 })).length).toBe(0);
    await expect(driver.getContent('/range/blob', { offset: 3 * MiB + 8, length: 0 })).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.getContent('/range/none', { offset: 0, length: 1 })).rejects.toBeInstanceOf(PathNotFoundError);
    await driver.putContent('/range/empty', '');
    await expect(driver.getContent('/range/empty', { offset: 0, length: 1 })).rejects.toBeInstanceOf(InvalidOffsetError);
    expect((await driver.getContent('/range/empty', { offset: 0, length: 0 })).length).toBe(0);
  });
});

describe('listPage', () => {
  test('2 500 keys in pages resumed by new driver instances: each once, in order, with the listing\'s etag, one ListObjectsV2 per page and no HEAD', async () => {
    const driver = newDriver(bucket, { rootDirectory: 'pages' });
    const paths = Array.from({ length: 2500 }, (_, i) => `/d/f${String(i).padStart(5, '0')}`);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < paths.length) {
        const path = paths[next++]!;
        await driver.putContent(path, path);
      }
    }));
    const seen: FileInfo[] = [];
    let cursor: string | undefined;
    let pages = 0;
    const requests = new Map<string, number>();
    do {
      const { driver: fresh, counts } = counting({ rootDirectory: 'pages' });
      const page = await fresh.listPage('/d', { limit: 900, ...(cursor === undefined ? {} : { cursor }) });
      for (const [name, count] of counts) requests.set(name, (requests.get(name) ?? 0) + count);
      expect(page.entries.length).toBeLessThanOrEqual(900);
      seen.push(...page.entries);
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen.map((e) => e.path)).toEqual(paths);
    expect(pages).toBe(3);
    expect([...requests.keys()]).toEqual(['ListObjectsV2Command']);
    expect(requests.get('ListObjectsV2Command')).toBe(3);
    const sample = seen[1234]!;
    expect(sample).toMatchObject({ size: sample.path.length, isDir: false });
    expect(sample.etag).toBe((await driver.stat(sample.path)).etag);
  });
});
