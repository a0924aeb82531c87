// Keystone (Debian's `keystone` package) on 127.0.0.1 for the opt-in Keystone v3 test: SQLite,
// fernet tokens, everything in a fresh temporary directory; bootstrapped with an `admin` user and
// project in domain `Default`. Not installed by the project's setup: `apt-get install -y
// --no-install-recommends keystone` first (≈1 min). About 30–60 s to start.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as ceph from '../../../../tooling/servers/ceph-rgw.mjs';
import { freePort } from '../../../../tooling/servers/net.mjs';

const run = promisify(execFile);
export const ADMIN_PASSWORD = 'keystone-admin';

export async function start() {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-keystone-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'keystone.conf');
  writeFileSync(conf, `[DEFAULT]
log_file = ${dir}/keystone.log
[database]
connection = sqlite:///${dir}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = ${dir}/fernet-keys
[credential]
key_repository = ${dir}/credential-keys
`);
  let child;
  const stop = async () => {
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const manage = (...args) => run('keystone-manage', ['--config-file', conf, ...args], { maxBuffer: 16 * 1024 * 1024 });
    await manage('db_sync');
    await manage('fernet_setup', '--keystone-user', 'root', '--keystone-group', 'root');
    await manage('credential_setup', '--keystone-user', 'root', '--keystone-group', 'root');
    await manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD, '--bootstrap-public-url', `${endpoint}/v3/`, '--bootstrap-region-id', 'RegionOne');
    const log = openSync(join(dir, 'server.log'), 'a');
    child = spawn('keystone-wsgi-public', ['--host', '127.0.0.1', '--port', String(port)], { env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf }, stdio: ['ignore', log, log], detached: true });
    const deadline = Date.now() + 120_000;
    while (!(await fetch(`${endpoint}/v3`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`keystone did not answer:\n${readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return { endpoint, authUrl: `${endpoint}/v3`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Registers an `object-store` service with public and internal endpoints in RegionOne (admin token). */
export async function registerObjectStore(endpoint, storageUrl) {
  const auth = await fetch(`${endpoint}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', password: ADMIN_PASSWORD, domain: { name: 'Default' } } } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    }),
  });
  if (!auth.ok) throw new Error(`keystone admin token: ${auth.status} ${await auth.text()}`);
  const headers = { 'content-type': 'application/json', 'x-auth-token': auth.headers.get('x-subject-token') };
  // Keystone on SQLite answers 500 "database is locked" now and then: each POST is tried up to 10 times.
  const post = async (path, body) => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${endpoint}/v3/${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (response.ok) return response.json();
      if (response.status !== 500 || attempt === 10) throw new Error(`keystone ${path}: ${response.status} ${await response.text()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const service = await post('services', { service: { type: 'object-store', name: 'swift' } });
  for (const [iface, url] of [['public', storageUrl], ['internal', storageUrl], ['admin', 'http://127.0.0.1:9/unused']]) {
    await post('endpoints', { endpoint: { service_id: service.service.id, interface: iface, url, region_id: 'RegionOne' } });
  }
}

/** A Ceph cluster of its own whose gateway validates Swift tokens with this Keystone (the admin user checks them). */
export function startCephWithKeystone(keystoneEndpoint) {
  return ceph.start({
    rgwConfig: {
      rgw_keystone_url: keystoneEndpoint,
      rgw_keystone_api_version: 3,
      rgw_keystone_admin_user: 'admin',
      rgw_keystone_admin_password: ADMIN_PASSWORD,
      rgw_keystone_admin_project: 'admin',
      // The domain's name, not its id: `default` fails with DomainNotFound.
      rgw_keystone_admin_domain: 'Default',
      rgw_keystone_accepted_roles: 'member,admin',
    },
  });
}
