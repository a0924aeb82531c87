/** S3-specific behaviour, against the Ceph gateway globalSetup started (one bucket for this file). */
import { pipeline } from 'node:stream/promises';

import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { patternBytes, patternStream, verifyPatternStream } from '@storagedriver/testsuite';

import { create } from '@storagedriver/core';

import { S3Backend, S3Driver } from '../src/index.js';
import { createBucket, driverOptions, newDriver, rawClient } from './support/server.js';

const MiB = 1024 * 1024;
let bucket: string;
const raw = rawClient();

beforeAll(async () => {
  bucket = await createBucket('s3-specific');
});

/** A client counting the commands it sends, by name. */
function countingClient(): { client: S3Client; counts: Map<string, number> } {
  const client = rawClient();
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      counts.set(context.commandName!, (counts.get(context.commandName!) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { client, counts };
}

async function allKeys(prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

async function uploadsInProgress(prefix = ''): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

async function putMany(driver: S3Driver, paths: string[], concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      await driver.putContent(path, path);
    }
  }));
}

test('registers as s3 and s3aws and parses string parameters strictly', async () => {
  const params = { bucket: 'b', regionendpoint: 'http://127.0.0.1:1', forcepathstyle: 'true', chunksize: '5MiB', uploadconcurrency: '8' };
  expect((await create('s3', params)).name).toBe('s3');
  expect((await create('s3aws', params)).name).toBe('s3');
  await expect(create('s3', { ...params, chunksize: '12abc' })).rejects.toThrow(/chunksize/);
  await expect(create('s3', { ...params, chunksize: 1024 })).rejects.toThrow(/chunksize/);
  await expect(create('s3', { bucket: 'b' })).rejects.toThrow(/region/);
  await expect(create('s3', { ...params, nosuch: 1 })).rejects.toThrow(/nosuch/);
  await expect(create('s3', { ...params, redirectendpoint: 'https://cdn.example/base' })).rejects.toThrow(/redirectendpoint/);
});

test('delete of a tree of more than 1000 keys removes them all, in DeleteObjects batches of 1000', async () => {
  const { client, counts } = countingClient();
  const driver = new S3Driver({ ...driverOptions(bucket), client });
  const paths = Array.from({ length: 1234 }, (_, i) => `/tree/d${i % 7}/f${i}`);
  await putMany(driver, [...paths, '/tree-sibling']);
  counts.clear();
  await driver.delete('/tree');
  expect(await allKeys('tree/')).toEqual([]);
  expect(await driver.getContent('/tree-sibling')).toEqual(Buffer.from('/tree-sibling'));
  expect(counts.get('DeleteObjectsCommand')).toBe(2);
  expect(counts.get('ListObjectsV2Command')).toBe(2);
});

