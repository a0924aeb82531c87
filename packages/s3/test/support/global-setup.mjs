import { ensureInstalled, start } from '../../../../tooling/servers/ceph-rgw.mjs';

export default async function globalSetup() {
  if (process.env.CI === 'true') await ensureInstalled();
  const server = await start();
  globalThis.__CEPH_RGW__ = server;
  process.env.S3_TEST_ENDPOINT = server.endpoint;
  process.env.S3_TEST_ACCESS_KEY = server.accessKeyId;
  process.env.S3_TEST_SECRET_KEY = server.secretAccessKey;
}
