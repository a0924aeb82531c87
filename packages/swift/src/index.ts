/**
 * The OpenStack Swift driver, on Swift's HTTP API. Importing the package registers `swift` with core's `create`.
 *
 * @module @storagedriver/swift
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { SwiftDriver } from './driver.js';
import { parseSwiftParameters } from './params.js';

export { SwiftBackend, SwiftDriver } from './driver.js';
export { SwiftClient } from './client.js';
export { parseSwiftParameters, type SwiftOptions } from './params.js';

register('swift', (parameters: DriverParameters) => new SwiftDriver(parseSwiftParameters(parameters)), { owner: '@storagedriver/swift' });
