/** OSS-specific behaviour against Ceph RGW in virtual-hosted style (one bucket for this file). */
import { request } from 'node:http';

import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
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
