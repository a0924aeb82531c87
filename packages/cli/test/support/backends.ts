/** Registry config.yml files for the test servers, written as upstream documents them, and their containers. */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AzureBackend } from '@storagedriver/azure';

import { registryConfig } from './run.js';

/** Preloaded into the CLI for oss: it resolves the test gateway's virtual-hosted names. */
export const RESOLVE_TEST_NAMES = join(__dirname, 'resolve-test-names.cjs');

const unique = (name: string) => `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

/** A fresh bucket on the Ceph gateway, created path-style (oss buckets too: the gateway serves both). */
async function createBucket(): Promise<string> {
  const bucket = unique('cli');
  const client = new S3Client({
    endpoint: process.env.S3_TEST_ENDPOINT!, region: 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: process.env.S3_TEST_ACCESS_KEY!, secretAccessKey: process.env.S3_TEST_SECRET_KEY! },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function s3Config(dir: string, rootdirectory = '/s3/object/name/prefix'): Promise<string> {
  const endpoint = process.env.S3_TEST_ENDPOINT!;
  const bucket = await createBucket();
  return registryConfig(dir, bucket, `version: 0.1
storage:
  s3:
    accesskey: ${process.env.S3_TEST_ACCESS_KEY}
    secretkey: ${process.env.S3_TEST_SECRET_KEY}
    region: us-east-1
    regionendpoint: ${endpoint}
    forcepathstyle: true
    bucket: ${bucket}
    encrypt: false
    secure: false
    v4auth: true
    chunksize: 5242880
    multipartcopychunksize: 33554432
    multipartcopymaxconcurrency: 100
    multipartcopythresholdsize: 33554432
    rootdirectory: ${rootdirectory}
    loglevel: off
  delete:
    enabled: true
  redirect:
    disable: false
  cache:
    blobdescriptor: inmemory
`);
}

export async function azureConfig(dir: string): Promise<string> {
  const container = unique('cli');
  const endpoint = process.env.AZURE_TEST_ENDPOINT!;
  const account = process.env.AZURE_TEST_ACCOUNT!;
  const key = process.env.AZURE_TEST_KEY!;
  await new AzureBackend({ container, accountName: account, serviceUrl: endpoint, credentials: { type: 'shared_key', accountKey: key }, skipVerify: true }).container.create();
  return registryConfig(dir, container, `version: 0.1
storage:
  azure:
    accountname: ${account}
    accountkey: ${key}
    container: ${container}
    realm: core.windows.net
    serviceurl: ${endpoint}
    credentials:
      type: shared_key
    rootdirectory: /azure/prefix
    skipverify: true
  redirect:
    disable: false
`);
}

/**
 * Creates a bucket on fake-gcs-server with one JSON API request. (The GCS SDK would do it through a
 * dynamic import that jest refuses without --experimental-vm-modules.)
 */
function createGcsBucket(endpoint: string, bucket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ name: bucket });
    const req = request(`${endpoint}/storage/v1/b?project=test`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`creating bucket ${bucket}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`creating bucket ${bucket}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The GCS config names a key file, as upstream documents; the emulator's endpoint comes from the environment. */
export async function gcsConfig(dir: string): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const bucket = unique('cli');
  const endpoint = process.env.GCS_TEST_ENDPOINT!;
  await createGcsBucket(endpoint, bucket);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyfile = join(dir, `${bucket}-key.json`);
  writeFileSync(keyfile, JSON.stringify({
    type: 'service_account', project_id: 'test', client_email: 'cli-test@test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }));
  const file = registryConfig(dir, bucket, `version: 0.1
storage:
  gcs:
    bucket: ${bucket}
    keyfile: ${keyfile}
    rootdirectory: /gcs/object/name/prefix
    chunksize: 5242880
  delete:
    enabled: true
`);
  return { file, env: { REGISTRY_STORAGE_GCS_APIENDPOINT: endpoint } };
}

/** Swift on Ceph's gateway (auth v1); the driver creates the container at its first write. */
export function swiftConfig(dir: string): string {
  const container = unique('cli');
  return registryConfig(dir, container, `version: 0.1
storage:
  swift:
    authurl: ${process.env.SWIFT_TEST_AUTHURL}
    username: ${process.env.SWIFT_TEST_USER}
    password: ${process.env.SWIFT_TEST_KEY}
    container: ${container}
    rootdirectory: /swift/prefix
    chunksize: 5242880
  delete:
    enabled: true
`);
}

/** The rados driver on the cluster's pool for the CLI tests, below a root of its own. */
export function radosConfig(dir: string): string {
  const root = unique('cli');
  return registryConfig(dir, root, `version: 0.1
storage:
  rados:
    poolname: ${process.env.RADOS_TEST_POOL}
    username: ${process.env.RADOS_TEST_USER}
    conffile: ${process.env.RADOS_TEST_CONF}
    keyring: ${process.env.RADOS_TEST_KEYRING}
    rootdirectory: ${root}
`);
}

/**
 * OSS through Ceph's gateway, virtual-hosted (`<bucket>.s3.test`). The CLI resolves that name only
 * with `env` (a preload that answers it with 127.0.0.1); a test process requires the same file.
 */
export async function ossConfig(dir: string): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const bucket = await createBucket();
  const file = registryConfig(dir, bucket, `version: 0.1
storage:
  oss:
    accesskeyid: ${process.env.S3_TEST_ACCESS_KEY}
    accesskeysecret: ${process.env.S3_TEST_SECRET_KEY}
    region: oss-cn-hangzhou
    endpoint: ${process.env.OSS_TEST_ENDPOINT}
    secure: false
    bucket: ${bucket}
    rootdirectory: /oss/prefix
    chunksize: 5242880
`);
  return { file, env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${RESOLVE_TEST_NAMES}`.trim() } };
}
