import { testDriver } from '@storagedriver/testsuite';

import { InMemoryDriver, MemoryStore } from '../src/index.js';

const store = new MemoryStore();

testDriver({
  create: () => new InMemoryDriver({ store }),
  construct: { make: (options) => new InMemoryDriver(options), options: { store } },
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  claims: {
    redirectURL: false,
    signedURL: [],
    signedURLMaxExpiresIn: 0,
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
});
