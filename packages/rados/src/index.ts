/**
 * The Ceph RADOS driver, straight on librados. Importing the package registers `rados` with core's `create`.
 *
 * @module @storagedriver/rados
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { RadosDriver } from './driver.js';
import { parseRadosParameters } from './params.js';

export { RadosBackend, RadosDriver } from './driver.js';
export { parseRadosParameters, type RadosOptions } from './params.js';

register('rados', (parameters: DriverParameters) => new RadosDriver(parseRadosParameters(parameters)), { owner: '@storagedriver/rados' });
