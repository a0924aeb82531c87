/**
 * "Install only what you need": pack core and this driver as they would be published, install the
 * two tarballs into an empty project with npm, and use the driver through `create()` after a bare
 * import, from ESM and from CommonJS — and from both at once, where errors and registrations must
 * cross the two module copies.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const packagesDir = join(__dirname, '..', '..');
let project: string;

function pack(name: string, into: string): string {
  execFileSync('pnpm', ['pack', '--pack-destination', into], { cwd: join(packagesDir, name), stdio: 'pipe' });
  return join(into, readdirSync(into).find((file) => file.startsWith(`storagedriver-${name}-`))!);
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'storagedriver-install-'));
  const tarballs = join(project, 'tarballs');
  const core = pack('core', tarballs);
  const filesystem = pack('filesystem', tarballs);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', core, filesystem], { cwd: project, stdio: 'pipe' });
}, 240_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

function node(file: string, source: string): string {
  writeFileSync(join(project, file), source);
  return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }).trim();
}

test('only core, the driver and their own dependencies are installed (no cloud SDK)', () => {
  const installed = readdirSync(join(project, 'node_modules', '@storagedriver'));
  expect(installed.sort()).toEqual(['core', 'filesystem']);
  expect(readdirSync(join(project, 'node_modules')).filter((name) => name.startsWith('@aws-sdk') || name.startsWith('@azure') || name.startsWith('@google-cloud'))).toEqual([]);
});

test('ESM: a bare import registers the driver; create() stores and reads', () => {
  const out = node(
    'esm.mjs',
    `import { create, registeredDrivers, PathNotFoundError } from '@storagedriver/core';
import '@storagedriver/filesystem';
const driver = await create('filesystem', { rootdirectory: './data-esm' });
await driver.putContent('/hello/world', 'from esm');
const missing = await driver.getContent('/nope').catch((e) => e);
console.log(JSON.stringify({ drivers: registeredDrivers(), text: (await driver.getContent('/hello/world')).toString(), typed: missing instanceof PathNotFoundError }));`,
  );
  expect(JSON.parse(out)).toEqual({ drivers: ['filesystem'], text: 'from esm', typed: true });
});

test('CommonJS: the same through require()', () => {
  const out = node(
    'cjs.cjs',
    `const { create, PathNotFoundError } = require('@storagedriver/core');
require('@storagedriver/filesystem');
(async () => {
  const driver = await create('filesystem', { rootdirectory: './data-cjs' });
  await driver.putContent('/a', 'from cjs');
  const missing = await driver.getContent('/nope').catch((e) => e);
  console.log(JSON.stringify({ text: (await driver.getContent('/a')).toString(), typed: missing instanceof PathNotFoundError }));
})();`,
  );
  expect(JSON.parse(out)).toEqual({ text: 'from cjs', typed: true });
});

test('mixed: a driver registered through require() is created through import, and its errors match ESM classes', () => {
  const out = node(
    'mixed.mjs',
    `import { createRequire } from 'node:module';
import { create, PathNotFoundError, StorageDriverError } from '@storagedriver/core';
createRequire(import.meta.url)('@storagedriver/filesystem');
await import('@storagedriver/filesystem');
const driver = await create('filesystem', { rootdirectory: './data-mixed' });
const missing = await driver.getContent('/nope').catch((e) => e);
console.log(JSON.stringify({ typed: missing instanceof PathNotFoundError, base: missing instanceof StorageDriverError, code: missing.code }));`,
  );
  expect(JSON.parse(out)).toEqual({ typed: true, base: true, code: 'PATH_NOT_FOUND' });
});
