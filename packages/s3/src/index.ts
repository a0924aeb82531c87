/**
 * The Amazon S3 (and S3-compatible) driver. Importing the package registers `s3` and `s3aws` with core's `create`.
 *
 * @module @storagedriver/s3
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { S3Driver } from './driver.js';
import { parseS3Parameters } from './params.js';

export { S3Backend, S3Driver } from './driver.js';
export { parseS3Parameters, type S3Options } from './params.js';

const factory = (parameters: DriverParameters) => new S3Driver(parseS3Parameters(parameters));
register('s3', factory, { owner: '@storagedriver/s3' });
register('s3aws', factory, { owner: '@storagedriver/s3' });
