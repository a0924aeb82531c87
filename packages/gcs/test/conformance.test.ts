import { testDriver } from '@storagedriver/testsuite';

import { construction, createBucket, newDriver, serviceAccountKey } from './support/server.js';

const bucket = createBucket('conformance');
const credentials = serviceAccountKey();

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root', chunkSize: 8 * 1024 * 1024, credentials }),
  createAbove: async () => ({ driver: newDriver(await bucket, { rootDirectory: 'suite', chunkSize: 8 * 1024 * 1024, credentials }), pathOfRoot: '/root' }),
  partSize: 8 * 1024 * 1024,
  construct: construction(),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  claims: {
    redirectURL: true,
    signedURL: ['GET', 'HEAD', 'PUT'],
    signedURLMaxExpiresIn: 604800,
    // fake-gcs-server v1.56.1 ignores a compose's generation preconditions (README).
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
  testServerGaps: {
    signedURLVerification: 'fake-gcs-server serves any signature; the V4 signing is proven by test/signed-url.test.ts (the SDK signer byte for byte, the public key, tampering)',
  },
});
