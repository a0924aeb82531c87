/**
 * The Azure Blob Storage driver. Importing the package registers `azure` with core's `create`.
 *
 * @module @storagedriver/azure
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { AzureDriver } from './driver.js';
import { parseAzureParameters } from './params.js';

export { AzureBackend, AzureDriver } from './driver.js';
export { parseAzureParameters, type AzureCredentials, type AzureOptions } from './params.js';

register('azure', (parameters: DriverParameters) => new AzureDriver(parseAzureParameters(parameters)), { owner: '@storagedriver/azure' });
