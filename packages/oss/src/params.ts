/**
 * Upstream's oss parameters (seed-drivers.md §3.5), parsed strictly, and what they mean on OSS's
 * S3-compatible API: the endpoint `s3.oss-<region>[-internal].aliyuncs.com` and the SigV4 signing
 * region `<region>` without its `oss-` prefix.
 */
import type { LookupFunction } from 'node:net';

import { DEFAULT_ANSWER_TIMEOUT_MS, ParameterReader, checkOptions, millisecondsOption, type AnswerTimeoutOption, type DriverParameters } from '@storagedriver/core';
import type { S3Options } from '@storagedriver/s3';

const MiB = 1024 * 1024;
export const MIN_CHUNK_SIZE = 5 * MiB;
export const DEFAULT_CHUNK_SIZE = 10 * MiB;
/** OSS's largest part, as S3's. */
const MAX_CHUNK_SIZE = 5 * 1024 * MiB;
/** OSS's bucket names (3–63 lowercase letters, digits, hyphens); each is a DNS label, as virtual-hosted style needs. */
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** `oss-cn-hangzhou` (upstream's form) or `cn-hangzhou`. */
const REGION = /^(oss-)?[a-z0-9]+(-[a-z0-9]+)*$/;

/** The OSS driver's options, as `parseOssParameters` makes them from upstream's parameters (given to `new OssDriver`). */
export interface OssOptions extends AnswerTimeoutOption {
  /** The AccessKey ID; required. */
  accessKeyId: string;
  /** The AccessKey secret; required. */
  accessKeySecret: string;
  /** `oss-cn-hangzhou` style (as upstream) or `cn-hangzhou`. */
  region: string;
  /** The S3-compatible endpoint; default from `region`, `internal` and `secure` (see `ossEndpoint`). */
  endpoint?: string;
  /** The `-internal` endpoint (from inside the region's network). Ignored with `endpoint`. */
  internal?: boolean;
  /** The bucket; required, a DNS label (requests are virtual-hosted). */
  bucket: string;
  /** Server-side encryption: AES256, or KMS with `encryptionKeyId`. */
  encrypt?: boolean;
  /** The KMS key id for `encrypt`. */
  encryptionKeyId?: string;
  /** HTTPS (default true); chooses the scheme of an endpoint given without one. */
  secure?: boolean;
  /** Accept any TLS certificate (test servers only). Default false. */
  skipVerify?: boolean;
  /** Bytes per multipart part (min 5 MiB, default 10 MiB). */
  chunkSize?: number;
  /** An object key prefix every path lives under; empty (the default) for the bucket's root. */
  rootDirectory?: string;
  /** Parallel requests per driver (core's limiter). Default 128. */
  maxConcurrency?: number;
  /** Host name resolution for the driver's connections (default: the system's). */
  lookup?: LookupFunction;
}

export const PARAMETER_NAMES = [
  'accesskeyid', 'accesskeysecret', 'region', 'endpoint', 'internal', 'bucket', 'encrypt', 'encryptionkeyid', 'secure', 'skipverify', 'chunksize', 'rootdirectory',
] as const;

/**
 * OssOptions from upstream's `oss` parameters (lower-case names), with upstream's defaults.
 * Throws InvalidParameterError for an unknown name or an unaccepted value (no `accesskeyid`, `accesskeysecret`, `region` or `bucket`; a malformed region or bucket name).
 */
export function parseOssParameters(params: DriverParameters | undefined): OssOptions {
  const p = new ParameterReader('oss', params, PARAMETER_NAMES);
  const region = p.requiredString('region');
  if (!REGION.test(region)) throw p.invalid('region', 'an OSS region such as oss-cn-hangzhou');
  const secure = p.boolean('secure', true);
  const bucket = p.requiredString('bucket');
  // Any other name would make the SDK fall back to path-style, which OSS refuses.
  if (!BUCKET.test(bucket)) throw p.invalid('bucket', 'an OSS bucket name (3 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen)');
  return {
    accessKeyId: p.requiredString('accesskeyid'),
    accessKeySecret: p.requiredString('accesskeysecret'),
    region,
    endpoint: p.endpoint('endpoint', { defaultScheme: secure ? 'https' : 'http' }),
    internal: p.boolean('internal', false),
    bucket,
    encrypt: p.boolean('encrypt', false),
    encryptionKeyId: p.string('encryptionkeyid', ''),
    secure,
    skipVerify: p.boolean('skipverify', false),
    chunkSize: p.size('chunksize', DEFAULT_CHUNK_SIZE, { min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    rootDirectory: p.string('rootdirectory', ''),
  };
}

/** The SigV4 signing region: `cn-hangzhou` for `oss-cn-hangzhou`. */
export function signingRegion(region: string): string {
  return region.replace(/^oss-/, '');
}

/** OSS's S3-compatible endpoint for a region: `https://s3.oss-cn-hangzhou.aliyuncs.com` (`…-internal…` inside the region). */
export function ossEndpoint(region: string, options: { internal?: boolean; secure?: boolean } = {}): string {
  return `${options.secure === false ? 'http' : 'https'}://s3.oss-${signingRegion(region)}${options.internal ? '-internal' : ''}.aliyuncs.com`;
}

/**
 * The s3 package's options for OSS: virtual-hosted style (OSS refuses path-style), no aws-chunked
 * bodies or flexible checksums (WHEN_REQUIRED), no storage-class header, the `private` ACL (an OSS
 * object without one follows its bucket's ACL, public in a public bucket; upstream's OSS driver sends
 * private too), and upload records in place of ListMultipartUploads, which OSS's S3 API lacks.
 */
export function s3Options(o: OssOptions): S3Options {
  return {
    bucket: o.bucket,
    region: signingRegion(o.region),
    regionEndpoint: o.endpoint ?? ossEndpoint(o.region, o),
    forcePathStyle: false,
    accessKey: o.accessKeyId,
    secretKey: o.accessKeySecret,
    encrypt: o.encrypt ?? false,
    keyId: o.encryptionKeyId ?? '',
    secure: o.secure ?? true,
    skipVerify: o.skipVerify ?? false,
    chunkSize: o.chunkSize ?? DEFAULT_CHUNK_SIZE,
    rootDirectory: o.rootDirectory ?? '',
    storageClass: 'NONE',
    objectAcl: 'private',
    requestChecksums: 'WHEN_REQUIRED',
    uploadRecords: true,
    ...(o.maxConcurrency === undefined ? {} : { maxConcurrency: o.maxConcurrency }),
    ...(o.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: o.answerTimeoutMs }),
    ...(o.lookup === undefined ? {} : { lookup: o.lookup }),
  };
}

/** `new OssDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkOssOptions(options: OssOptions): OssOptions {
  return checkOptions('oss', options, {
    accessKeyId: 'accesskeyid', accessKeySecret: 'accesskeysecret', region: 'region', endpoint: 'endpoint', internal: 'internal', bucket: 'bucket',
    encrypt: 'encrypt', encryptionKeyId: 'encryptionkeyid', secure: 'secure', skipVerify: 'skipverify', chunkSize: 'chunksize',
    rootDirectory: 'rootdirectory', maxConcurrency: 'maxconcurrency', answerTimeoutMs: millisecondsOption('answertimeout'), lookup: null,
  }, ({ maxconcurrency, answertimeout, ...parameters }) => {
    // Options with no upstream parameter: checked as the s3 driver checks its own.
    const own = new ParameterReader('oss', { maxconcurrency, answertimeout }, ['maxconcurrency', 'answertimeout']);
    own.concurrencyLimit('maxconcurrency', 128, 1);
    own.duration('answertimeout', DEFAULT_ANSWER_TIMEOUT_MS, { min: 1 });
    return parseOssParameters(parameters);
  });
}
