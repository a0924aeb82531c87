import { testDriver } from '@storagedriver/testsuite';

import { InMemoryDriver, MemoryStore } from '../src/index.js';

const store = new MemoryStore();

testDriver({
  create: () => new InMemoryDriver({ store }),
  mode: 'full',
  largeStreamSize: 256 * 1024 * 1024,
});
