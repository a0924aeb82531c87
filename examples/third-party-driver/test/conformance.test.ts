import { testDriver } from '@storagedriver/testsuite';

import { KeyValueDriver, KeyValueStore } from '../src/index.js';

// One store, so the suite's "new driver instance" resumes uploads across instances.
const store = new KeyValueStore();

testDriver({
  create: () => new KeyValueDriver({ store, rootDirectory: 'tenant/a' }),
  createAbove: () => ({ driver: new KeyValueDriver({ store, rootDirectory: 'tenant' }), pathOfRoot: '/a' }),
  mode: 'short',
  capabilities: { walkOrder: 'bytes' },
});
