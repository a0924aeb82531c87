import { BaseDriver, type FileInfo, PathNotFoundError, type WalkDecision, walkSortedKeys } from '../src/index.js';
import { MapBackend, WALK_FIXTURE } from './fixtures.js';

async function walk(from: string, options: { startAfter?: string; decide?: (p: string) => WalkDecision } = {}, paths = WALK_FIXTURE): Promise<string[]> {
  const driver = new BaseDriver(new MapBackend(paths));
  const seen: string[] = [];
  await driver.walk(from, (info) => (seen.push(info.path), options.decide?.(info.path)), { startAfter: options.startAfter });
  return seen;
}

const ALL = [
  '/file1', '/folder1', '/folder1/file1', '/folder1-suffix', '/folder1-suffix/file1', '/folder2', '/folder2/file1', '/folder3',
  '/folder3/subfolder1', '/folder3/subfolder1/subfolder1', '/folder3/subfolder1/subfolder1/file1', '/folder3/subfolder2',
  '/folder3/subfolder2/subfolder1', '/folder3/subfolder2/subfolder1/file1', '/folder4', '/folder4/file1',
];

describe('the generic walk matches upstream walk_test.go', () => {
  test('walk all', async () => expect(await walk('/')).toEqual(ALL));
  test('skip directory', async () => expect(await walk('/', { decide: (p) => (p === '/folder1' ? 'skipDir' : undefined) })).toEqual(ALL.filter((p) => p !== '/folder1/file1')));
  test('hint inside', async () => expect(await walk('/', { startAfter: '/folder1/file1' })).toEqual(ALL.slice(ALL.indexOf('/folder1-suffix'))));
  test('deep hint: ancestors are not emitted again', async () =>
    expect(await walk('/', { startAfter: '/folder3/subfolder1/subfolder1/file1' })).toEqual(ALL.slice(ALL.indexOf('/folder3/subfolder2'))));
  test('deep hint from a subfolder', async () =>
    expect(await walk('/folder3', { startAfter: '/folder3/subfolder1/subfolder1/file1' })).toEqual(['/folder3/subfolder2', '/folder3/subfolder2/subfolder1', '/folder3/subfolder2/subfolder1/file1']));
  test('hint after from: nothing', async () => expect(await walk('/folder1', { startAfter: '/folder1-suffix' })).toEqual([]));
  test('hint equal to from: everything below', async () => expect(await walk('/folder3', { startAfter: '/folder3' })).toEqual(ALL.filter((p) => p.startsWith('/folder3/'))));
  test('missing hint inside from: everything after it', async () =>
    expect(await walk('/folder3', { startAfter: '/folder3/notafolder/notafile' })).toEqual(ALL.filter((p) => p.startsWith('/folder3/'))));
  test('stop early', async () => expect(await walk('/', { decide: (p) => (p === '/folder1/file1' ? 'stop' : undefined) })).toEqual(['/file1', '/folder1', '/folder1/file1']));
  test('stop at depth with a hint ends the whole walk (upstream kept going at the parent level)', async () => {
    const seen = await walk('/', { startAfter: '/folder2/file1', decide: (p) => (p === '/folder3/subfolder1/subfolder1/file1' ? 'stop' : undefined) });
    expect(seen).toEqual(['/folder3', '/folder3/subfolder1', '/folder3/subfolder1/subfolder1', '/folder3/subfolder1/subfolder1/file1']);
  });
  test('from a folder', async () => expect(await walk('/folder1')).toEqual(['/folder1/file1']));
  test('a missing from is PathNotFoundError', async () => await expect(walk('/nope')).rejects.toBeInstanceOf(PathNotFoundError));
  test('an entry deleted between list and stat is skipped', async () => {
    const backend = new MapBackend(['/zoidberg', '/bender']);
    const stat = backend.stat.bind(backend);
    backend.stat = async (p) => (p === '/bender' ? Promise.reject(new PathNotFoundError(p)) : stat(p));
    const seen: string[] = [];
    await new BaseDriver(backend).walk('/', (info) => void seen.push(info.path));
    expect(seen).toEqual(['/zoidberg']);
  });
});

describe('walkSortedKeys infers directories from flat, byte-ordered listings', () => {
  const files = [...WALK_FIXTURE].sort();
  const pages = async function* (keys: string[]): AsyncGenerator<FileInfo[]> {
    for (let i = 0; i < keys.length; i += 3) yield keys.slice(i, i + 3).map((path) => ({ path, size: 1, modTime: new Date(0), isDir: false }));
  };
  async function run(startAfter?: string, decide?: (p: string) => WalkDecision): Promise<string[]> {
    const seen: string[] = [];
    const keys = startAfter ? files.filter((k) => k > startAfter) : files;
    await walkSortedKeys('/', pages(keys), (info) => (seen.push(info.path), decide?.(info.path)), startAfter);
    return seen;
  }

  test('byte order: /folder1-suffix before /folder1, each directory before its first key', async () => {
    expect(await run()).toEqual([
      '/file1', '/folder1-suffix', '/folder1-suffix/file1', '/folder1', '/folder1/file1', '/folder2', '/folder2/file1', '/folder3',
      '/folder3/subfolder1', '/folder3/subfolder1/subfolder1', '/folder3/subfolder1/subfolder1/file1', '/folder3/subfolder2',
      '/folder3/subfolder2/subfolder1', '/folder3/subfolder2/subfolder1/file1', '/folder4', '/folder4/file1',
    ]);
  });
  test('a hint does not re-emit its ancestors (upstream S3 did)', async () => {
    expect(await run('/folder3/subfolder1/subfolder1/file1')).toEqual([
      '/folder3/subfolder2', '/folder3/subfolder2/subfolder1', '/folder3/subfolder2/subfolder1/file1', '/folder4', '/folder4/file1',
    ]);
  });
  test('a hint in /folder1-suffix still emits /folder1, which sorts after it', async () => {
    expect((await run('/folder1-suffix/file1')).slice(0, 2)).toEqual(['/folder1', '/folder1/file1']);
  });
  test('stop ends the listing', async () => expect(await run(undefined, (p) => (p === '/folder1-suffix/file1' ? 'stop' : undefined))).toHaveLength(3));
  test('directory markers yield only directories', async () => {
    const seen: string[] = [];
    await walkSortedKeys('/', (async function* () {
      yield [{ path: '/_uploads', size: 0, modTime: new Date(0), isDir: true }, { path: '/a/b', size: 1, modTime: new Date(0), isDir: false }];
    })(), (info) => void seen.push(info.path));
    expect(seen).toEqual(['/_uploads', '/a', '/a/b']);
  });
});
