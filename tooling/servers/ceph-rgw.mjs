// Ceph RADOS Gateway as a single-host cluster on 127.0.0.1 (one mon, one mgr, one memstore OSD, one
// radosgw with the beast frontend), without systemd or root-owned state: everything lives in a fresh
// temporary directory. It enforces SigV4, presigned URLs, part sizes and the multipart API like S3.
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './net.mjs';

const run = promisify(execFile);
const PACKAGES = ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'radosgw', 'ceph-common'];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs Debian's Ceph packages (as root, on a fresh machine) unless radosgw is already there. */
export async function ensureInstalled() {
  if (onPath('radosgw') && onPath('ceph-mon') && onPath('ceph-osd')) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { env, maxBuffer: 64 * 1024 * 1024 });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`ceph-rgw: timed out waiting for ${what}`);
    await sleep(300);
  }
}

function config({ dir, fsid, monV2, monV1, rgwPort, rgwConfig, dnsName }) {
  return `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]
public_network = 127.0.0.0/8
cluster_network = 127.0.0.0/8
ms_bind_ipv4 = true
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = ${dir}/$name.keyring
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
log_file = ${dir}/log/$name.log
pid_file = ${dir}/run/$name.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
[mon]
mon_data = ${dir}/mon
# The mon shuts itself down once its disk has mon_data_avail_crit % (5) free or less, taking the
# cluster with it: on a shared test machine that is the disk's state, not this cluster's concern.
mon_data_avail_crit = 0
mon_data_avail_warn = 0
[mgr]
mgr_data = ${dir}/mgr
[osd]
osd_data = ${dir}/osd0
osd_objectstore = memstore
memstore_device_bytes = 6442450944
# memstore's count of the bytes it holds can run below zero (seen in CI: the OSD reported 16 EiB
# used, its failsafe declared it full and dropped every write, which clients saw as ETIMEDOUT).
# With this the OSD takes its fullness from its placement groups' byte counts instead.
fake_statfs_for_testing = 6442450944
# RADOS names of RGW objects are the S3 key plus a bucket marker and, for multipart parts, the upload
# id: 2048 lets every key up to S3's own limit of 1024 bytes through (at 460 keys over ~420 bytes failed).
osd_max_object_name_len = 2048
osd_max_object_namespace_len = 64
[client.rgw.gw]
# tcp_nodelay: without it every small GET waits ~40 ms (Nagle here, delayed ACK in the client).
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw_data = ${dir}/rgw
rgw_dns_name = ${dnsName}
rgw_enable_usage_log = false
${Object.entries(rgwConfig).map(([name, value]) => `${name} = ${value}\n`).join('')}`;
}

/** Stops every daemon by its pid file and waits for it to exit (SIGKILL after 15 s). */
async function stopDaemons(dir) {
  const runDir = join(dir, 'run');
  if (!existsSync(runDir)) return;
  const pids = [];
  for (const name of readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(runDir, name), 'utf8').trim());
    try {
      // radosgw and the OSD take over 15 s to shut down cleanly; the whole cluster (in-memory store
      // included) is thrown away, so they get SIGKILL. mon and mgr exit on SIGTERM within 2 s.
      process.kill(pid, /^(osd\.|client\.rgw)/.test(name) ? 'SIGKILL' : 'SIGTERM');
      pids.push(pid);
    } catch {
      // ESRCH: the daemon is gone already.
    }
  }
  // A daemon that exited but was reparented to a PID 1 that does not reap it stays a zombie (state Z).
  const alive = (pid) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(200);
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  while (pids.some(alive)) await sleep(100);
}

function logTail(dir) {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir)
    .map((name) => `--- ${name}\n${readFileSync(join(logDir, name), 'utf8').split('\n').slice(-20).join('\n')}`)
    .join('\n');
}

/**
 * What went wrong with a cluster, for the log of a failed run: daemons that died (with their log's
 * tail), and any health check but the ones a one-OSD test cluster always has. '' when all is well.
 */
async function troubleReport(dir, ceph) {
  const runDir = join(dir, 'run');
  if (!existsSync(runDir)) return '';
  const lines = [];
  for (const name of readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(readFileSync(join(runDir, name), 'utf8').trim());
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').match(/^\d+ \(.*\) (\S)/)?.[1] : undefined;
    if (state === undefined || state === 'Z') lines.push(`${name.replace(/\.pid$/, '')} (pid ${pid}) had exited`);
  }
  const health = await ceph('health', 'detail', '--format', 'json').then(({ stdout }) => JSON.parse(stdout), (error) => ({ status: 'UNKNOWN', error: error.message }));
  const checks = Object.entries(health.checks ?? {}).filter(([code]) => !IGNORED_HEALTH_CHECKS.has(code));
  if (health.status === 'UNKNOWN' || checks.length > 0) {
    lines.push(`health ${health.status}${health.error ? `: ${health.error}` : ''}`);
    for (const [code, check] of checks) lines.push(`  ${code}: ${check.summary?.message ?? ''} ${(check.detail ?? []).slice(0, 5).map((d) => d.message).join('; ')}`);
  }
  if (lines.length === 0) return '';
  const disk = statfsSync(dir);
  lines.push(`disk: ${Math.round((100 * disk.bavail) / disk.blocks)} % free (${Math.round((disk.bavail * disk.bsize) / 2 ** 30)} GiB)`, logTail(dir));
  return lines.join('\n');
}

