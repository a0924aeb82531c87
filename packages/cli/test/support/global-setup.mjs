// One server of each kind for the whole run. The one Ceph cluster serves s3 (path-style), oss
// (virtual-hosted `<bucket>.s3.test`: its gateway's rgw_dns_name, which still serves every other Host
// path-style), swift (the gateway's Swift API) and rados (a pool of its own and a cephx user limited to it).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as azurite from '../../../../tooling/servers/azurite.mjs';
import * as ceph from '../../../../tooling/servers/ceph-rgw.mjs';
import * as fakeGcs from '../../../../tooling/servers/fake-gcs.mjs';

const run = promisify(execFile);
const DNS_NAME = 's3.test';
const RADOS_POOL = 'storagedriver-cli';
const RADOS_USER = 'storagedriver-cli';

/** The rados driver's pool and user on the cluster; librados finds the keyring through the config's `keyring = <dir>/$name.keyring`. */
async function prepareRados(server) {
  const ceph = (...args) => run('ceph', ['-c', server.conf, '--connect-timeout', '10', ...args]);
  await ceph('osd', 'pool', 'create', RADOS_POOL, '8');
  await ceph('osd', 'pool', 'application', 'enable', RADOS_POOL, 'rados');
  const keyring = join(server.dir, `client.${RADOS_USER}.keyring`);
  await ceph('auth', 'get-or-create', `client.${RADOS_USER}`, 'mon', 'allow r', 'osd', `allow rwx pool=${RADOS_POOL}`, '-o', keyring);
  return keyring;
}

export default async function globalSetup() {
  if (process.env.CI === 'true') await ceph.ensureInstalled();
  const started = await Promise.allSettled([ceph.start({ dnsName: DNS_NAME }), azurite.start(), fakeGcs.start()]);
  const servers = started.filter((result) => result.status === 'fulfilled').map((result) => result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(servers.map((server) => server.stop()));
    throw failed.reason;
  }
  const [s3, azure, gcs] = servers;
  let keyring;
  try {
    keyring = await prepareRados(s3);
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  globalThis.__CLI_SERVERS__ = servers;
  Object.assign(process.env, {
    S3_TEST_ENDPOINT: s3.endpoint, S3_TEST_ACCESS_KEY: s3.accessKeyId, S3_TEST_SECRET_KEY: s3.secretAccessKey,
    AZURE_TEST_ENDPOINT: azure.endpoint, AZURE_TEST_ACCOUNT: azure.accountName, AZURE_TEST_KEY: azure.accountKey,
    AZURE_TEST_CA: azure.ca, GCS_TEST_ENDPOINT: gcs.endpoint,
    OSS_TEST_ENDPOINT: `http://${DNS_NAME}:${s3.port}`, OSS_TEST_DNS_NAME: DNS_NAME,
    SWIFT_TEST_AUTHURL: s3.swift.authUrl, SWIFT_TEST_USER: s3.swift.user, SWIFT_TEST_KEY: s3.swift.key,
    RADOS_TEST_CONF: s3.conf, RADOS_TEST_POOL: RADOS_POOL, RADOS_TEST_USER: RADOS_USER, RADOS_TEST_KEYRING: keyring,
  });
}
