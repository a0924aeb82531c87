/** OSS-specific behaviour against Ceph RGW in virtual-hosted style (one bucket for this file). */
import { request } from 'node:http';

import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { patternBytes } from '@storagedriver/testsuite';

import { lookup } from './support/names.js';
import { recordRequests } from './support/requests.js';
import { createBucket, newDriver, rawAgent, rawClient } from './support/server.js';

const MiB = 1024 * 1024;
const raw = rawClient();
let bucket: string;

beforeAll(async () => {
  bucket = await createBucket('oss-specific');
});

/** The test's own look at the server (ListMultipartUploads is the test's, never the driver's). */
async function uploadsInProgress(prefix: string): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

async function keys(prefix: string): Promise<string[]> {
  const out = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** Parts the newest upload of `key` holds (the test's own look). */
async function partsStored(key: string): Promise<number> {
  const upload = (await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads?.at(-1);
  if (upload === undefined) return 0;
  return (await raw.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }))).Parts?.length ?? 0;
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function get(url: string, method: 'GET' | 'HEAD'): Promise<{ status: number; body: Buffer; length: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, lookup }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), length: res.headers['content-length'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a new driver instance resumes a closed upload, and one whose writer died before close, without ListMultipartUploads', async () => {
  const recording = recordRequests(process.env.OSS_TEST_DNS_NAME!, (request) => (request as { agent?: unknown }).agent === rawAgent);
  try {
    const total = 12 * MiB + 12345;
    const data = patternBytes(total, 7);
    // Closed after 7 MiB + 3: one part uploaded, the rest kept as the upload record's tail.
    const first = await newDriver(bucket, { rootDirectory: 'resume' }).writer('/closed', {});
    await first.write(data.subarray(0, 7 * MiB + 3));
    await first.close();
    const second = await newDriver(bucket, { rootDirectory: 'resume' }).writer('/closed', { append: true });
    expect(second.size).toBe(7 * MiB + 3);
    await second.write(data.subarray(7 * MiB + 3));
    await second.commit();
    expect(Buffer.compare(await newDriver(bucket, { rootDirectory: 'resume' }).getContent('/closed'), data)).toBe(0);

    // Never closed: the record written when the upload began finds its whole parts.
    const dying = await newDriver(bucket, { rootDirectory: 'resume' }).writer('/died', {});
    await dying.write(data.subarray(0, 11 * MiB));
    // write() returns once the bytes are buffered: wait (bounded) until the first part is stored.
    await until(async () => (await partsStored('resume/died')) === 2);
    const resumed = await newDriver(bucket, { rootDirectory: 'resume' }).writer('/died', { append: true });
    expect(resumed.size).toBe(10 * MiB);
    await resumed.write(data.subarray(10 * MiB));
    await resumed.commit();
    expect(Buffer.compare(await newDriver(bucket, { rootDirectory: 'resume' }).getContent('/died'), data)).toBe(0);
    await dying.cancel().catch(() => undefined);
  } finally {
    recording.stop();
  }
  const operations = new Set(recording.requests.map((r) => r.operation));
  expect(operations.has('ListParts')).toBe(true);
  expect(operations.has('ListMultipartUploads')).toBe(false);
  expect(recording.requests.filter((r) => r.violation !== undefined)).toEqual([]);
  // Committed uploads leave neither an upload nor a record.
  expect(await uploadsInProgress('resume/')).toEqual([]);
  expect(await keys('resume~')).toEqual([]);
});

