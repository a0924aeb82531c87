/** The binary against the filesystem driver: every command, its --json shape, help, and bad configuration. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { patternBytes } from '@storagedriver/testsuite';

import { COMMANDS } from '../src/help.js';

import { json, registryConfig, run, tempDir } from './support/run.js';

let cwd: string;

beforeAll(() => {
  cwd = tempDir('fs');
});

test('with no backend options every command works on the filesystem driver at ./storage', async () => {
  const data = patternBytes(3 * 1024 * 1024 + 5, 1);
  writeFileSync(join(cwd, 'big.bin'), data);
  const put = await run(['put', 'big.bin', '/dir/big.bin', '--json'], { cwd });
  expect(put.code).toBe(0);
  expect(json(put)).toEqual({ path: '/dir/big.bin', file: 'big.bin', bytes: data.length });
  expect(readFileSync(join(cwd, 'storage', 'dir', 'big.bin')).equals(data)).toBe(true);

  const piped = await run(['put', '-', '/dir/sub/note.txt'], { cwd, input: 'hello from stdin' });
  expect(piped.code).toBe(0);
  expect(piped.stdout).toContain('/dir/sub/note.txt');

  expect(json(await run(['ls', '/dir', '--json'], { cwd }))).toEqual({ path: '/dir', entries: ['/dir/big.bin', '/dir/sub'] });
  expect((await run(['ls', '/dir'], { cwd })).stdout).toBe('/dir/big.bin\n/dir/sub\n');
  expect(json(await run(['stat', '/dir/big.bin', '--json'], { cwd }))).toMatchObject({ path: '/dir/big.bin', size: data.length, isDir: false, modTime: expect.any(String) });
  expect(json(await run(['stat', '/dir', '--json'], { cwd }))).toMatchObject({ path: '/dir', isDir: true });

  expect((await run(['cat', '/dir/sub/note.txt'], { cwd })).stdout).toBe('hello from stdin');
  expect(json(await run(['cat', '/dir/sub/note.txt', '--json'], { cwd }))).toEqual({ path: '/dir/sub/note.txt', size: 16, base64: Buffer.from('hello from stdin').toString('base64') });

  const get = await run(['get', '/dir/big.bin', 'copy.bin', '--json'], { cwd });
  expect(json(get)).toEqual({ path: '/dir/big.bin', file: 'copy.bin', bytes: data.length });
  expect(readFileSync(join(cwd, 'copy.bin')).equals(data)).toBe(true);
  const toStdout = await run(['get', '/dir/big.bin', '-'], { cwd });
  expect(Buffer.from(toStdout.stdout, 'latin1').equals(data)).toBe(true);

  const tree = json(await run(['tree', '--json'], { cwd }));
  expect(tree.map((e: { path: string }) => e.path)).toEqual(['/dir', '/dir/big.bin', '/dir/sub', '/dir/sub/note.txt']);
  expect(tree[1]).toMatchObject({ size: data.length, isDir: false });
  expect((await run(['tree', '/dir/sub'], { cwd })).stdout).toBe('/dir/sub/note.txt  16 B\n');
  expect(json(await run(['du', '/', '--json'], { cwd }))).toEqual({ path: '/', files: 2, bytes: data.length + 16 });

  expect(json(await run(['mv', '/dir/sub/note.txt', '/moved/note.txt', '--json'], { cwd }))).toEqual({ from: '/dir/sub/note.txt', to: '/moved/note.txt' });
  expect(existsSync(join(cwd, 'storage', 'moved', 'note.txt'))).toBe(true);
  expect(json(await run(['rm', '/dir', '--json'], { cwd }))).toEqual({ deleted: '/dir' });
  expect(json(await run(['ls', '--json'], { cwd }))).toEqual({ path: '/', entries: ['/moved'] });

  // The filesystem driver has no redirect URLs: a clear failure, exit 1.
  const url = await run(['url', '/moved/note.txt', '--json'], { cwd });
  expect(url.code).toBe(1);
  expect(json(url).error.message).toMatch(/no redirect URLs/);
});

test('metadata on put, server-side cp, caps; sign is refused where the driver cannot sign', async () => {
  expect((await run(['put', '-', '/meta/page.html', '--content-type', 'text/html', '--meta', 'owner=ci', '--meta', 'build=7'], { cwd, input: '<p/>' })).code).toBe(0);
  const stat = await run(['stat', '/meta/page.html'], { cwd });
  expect(stat.stdout).toMatch(/contentType: text\/html/);
  expect(json(await run(['stat', '/meta/page.html', '--json'], { cwd }))).toMatchObject({ contentType: 'text/html', metadata: { owner: 'ci', build: '7' }, etag: expect.any(String) });
  expect(json(await run(['cp', '/meta/page.html', '/meta/copy.html', '--json'], { cwd }))).toEqual({ from: '/meta/page.html', to: '/meta/copy.html' });
  expect(json(await run(['stat', '/meta/copy.html', '--json'], { cwd }))).toMatchObject({ size: 4, contentType: 'text/html', metadata: { owner: 'ci', build: '7' } });
  const caps = json(await run(['caps', '--json'], { cwd }));
  expect(caps).toMatchObject({ driver: 'filesystem', capabilities: { copy: true, signedURL: [] } });
  const sign = await run(['sign', '/meta/page.html', '--method', 'PUT', '--json'], { cwd });
  expect(sign.code).toBe(1);
  expect(json(sign).error.code).toBe('UNSUPPORTED_METHOD');
  expect((await run(['sign', '/meta/page.html', '--method', 'DELETE'], { cwd })).code).toBe(2);
  expect((await run(['put', '-', '/meta/x', '--meta', 'novalue'], { cwd, input: 'x' })).stderr).toMatch(/--meta novalue: KEY=VALUE/);
  expect((await run(['rm', '/meta'], { cwd })).code).toBe(0);
});

test('missing paths are typed errors with exit 1; JSON errors carry the code', async () => {
  const missing = await run(['stat', '/nope', '--json'], { cwd });
  expect(missing.code).toBe(1);
  expect(json(missing)).toEqual({ error: { code: 'PATH_NOT_FOUND', message: expect.stringContaining('/nope') } });
  // A streamed array that cannot start is not begun: the error is the only document.
  const tree = await run(['tree', '/nope', '--json'], { cwd });
  expect(tree.code).toBe(1);
  expect(json(tree).error.code).toBe('PATH_NOT_FOUND');
  const human = await run(['cat', '/nope'], { cwd });
  expect(human.code).toBe(1);
  expect(human.stderr).toMatch(/^storagedriver: .*\/nope/);
});

test('bad configuration fails before any I/O, naming the parameter, the value and what is accepted (exit 2)', async () => {
  const root = join(cwd, 'never-created');
  const bad = await run(['--driver', 'filesystem', '--param', `rootdirectory=${root}`, '--param', 'maxthreads=lots', 'put', '-', '/x', '--json'], { cwd, input: 'x' });
  expect(bad.code).toBe(2);
  expect(json(bad).error).toMatchObject({ code: 'INVALID_PARAMETER', details: { parameter: 'maxthreads', value: 'lots', accepted: expect.stringMatching(/integer/) } });
  expect(existsSync(root)).toBe(false);

  const unknown = await run(['--driver', 'filesystem', '--param', 'rootdir=/tmp', 'ls'], { cwd });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/rootdir.*rootdirectory/);
  expect((await run(['--driver', 'ftp', 'ls'], { cwd })).stderr).toMatch(/unknown driver "ftp".*filesystem/);
  expect((await run(['--driver', 's3', '--param', 'bucket=b', 'ls'], { cwd })).stderr).toMatch(/region/);
  expect((await run(['--param', 'x=1', 'ls'], { cwd })).stderr).toMatch(/--param needs --driver/);
  expect((await run(['--bogus', 'ls'], { cwd })).code).toBe(2);
  expect((await run(['frobnicate'], { cwd })).stderr).toMatch(/unknown command/);
  const noStorage = registryConfig(cwd, 'empty', 'version: 0.1\nhttp:\n  addr: :5000\n');
  expect((await run(['--config', noStorage, 'ls'], { cwd })).stderr).toMatch(/no storage: section/);
  const two = registryConfig(cwd, 'two', 'storage:\n  filesystem: {}\n  inmemory: {}\n');
  expect((await run(['--config', two, 'ls'], { cwd })).stderr).toMatch(/exactly one driver.*filesystem, inmemory/);
});

test('a registry config.yml for the filesystem driver works unchanged, with REGISTRY_STORAGE_* overrides', async () => {
  const root = join(cwd, 'registry-root');
  const config = registryConfig(cwd, 'filesystem', `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${root}
    maxthreads: 100
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: :5000
`);
  expect((await run(['--config', config, 'put', '-', '/docker/registry/v2/x'], { cwd, input: 'blob' })).code).toBe(0);
  expect(readFileSync(join(root, 'docker', 'registry', 'v2', 'x'), 'utf8')).toBe('blob');
  const other = join(cwd, 'overridden-root');
  const overridden = await run(['--config', config, 'put', '-', '/y'], { cwd, input: 'z', env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: other } });
  expect(overridden.code).toBe(0);
  expect(readFileSync(join(other, 'y'), 'utf8')).toBe('z');
  // Override values are YAML scalars, as in the registry: -5 arrives as the number -5.
  const badThreads = await run(['--config', config, 'ls', '--json'], { cwd, env: { REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS: '-5' } });
  expect(json(badThreads).error).toMatchObject({ code: 'INVALID_PARAMETER', details: { parameter: 'maxthreads', value: -5 } });
});

test('--help on the tool and on every command, with examples', async () => {
  const tool = await run(['--help']);
  expect(tool.code).toBe(0);
  for (const name of Object.keys(COMMANDS)) expect(tool.stdout).toContain(`  ${name} `);
  for (const name of Object.keys(COMMANDS)) {
    const help = await run([name, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`storagedriver ${COMMANDS[name]!.usage}`);
    expect(help.stdout).toMatch(/Examples:\n {2}storagedriver /);
  }
});

test('conformance runs the shared suite against the default backend and prints its table', async () => {
  const human = await run(['conformance'], { cwd });
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/group\s+case\s+status/);
  expect(human.stdout).toMatch(/\n(\d+) passed, 0 failed, (\d+) skipped \(filesystem, short mode\)\n$/);
  // The CLI gives the suite all it can use (a driver rooted above the scratch root among it): what is
  // skipped is only what short mode or the driver leaves out.
  const all = json(await run(['conformance', '--json'], { cwd }));
  expect(all.failed).toBe(0);
  expect(all.results.filter((r: { status: string; reason?: string }) => r.status === 'skipped' && /createAbove/.test(r.reason ?? ''))).toEqual([]);
  const result = json(await run(['conformance', '--json', '--filter', 'walk'], { cwd }));
  expect(result).toMatchObject({ driver: 'filesystem', mode: 'short', failed: 0 });
  expect(result.passed).toBeGreaterThan(3);
  expect(result.results.every((r: { name: string; status: string }) => r.name.includes('walk') && r.status !== 'failed')).toBe(true);
  // The scratch prefix is gone and nothing else was touched.
  expect(json(await run(['ls', '--json'], { cwd })).entries).toEqual(['/moved']);
});

test('bench prints a table of throughput, operations per second and peak memory', async () => {
  const result = await run(['bench', '--size', '8MiB', '--iterations', '5'], { cwd });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/benchmark\s+ops\s+ops\/s\s+MiB\/s\s+ms\/op\s+peak RSS MiB/);
  const parsed = json(await run(['bench', '--size', '4MiB', '--iterations', '3', '--json'], { cwd }));
  expect(parsed.results.length).toBeGreaterThan(4);
  expect(parsed.results[0]).toMatchObject({ name: expect.any(String), operations: expect.any(Number), peakRssMiB: expect.any(Number) });
});
