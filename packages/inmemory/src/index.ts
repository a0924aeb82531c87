/**
 * The in-memory driver, for tests and examples. Importing the package registers `inmemory` with core's `create`.
 *
 * @module @storagedriver/inmemory
 */
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
