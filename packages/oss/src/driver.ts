/** The OSS driver: the s3 package's backend with OSS's options (see params.ts) under the name `oss`. */
import { BaseDriver } from '@storagedriver/core';
import { S3Backend } from '@storagedriver/s3';

import { checkOssOptions, s3Options, type OssOptions } from './params.js';

/**
 * The Aliyun OSS StorageBackend: the S3 backend on OSS's S3-compatible API, with upload records instead of ListMultipartUploads.
 */
export class OssBackend extends S3Backend {
  override readonly name: string = 'oss';

  constructor(options: OssOptions) {
    super(s3Options(checkOssOptions(options)));
  }
}

/** The Aliyun OSS storage driver, on OSS's S3-compatible API. */
export class OssDriver extends BaseDriver {
  constructor(options: OssOptions) {
    super(new OssBackend(options), { maxConcurrency: options.maxConcurrency ?? 128 });
  }
}
