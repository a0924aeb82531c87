/** Upstream's s3-aws parameters (upstream-model.md §7.3) plus this driver's own, parsed strictly. */
import type { LookupFunction } from 'node:net';

import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_ANSWER_TIMEOUT_MS, ParameterReader, checkOptions, millisecondsOption, type AnswerTimeoutOption, type DriverParameters } from '@storagedriver/core';

const MiB = 1024 * 1024;
export const MIN_CHUNK_SIZE = 5 * MiB;
const MAX_CHUNK_SIZE = 5 * 1024 * MiB;
const STORAGE_CLASSES = ['NONE', 'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'OUTPOSTS', 'GLACIER_IR', 'EXPRESS_ONEZONE'] as const;
const ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control'] as const;
const LOG_LEVELS = ['off', 'debug', 'debugwithsigning', 'debugwithhttpbody', 'debugwithrequestretries', 'debugwithrequesterrors', 'debugwitheventstreambody'] as const;
const CHECKSUMS = ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const;

/** The S3 driver's options, as `parseS3Parameters` makes them from upstream's parameters (given to `new S3Driver`). */
export interface S3Options extends AnswerTimeoutOption {
  /** The bucket; required. */
  bucket: string;
  /** The AWS region, e.g. `us-east-1`; required unless `regionEndpoint` is set (it then defaults to `us-east-1`). */
  region?: string;
  /** The endpoint of an S3-compatible service (a URL, or a host whose scheme `secure` picks); AWS's when absent. */
  regionEndpoint?: string;
  /** Address the bucket in the path (`host/bucket/key`) instead of the host name. Default false. */
  forcePathStyle?: boolean;
  /** The access key id; with `secretKey`. Without them the SDK's default credential chain is used. */
  accessKey?: string;
  /** The secret access key. */
  secretKey?: string;
  /** The session token of temporary credentials. */
  sessionToken?: string;
  /** Server-side encryption of new objects: SSE-KMS with `keyId`, else SSE-S3 (AES256). Default false. */
  encrypt?: boolean;
  /** The KMS key id for `encrypt`. */
  keyId?: string;
  /** HTTPS for a `regionEndpoint` given without a scheme. Default true. */
  secure?: boolean;
  /** Accept any TLS certificate (test servers only). Default false. */
  skipVerify?: boolean;
  /** Bytes per multipart part; every part but the last is exactly this size. Default 10 MiB. */
  chunkSize?: number;
  /** Parts uploading at once per writer. Memory per writer: chunkSize × (uploadConcurrency + 1). Default 4. */
  uploadConcurrency?: number;
  /** Bytes per part of a multipart server-side copy. Default 32 MiB (5 MiB to 5 GiB). */
  multipartCopyChunkSize?: number;
  /** Parts copying at once in a multipart copy. Default 100. */
  multipartCopyMaxConcurrency?: number;
  /** Objects larger than this many bytes are copied (and moved) in parts. Default 32 MiB. */
  multipartCopyThresholdSize?: number;
  /** A key prefix every path lives under; empty (the default) for the bucket's root. */
  rootDirectory?: string;
  /** The storage class of new objects; `NONE` sends none (for services that reject the header). Default `STANDARD`. */
  storageClass?: (typeof STORAGE_CLASSES)[number];
  /** Added to the SDK's User-Agent. */
  userAgent?: string;
  /**
   * The canned ACL sent with new objects. Default: none sent, so the service's default applies
   * (`private` on S3); buckets with ACLs disabled, AWS's default since April 2023, refuse any other
   * than `bucket-owner-full-control`.
   */
  objectAcl?: (typeof ACLS)[number];
  /** Use AWS's dual-stack (IPv6) endpoints. Default false. */
  useDualStack?: boolean;
  /** Use S3 Transfer Acceleration endpoints. Default false. */
  accelerate?: boolean;
  /** Use AWS's FIPS endpoints. Default false. */
  useFipsEndpoint?: boolean;
  /** Sign `redirectURL` and signed URLs for this endpoint (scheme and host) instead of `regionEndpoint`, path style. */
  redirectEndpoint?: string;
  /**
   * The SDK's request checksums. `WHEN_SUPPORTED` (AWS) frames streamed bodies as aws-chunked with a
   * CRC32 trailer; S3-compatible servers (Ceph answers 411, others store the framing) need
   * `WHEN_REQUIRED`. Default: `WHEN_REQUIRED` with `regionEndpoint`, else `WHEN_SUPPORTED`.
   */
  requestChecksums?: (typeof CHECKSUMS)[number];
  /** Parallel requests per driver (core's limiter). Default 128. */
  maxConcurrency?: number;
  /** Use this client instead of building one (endpoint, credentials and HTTP settings are then yours). */
  client?: S3Client;
  /** Host name resolution for the client's connections (default: the system's); e.g. virtual-hosted names a test server answers. */
  lookup?: LookupFunction;
  /**
   * Find an upload to resume through an upload record (the upload id, and the tail `close()` left)
   * stored per path under the hidden uploads prefix, instead of ListMultipartUploads: for services
   * without that operation (Aliyun OSS's S3 API). Default false.
   */
  uploadRecords?: boolean;
}

export const PARAMETER_NAMES = [
  'accesskey', 'secretkey', 'sessiontoken', 'region', 'regionendpoint', 'forcepathstyle', 'bucket', 'encrypt', 'keyid',
  'secure', 'skipverify', 'v4auth', 'chunksize', 'multipartcopychunksize', 'multipartcopymaxconcurrency',
  'multipartcopythresholdsize', 'rootdirectory', 'storageclass', 'useragent', 'objectacl', 'usedualstack', 'accelerate',
  'usefipsendpoint', 'loglevel', 'redirectendpoint', 'uploadconcurrency', 'requestchecksums', 'maxconcurrency', 'answertimeout',
] as const;

/**
 * S3Options from upstream's `s3`/`s3aws` parameters (lower-case names), with upstream's defaults.
 * Throws InvalidParameterError for an unknown name or an unaccepted value (e.g. no `bucket`, or neither `region` nor `regionendpoint`).
 */
export function parseS3Parameters(params: DriverParameters | undefined, driverName = 's3'): S3Options {
  const p = new ParameterReader(driverName, params, PARAMETER_NAMES);
  const secure = p.boolean('secure', true);
  // Without a scheme, `secure` chooses it (as upstream does); a path is kept (S3 behind a reverse proxy).
  const regionEndpoint = p.endpoint('regionendpoint', { defaultScheme: secure ? 'https' : 'http', allowPath: true });
  const region = p.string('region', '');
  if (region === '' && regionEndpoint === undefined) throw p.invalid('region', 'a region (required unless regionendpoint is set)');
  // v4auth false needs the V2 signer, which SDK v3 does not have: only true is accepted.
  if (!p.boolean('v4auth', true)) throw p.invalid('v4auth', 'true (SigV2 is not supported by AWS SDK v3)');
  const storageClass = p.oneOf('storageclass', STORAGE_CLASSES, 'STANDARD');
  p.oneOf('loglevel', LOG_LEVELS, 'off');
  // Presigned URLs are signed for this host: scheme and host only.
  const redirectEndpoint = p.endpoint('redirectendpoint');
  return {
    bucket: p.requiredString('bucket'),
    region: region || undefined,
    regionEndpoint,
    forcePathStyle: p.boolean('forcepathstyle', false),
    accessKey: p.string('accesskey', ''),
    secretKey: p.string('secretkey', ''),
    sessionToken: p.string('sessiontoken', ''),
    encrypt: p.boolean('encrypt', false),
    keyId: p.string('keyid', ''),
    secure,
    skipVerify: p.boolean('skipverify', false),
    chunkSize: p.size('chunksize', 10 * MiB, { min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    uploadConcurrency: p.integer('uploadconcurrency', 4, { min: 1, max: 1000 }),
    multipartCopyChunkSize: p.size('multipartcopychunksize', 32 * MiB, { min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    multipartCopyMaxConcurrency: p.integer('multipartcopymaxconcurrency', 100, { min: 1 }),
    multipartCopyThresholdSize: p.size('multipartcopythresholdsize', 32 * MiB, { min: 0, max: MAX_CHUNK_SIZE }),
    rootDirectory: p.string('rootdirectory', ''),
    storageClass,
    userAgent: p.string('useragent', ''),
    objectAcl: p.has('objectacl') ? p.oneOf('objectacl', ACLS, 'private', { caseSensitive: true }) : undefined,
    useDualStack: p.boolean('usedualstack', false),
    accelerate: p.boolean('accelerate', false),
    useFipsEndpoint: p.boolean('usefipsendpoint', false),
    redirectEndpoint,
    requestChecksums: p.has('requestchecksums') ? p.oneOf('requestchecksums', CHECKSUMS, 'WHEN_SUPPORTED') : undefined,
    maxConcurrency: p.concurrencyLimit('maxconcurrency', 128, 1),
    answerTimeoutMs: p.duration('answertimeout', DEFAULT_ANSWER_TIMEOUT_MS, { min: 1 }),
  };
}

/** `new S3Driver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkS3Options(options: S3Options, driverName = 's3'): S3Options {
  return checkOptions(driverName, options, {
    bucket: 'bucket', region: 'region', regionEndpoint: 'regionendpoint', forcePathStyle: 'forcepathstyle', accessKey: 'accesskey',
    secretKey: 'secretkey', sessionToken: 'sessiontoken', encrypt: 'encrypt', keyId: 'keyid', secure: 'secure', skipVerify: 'skipverify',
    chunkSize: 'chunksize', uploadConcurrency: 'uploadconcurrency', multipartCopyChunkSize: 'multipartcopychunksize',
    multipartCopyMaxConcurrency: 'multipartcopymaxconcurrency', multipartCopyThresholdSize: 'multipartcopythresholdsize',
    rootDirectory: 'rootdirectory', storageClass: 'storageclass', userAgent: 'useragent', objectAcl: 'objectacl', useDualStack: 'usedualstack',
    accelerate: 'accelerate', useFipsEndpoint: 'usefipsendpoint', redirectEndpoint: 'redirectendpoint', requestChecksums: 'requestchecksums',
    maxConcurrency: 'maxconcurrency', answerTimeoutMs: millisecondsOption('answertimeout'), client: null, lookup: null, uploadRecords: null,
  }, (parameters) => parseS3Parameters(parameters, driverName));
}
