import { ParameterReader, register } from '@storagedriver/core';

import { InMemoryDriver } from './driver.js';

export { InMemoryDriver, type InMemoryOptions } from './driver.js';
export { MemoryStore } from './store.js';

register(
  'inmemory',
  (parameters) => {
    new ParameterReader('inmemory', parameters, []);
    return new InMemoryDriver();
  },
  { owner: '@storagedriver/inmemory' },
);
