// OpenStack Swift from Debian's packages as a single-replica, single-device cluster on 127.0.0.1:
// account, container and object servers, a proxy with tempauth, tempurl, bulk, slo and dlo, and the
// memcached tempauth keeps its tokens in. No systemd: everything lives in a fresh temporary
// directory, on free ports. Stricter than Ceph's Swift API (SLO validation, listing limits).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './net.mjs';

const run = promisify(execFile);
const PACKAGES = ['swift', 'swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'memcached'];
const SERVERS = ['account', 'container', 'object'];
const USER = 'test:tester';
const KEY = 'testing';

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs Debian's Swift packages and memcached (as root) unless they are there already. */
export async function ensureInstalled() {
  if (['swift-proxy-server', 'swift-object-server', 'swift-ring-builder', 'memcached'].every(onPath)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { env, maxBuffer: 64 * 1024 * 1024 });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function serverConfig({ dir, name, port }) {
  // user = root: otherwise the servers drop to the `swift` user, which cannot write the devices
  // directory (account creation fails with EACCES and every container PUT answers 503).
  return `[DEFAULT]
devices = ${dir}/node
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 1
user = root
swift_dir = ${dir}/etc
log_name = ${name}-server
log_level = WARNING
[pipeline:main]
pipeline = ${name}-server
[app:${name}-server]
use = egg:swift#${name}
# An object server that misses its container update within the default 1 s leaves it for an updater
# daemon this cluster does not run: the object would never appear in listings. Wait longer instead.
conn_timeout = 5
node_timeout = 30
${name === 'object' ? 'container_update_timeout = 30\n' : ''}`;
}

function proxyConfig({ dir, port, memcachedPort }) {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 1
user = root
swift_dir = ${dir}/etc
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# Generous timeouts: on 2 cores shared with Ceph and the tests, the defaults (0.5 s to connect to a
# backend, 0.3 s to memcached) turn a busy moment into 503s, tempauth's included.
conn_timeout = 5
node_timeout = 60
client_timeout = 120
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${KEY} .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}
connect_timeout = 5
io_timeout = 10
pool_timeout = 5
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
`;
}

/** Stops every process by its pid file and waits for it to exit (a zombie counts as gone). */
async function stopProcesses(dir) {
  const runDir = join(dir, 'run');
  let names;
  try {
    names = readdirSync(runDir).filter((n) => n.endsWith('.pid'));
  } catch {
    return;
  }
  const pids = [];
  for (const name of names) {
    const pid = Number(readFileSync(join(runDir, name), 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
      pids.push(pid);
    } catch {
      // ESRCH: gone already.
    }
  }
  const alive = (pid) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  while (pids.some(alive)) await sleep(100);
}

function logTail(dir) {
  try {
    return readdirSync(join(dir, 'log'))
      .map((name) => `--- ${name}\n${readFileSync(join(dir, 'log', name), 'utf8').split('\n').slice(-20).join('\n')}`)
      .join('\n');
  } catch {
    return '';
  }
}

/**
 * A scratch directory in memory when the machine has one whose files keep `user.*` xattrs (Swift
 * stores object metadata in them): every object PUT and container update is fsynced, which on a
 * disk makes a PUT of a small object cost about 20 ms; in /dev/shm it costs nothing.
 */
function scratchDirectory() {
  const shm = '/dev/shm';
  if (existsSync(shm)) {
    const probe = spawnSync('python3', ['-c', 'import os,sys,tempfile\nwith tempfile.NamedTemporaryFile(dir=sys.argv[1]) as f: os.setxattr(f.name, "user.swift.probe", b"1")', shm], { stdio: 'ignore' });
    if (probe.status === 0) return mkdtempSync(join(shm, 'storagedriver-swift-'));
  }
  return mkdtempSync(join(tmpdir(), 'storagedriver-swift-'));
}

/**
 * Starts the cluster. Returns { endpoint, authUrl, user, key, dir, stop() } (auth v1 with tempauth;
 * the storage URL is `<endpoint>/v1/AUTH_test`). About 3–5 s.
 */
export async function start() {
  const dir = scratchDirectory();
  for (const sub of ['etc', 'node/sdb1', 'run', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const [port, memcachedPort, ...serverPorts] = await Promise.all([freePort(), freePort(), ...SERVERS.map(() => freePort())]);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcesses(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(SERVERS.map(async (name, i) => {
      const builder = join(dir, 'etc', `${name}.builder`);
      await run('swift-ring-builder', [builder, 'create', '8', '1', '1']);
      await run('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${serverPorts[i]}/sdb1`, '1']);
      // rebalance exits 1 with a warning about a single device's balance: the ring is written all the same.
      await run('swift-ring-builder', [builder, 'rebalance']).catch((error) => {
        if (error.code !== 1) throw error;
      });
      writeFileSync(join(dir, 'etc', `${name}-server.conf`), serverConfig({ dir, name, port: serverPorts[i] }));
    }));
    writeFileSync(join(dir, 'etc', 'proxy-server.conf'), proxyConfig({ dir, port, memcachedPort }));
    const memcached = spawn('memcached', ['-l', '127.0.0.1', '-p', String(memcachedPort), '-U', '0', '-u', 'root', '-m', '64'], { stdio: 'ignore', detached: true });
    writeFileSync(join(dir, 'run', 'memcached.pid'), String(memcached.pid));
    memcached.unref();
    for (const name of [...SERVERS, 'proxy']) {
      const log = openSync(join(dir, 'log', `${name}.log`), 'a');
      const child = spawn(`swift-${name}-server`, [join(dir, 'etc', `${name}-server.conf`)], { stdio: ['ignore', log, log], detached: true });
      writeFileSync(join(dir, 'run', `${name}.pid`), String(child.pid));
      child.unref();
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(`${endpoint}/healthcheck`).then((r) => r.ok, () => false);
      // The proxy answers before the backends listen: wait until an authenticated account HEAD works.
      if (ok) {
        const auth = await fetch(`${endpoint}/auth/v1.0`, { headers: { 'X-Auth-User': USER, 'X-Auth-Key': KEY } }).catch(() => undefined);
        const token = auth?.headers.get('x-auth-token');
        const storage = auth?.headers.get('x-storage-url');
        if (token && storage) {
          const head = await fetch(storage, { method: 'HEAD', headers: { 'X-Auth-Token': token } }).catch(() => undefined);
          if (head?.ok) break;
        }
      }
      if (Date.now() > deadline) throw new Error('openstack-swift: timed out waiting for the proxy and its backends');
      await sleep(300);
    }
    return { endpoint, authUrl: `${endpoint}/auth/v1.0`, user: USER, key: KEY, dir, stop };
  } catch (error) {
    console.error(`openstack-swift failed to start: ${error.message}\n${error.stderr ?? ''}\n${logTail(dir)}`);
    await stop();
    throw error;
  }
}
