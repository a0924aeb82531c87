import { testDriver } from '@storagedriver/testsuite';

import { createBucket, newDriver } from './support/server.js';

const bucket = createBucket('conformance');

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root' }),
  createAbove: async () => ({ driver: newDriver(await bucket, { rootDirectory: 'suite' }), pathOfRoot: '/root' }),
  partSize: 10 * 1024 * 1024,
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
});
