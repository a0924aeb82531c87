import * as azurite from '../../../../tooling/servers/azurite.mjs';
import * as ceph from '../../../../tooling/servers/ceph-rgw.mjs';
import * as fakeGcs from '../../../../tooling/servers/fake-gcs.mjs';

export default async function globalSetup() {
  if (process.env.CI === 'true') await ceph.ensureInstalled();
  const [s3, azure, gcs] = await Promise.all([ceph.start(), azurite.start(), fakeGcs.start()]);
  globalThis.__CLI_SERVERS__ = [s3, azure, gcs];
  Object.assign(process.env, {
    S3_TEST_ENDPOINT: s3.endpoint, S3_TEST_ACCESS_KEY: s3.accessKeyId, S3_TEST_SECRET_KEY: s3.secretAccessKey,
    AZURE_TEST_ENDPOINT: azure.endpoint, AZURE_TEST_ACCOUNT: azure.accountName, AZURE_TEST_KEY: azure.accountKey,
    AZURE_TEST_CA: azure.ca, GCS_TEST_ENDPOINT: gcs.endpoint,
  });
}
