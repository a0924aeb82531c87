/** The fake-gcs-server globalSetup started: a fresh bucket per test file and drivers on it. */
import { generateKeyPairSync } from 'node:crypto';

import { Storage, type Bucket } from '@google-cloud/storage';

import type { DriverConstruction } from '@storagedriver/testsuite';

import { GcsDriver, type GcsOptions, type ServiceAccountKey } from '../../src/index.js';

export function endpoint(): string {
  const url = process.env.GCS_TEST_ENDPOINT;
  if (url === undefined) throw new Error('GCS_TEST_ENDPOINT is not set: run through jest (globalSetup starts fake-gcs-server)');
  return url;
}

/** A raw SDK client on the emulator, for checks behind the driver's back. */
export function rawBucket(bucket: string): Bucket {
  return new Storage({ apiEndpoint: endpoint(), projectId: 'test' }).bucket(bucket);
}

export async function createBucket(name: string): Promise<string> {
  const bucket = `${name}-${Date.now().toString(36)}`;
  await new Storage({ apiEndpoint: endpoint(), projectId: 'test' }).createBucket(bucket);
  return bucket;
}

export function driverOptions(bucket: string, extra: Partial<GcsOptions> = {}): GcsOptions {
  return { bucket, apiEndpoint: endpoint(), chunkSize: 5 * 256 * 1024, ...extra };
}

export function newDriver(bucket: string, extra: Partial<GcsOptions> = {}): GcsDriver {
  return new GcsDriver(driverOptions(bucket, extra));
}

/** A service-account key made for the run (never sent anywhere: URLs are signed offline). */
export function serviceAccountKey(): ServiceAccountKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    type: 'service_account',
    project_id: 'test',
    client_email: 'storagedriver-test@test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(): DriverConstruction {
  return { make: (options) => new GcsDriver(options as unknown as GcsOptions), options: { ...driverOptions('construction'), rootDirectory: 'suite/root', credentials: serviceAccountKey() } };
}