/** Warnings a single-host test cluster has anyway. */
const IGNORED_HEALTH_CHECKS = new Set(['AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED', 'POOL_NO_REDUNDANCY', 'TOO_FEW_OSDS']);

/** The Swift subuser every cluster gets (auth v1 at `/auth/1.0`, storage URL `/swift/v1`): two more radosgw-admin calls, about 1.5 s. */
const SWIFT_USER = 'swifttest';
const SWIFT_KEY = 'swifttest-secret';

/**
 * Starts the cluster. Returns { endpoint, port, dnsName, region, accessKeyId, secretAccessKey, swift: { authUrl, user, key },
 * conf, dir, stop() }: S3 credentials, Swift auth v1 credentials and the cluster's ceph.conf (for librados).
 * `rgwConfig` adds options to the gateway's section (e.g. `rgw_keystone_url` for Keystone tokens).
 * `dnsName` is the gateway's `rgw_dns_name`: with a name such as `s3.test` it also serves
 * virtual-hosted requests (`Host: <bucket>.s3.test`), which the client must resolve to 127.0.0.1
 * itself (e.g. a `lookup` on its HTTP agent); any other Host is served path-style as before.
 * About 13–15 s; memory about 1.1 GiB (in-memory OSD).
 */
export async function start({ accessKeyId = 'storagedriver', secretAccessKey = 'storagedriver-secret', rgwConfig = {}, dnsName = '127.0.0.1' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-ceph-'));
  for (const sub of ['mon', 'mgr', 'osd0', 'rgw', 'run', 'log']) mkdirSync(join(dir, sub));
  const [monV2, monV1, rgwPort] = [await freePort(), await freePort(), await freePort()];
  const conf = join(dir, 'ceph.conf');
  writeFileSync(conf, config({ dir, fsid: randomUUID(), monV2, monV1, rgwPort, rgwConfig, dnsName }));
  const c = ['-c', conf];
  const ceph = (...args) => run('ceph', [...c, '--connect-timeout', '10', ...args]);
  const stop = async () => {
    const trouble = await troubleReport(dir, ceph);
    if (trouble !== '') console.error(`ceph-rgw: the cluster was not healthy when stopped (${dir})\n${trouble}`);
    await stopDaemons(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const fsid = readFileSync(conf, 'utf8').match(/fsid = (.*)/)[1];
    const keyring = (name) => join(dir, `${name}.keyring`);
    await run('ceph-authtool', ['--create-keyring', keyring('mon.a'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-authtool', ['--create-keyring', keyring('client.admin'), '--gen-key', '-n', 'client.admin',
      '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mds', 'allow *', '--cap', 'mgr', 'allow *']);
    await run('ceph-authtool', [keyring('mon.a'), '--import-keyring', keyring('client.admin')]);
    await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', keyring('mon.a')]);
    await run('ceph-mon', [...c, '-i', 'a']);
    await until('the monitor', async () => (await ceph('-s'), true));
    await ceph('auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *', '-o', keyring('mgr.x'));
    await run('ceph-mgr', [...c, '-i', 'x']);
    const osdUuid = randomUUID();
    const osdId = (await ceph('osd', 'new', osdUuid)).stdout.trim();
    await run('ceph-authtool', ['--create-keyring', keyring(`osd.${osdId}`), '--gen-key', '-n', `osd.${osdId}`]);
    await ceph('auth', 'add', `osd.${osdId}`, 'osd', 'allow *', 'mon', 'allow profile osd', 'mgr', 'allow profile osd', '-i', keyring(`osd.${osdId}`));
    await run('ceph-osd', [...c, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    await run('ceph-osd', [...c, '-i', osdId]);
    await until('the OSD', async () => (await ceph('osd', 'stat')).stdout.includes('1 up'));
    await ceph('auth', 'get-or-create', 'client.rgw.gw', 'mon', 'allow rw', 'osd', 'allow rwx', 'mgr', 'allow rw', '-o', keyring('client.rgw.gw'));
    await run('radosgw', [...c, '-n', 'client.rgw.gw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await until('radosgw', async () => (await fetch(endpoint)).status > 0, 90_000);
    await run('radosgw-admin', [...c, 'user', 'create', '--uid=storagedriver', '--display-name=storagedriver',
      `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`]);
    // A Swift subuser with a fixed key (without `--secret-key` it gets a random one).
    await run('radosgw-admin', [...c, 'user', 'create', `--uid=${SWIFT_USER}`, `--display-name=${SWIFT_USER}`]);
    await run('radosgw-admin', [...c, 'subuser', 'create', `--uid=${SWIFT_USER}`, `--subuser=${SWIFT_USER}:swift`, '--access=full', '--key-type=swift', `--secret-key=${SWIFT_KEY}`]);
    const swift = { authUrl: `${endpoint}/auth/1.0`, user: `${SWIFT_USER}:swift`, key: SWIFT_KEY };
    return { endpoint, port: rgwPort, dnsName, region: 'us-east-1', accessKeyId, secretAccessKey, swift, conf, dir, stop };
  } catch (error) {
    console.error(`ceph-rgw failed to start: ${error.message}\n${error.stderr ?? ''}\n${logTail(dir)}`);
    await stop();
    throw error;
  }
}
