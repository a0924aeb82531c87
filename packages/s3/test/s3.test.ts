/** S3-specific behaviour, against the Ceph gateway globalSetup started (one bucket for this file). */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FaultProxy, patternBytes, patternStream, type RequestView, verifyPatternStream } from '@storagedriver/testsuite';

import { type FileInfo, InvalidParameterError, create } from '@storagedriver/core';

import { S3Backend, S3Driver } from '../src/index.js';
import { connection, createBucket, driverOptions, newDriver, rawClient } from './support/server.js';

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
  await expect(create('s3', { ...params, answertimeout: 'soon' })).rejects.toThrow(/answertimeout/);
  await expect(create('s3', { ...params, answertimeout: '0s' })).rejects.toThrow(/answertimeout/);
  await expect(create('s3', { ...params, redirectendpoint: 'https://cdn.example/base' })).rejects.toThrow(/redirectendpoint/);
});

test('endpoints are validated at create, naming the parameter; regionendpoint takes its scheme from secure when it has none', async () => {
  const params = { bucket: 'b', region: 'us-east-1' };
  for (const name of ['regionendpoint', 'redirectendpoint']) {
    for (const value of ['ht!tp://bad host', 'http://', '127.0.0.1:notaport', 'http://h:99999']) {
      const error = await create('s3', { ...params, [name]: value }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidParameterError);
      expect(error).toMatchObject({ parameter: name, value });
    }
  }
  // No scheme: `secure` picks it, and the driver reaches the gateway over plain HTTP.
  const driver = await create('s3', { ...params, bucket, regionendpoint: connection().endpoint.replace(/^http:\/\//, ''), secure: 'false', forcepathstyle: true, accesskey: connection().accessKeyId, secretkey: connection().secretAccessKey });
  await driver.putContent('/endpoint/no-scheme', 'ok');
  expect((await driver.getContent('/endpoint/no-scheme')).toString()).toBe('ok');
});

/** Every operation the issue names (and the ones that HEAD before anything else), as `[name, call]`. */
function operations(driver: S3Driver): [string, () => Promise<unknown>][] {
  return [
    ['getContent', () => driver.getContent('/creds/a')],
    ['reader', () => driver.reader('/creds/a')],
    ['empty ranged reader', () => driver.reader('/creds/a', 0, { length: 0 })],
    ['putContent', () => driver.putContent('/creds/a', 'x')],
    ['stat', () => driver.stat('/creds/a')],
    ['exists', () => driver.exists('/creds/a')],
    ['list', () => driver.list('/creds')],
    ['copy', () => driver.copy('/creds/a', '/creds/b')],
    ['writer append', () => driver.writer('/creds/a', { append: true })],
    ['writer commit', async () => {
      const writer = await driver.writer('/creds/a');
      await writer.write('x');
      await writer.commit();
    }],
    ['delete', () => driver.delete('/creds/a')],
  ];
}

test('a missing bucket is a driver error saying so and naming the bucket, never a missing path (HEAD included)', async () => {
  const name = `no-such-bucket-${Date.now().toString(36)}`;
  for (const [operation, call] of operations(newDriver(name))) {
    const error = await call().then(() => undefined, (e: unknown) => e);
    expect([operation, error]).toMatchObject([operation, { code: 'DRIVER_ERROR', driverName: 's3', cause: { name: 'NoSuchBucket' } }]);
    expect([operation, (error as Error).message]).toEqual([operation, expect.stringMatching(new RegExp(`^s3: bucket ${name} does not exist \\(\\w+.*NoSuchBucket, HTTP 404\\)$`))]);
  }
});

test('a wrong secret or access key is a driver error naming the service code and the bucket, for every operation', async () => {
  await newDriver(bucket).putContent('/creds/a', 'committed');
  const cases = [
    { code: 'SignatureDoesNotMatch', driver: newDriver(bucket, { secretKey: 'wrong' }) },
    { code: 'InvalidAccessKeyId', driver: newDriver(bucket, { accessKey: 'no-such-key', secretKey: 'wrong' }) },
  ];
  for (const { code, driver } of cases) {
    for (const [operation, call] of operations(driver)) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect([operation, error]).toMatchObject([operation, { code: 'DRIVER_ERROR', driverName: 's3', cause: { name: code } }]);
      expect([operation, (error as Error).message]).toEqual([operation, expect.stringMatching(new RegExp(`^s3: \\w+.* in bucket ${bucket}: ${code} \\(HTTP 403\\)`))]);
    }
  }
  expect((await newDriver(bucket).getContent('/creds/a')).toString()).toBe('committed');
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
  // One single-key listing for the object at the path itself, then two pages below it.
  expect(counts.get('ListObjectsV2Command')).toBe(3);
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

test('a non-empty rootdirectory keeps every key under it, and its hidden tails beside it', async () => {
  const driver = newDriver(bucket, { rootDirectory: '/confined/root/' });
  await driver.putContent('/a/file', 'x');
  const writer = await driver.writer('/a/closed');
  await writer.write(patternBytes(MiB, 2));
  await writer.close(); // the hidden tail goes to the root's sibling `confined/root~uploads/`
  await driver.move('/a/file', '/b/moved');
  const keys = await allKeys();
  const under = keys.filter((k) => k.startsWith('confined/root/'));
  expect(under.length).toBeGreaterThanOrEqual(1);
  expect(keys.filter((k) => k.startsWith('confined') && !k.startsWith('confined/root/'))).toEqual([expect.stringMatching(/^confined\/root~uploads\/[^/]+$/)]);
  expect(await uploadsInProgress('confined/root/a/closed')).toEqual(['confined/root/a/closed']);
  expect((await uploadsInProgress('confined')).filter((k) => !k.startsWith('confined/root/'))).toEqual([]);
  expect(await driver.list('/')).toEqual(['/b']);
  await (await driver.writer('/a/closed', { append: true })).cancel();
  await driver.delete('/b');
  expect((await allKeys('confined'))).toEqual([]);
});

test('hidden tails never show through a driver rooted above: no directory, no invalid path', async () => {
  const outer = newDriver(bucket, { rootDirectory: 'hidden-above/nest' });
  const inner = newDriver(bucket, { rootDirectory: 'hidden-above/nest/inner' });
  await outer.putContent('/visible', 'v');
  const writer = await inner.writer('/blob');
  await writer.write(patternBytes(MiB + 1, 3));
  await writer.close(); // a stored tail, and an upload in progress
  expect((await allKeys('hidden-above/')).filter((k) => k.includes('~'))).toHaveLength(1);
  const walked: string[] = [];
  await outer.walk('/', (info) => {
    walked.push(info.path);
  });
  expect(walked).toEqual(['/visible']);
  expect(await outer.list('/')).toEqual(['/visible']);
  await expect(outer.stat('/inner')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  // Nor from the bucket's root, where the upload's own prefix sorts among visible keys.
  const top = newDriver(bucket);
  const underTop: string[] = [];
  await top.walk('/hidden-above', (info) => {
    underTop.push(info.path);
  });
  expect(underTop).toEqual(['/hidden-above/nest', '/hidden-above/nest/visible']);
  expect(await top.list('/hidden-above')).toEqual(['/hidden-above/nest']);
  const resumed = await inner.writer('/blob', { append: true });
  expect(resumed.size).toBe(MiB + 1);
  await resumed.cancel();
  await outer.delete('/visible');
  expect(await allKeys('hidden-above/')).toEqual([]);
});

test('append to committed content continues it: the rest below a part is read back, whole parts are copied server-side', async () => {
  const { client, counts } = countingClient();
  const driver = new S3Driver({ ...driverOptions(bucket), client });
  for (const [i, size] of [3 * MiB + 7, 11 * MiB + 5].entries()) {
    const path = `/append-committed/${i}`;
    const seed = 70 + i;
    const first = await newDriver(bucket).writer(path);
    await first.write(patternBytes(size, seed));
    await first.commit();
    counts.clear();
    const writer = await driver.writer(path, { append: true });
    expect(writer.size).toBe(size);
    expect(counts.get('UploadPartCopyCommand') ?? 0).toBe(Math.floor(size / (5 * MiB)));
    await writer.write(patternBytes(MiB, seed, size));
    await writer.close(); // the rest of the committed content and the new bytes become a stored tail
    const resumed = await newDriver(bucket).writer(path, { append: true });
    expect(resumed.size).toBe(size + MiB);
    await resumed.write(patternBytes(5 * MiB + 1, seed, size + MiB));
    await resumed.commit();
    const total = size + 6 * MiB + 1;
    expect((await newDriver(bucket).stat(path)).size).toBe(total);
    await verifyPatternStream(await newDriver(bucket).reader(path), total, seed);
  }
  expect(await uploadsInProgress('append-committed/')).toEqual([]);
  expect((await allKeys()).filter((k) => k.includes('~'))).toEqual([]);
});

test('a path of 1024 bytes round-trips; with a rootdirectory, the longest path whose key fits S3\'s 1024 bytes', async () => {
  const name = (length: number) => `/${'p'.repeat(length - 1)}`;
  const longPath = name(1024);
  const cases: [S3Driver, string][] = [
    [newDriver(bucket), longPath], // key: 1023 bytes
    [newDriver(bucket, { rootDirectory: 'long' }), `/dir${name(1016)}`], // key: `long/dir/` + 1015 = 1024 bytes
  ];
  expect(cases.map(([driver, path]) => Buffer.byteLength((driver.backend as S3Backend).key(path)))).toEqual([1023, 1024]);
  for (const [driver, path] of cases) {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    await driver.putContent(path, 'long');
    expect((await driver.getContent(path)).toString()).toBe('long');
    expect(await driver.stat(path)).toMatchObject({ size: 4, isDir: false });
    expect(await driver.list(parent)).toContain(path);
    const writer = await driver.writer(path);
    await writer.write(patternBytes(MiB, 80));
    await writer.close();
    const resumed = await driver.writer(path, { append: true });
    await resumed.write(patternBytes(MiB, 80, MiB));
    await resumed.commit();
    await verifyPatternStream(await driver.reader(path), 2 * MiB, 80);
    await driver.delete(path);
  }
  expect(Buffer.byteLength(longPath)).toBe(1024);
  // One byte more than S3 allows is the server's refusal, typed and named.
  await expect(newDriver(bucket, { rootDirectory: 'long' }).putContent(`/dir${name(1017)}`, 'x')).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { name: 'InvalidObjectName' } });
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

test('no ACL is sent unless objectacl is set: a bucket refusing ACLs (AWS\'s default) takes every write; a set ACL is sent and applied', async () => {
  // What AWS answers a request carrying an ACL other than bucket-owner-full-control on a bucket whose
  // Object Ownership is "bucket owner enforced", the default for new buckets since April 2023.
  const proxy = await FaultProxy.start({ upstream: connection().endpoint });
  const seen: RequestView[] = [];
  const aclOf = ({ headers, url }: RequestView): string | undefined => (headers['x-amz-acl'] as string | undefined) ?? new URL(url, 'http://proxy').searchParams.get('x-amz-acl') ?? undefined;
  const carriesAcl = (view: RequestView): boolean => {
    seen.push(view);
    const acl = aclOf(view);
    return acl !== undefined && acl !== 'bucket-owner-full-control';
  };
  const refused = proxy.inject(
    {
      kind: 'answer',
      status: 400,
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessControlListNotSupported</Code><Message>The bucket does not allow ACLs</Message></Error>',
    },
    carriesAcl,
    { times: Infinity },
  );
  try {
    const driver = newDriver(bucket, { regionEndpoint: proxy.endpoint });
    const small = patternBytes(1000, 41);
    const large = patternBytes(6 * MiB + 1, 42);
    await driver.putContent('/acl/small', small); // PutObject on the direct path
    await driver.putContent('/acl/large', large); // a multipart upload (5 MiB parts)
    const writer = await driver.writer('/acl/empty'); // an empty commit: PutObject through the SDK
    await writer.commit();
    await driver.copy('/acl/small', '/acl/copied'); // CopyObject
    await newDriver(bucket, { regionEndpoint: proxy.endpoint, multipartCopyThresholdSize: 0 }).copy('/acl/large', '/acl/copied-large'); // UploadPartCopy
    const signed = await driver.signedURL('/acl/signed', { method: 'PUT' });
    expect((await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: small })).status).toBe(200);
    const tail = await driver.writer('/acl/tail'); // a hidden tail left by close()
    await tail.write(small);
    await tail.close();
    await (await driver.writer('/acl/tail', { append: true })).cancel();
    expect(refused.hits).toBe(0);
    expect(seen.length).toBeGreaterThan(8);
    expect(seen.filter((view) => aclOf(view) !== undefined)).toEqual([]);
    for (const [path, data] of [['/acl/small', small], ['/acl/large', large], ['/acl/empty', Buffer.alloc(0)], ['/acl/copied', small], ['/acl/copied-large', large], ['/acl/signed', small]] as const) {
      expect((await newDriver(bucket).getContent(path)).equals(data)).toBe(true);
    }
    // Asked for, an ACL is sent: there the bucket refuses it, as a typed error naming the service's code.
    const named = newDriver(bucket, { regionEndpoint: proxy.endpoint, objectAcl: 'private' });
    await expect(named.putContent('/acl/named', small)).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { name: 'AccessControlListNotSupported' } });
    expect(refused.hits).toBe(1);
    // The ACL such buckets accept is sent with every new object, the hidden tail (the caller's bytes) too.
    seen.length = 0;
    const owner = newDriver(bucket, { regionEndpoint: proxy.endpoint, objectAcl: 'bucket-owner-full-control' });
    const ownerTail = await owner.writer('/acl/owner-tail');
    await ownerTail.write(small);
    await ownerTail.close();
    await (await owner.writer('/acl/owner-tail', { append: true })).cancel();
    const writes = seen.filter(({ method, url }) => method === 'PUT' || (method === 'POST' && /[?&]uploads/.test(url)));
    expect(writes.map(({ method }) => method).sort()).toEqual(['POST', 'PUT']);
    expect(writes.map(aclOf)).toEqual(['bucket-owner-full-control', 'bucket-owner-full-control']);
  } finally {
    await proxy.close();
  }
  // And applied: public-read objects (direct path and multipart) are served to anyone, the default ones are not.
  const open = newDriver(bucket, { objectAcl: 'public-read' });
  await open.putContent('/acl/public-small', 'small');
  await open.putContent('/acl/public-large', patternBytes(6 * MiB + 1, 43));
  const anonymous = (path: string) => fetch(`${connection().endpoint}/${bucket}${path}`, { method: 'HEAD' }).then((response) => response.status);
  expect(await anonymous('/acl/public-small')).toBe(200);
  expect(await anonymous('/acl/public-large')).toBe(200);
  expect(await anonymous('/acl/small')).toBe(403);
  expect(await anonymous('/acl/large')).toBe(403);
  await newDriver(bucket).delete('/acl');
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

test('small objects and streamed reads go as signed requests outside the SDK middleware, and read back through the SDK', async () => {
  // A root with characters that need encoding checks the direct path's key encoding against the SDK's.
  const backend = new S3Backend(driverOptions(bucket, { rootDirectory: 'direct path/a+b=c&d' }));
  const send = jest.spyOn(backend.client, 'send');
  const data = patternBytes(70_000, 31);
  await backend.putContent('/x/y.bin', data);
  expect((await backend.getContent('/x/y.bin')).equals(data)).toBe(true);
  await verifyPatternStream(await backend.reader('/x/y.bin', 0), 70_000, 31);
  const ranged = await backend.reader('/x/y.bin', 1000, undefined, 5000);
  const chunks: Buffer[] = [];
  for await (const chunk of ranged) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).equals(data.subarray(1000, 6000))).toBe(true);
  expect(await backend.stat('/x/y.bin')).toMatchObject({ size: 70_000, isDir: false });
  await expect(backend.getContent('/x/missing')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  await expect(backend.reader('/x/missing', 0)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  expect(send).not.toHaveBeenCalled();
  send.mockRestore();
  expect(await allKeys('direct path/')).toEqual(['direct path/a+b=c&d/x/y.bin']);
  const viaSdk = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: 'direct path/a+b=c&d/x/y.bin' }));
  await verifyPatternStream(viaSdk.Body as Readable, 70_000, 31);
  // A wrong secret is refused by the server, as a typed error with the S3 error code as cause.
  const denied = new S3Driver(driverOptions(bucket, { secretKey: 'wrong' }));
  await expect(denied.putContent('/x/z', 'z')).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { name: 'SignatureDoesNotMatch' } });
  await newDriver(bucket, { rootDirectory: 'direct path/a+b=c&d' }).delete('/x');
});

