import { testDriver } from '@storagedriver/testsuite';

import { closeDrivers, newDriver } from './support/server.js';

const MiB = 1024 * 1024;

testDriver({
  create: () => newDriver({ rootDirectory: 'suite/root', chunkSize: 4 * MiB }),
  createAbove: () => ({ driver: newDriver({ rootDirectory: 'suite', chunkSize: 4 * MiB }), pathOfRoot: '/root' }),
  teardown: closeDrivers,
  partSize: 4 * MiB,
  appendChunkSize: 4 * MiB,
  mode: 'full',
  largeStreamSize: 1024 * MiB,
  capabilities: { redirect: false, walkOrder: 'components' },
});
