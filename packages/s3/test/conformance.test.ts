import { testDriver } from '@storagedriver/testsuite';

import { createBucket, newDriver } from './support/server.js';

const bucket = createBucket('conformance');

testDriver({
  create: async () => newDriver(await bucket, { rootDirectory: 'suite/root' }),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
  capabilities: { redirect: true, walkOrder: 'bytes' },
});
