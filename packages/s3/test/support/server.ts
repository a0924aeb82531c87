/** The Ceph gateway globalSetup started: a fresh bucket per test file and drivers on it. */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import type { DriverConstruction } from '@storagedriver/testsuite';

import { S3Driver, type S3Options } from '../../src/index.js';

export function connection() {
  const endpoint = process.env.S3_TEST_ENDPOINT;
  if (endpoint === undefined) throw new Error('S3_TEST_ENDPOINT is not set: run through jest (globalSetup starts Ceph)');
  return { endpoint, accessKeyId: process.env.S3_TEST_ACCESS_KEY!, secretAccessKey: process.env.S3_TEST_SECRET_KEY! };
}

export function rawClient(): S3Client {
  const { endpoint, accessKeyId, secretAccessKey } = connection();
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED' });
}

export async function createBucket(name: string): Promise<string> {
  const bucket = `${name}-${Date.now().toString(36)}`;
  await rawClient().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export function driverOptions(bucket: string, extra: Partial<S3Options> = {}): S3Options {
  const { endpoint, accessKeyId, secretAccessKey } = connection();
  return { bucket, region: 'us-east-1', regionEndpoint: endpoint, forcePathStyle: true, accessKey: accessKeyId, secretKey: secretAccessKey, requestChecksums: 'WHEN_REQUIRED', chunkSize: 5 * 1024 * 1024, ...extra };
}

export function newDriver(bucket: string, extra: Partial<S3Options> = {}): S3Driver {
  return new S3Driver(driverOptions(bucket, extra));
}

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(): DriverConstruction {
  return { make: (options) => new S3Driver(options as unknown as S3Options), options: { ...driverOptions('construction'), rootDirectory: 'suite/root' } };
}
