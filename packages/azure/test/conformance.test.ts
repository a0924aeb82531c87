import { testDriver } from '@storagedriver/testsuite';

import { construction, createContainer, newDriver } from './support/server.js';

const container = createContainer('conformance');

testDriver({
  create: async () => newDriver(await container, { rootDirectory: 'suite/root' }),
  createAbove: async () => ({ driver: newDriver(await container, { rootDirectory: 'suite' }), pathOfRoot: '/root' }),
  partSize: 4 * 1024 * 1024,
  construct: construction(),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  appendChunkSize: 4 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  claims: {
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
  },
  insecureTLS: true,
});
