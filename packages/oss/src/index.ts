/**
 * The Aliyun (Alibaba Cloud) OSS driver, on OSS's S3-compatible API. Importing the package registers `oss` with core's `create`.
 *
 * @module @storagedriver/oss
 */
import { register, type DriverParameters } from '@storagedriver/core';

import { OssDriver } from './driver.js';
import { parseOssParameters } from './params.js';

export { OssBackend, OssDriver } from './driver.js';
export { ossEndpoint, parseOssParameters, s3Options, signingRegion, type OssOptions } from './params.js';

register('oss', (parameters: DriverParameters) => new OssDriver(parseOssParameters(parameters)), { owner: '@storagedriver/oss' });
