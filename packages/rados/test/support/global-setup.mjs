// One Ceph cluster per jest run (≈15 s to start, the one the s3 tests use), then what the rados tests
// need on it: two pools (the suite's, and one whose objects a test counts) with the rados application
// enabled, and a cephx user limited to them, whose keyring librados finds through the config's
// `keyring = <dir>/$name.keyring` line. Handed to the test files through process.env.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ensureInstalled, start } from '../../../../tooling/servers/ceph-rgw.mjs';

const run = promisify(execFile);
const USER = 'storagedriver';
const POOLS = ['storagedriver', 'storagedriver-count'];
const PG_NUM = 8;

export default async function globalSetup() {
  if (process.env.CI === 'true') await ensureInstalled();
  const server = await start();
  globalThis.__CEPH_RGW__ = server;
  try {
    const conf = join(server.dir, 'ceph.conf');
    const ceph = (...args) => run('ceph', ['-c', conf, '--connect-timeout', '10', ...args]);
    for (const pool of POOLS) {
      await ceph('osd', 'pool', 'create', pool, String(PG_NUM));
      await ceph('osd', 'pool', 'application', 'enable', pool, 'rados');
    }
    // The new pools' placement groups take a moment to peer; a test's first write waits for them,
    // and on a busy machine that wait is better spent here than against a test's op timeout.
    const deadline = Date.now() + 60_000;
    for (const pool of POOLS) {
      for (;;) {
        const { pg_stats: pgs } = JSON.parse((await ceph('pg', 'ls-by-pool', pool, '--format', 'json')).stdout);
        const inactive = pgs.filter(({ state }) => !state.split('+').includes('active')).length;
        if (pgs.length === PG_NUM && inactive === 0) break;
        if (Date.now() > deadline) throw new Error(`rados tests: pool ${pool} has ${pgs.length} of ${PG_NUM} placement groups, ${inactive} inactive, after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const keyring = join(server.dir, `client.${USER}.keyring`);
    await ceph('auth', 'get-or-create', `client.${USER}`, 'mon', 'allow r', 'osd', POOLS.map((pool) => `allow rwx pool=${pool}`).join(', '), '-o', keyring);
    Object.assign(process.env, {
      RADOS_TEST_DIR: server.dir,
      RADOS_TEST_CONF: conf,
      RADOS_TEST_USER: USER,
      RADOS_TEST_KEYRING: keyring,
      RADOS_TEST_POOL: POOLS[0],
      RADOS_TEST_COUNT_POOL: POOLS[1],
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
}
