#!/usr/bin/env node
/**
 * The root README's table of what each driver supports, generated from `driver.capabilities`.
 *
 *   node tooling/scripts/capabilities-table.mjs           rewrite the table in README.md
 *   node tooling/scripts/capabilities-table.mjs --check   exit 1 when README.md is out of date
 *
 * Each driver package's built dist is imported (build them first; an absent package is left out),
 * and a driver is created through the registry with dummy but valid parameters, the way a typical
 * deployment configures it (static keys where the service has them, so signing is possible). No
 * request is sent: creating a driver does no I/O. Claims do not depend on where the service is.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Proof that creating a driver does no I/O: any connection attempt fails the script.
net.Socket.prototype.connect = function connect() {
  throw new Error('capabilities-table: a driver tried to open a network connection while being created');
};

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readmePath = join(repo, 'README.md');
const START = '<!-- capabilities:start -->';
const END = '<!-- capabilities:end -->';

/** A throwaway RSA key: the GCS driver signs URLs with a service account's private key. */
function serviceAccount() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    type: 'service_account',
    project_id: 'capabilities-table',
    private_key_id: '0',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'table@capabilities-table.iam.gserviceaccount.com',
    client_id: '0',
    token_uri: 'https://oauth2.googleapis.com/token',
  };
}

/**
 * The drivers in the table, in this order: package directory, registered name, and parameters.
 * swift, rados and oss appear once their package is built.
 */
const DRIVERS = [
  { dir: 'inmemory', name: 'inmemory', parameters: () => ({}) },
  { dir: 'filesystem', name: 'filesystem', parameters: ({ scratch }) => ({ rootdirectory: scratch }) },
  { dir: 's3', name: 's3', parameters: () => ({ bucket: 'bucket', region: 'us-east-1', accesskey: 'AKIAEXAMPLE', secretkey: 'secret-example' }) },
  { dir: 'azure', name: 'azure', parameters: () => ({ container: 'container', accountname: 'account', accountkey: Buffer.from('account-key-example').toString('base64') }) },
  { dir: 'gcs', name: 'gcs', parameters: () => ({ bucket: 'bucket', credentials: serviceAccount() }) },
  { dir: 'swift', name: 'swift', parameters: () => ({ username: 'user', password: 'password', authurl: 'https://keystone.example:5000/v3', container: 'container' }) },
  { dir: 'rados', name: 'rados', parameters: () => ({ poolname: 'pool' }) },
  { dir: 'oss', name: 'oss', parameters: () => ({ bucket: 'bucket', region: 'oss-cn-hangzhou', accesskeyid: 'id', accesskeysecret: 'secret' }) },
];

const yes = (flag) => (flag ? '✓' : '—');
const list = (items) => (items.length === 0 ? '—' : items.join(', '));

function expiry(seconds) {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${seconds} s`;
}

const COLUMNS = [
  ['redirectURL', (c) => yes(c.redirectURL)],
  ['signedURL', (c) => (c.signedURL.length === 0 ? '—' : `${c.signedURL.join(', ')} (≤ ${expiry(c.signedURLMaxExpiresIn)})`)],
  ['ifNoneMatch', (c) => yes(c.writeIfNoneMatch)],
  ['ifMatch', (c) => yes(c.writeIfMatch)],
  ['metadata', (c) => list(c.metadata)],
  ['etag', (c) => yes(c.etag)],
  ['copy', (c) => yes(c.copy)],
  ['append to committed', (c) => yes(c.appendToCommitted)],
  ['ranged read', (c) => yes(c.rangedRead)],
  ['listPage (native)', (c) => yes(c.listPage)],
  ['pending uploads', (c) => yes(c.uploads)],
];

async function capabilitiesOf(driver, scratch) {
  const entry = join(repo, 'packages', driver.dir, 'dist', 'esm', 'index.js');
  if (!existsSync(entry)) return undefined;
  await import(pathToFileURL(entry).href);
  const { create } = await import(pathToFileURL(join(repo, 'packages', 'core', 'dist', 'esm', 'index.js')).href);
  try {
    return (await create(driver.name, driver.parameters({ scratch }))).capabilities;
  } catch (error) {
    throw new Error(`${driver.name}: cannot create the driver offline with dummy parameters: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function table() {
  const scratch = await mkdtemp(join(tmpdir(), 'capabilities-table-'));
  try {
    const rows = [];
    for (const driver of DRIVERS) {
      const capabilities = await capabilitiesOf(driver, scratch);
      if (capabilities !== undefined) rows.push(`| ${driver.name} | ${COLUMNS.map(([, cell]) => cell(capabilities)).join(' | ')} |`);
    }
    return [
      START,
      '<!-- Generated from each driver\'s `capabilities` by `node tooling/scripts/capabilities-table.mjs`: do not edit by hand. -->',
      `| driver | ${COLUMNS.map(([title]) => title).join(' | ')} |`,
      `|---|${COLUMNS.map(() => '---').join('|')}|`,
      ...rows,
      END,
    ].join('\n');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const check = process.argv.includes('--check');
const readme = await readFile(readmePath, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${START} … ${END} section to fill`);
  process.exit(1);
}
const updated = `${readme.slice(0, start)}${await table()}${readme.slice(end + END.length)}`;
if (check) {
  if (updated !== readme) {
    console.error('README.md: the capabilities table is out of date; run node tooling/scripts/capabilities-table.mjs');
    process.exit(1);
  }
  console.log('README.md: the capabilities table is up to date');
} else if (updated !== readme) {
  await writeFile(readmePath, updated);
  console.log('README.md: capabilities table updated');
} else {
  console.log('README.md: capabilities table already up to date');
}
// Some SDKs keep handles (timers, sockets) open after creation; the table is written.
process.exit(0);
