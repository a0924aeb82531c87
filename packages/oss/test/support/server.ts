/** The Ceph gateway globalSetup started, reached virtual-hosted: a fresh bucket per test file and drivers on it. */
import { Agent } from 'node:http';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import type { DriverConstruction } from '@storagedriver/testsuite';

import { OssDriver, type OssOptions } from '../../src/index.js';
import { lookup } from './names.js';

export function connection() {
  const endpoint = process.env.OSS_TEST_ENDPOINT;
  if (endpoint === undefined) throw new Error('OSS_TEST_ENDPOINT is not set: run through jest (globalSetup starts Ceph)');
  return { endpoint, upstream: process.env.OSS_TEST_UPSTREAM!, accessKeyId: process.env.OSS_TEST_ACCESS_KEY!, secretAccessKey: process.env.OSS_TEST_SECRET_KEY! };
}

/** The HTTP agent of every `rawClient()`: requests through it are the test's, not the driver's. */
export const rawAgent = new Agent({ keepAlive: true, lookup });

/** A plain AWS SDK client, virtual-hosted like the driver (OSS accepts nothing else). */
export function rawClient(): S3Client {
  const { endpoint, accessKeyId, secretAccessKey } = connection();
  return new S3Client({
    endpoint,
    region: 'us-east-1', // CreateBucket would send it as a LocationConstraint, which Ceph's default zonegroup refuses
    forcePathStyle: false,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: rawAgent },
  });
}

export async function createBucket(name: string): Promise<string> {
  const bucket = `${name}-${Date.now().toString(36)}`;
  await rawClient().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export function ossOptions(bucket: string, extra: Partial<OssOptions> = {}): OssOptions {
  const { endpoint, accessKeyId, secretAccessKey } = connection();
  return { bucket, region: 'oss-cn-hangzhou', endpoint, secure: false, accessKeyId, accessKeySecret: secretAccessKey, chunkSize: 5 * 1024 * 1024, lookup, ...extra };
}

export function newDriver(bucket: string, extra: Partial<OssOptions> = {}): OssDriver {
  return new OssDriver(ossOptions(bucket, extra));
}

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(): DriverConstruction {
  return { make: (options) => new OssDriver(options as unknown as OssOptions), options: { ...ossOptions('construction'), rootDirectory: 'suite/root' } };
}
