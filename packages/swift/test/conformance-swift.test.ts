import { testDriver } from '@storagedriver/testsuite';

import { CLAIMS, construction, containerName, newDriver } from './support/server.js';

const container = containerName('conformance');
const MiB = 1024 * 1024;

// Rooted at suite/files/root: upstream's layout puts files under `<prefix>/files`, so the driver above
// (prefix `suite`) sees this one's root at `/root/files`.
testDriver({
  name: 'swift on OpenStack Swift',
  create: () => newDriver('swift', container, { prefix: 'suite/files/root', chunksize: '5MiB' }),
  createAbove: () => ({ driver: newDriver('swift', container, { prefix: 'suite', chunksize: '5MiB' }), pathOfRoot: '/root/files' }),
  partSize: 5 * MiB,
  construct: construction('swift'),
  // Short: OpenStack Swift's Python proxy stores about 40–70 small objects a second on 2 shared
  // cores, so the 5,001-children case alone takes minutes; Ceph RGW runs the suite in full mode.
  mode: 'short',
  largeStreamSize: 128 * MiB,
  capabilities: { redirect: true, walkOrder: 'bytes' },
  claims: CLAIMS,
});
