import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type FileInfo, InvalidParameterError, PathNotFoundError, StorageDriverError, create, walkByListing } from '@storagedriver/core';
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

/** Every file below `dir`, hidden ones included (directories are not files). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function walked(driver: FilesystemDriver): Promise<string[]> {
  const paths: string[] = [];
  await driver.walk('/', (info) => void paths.push(info.path));
  return paths;
}

describe('native walk', () => {
  /** Files below `temp` (a trailing `/` makes a directory); hidden and temporary names included, as the driver leaves them. */
  function seed(entries: string[]): void {
    for (const entry of entries) {
      const full = join(temp, entry);
      if (entry.endsWith('/')) mkdirSync(full, { recursive: true });
      else {
        mkdirSync(join(full, '..'), { recursive: true });
        writeFileSync(full, entry);
      }
    }
  }

  async function native(driver: FilesystemDriver, from: string, startAfter?: string, decide?: (info: FileInfo) => 'skipDir' | undefined): Promise<FileInfo[]> {
    const seen: FileInfo[] = [];
    await driver.walk(from, (info) => (seen.push(info), decide?.(info)), { startAfter });
    return seen;
  }

  /** Core's generic list + stat walk over the same driver: the reference the native walk must match. */
  async function generic(driver: FilesystemDriver, from: string, startAfter?: string, decide?: (info: FileInfo) => 'skipDir' | undefined): Promise<FileInfo[]> {
    const seen: FileInfo[] = [];
    const lister = { list: (p: string) => driver.list(p), stat: (p: string) => driver.stat(p) };
    await walkByListing(lister, from, (info) => (seen.push(info), decide?.(info)), startAfter);
    return seen;
  }

  test('yields what the generic walk yields, in its order, for every startAfter hint (hidden and temporary names skipped)', async () => {
    seed(['a/x/y', 'a/x-1', 'a/x.2', 'a-b', 'a.b/c', 'a0/', 'B', '_z/q', '0', 'a/~tmp', '~staging/put-1', 'a/x/.y', 'dir with space/f']);
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const all = (await native(driver, '/')).map((info) => info.path);
    expect(all).toEqual(['/0', '/B', '/_z', '/_z/q', '/a', '/a/x', '/a/x/.y', '/a/x/y', '/a/x-1', '/a/x.2', '/a-b', '/a.b', '/a.b/c', '/a0']);
    const hints = [undefined, '', ...all, '/', '/a/x/z', '/a/w', '/A', '/zz', '/a/x/y/deeper', '/0/x'];
    for (const from of ['/', '/a', '/a/x']) {
      for (const hint of hints) {
        expect({ from, hint, entries: await native(driver, from, hint) }).toEqual({ from, hint, entries: await generic(driver, from, hint) });
      }
    }
    const skipA = (info: FileInfo) => (info.path === '/a' ? 'skipDir' : undefined);
    expect(await native(driver, '/', undefined, skipA)).toEqual(await generic(driver, '/', undefined, skipA));
    const sizes = Object.fromEntries((await native(driver, '/a')).map((info) => [info.path, info.isDir ? 'dir' : info.size]));
    expect(sizes).toEqual({ '/a/x': 'dir', '/a/x/.y': 'a/x/.y'.length, '/a/x/y': 'a/x/y'.length, '/a/x-1': 'a/x-1'.length, '/a/x.2': 'a/x.2'.length });
  });

  test('a file or a missing path is PathNotFoundError; a root not yet created walks empty', async () => {
    seed(['f']);
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await expect(driver.walk('/f', () => undefined)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.walk('/missing', () => undefined)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.walk('/f/below', () => undefined)).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await native(new FilesystemDriver({ rootDirectory: join(temp, 'not-yet') }), '/')).toEqual([]);
  });

  test('symbolic links are followed as stat and list follow them; dangling ones are skipped; skipDir never reads the directory', async () => {
    seed(['real/f']);
    symlinkSync(join(temp, 'real'), join(temp, 'linked'));
    symlinkSync(join(temp, 'nowhere'), join(temp, 'dangling'));
    // A directory that contains itself: reading it recurses until ELOOP, so only skipDir lets the walk finish.
    symlinkSync('.', join(temp, 'real', 'loop'));
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const skipLoop = (info: FileInfo) => (info.path.endsWith('/loop') ? 'skipDir' : undefined);
    const entries = await native(driver, '/', undefined, skipLoop);
    expect(entries.map((info) => info.path)).toEqual(['/linked', '/linked/f', '/linked/loop', '/real', '/real/f', '/real/loop']);
    expect(entries).toEqual(await generic(driver, '/', undefined, skipLoop));
    await expect(driver.walk('/real', () => undefined)).rejects.toThrow(/ELOOP|too many/i);
  });

  test('entries deleted during the walk are skipped; stop ends it at any depth', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `a/${String(i).padStart(2, '0')}`);
    seed([...names, 'b/1', 'c/1/2/3', 'd']);
    const driver = new FilesystemDriver({ rootDirectory: temp });
    // Deleted before the walk reached them: the last files of /a (beyond the stats it runs ahead) and /b's contents.
    const seen = await native(driver, '/', undefined, (info) => {
      if (info.path === '/a/00') {
        for (const name of names.slice(40)) rmSync(join(temp, name));
        rmSync(join(temp, 'b'), { recursive: true });
      }
      return undefined;
    });
    const paths = seen.map((info) => info.path);
    expect(paths.filter((path) => path.startsWith('/a/'))).toEqual(names.slice(0, 40).map((name) => `/${name}`));
    expect(paths.filter((path) => !path.startsWith('/a/') && path !== '/b')).toEqual(['/a', '/c', '/c/1', '/c/1/2', '/c/1/2/3', '/d']);
    const stopped: string[] = [];
    await driver.walk('/', (info) => (stopped.push(info.path), info.path === '/c/1/2' ? 'stop' : undefined));
    expect(stopped).toEqual(['/a', ...names.slice(0, 40).map((name) => `/${name}`), '/c', '/c/1', '/c/1/2']);
  });
});