test('cancel leaves no upload and no record, also for a writer resumed by another instance', async () => {
  const writer = await newDriver(bucket, { rootDirectory: 'cancel' }).writer('/f', {});
  await writer.write(patternBytes(6 * MiB, 3));
  await writer.close();
  expect(await uploadsInProgress('cancel/')).toEqual(['cancel/f']);
  expect(await keys('cancel~uploads/')).toEqual(['cancel~uploads/by-path/f']);
  const resumed = await newDriver(bucket, { rootDirectory: 'cancel' }).writer('/f', { append: true });
  expect(resumed.size).toBe(6 * MiB);
  await resumed.cancel();
  expect(await uploadsInProgress('cancel/')).toEqual([]);
  expect(await keys('cancel')).toEqual([]);
  // Nothing left to resume: append on a path without content or upload is PathNotFound.
  await expect(newDriver(bucket, { rootDirectory: 'cancel' }).writer('/f', { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
});

test('a presigned URL on the virtual host serves GET and HEAD; a tampered one is refused', async () => {
  const driver = newDriver(bucket, { rootDirectory: 'signed' });
  const content = patternBytes(1000, 5);
  await driver.putContent('/obj', content);
  const { url: getURL } = await driver.signedURL('/obj', { method: 'GET', expiresIn: 600 });
  expect(new URL(getURL).hostname).toBe(`${bucket}.${process.env.OSS_TEST_DNS_NAME}`);
  const got = await get(getURL, 'GET');
  expect(got.status).toBe(200);
  expect(Buffer.compare(got.body, content)).toBe(0);
  const { url: headURL } = await driver.signedURL('/obj', { method: 'HEAD', expiresIn: 600 });
  const head = await get(headURL, 'HEAD');
  expect(head).toMatchObject({ status: 200, length: '1000' });
  expect((await get(getURL.replace('/signed/obj', '/signed/obX'), 'GET')).status).toBe(403);
  // A GET URL does not serve HEAD (the method is signed).
  expect((await get(getURL, 'HEAD')).status).toBe(403);
});

test('uploads lists the upload records (not ListMultipartUploads), sized and dated; abortUpload removes the upload and its record; a record outliving its upload is not listed', async () => {
  const recording = recordRequests(process.env.OSS_TEST_DNS_NAME!, (request) => (request as { agent?: unknown }).agent === rawAgent);
  const driver = newDriver(bucket, { rootDirectory: 'pending' });
  const before = Date.now();
  let listed;
  try {
    for (const [path, size] of [['/d/f', 6 * MiB + 5], ['/d/g', 1], ['/d-sibling', 2]] as const) {
      const writer = await driver.writer(path);
      await writer.write(patternBytes(size, 9));
      await writer.close();
    }
    listed = [];
    for await (const upload of newDriver(bucket, { rootDirectory: 'pending' }).uploads('/d')) listed.push(upload);
    listed.sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(listed.map((u) => [u.path, u.size])).toEqual([['/d/f', 6 * MiB + 5], ['/d/g', 1]]);
    for (const upload of listed) expect(upload.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);

    // The upload of /d/g ends behind the driver's back: its record alone is no pending upload, and abortUpload removes it.
    await raw.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'pending/d/g', UploadId: listed[1]!.id }));
    const remaining = [];
    for await (const upload of driver.uploads('/d')) remaining.push(upload.path);
    expect(remaining).toEqual(['/d/f']);
    await driver.abortUpload('/d/g', listed[1]!.id);
    // Another id leaves the path's record and upload alone.
    await driver.abortUpload('/d/f', listed[1]!.id);
    expect(await keys('pending~uploads/by-path/d/')).toEqual(['pending~uploads/by-path/d/f']);
    await driver.abortUpload('/d/f', listed[0]!.id);
    await driver.abortUpload('/d-sibling', (await driver.uploads('/d-sibling')[Symbol.asyncIterator]().next()).value!.id);
  } finally {
    recording.stop();
  }
  expect(await uploadsInProgress('pending/')).toEqual([]);
  expect(await keys('pending~')).toEqual([]);
  const operations = new Set(recording.requests.map((r) => r.operation));
  expect(operations.has('ListMultipartUploads')).toBe(false);
  expect(recording.requests.filter((r) => r.violation !== undefined)).toEqual([]);
});

test('a missing bucket is a driver error saying so; a wrong secret names SignatureDoesNotMatch and the bucket', async () => {
  const missing = `no-such-bucket-${Date.now().toString(36)}`;
  for (const call of [(d: ReturnType<typeof newDriver>) => d.stat('/a'), (d: ReturnType<typeof newDriver>) => d.getContent('/a'), (d: ReturnType<typeof newDriver>) => d.copy('/a', '/b')]) {
    await expect(call(newDriver(missing))).rejects.toMatchObject({ code: 'DRIVER_ERROR', driverName: 'oss', message: expect.stringContaining(`oss: bucket ${missing} does not exist`) });
    await expect(call(newDriver(bucket, { accessKeySecret: 'wrong' }))).rejects.toMatchObject({
      code: 'DRIVER_ERROR',
      message: expect.stringMatching(new RegExp(`in bucket ${bucket}: SignatureDoesNotMatch \\(HTTP 403\\)`)),
    });
  }
});
