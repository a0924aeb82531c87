import { testDriver } from '@storagedriver/testsuite';

import { createBucket, newDriver, serviceAccountKey } from './support/server.js';

const bucket = createBucket('conformance');
const credentials = serviceAccountKey();

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root', chunkSize: 8 * 1024 * 1024, credentials }),
  createAbove: async () => ({ driver: newDriver(await bucket, { rootDirectory: 'suite', chunkSize: 8 * 1024 * 1024, credentials }), pathOfRoot: '/root' }),
  partSize: 8 * 1024 * 1024,
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
});
