import { testDriver } from '@storagedriver/testsuite';

import { construction, createBucket, newDriver } from './support/server.js';

const bucket = createBucket('conformance');

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root' }),
  createAbove: async () => ({ driver: newDriver(await bucket, { rootDirectory: 'suite' }), pathOfRoot: '/root' }),
  partSize: 10 * 1024 * 1024,
  construct: construction(),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  // No conditional writes: Ceph Pacific ignores them on CompleteMultipartUpload (see the README).
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
