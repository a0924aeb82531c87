// The shared conformance suite against Ceph RGW in virtual-hosted style, with every request the test
// process makes recorded: the last test fails on any operation outside OSS's S3-compatible list
// (ListMultipartUploads above all), any path-style request, any aws-chunked body and any new object
// without the private ACL.
import { testDriver } from '@storagedriver/testsuite';

import { recordRequests } from './support/requests.js';
import { construction, createBucket, newDriver } from './support/server.js';

const recording = recordRequests(process.env.OSS_TEST_DNS_NAME!);
const bucket = createBucket('conformance');

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root' }),
  createAbove: async () => ({ driver: newDriver(await bucket, { rootDirectory: 'suite' }), pathOfRoot: '/root' }),
  partSize: 5 * 1024 * 1024,
  construct: construction(),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  // The s3 package's claims, held on Ceph (no conditional writes: see the s3 README).
  claims: {
    redirectURL: true,
    signedURL: ['GET', 'HEAD', 'PUT'],
    signedURLMaxExpiresIn: 604_800,
    writeIfNoneMatch: false,
    writeIfMatch: false,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: true,
    uploads: true,
  },
});

test('every request of the suite is virtual-hosted, without aws-chunked bodies, in OSS S3-compatible operation list, and makes only private objects', () => {
  recording.stop();
  const { requests } = recording;
  const counts = new Map<string, number>();
  for (const request of requests) counts.set(request.operation, (counts.get(request.operation) ?? 0) + 1);
  process.stderr.write(`requests by operation: ${JSON.stringify(Object.fromEntries([...counts].sort()))}\n`);
  expect(requests.length).toBeGreaterThan(1000);
  // The suite resumes uploads (append), so the writer's upload-record path was exercised.
  expect(counts.get('ListParts') ?? 0).toBeGreaterThan(0);
  // Reads go only through the small-object path (core's HttpClient): its requests are recorded too.
  expect(counts.get('GetObject') ?? 0).toBeGreaterThan(0);
  expect(requests.filter((r) => r.violation !== undefined).slice(0, 20).map((r) => `${r.method} ${r.host}${r.path}: ${r.violation}`)).toEqual([]);
});