test('move of a 64 MiB object goes through UploadPartCopy and arrives intact', async () => {
  const { client, counts } = countingClient();
  const driver = new S3Driver({ ...driverOptions(bucket), client, multipartCopyThresholdSize: 32 * MiB, multipartCopyChunkSize: 16 * MiB });
  const writer = await driver.writer('/big/source');
  await pipeline(patternStream(64 * MiB, 64), writer.writable());
  await writer.commit();
  counts.clear();
  await driver.move('/big/source', '/big/dest');
  expect(counts.get('UploadPartCopyCommand')).toBe(4);
  expect(counts.get('CopyObjectCommand')).toBeUndefined();
  expect((await driver.stat('/big/dest')).size).toBe(64 * MiB);
  await verifyPatternStream(await driver.reader('/big/dest'), 64 * MiB, 64);
  await expect(driver.stat('/big/source')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  expect(await uploadsInProgress('big/')).toEqual([]);
});

test('an interrupted upload resumes from new driver instances, across short tails left by close', async () => {
  const path = '/resume/blob';
  const sizes = [7 * MiB + 3, 4 * MiB + 11, 3 * MiB + 5]; // each close leaves a tail shorter than a part
  let written = 0;
  for (const [i, size] of sizes.entries()) {
    const driver = newDriver(bucket); // a fresh instance each time, as after a restart
    const writer = await driver.writer(path, { append: i > 0 });
    expect(writer.size).toBe(written);
    await writer.write(patternBytes(size, 5, written));
    written += size;
    if (i < sizes.length - 1) {
      await writer.close();
      await expect(driver.getContent(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await driver.list('/resume').catch(() => [])).toEqual([]);
      expect(await driver.list('/')).not.toContain('/~uploads');
    } else {
      await writer.commit();
    }
  }
  const driver = newDriver(bucket);
  expect((await driver.stat(path)).size).toBe(written);
  await verifyPatternStream(await driver.reader(path), written, 5);
  expect(await uploadsInProgress('resume/')).toEqual([]);
  expect((await allKeys()).filter((k) => k.includes('~'))).toEqual([]);
});

test('a stored tail that a later writer already uploaded inside a part is not restored twice', async () => {
  const path = '/stale-tail/blob';
  const first = await newDriver(bucket).writer(path);
  await first.write(patternBytes(7 * MiB + 3, 6)); // part 1 (5 MiB) + a stored tail of 2 MiB + 3
  await first.close();
  // A second instance restores the tail, uploads it inside part 2, then dies without close().
  const second = await newDriver(bucket).writer(path, { append: true });
  await second.write(patternBytes(4 * MiB, 6, 7 * MiB + 3));
  const [upload] = (await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'stale-tail/' }))).Uploads!;
  for (let tries = 0; ; tries++) {
    const parts = await raw.send(new ListPartsCommand({ Bucket: bucket, Key: upload!.Key, UploadId: upload!.UploadId }));
    if (parts.Parts?.length === 2) break;
    if (tries > 100) throw new Error('part 2 never landed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const third = await newDriver(bucket).writer(path, { append: true });
  expect(third.size).toBe(10 * MiB); // parts 1 and 2; the tail's bytes are inside part 2
  await third.write(patternBytes(MiB, 6, 10 * MiB));
  await third.commit();
  await verifyPatternStream(await newDriver(bucket).reader(path), 11 * MiB, 6);
  expect((await allKeys()).filter((k) => k.includes('~'))).toEqual([]);
});

test('cancel leaves no upload in progress and no hidden tail', async () => {
  const driver = newDriver(bucket);
  const writer = await driver.writer('/cancelled/blob');
  await writer.write(patternBytes(6 * MiB, 9));
  await writer.close();
  expect(await uploadsInProgress('cancelled/')).toHaveLength(1);
  const resumed = await newDriver(bucket).writer('/cancelled/blob', { append: true });
  await resumed.cancel();
  expect(await uploadsInProgress('cancelled/')).toEqual([]);
  expect((await allKeys()).filter((k) => k.includes('~') || k.startsWith('cancelled/'))).toEqual([]);
});

test('a non-empty rootdirectory keeps every key under it', async () => {
  const driver = newDriver(bucket, { rootDirectory: '/confined/root/' });
  await driver.putContent('/a/file', 'x');
  const writer = await driver.writer('/a/closed');
  await writer.write(patternBytes(MiB, 2));
  await writer.close(); // the hidden tail is under the root too
  await driver.move('/a/file', '/b/moved');
  const keys = await allKeys();
  const under = keys.filter((k) => k.startsWith('confined/root/'));
  expect(under.length).toBeGreaterThanOrEqual(2);
  expect(keys.filter((k) => k.startsWith('confined') && !k.startsWith('confined/root/'))).toEqual([]);
  expect(await uploadsInProgress('confined/root/a/closed')).toEqual(['confined/root/a/closed']);
  expect((await uploadsInProgress('confined')).filter((k) => !k.startsWith('confined/root/'))).toEqual([]);
  expect(await driver.list('/')).toEqual(['/b']);
  await (await driver.writer('/a/closed', { append: true })).cancel();
  await driver.delete('/b');
  expect((await allKeys('confined/'))).toEqual([]);
});

test('a presigned URL serves the object to a plain HTTP client; a tampered one is refused', async () => {
  const driver = newDriver(bucket);
  await driver.putContent('/signed/file', 'signed content');
  const url = (await driver.redirectURL('/signed/file', { method: 'GET' }))!;
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('signed content');
  const head = await fetch((await driver.redirectURL('/signed/file', { method: 'HEAD' }))!, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe('14');
  const tampered = new URL(url);
  tampered.pathname = tampered.pathname.replace('/signed/file', '/signed/other');
  expect((await fetch(tampered)).status).toBe(403);
  const forged = new URL(url);
  const signature = forged.searchParams.get('X-Amz-Signature')!;
  forged.searchParams.set('X-Amz-Signature', `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`);
  expect((await fetch(forged)).status).toBe(403);
});

test('walk over 10 000 keys makes at most 11 list requests', async () => {
  const paths = Array.from({ length: 10_000 }, (_, i) => `/walk/d${String(i % 50).padStart(2, '0')}/f${i}`);
  await putMany(newDriver(bucket), paths, 64);
  const { client, counts } = countingClient();
  const driver = new S3Driver({ ...driverOptions(bucket), client });
  let files = 0;
  let dirs = 0;
  await driver.walk('/walk', (info) => {
    if (info.isDir) dirs++;
    else files++;
  });
  expect(files).toBe(10_000);
  expect(dirs).toBe(50);
  const requests = [...counts.values()].reduce((a, b) => a + b, 0);
  expect(counts.get('ListObjectsV2Command')).toBeLessThanOrEqual(11);
  expect(requests).toBe(counts.get('ListObjectsV2Command'));
});

test('small objects go as single signed requests outside the SDK middleware, and read back through the SDK', async () => {
  // A root with characters that need encoding checks the direct path's key encoding against the SDK's.
  const backend = new S3Backend(driverOptions(bucket, { rootDirectory: 'direct path/a+b=c&d' }));
  const send = jest.spyOn(backend.client, 'send');
  const data = patternBytes(70_000, 31);
  await backend.putContent('/x/y.bin', data);
  expect((await backend.getContent('/x/y.bin')).equals(data)).toBe(true);
  expect(await backend.stat('/x/y.bin')).toMatchObject({ size: 70_000, isDir: false });
  await expect(backend.getContent('/x/missing')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  expect(send).not.toHaveBeenCalled();
  send.mockRestore();
  expect(await allKeys('direct path/')).toEqual(['direct path/a+b=c&d/x/y.bin']);
  const viaSdk = await newDriver(bucket, { rootDirectory: 'direct path/a+b=c&d' }).reader('/x/y.bin');
  await verifyPatternStream(viaSdk, 70_000, 31);
  // A wrong secret is refused by the server, as a typed error with the S3 error code as cause.
  const denied = new S3Driver(driverOptions(bucket, { secretKey: 'wrong' }));
  await expect(denied.putContent('/x/z', 'z')).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { name: 'SignatureDoesNotMatch' } });
  await newDriver(bucket, { rootDirectory: 'direct path/a+b=c&d' }).delete('/x');
});
