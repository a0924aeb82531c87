/**
 * A registry config.yml read as the registry reads it: the scalar `storage: <driver>` form, unknown
 * parameter names as warnings (the library stays strict), nested `REGISTRY_STORAGE_<DRIVER>_<MAP>_<KEY>`
 * overrides, and a second driver named only by the environment refused as the registry refuses it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse, stringify } from 'yaml';

import { azureConfig } from './support/backends.js';
import { expectOneLineError, json, registryConfig, run, tempDir } from './support/run.js';

const dir = tempDir('config');

test('storage: <driver> alone (the scalar form) selects that driver with its defaults and the environment overrides', async () => {
  const memory = registryConfig(dir, 'scalar-inmemory', 'version: 0.1\nstorage: inmemory\n');
  expect(await run(['--config', memory, 'ls', '--json'], { cwd: dir })).toEqual({ code: 0, stdout: '{"path":"/","entries":[]}\n', stderr: '' });
  const root = join(dir, 'scalar-root');
  const filesystem = registryConfig(dir, 'scalar-filesystem', 'version: 0.1\nstorage: filesystem\nhttp:\n  addr: :5000\n');
  const put = await run(['--config', filesystem, 'put', '-', '/v2/blob'], { cwd: dir, input: 'scalar', env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root } });
  expect({ code: put.code, stderr: put.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readFileSync(join(root, 'v2', 'blob'), 'utf8')).toBe('scalar');
});

test('with --config an unknown parameter is a warning naming it, and the command works; stdout stays one JSON document', async () => {
  const root = join(dir, 'lenient-root');
  const config = registryConfig(dir, 'unknown-keys', `version: 0.1
storage:
  filesystem:
    rootdirectory: ${root}
    maxthreads: 100
    chunksize: 5242880
    fromthefuture: true
  delete:
    enabled: true
`);
  const result = await run(['--config', config, 'put', '-', '/x', '--json'], { cwd: dir, input: 'lenient', env: { REGISTRY_STORAGE_FILESYSTEM_ALSOUNKNOWN: 'yes' } });
  expect(result.code).toBe(0);
  expect(json(result)).toEqual({ path: '/x', file: '-', bytes: 7 });
  const warnings = result.stderr.trimEnd().split('\n');
  expect(warnings).toHaveLength(3);
  for (const name of ['chunksize', 'fromthefuture', 'alsounknown']) {
    expect(warnings).toContainEqual(expect.stringMatching(new RegExp(`^storagedriver: warning: ignoring unknown parameter "${name}" of the filesystem driver \\(--config .*unknown-keys\\.yml\\)$`)));
  }
  expect(readFileSync(join(root, 'x'), 'utf8')).toBe('lenient');

  // A known parameter with a bad value is still an error (exit 2), unknown names beside it or not.
  const bad = await run(['--config', config, 'ls', '--json'], { cwd: dir, env: { REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: 'lots' } });
  expect(bad.code).toBe(2);
  expect(json(bad).error).toMatchObject({ code: 'INVALID_PARAMETER', details: { parameter: 'maxthreads', value: 'lots' } });
  // So is a required parameter left empty: it is not mistaken for an unknown one.
  const s3 = registryConfig(dir, 's3-no-bucket', 'storage:\n  s3:\n    region: us-east-1\n    bucket: ""\n    fromthefuture: 1\n');
  const required = await run(['--config', s3, 'ls', '--json'], { cwd: dir });
  expect(required.code).toBe(2);
  expect(json(required).error).toMatchObject({ code: 'INVALID_PARAMETER', details: { parameter: 'bucket' } });
  expect(required.stderr).toMatch(/^storagedriver: warning: ignoring unknown parameter "fromthefuture" of the s3 driver/);
});

test('REGISTRY_STORAGE_<DRIVER>_<MAP>_<KEY> sets a key of a mapping parameter; other underscores belong to the name', async () => {
  const file = await azureConfig(dir);
  const storage = (parse(readFileSync(file, 'utf8')) as { storage: { azure: Record<string, unknown> } }).storage;
  // The file's credentials say client_secret; the environment makes them shared_key (the account key is in the file).
  storage.azure.credentials = { type: 'client_secret', tenantid: 't', clientid: 'c', secret: 's' };
  const inFile = registryConfig(dir, 'azure-credentials', stringify({ version: 0.1, storage }));
  const overridden = await run(['--config', inFile, 'ls', '--json'], { cwd: dir, env: { REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE: 'shared_key' } });
  expect(overridden).toEqual({ code: 0, stdout: '{"path":"/","entries":[]}\n', stderr: '' });

  // Without credentials in the file: credentials is known to be a mapping, so the override creates it.
  const { credentials: _credentials, accountkey, ...rest } = storage.azure;
  const bare = registryConfig(dir, 'azure-bare', stringify({ version: 0.1, storage: { azure: rest } }));
  const created = await run(['--config', bare, 'put', '-', '/nested/env', '--json'], {
    cwd: dir,
    input: 'azure',
    env: { REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE: 'shared_key', REGISTRY_STORAGE_AZURE_ACCOUNTKEY: String(accountkey) },
  });
  expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
  expect((await run(['--config', inFile, 'cat', '/nested/env'], { cwd: dir, env: { REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE: 'shared_key' } })).stdout).toBe('azure');

  // MAX is no mapping: MAX_RETRIES is the parameter max_retries.
  const retries = await run(['--config', inFile, 'ls', '--json'], { cwd: dir, env: { REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE: 'shared_key', REGISTRY_STORAGE_AZURE_MAX_RETRIES: 'often' } });
  expect(retries.code).toBe(2);
  expect(json(retries).error).toMatchObject({ code: 'INVALID_PARAMETER', details: { parameter: 'max_retries', value: 'often' } });
});

test('a second driver named only by an environment variable is an error, as in the registry', async () => {
  const config = registryConfig(dir, 'one-driver', `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'one')}\n`);
  const result = await run(['--config', config, 'ls'], { cwd: dir, env: { REGISTRY_STORAGE_S3_BUCKET: 'other' } });
  expectOneLineError(result, /multiple storage drivers specified in configuration or environment: filesystem, s3\n$/, 2);
  // The registry's own keys (cache, delete, redirect, maintenance, tag) are not drivers.
  const registryOwn = await run(['--config', config, 'ls', '--json'], { cwd: dir, env: { REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'inmemory', REGISTRY_STORAGE_DELETE_ENABLED: 'true' } });
  expect(registryOwn).toEqual({ code: 0, stdout: '{"path":"/","entries":[]}\n', stderr: '' });
});

test('a config.yml that is missing or not YAML is one line, exit 2', async () => {
  expectOneLineError(await run(['--config', 'nowhere.yml', 'ls'], { cwd: dir }), /^storagedriver: --config nowhere\.yml: no such file or directory\n$/, 2);
  const broken = registryConfig(dir, 'broken', 'storage:\n  filesystem: [1\n');
  expectOneLineError(await run(['--config', broken, 'ls'], { cwd: dir }), /^storagedriver: --config .*broken\.yml: .*line \d+, column \d+\n$/, 2);
});