test('the direct path asks the credentials provider once for credentials without an expiry, and for every request when they expire', async () => {
  const { accessKeyId, secretAccessKey } = connection();
  // The second expires within the five minutes in which the SDK's provider renews credentials.
  for (const expiration of [undefined, new Date(Date.now() + 60_000)]) {
    const backend = new S3Backend(driverOptions(bucket));
    const send = jest.spyOn(backend.client, 'send');
    let asked = 0;
    // Set on the client's configuration, the SDK wraps it in its renewing provider.
    (backend.client.config as unknown as { credentials: () => Promise<unknown> }).credentials = async () => {
      asked++;
      return { accessKeyId, secretAccessKey, expiration };
    };
    await backend.putContent('/creds/a', Buffer.from('a'));
    for (let i = 0; i < 3; i++) expect((await backend.getContent('/creds/a')).toString()).toBe('a');
    if (expiration === undefined) expect(asked).toBe(1);
    else expect(asked).toBeGreaterThanOrEqual(4);
    expect(send).not.toHaveBeenCalled();
  }
  await newDriver(bucket).delete('/creds');
});

test('listings go as signed GETs outside the SDK middleware and read the same entries the SDK does', async () => {
  // A root whose characters XML escapes (and the query encodes) checks both against the SDK's.
  const root = `direct list/a+b=c&d'"<>é`;
  const files = ['/l/a', '/l/b/c', '/l/b/d', '/l/e/f/g', '/l/h0', '/l/h1', '/l/h2', '/l/h3'];
  const backend = new S3Backend(driverOptions(bucket, { rootDirectory: root }));
  for (const path of files) await backend.putContent(path, Buffer.from(`content of ${path}`));
  // Outside the path grammar, so in no listing.
  await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `${root}/l/odd &<>"'`, Body: 'x' }));
  const send = jest.spyOn(backend.client, 'send');
  const walked: FileInfo[] = [];
  await backend.walk('/l', (info) => void walked.push(info), undefined);
  const listed = await backend.list('/l');
  const paged: FileInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await backend.listPage('/l', { limit: 3, cursor, recursive: true });
    expect(page.entries.length).toBeLessThanOrEqual(3);
    paged.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== undefined && paged.length < 20);
  expect(send).not.toHaveBeenCalled();
  send.mockRestore();

  expect(listed.sort()).toEqual(['/l/a', '/l/b', '/l/e', '/l/h0', '/l/h1', '/l/h2', '/l/h3']);
  expect(walked.filter((info) => !info.isDir).map((info) => info.path).sort()).toEqual([...files].sort());
  expect(paged.map((info) => info.path)).toEqual([...files].sort());
  const sample = paged.find((info) => info.path === '/l/b/d')!;
  const stat = await backend.stat('/l/b/d');
  expect(sample).toMatchObject({ size: 'content of /l/b/d'.length, etag: stat.etag, isDir: false });
  // The listing's time has milliseconds; HEAD's Last-Modified, whole seconds.
  expect(Math.floor(sample.modTime.getTime() / 1000)).toBe(stat.modTime.getTime() / 1000);

  // The SDK's listing (a caller's own client takes the SDK path) sees exactly the same.
  const viaSdk = new S3Backend(driverOptions(bucket, { rootDirectory: root, client: raw }));
  const sdkWalked: FileInfo[] = [];
  await viaSdk.walk('/l', (info) => void sdkWalked.push(info), undefined);
  expect(walked).toEqual(sdkWalked);

  // A wrong secret is refused by the server, as a typed error with the S3 error code as cause.
  const denied = new S3Backend(driverOptions(bucket, { rootDirectory: root, secretKey: 'wrong' }));
  await expect(denied.list('/l')).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  await expect(new S3Driver(driverOptions(bucket, { rootDirectory: root, secretKey: 'wrong' })).list('/l')).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { name: 'SignatureDoesNotMatch' } });
  await new S3Driver(driverOptions(bucket, { rootDirectory: root })).delete('/l');
  await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${root}/l/odd &<>"'` }));
});

