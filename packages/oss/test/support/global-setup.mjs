import { ensureInstalled, start } from '../../../../tooling/servers/ceph-rgw.mjs';

/** The gateway's rgw_dns_name: `<bucket>.s3.test` is virtual-hosted; tests resolve the names themselves (names.ts). */
const DNS_NAME = 's3.test';

export default async function globalSetup() {
  if (process.env.CI === 'true') await ensureInstalled();
  const server = await start({ dnsName: DNS_NAME });
  globalThis.__CEPH_RGW__ = server;
  process.env.OSS_TEST_ENDPOINT = `http://${DNS_NAME}:${server.port}`;
  process.env.OSS_TEST_UPSTREAM = server.endpoint;
  process.env.OSS_TEST_DNS_NAME = DNS_NAME;
  process.env.OSS_TEST_ACCESS_KEY = server.accessKeyId;
  process.env.OSS_TEST_SECRET_KEY = server.secretAccessKey;
}
