import { testDriver } from '@storagedriver/testsuite';

import { closeDrivers, construction, newDriver } from './support/server.js';

const MiB = 1024 * 1024;

testDriver({
  create: () => newDriver({ rootDirectory: 'suite/root', chunkSize: 4 * MiB }),
  createAbove: () => ({ driver: newDriver({ rootDirectory: 'suite', chunkSize: 4 * MiB }), pathOfRoot: '/root' }),
  teardown: closeDrivers,
  construct: construction(),
  partSize: 4 * MiB,
  appendChunkSize: 4 * MiB,
  mode: 'full',
  largeStreamSize: 1024 * MiB,
  capabilities: { redirect: false, walkOrder: 'components' },
  // README "What each claim means here": no URLs (librados has no HTTP endpoint); appends continue uploads only.
  claims: {
    redirectURL: false,
    signedURL: [],
    signedURLMaxExpiresIn: 0,
    writeIfNoneMatch: true,
    writeIfMatch: true,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: false,
    rangedRead: true,
    listPage: true,
    uploads: true,
  },
});