describe('staging', () => {
  test('putContent makes ~staging and parent directories only when missing: again after they were removed by hand; a root that is a file is refused', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/a/b/one', '1');
    rmSync(join(temp, '~staging'), { recursive: true });
    await driver.putContent('/a/b/two', '2');
    rmSync(join(temp, 'a'), { recursive: true });
    await driver.putContent('/a/b/three', '3');
    expect(await driver.list('/a/b')).toEqual(['/a/b/three']);
    expect(readdirSync(join(temp, '~staging'))).toEqual([]);
    writeFileSync(join(temp, 'file-root'), 'x');
    const onFile = new FilesystemDriver({ rootDirectory: join(temp, 'file-root') });
    await expect(onFile.putContent('/x', 'x')).rejects.toThrow(/cannot write below .*file-root: it is not a directory/);
    await expect(driver.putContent('/a/b/three/below', 'x')).rejects.toThrow(/a parent is a file/);
    expect(await driver.list('/a/b')).toEqual(['/a/b/three']);
  });

  test('an upload in progress makes no directory visible: /fresh appears at commit, after a resume from a new instance', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const first = patternBytes(70_001, 3);
    const writer = await driver.writer('/fresh/sub/obj');
    await writer.write(first);
    await writer.close();
    for (const path of ['/fresh', '/fresh/sub', '/fresh/sub/obj']) await expect(driver.stat(path)).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await driver.list('/')).toEqual([]);
    expect(await walked(driver)).toEqual([]);
    expect(readdirSync(temp)).toEqual(['~staging']);

    const second = patternBytes(50_003, 4, first.length);
    const resumed = await new FilesystemDriver({ rootDirectory: temp }).writer('/fresh/sub/obj', { append: true });
    expect(resumed.size).toBe(first.length);
    await resumed.write(second);
    await resumed.commit();
    expect((await driver.stat('/fresh')).isDir).toBe(true);
    expect(await driver.list('/')).toEqual(['/fresh']);
    expect(await walked(driver)).toEqual(['/fresh', '/fresh/sub', '/fresh/sub/obj']);
    expect((await driver.getContent('/fresh/sub/obj')).equals(Buffer.concat([first, second]))).toBe(true);
    expect(filesUnder(temp)).toEqual([join(temp, 'fresh', 'sub', 'obj')]);
  });

  test('uploads and temporary files are hidden below the root’s ~staging directory; list, walk and stat never show them', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/dir/visible', 'v');
    const writer = await driver.writer('/dir/upload');
    await writer.write('partial');
    await writer.close();
    expect(readdirSync(join(temp, 'dir'))).toEqual(['visible']);
    // The upload and its record.
    expect(filesUnder(join(temp, '~staging'))).toHaveLength(2);
    expect(await driver.list('/')).toEqual(['/dir']);
    expect(await driver.list('/dir')).toEqual(['/dir/visible']);
    expect(await walked(driver)).toEqual(['/dir', '/dir/visible']);
    await expect(driver.stat('/dir/upload')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('cancel leaves no file on disk, hidden ones included: from the writer itself and from a resume in a new instance', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const direct = await driver.writer('/x/y/z');
    await direct.write(patternBytes(10_000, 5));
    await direct.cancel();
    expect(filesUnder(temp)).toEqual([]);

    const first = await driver.writer('/a/b/c');
    await first.write(patternBytes(20_000, 6));
    await first.close();
    expect(filesUnder(temp)).toHaveLength(2);
    const resumed = await new FilesystemDriver({ rootDirectory: temp }).writer('/a/b/c', { append: true });
    expect(resumed.size).toBe(20_000);
    await resumed.cancel();
    expect(filesUnder(temp)).toEqual([]);
    // Only the (empty) staging directory remains: no directory of the paths, no per-path upload directory.
    expect(readdirSync(temp)).toEqual(['~staging']);
    expect(readdirSync(join(temp, '~staging'))).toEqual([]);
    await expect(driver.writer('/a/b/c', { append: true })).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('a failed commit removes nothing; commit again succeeds once the obstacle is gone, and once more is a no-op', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/blocker', 'a file where a directory is needed');
    const content = patternBytes(30_000, 7);
    const writer = await driver.writer('/blocker/obj');
    await writer.write(content);
    await expect(writer.commit()).rejects.toBeInstanceOf(StorageDriverError);
    expect(filesUnder(join(temp, '~staging'))).toHaveLength(2);
    await driver.delete('/blocker');
    await writer.commit();
    await writer.commit();
    expect((await driver.getContent('/blocker/obj')).equals(content)).toBe(true);
    expect(filesUnder(join(temp, '~staging'))).toEqual([]);
  });

  test('nested roots: uploads of a driver rooted below never show through one rooted above, nor the other way round', async () => {
    const outer = new FilesystemDriver({ rootDirectory: temp });
    const inner = new FilesystemDriver({ rootDirectory: join(temp, 'inner') });
    const innerUpload = await inner.writer('/x/y');
    await innerUpload.write('inner');
    await innerUpload.close();
    // The inner root directory exists on disk (it holds the inner ~staging): the outer sees it empty.
    expect(await outer.list('/')).toEqual(['/inner']);
    expect(await outer.list('/inner')).toEqual([]);
    expect(await walked(outer)).toEqual(['/inner']);
    await expect(outer.stat('/inner/x')).rejects.toBeInstanceOf(PathNotFoundError);

    const outerUpload = await outer.writer('/inner/z');
    await outerUpload.write('outer');
    await outerUpload.close();
    expect(await inner.list('/')).toEqual([]);
    expect(await walked(inner)).toEqual([]);
    await expect(inner.stat('/z')).rejects.toBeInstanceOf(PathNotFoundError);

    await (await inner.writer('/x/y', { append: true })).commit();
    await (await outer.writer('/inner/z', { append: true })).commit();
    expect(await walked(outer)).toEqual(['/inner', '/inner/x', '/inner/x/y', '/inner/z']);
    expect(await walked(inner)).toEqual(['/x', '/x/y', '/z']);
    expect((await inner.getContent('/z')).toString()).toBe('outer');
  });

  test('an upload written and closed by another process is resumed and committed here', async () => {
    const first = patternBytes(300_001, 1);
    const second = patternBytes(200_003, 2, 300_001);
    execFileSync(process.execPath, [fixture('write-and-close.cjs'), temp, '/uploads/blob', String(first.length), '1']);
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await expect(driver.getContent('/uploads/blob')).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.stat('/uploads')).rejects.toBeInstanceOf(PathNotFoundError);
    const writer = await driver.writer('/uploads/blob', { append: true });
    expect(writer.size).toBe(first.length);
    await writer.write(second);
    await writer.commit();
    expect((await driver.getContent('/uploads/blob')).equals(Buffer.concat([first, second]))).toBe(true);
  });

  test('delete removes directories it leaves empty', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/a/b/c/file', 'x');
    await driver.putContent('/a/keep', 'x');
    await driver.delete('/a/b/c/file');
    expect(readdirSync(join(temp, 'a'))).toEqual(['keep']);
    await driver.delete('/a/keep');
    expect(readdirSync(temp)).toEqual(['~staging']);
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
