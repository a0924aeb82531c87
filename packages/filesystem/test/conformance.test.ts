import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { testDriver } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'storagedriver-fs-'));

testDriver({
  create: () => new FilesystemDriver({ rootDirectory: join(root, 'store') }),
  createAbove: () => ({ driver: new FilesystemDriver({ rootDirectory: root }), pathOfRoot: '/store' }),
  teardown: () => rmSync(root, { recursive: true, force: true }),
  construct: { make: (options) => new FilesystemDriver(options), options: { rootDirectory: join(root, 'store'), maxThreads: 100 } },
  mode: 'full',
  largeStreamSize: 1024 ** 3,
  claims: {
    redirectURL: false,
    signedURL: [],
    signedURLMaxExpiresIn: 0,
    writeIfNoneMatch: true,
    writeIfMatch: false,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: false,
    uploads: true,
  },
});