test('uploads lists the multipart uploads of the driver\'s own paths, sized by their parts and tail; abortUpload removes the upload and its tail, nothing else', async () => {
  const root = 'pending/root';
  const driver = newDriver(bucket, { rootDirectory: root });
  const writer = await driver.writer('/d/f');
  await writer.write(patternBytes(6 * MiB + 5, 41)); // one 5 MiB part, the rest stored as the tail at close
  await writer.close();
  await driver.putContent('/d/f', 'committed');
  // Uploads at keys that are no path of this driver: outside the grammar, its hidden state, a directory marker, a sibling root.
  const foreign = ['pending/root/d/a b', 'pending/root~uploads/x', 'pending/root/d/f/', 'pending/root2/d/f'];
  for (const key of foreign) await raw.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const [stored] = (await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'pending/root/d/f' }))).Uploads!.filter((u) => u.Key === 'pending/root/d/f');

  const listed = [];
  for await (const upload of driver.uploads('/')) listed.push(upload);
  expect(listed).toEqual([{ path: '/d/f', id: stored!.UploadId, startedAt: stored!.Initiated, size: 6 * MiB + 5 }]);
  expect(await allKeys(`${root}~uploads/`)).toEqual([`${root}~uploads/${stored!.UploadId}`]);

  await driver.abortUpload('/d/f', stored!.UploadId!);
  expect(await uploadsInProgress(`${root}/d/f`)).toEqual(['pending/root/d/f/']);
  expect(await allKeys(`${root}~uploads/`)).toEqual([]);
  expect((await driver.getContent('/d/f')).toString()).toBe('committed');
  await expect(driver.writer('/d/f', { append: true }).then((w) => w.size)).resolves.toBe('committed'.length);
  for (const upload of (await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'pending/' }))).Uploads ?? []) {
    await raw.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
});
