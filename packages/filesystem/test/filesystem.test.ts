import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InvalidParameterError, PathNotFoundError, create } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { FilesystemDriver, parseFilesystemParameters } from '../src/index.js';

const fixture = (name: string) => join(__dirname, 'fixtures', name);
let temp: string;

beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), 'storagedriver-fs-'));
});
afterEach(() => rmSync(temp, { recursive: true, force: true }));

describe('parameters', () => {
  test('defaults are upstream’s: /var/lib/registry and 100 threads', () => {
    expect(parseFilesystemParameters({})).toEqual({ rootDirectory: '/var/lib/registry', maxThreads: 100 });
  });

  test.each([
    ['100', 100],
    [100, 100],
    [1, 25],
    ['30', 30],
  ])('maxthreads %p means %p (values below 25 mean 25, as upstream)', (given, expected) => {
    expect(parseFilesystemParameters({ maxthreads: given }).maxThreads).toBe(expected);
  });

  test.each(['fail', '12abc', 1.5, true, -3])('maxthreads %p is rejected, naming the parameter and the value', (given) => {
    let error: unknown;
    try {
      parseFilesystemParameters({ maxthreads: given });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect((error as InvalidParameterError).parameter).toBe('maxthreads');
    expect((error as Error).message).toContain('maxthreads');
    expect((error as Error).message).toContain(JSON.stringify(given));
  });

  test('an unknown parameter is rejected, listing the known ones', async () => {
    await expect(create('filesystem', { rootdirectory: temp, rootdir: '/x' })).rejects.toThrow(/rootdir.*rootdirectory, maxthreads|known parameter name \(maxthreads, rootdirectory\)/);
  });

  test('create("filesystem") registers on import and stores under rootdirectory', async () => {
    const driver = await create('filesystem', { rootdirectory: temp, maxthreads: '50' });
    await driver.putContent('/a/b', 'hello');
    expect(readFileSync(join(temp, 'a', 'b'), 'utf8')).toBe('hello');
  });
});

describe('staging', () => {
  test('an uncommitted upload is a hidden file beside its target; list and walk never show it', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/dir/visible', 'v');
    const writer = await driver.writer('/dir/upload');
    await writer.write('partial');
    await writer.close();
    const onDisk = readdirSync(join(temp, 'dir'));
    expect(onDisk.some((name) => name.startsWith('upload#upload-'))).toBe(true);
    expect(await driver.list('/dir')).toEqual(['/dir/visible']);
    const walked: string[] = [];
    await driver.walk('/', (info) => void walked.push(info.path));
    expect(walked).toEqual(['/dir', '/dir/visible']);
    await (await driver.writer('/dir/upload', { append: true })).cancel();
    expect(readdirSync(join(temp, 'dir'))).toEqual(['visible']);
  });

  test('an upload written and closed by another process is resumed and committed here', async () => {
    const first = patternBytes(300_001, 1);
    const second = patternBytes(200_003, 2, 300_001);
    execFileSync(process.execPath, [fixture('write-and-close.cjs'), temp, '/uploads/blob', String(first.length), '1']);
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await expect(driver.getContent('/uploads/blob')).rejects.toBeInstanceOf(PathNotFoundError);
    const writer = await driver.writer('/uploads/blob', { append: true });
    expect(writer.size).toBe(first.length);
    await writer.write(second);
    await writer.commit();
    expect((await driver.getContent('/uploads/blob')).equals(Buffer.concat([first, second]))).toBe(true);
  });

  test('delete and cancel remove directories they leave empty', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/a/b/c/file', 'x');
    await driver.delete('/a/b/c/file');
    expect(readdirSync(temp)).toEqual([]);
    const writer = await driver.writer('/x/y/z');
    await writer.write('x');
    await writer.cancel();
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe('crash safety', () => {
  test('killing a process at random moments while it overwrites a file with putContent never leaves a torn file (200 kills)', async () => {
    const sizes = { a: 256 * 1024, b: 1024 * 1024 + 3 };
    const target = join(temp, 'store', 'blob');
    let seen = { a: 0, b: 0, none: 0 };
    for (let kill = 0; kill < 200; kill++) {
      const child = fork(fixture('overwrite-forever.cjs'), [join(temp, 'store'), '/blob', String(sizes.a), String(sizes.b)], { stdio: 'ignore' });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('error', reject);
      });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      if (!existsSync(target)) {
        seen.none++;
        continue;
      }
      const content = readFileSync(target);
      const isA = content.length === sizes.a && content.every((byte) => byte === 0x61);
      const isB = content.length === sizes.b && content.every((byte) => byte === 0x62);
      if (!isA && !isB) throw new Error(`torn file after kill ${kill}: ${content.length} bytes`);
      seen = { ...seen, a: seen.a + (isA ? 1 : 0), b: seen.b + (isB ? 1 : 0) };
    }
    // Both versions were caught on disk: the kills did land while the file was being rewritten.
    expect(seen.a).toBeGreaterThan(0);
    expect(seen.b).toBeGreaterThan(0);
    const driver = new FilesystemDriver({ rootDirectory: join(temp, 'store') });
    expect(await driver.list('/')).toEqual(['/blob']);
  }, 300_000);
});
