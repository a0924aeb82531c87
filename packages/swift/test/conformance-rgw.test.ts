import { testDriver } from '@storagedriver/testsuite';

import { CLAIMS, construction, containerName, newDriver } from './support/server.js';

const container = containerName('conformance');
const MiB = 1024 * 1024;

// Rooted at suite/files/root: upstream's layout puts files under `<prefix>/files`, so the driver above
// (prefix `suite`) sees this one's root at `/root/files`.
testDriver({
  name: 'swift on Ceph RGW',
  create: () => newDriver('rgw', container, { prefix: 'suite/files/root', chunksize: '5MiB' }),
  createAbove: () => ({ driver: newDriver('rgw', container, { prefix: 'suite', chunksize: '5MiB' }), pathOfRoot: '/root/files' }),
  partSize: 5 * MiB,
  construct: construction('rgw'),
  mode: 'full',
  largeStreamSize: 128 * MiB,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  claims: CLAIMS,
});
