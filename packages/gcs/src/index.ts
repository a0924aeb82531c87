/**
 * The Google Cloud Storage driver. Importing the package registers `gcs` with core's `create`.
 *
 * @module @storagedriver/gcs
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { GcsDriver } from './driver.js';
import { parseGcsParameters } from './params.js';

export { GcsBackend, GcsDriver } from './driver.js';
export { parseGcsParameters, type GcsOptions, type ServiceAccountKey } from './params.js';

register('gcs', (parameters: DriverParameters) => new GcsDriver(parseGcsParameters(parameters)), { owner: '@storagedriver/gcs' });
