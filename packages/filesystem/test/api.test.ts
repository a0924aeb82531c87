/**
 * The filesystem's side of the API additions: metadata in sidecars that never show, create-only
 * writes by link(2), etags from file identity, copy, exists, ranged reads and native pages.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type FileInfo, InvalidOffsetError, PathNotFoundError, PreconditionFailedError, type StorageDriver, UnsupportedMethodError } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../src/index.js';

let temp: string;
beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), 'storagedriver-fs-api-'));
});
afterEach(() => rmSync(temp, { recursive: true, force: true }));

const headers = { contentType: 'text/plain; charset=utf-8', cacheControl: 'max-age=60', contentDisposition: 'attachment; filename="a.txt"', contentEncoding: 'gzip' };
const KINDS = ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'];

/** Every file below `dir`, hidden ones included, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

async function walked(driver: StorageDriver, from = '/'): Promise<string[]> {
  const paths: string[] = [];
  await driver.walk(from, (info) => void paths.push(info.path));
  return paths;
}

async function allPages(driver: StorageDriver, path: string, options: { limit?: number; recursive?: boolean } = {}): Promise<FileInfo[]> {
  const entries: FileInfo[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await driver.listPage(path, { ...options, cursor });
    entries.push(...page.entries);
    cursor = page.cursor;
    if (cursor === undefined) return entries;
  }
  throw new Error('more than 100 pages');
}

function withoutMetadata(info: FileInfo): void {
  for (const kind of KINDS) expect(info).not.toHaveProperty(kind);
}

test('claims every metadata kind, create-only writes, etag, copy, append to committed, ranged reads and pending uploads; not ifMatch, native pages or URLs', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  expect(driver.capabilities).toEqual({
    redirectURL: false,
    signedURL: [],
    signedURLMaxExpiresIn: 0,
    writeIfNoneMatch: true,
    writeIfMatch: false,
    metadata: KINDS,
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: false,
    uploads: true,
  });
  await expect(driver.putContent('/x', 'x', { ifMatch: '"a"' })).rejects.toBeInstanceOf(UnsupportedMethodError);
});

describe('metadata and etag', () => {
  test('stat returns what putContent and a writer stored; an overwrite without metadata keeps none of the old, on disk either', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/a/put', 'p', { ...headers, metadata: { owner: 'me', 'x-1': 'v w' } });
    expect(await driver.stat('/a/put')).toMatchObject({ ...headers, metadata: { owner: 'me', 'x-1': 'v w' }, size: 1 });
    const writer = await driver.writer('/a/written', { contentType: 'application/json', metadata: { k: 'v' } });
    await writer.write('{}');
    await writer.commit();
    expect(await new FilesystemDriver({ rootDirectory: temp }).stat('/a/written')).toMatchObject({ contentType: 'application/json', metadata: { k: 'v' } });

    await driver.putContent('/a/put', 'q');
    withoutMetadata(await driver.stat('/a/put'));
    const replaced = await driver.writer('/a/written');
    await replaced.write('[]');
    await replaced.commit();
    withoutMetadata(await driver.stat('/a/written'));
    expect(filesUnder(temp)).toEqual(['a/put', 'a/written']);
  });

  test('a write into a root that had no sidecar still removes the one another instance wrote since, by put, commit, move and delete', async () => {
    const plain = new FilesystemDriver({ rootDirectory: temp });
    const other = new FilesystemDriver({ rootDirectory: temp });
    for (const path of ['/p', '/w', '/m', '/src']) await plain.putContent(path, 'plain');

    await other.putContent('/p', 'typed', { contentType: 'text/p' });
    await plain.putContent('/p', 'plain again');
    withoutMetadata(await plain.stat('/p'));
    expect(filesUnder(temp)).toEqual(['m', 'p', 'src', 'w']);

    await other.putContent('/w', 'typed', { contentType: 'text/w' });
    const writer = await plain.writer('/w');
    await writer.write('written');
    await writer.commit();
    withoutMetadata(await plain.stat('/w'));
    expect(filesUnder(temp)).toEqual(['m', 'p', 'src', 'w']);

    await other.putContent('/m', 'typed', { contentType: 'text/m' });
    await plain.move('/src', '/m');
    withoutMetadata(await plain.stat('/m'));
    expect(filesUnder(temp)).toEqual(['m', 'p', 'w']);

    await other.putContent('/d/x', 'typed', { contentType: 'text/x' });
    await plain.delete('/d');
    expect(filesUnder(temp)).toEqual(['m', 'p', 'w']);
  });

  test('the etag is stable while the content stays, changes with every write (same bytes too), and follows a move', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const etags = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await driver.putContent('/e', 'same bytes');
      const { etag } = await driver.stat('/e');
      expect(etag).toMatch(/^"[0-9a-f-]+"$/);
      expect((await new FilesystemDriver({ rootDirectory: temp }).stat('/e')).etag).toBe(etag);
      etags.add(etag!);
    }
    expect(etags.size).toBe(20);
    const before = (await driver.stat('/e')).etag;
    await driver.move('/e', '/moved');
    expect((await driver.stat('/moved')).etag).toBe(before);
  });

  test('content replaced by another tool loses its metadata (the sidecar belongs to the content it was written with)', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/f', 'original', { contentType: 'text/plain' });
    writeFileSync(join(temp, 'f'), 'rewritten in place by hand');
    withoutMetadata(await driver.stat('/f'));
  });

  test('a resumed upload keeps the metadata it started with, from a new instance; so does append to committed content', async () => {
    const first = await new FilesystemDriver({ rootDirectory: temp }).writer('/up', { contentType: 'application/json', metadata: { a: '1' } });
    await first.write('{"a":');
    await first.close();
    const resumed = await new FilesystemDriver({ rootDirectory: temp }).writer('/up', { append: true, contentType: 'text/plain' });
    expect(resumed.size).toBe(5);
    await resumed.write('1}');
    await resumed.commit();
    const driver = new FilesystemDriver({ rootDirectory: temp });
    expect(await driver.stat('/up')).toMatchObject({ contentType: 'application/json', metadata: { a: '1' }, size: 7 });
    const appended = await driver.writer('/up', { append: true, cacheControl: 'no-cache' });
    await appended.write('\n');
    await appended.commit();
    const after = await driver.stat('/up');
    expect(after).toMatchObject({ contentType: 'application/json', metadata: { a: '1' }, size: 8 });
    expect(after).not.toHaveProperty('cacheControl');
    // The upload's metadata file went with the upload.
    expect(filesUnder(join(temp, '~staging'))).toEqual([]);
  });

  test('cancel removes the upload and its metadata file', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const writer = await driver.writer('/c', { metadata: { k: 'v' } });
    await writer.write('x');
    await writer.close();
    expect(filesUnder(join(temp, '~staging'))).toHaveLength(2);
    await (await new FilesystemDriver({ rootDirectory: temp }).writer('/c', { append: true })).cancel();
    expect(filesUnder(temp)).toEqual([]);
  });
});

describe('sidecars never show', () => {
  test('not through list, walk, stat, exists or listPage of this driver, nor of one rooted above', async () => {
    const inner = new FilesystemDriver({ rootDirectory: join(temp, 'inner') });
    const outer = new FilesystemDriver({ rootDirectory: temp });
    for (const path of ['/a', '/d/b', '/d/e/c']) await inner.putContent(path, path, { contentType: 'text/plain', metadata: { p: path } });
    const pending = await inner.writer('/d/pending', { metadata: { k: 'v' } });
    await pending.write('x');
    await pending.close();
    // On disk the sidecars and the upload's metadata are there...
    expect(filesUnder(join(temp, 'inner', '~meta'))).toHaveLength(3);
    expect(filesUnder(join(temp, 'inner', '~staging'))).toHaveLength(2);

    // ...and nothing of them shows.
    const innerTree = ['/a', '/d', '/d/b', '/d/e', '/d/e/c'];
    expect(await walked(inner)).toEqual(innerTree);
    expect(await walked(outer)).toEqual(['/inner', ...innerTree.map((path) => `/inner${path}`)]);
    expect(await inner.list('/')).toEqual(['/a', '/d']);
    expect(await outer.list('/inner')).toEqual(['/inner/a', '/inner/d']);
    expect((await allPages(inner, '/', { limit: 1 })).map((entry) => entry.path)).toEqual(['/a', '/d']);
    expect((await allPages(outer, '/', { recursive: true, limit: 2 })).map((entry) => entry.path)).toEqual(['/inner/a', '/inner/d/b', '/inner/d/e/c']);
    for (const hidden of ['/~meta', '/inner/~meta']) await expect(outer.stat(hidden)).rejects.toMatchObject({ code: 'INVALID_PATH' });
    await expect(inner.stat('/d/pending')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await inner.exists('/d/pending')).toBe(false);
    expect(await inner.exists('/d/e')).toBe('directory');
    // Metadata belongs to the root that wrote it: the driver rooted above sees the content without it.
    expect(await inner.stat('/d/b')).toMatchObject({ metadata: { p: '/d/b' } });
    withoutMetadata(await outer.stat('/inner/d/b'));
  });

  test('metadata follows move and copy; delete of a file or a directory removes its sidecars; a move of content without metadata removes the replaced one', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/src/one', '1', { contentType: 'text/one', metadata: { n: '1' } });
    await driver.putContent('/dst/target', 'old', { contentType: 'text/old' });
    await driver.move('/src/one', '/dst/target');
    expect(await driver.stat('/dst/target')).toMatchObject({ contentType: 'text/one', metadata: { n: '1' } });
    expect(filesUnder(join(temp, '~meta'))).toHaveLength(1);

    await driver.copy('/dst/target', '/copies/a/b');
    expect(await driver.stat('/copies/a/b')).toMatchObject({ contentType: 'text/one', metadata: { n: '1' } });
    expect(await driver.stat('/dst/target')).toMatchObject({ contentType: 'text/one' });
    expect((await driver.stat('/copies/a/b')).etag).not.toBe((await driver.stat('/dst/target')).etag);
    expect(filesUnder(join(temp, '~meta'))).toHaveLength(2);

    await driver.putContent('/plain', 'no metadata');
    await driver.move('/plain', '/dst/target');
    withoutMetadata(await driver.stat('/dst/target'));
    await driver.copy('/dst/target', '/copies/a/b');
    withoutMetadata(await driver.stat('/copies/a/b'));
    expect(filesUnder(join(temp, '~meta'))).toEqual([]);

    await driver.putContent('/tree/x/y', 'y', { metadata: { y: '1' } });
    await driver.putContent('/tree/z', 'z', { metadata: { z: '1' } });
    await driver.delete('/tree/z');
    expect(filesUnder(join(temp, '~meta'))).toHaveLength(1);
    await driver.delete('/tree');
    await driver.delete('/dst');
    await driver.delete('/copies');
    // Nothing left but the two (empty) hidden directories.
    expect(filesUnder(temp)).toEqual([]);
    expect(readdirSync(temp).sort()).toEqual(['~meta', '~staging']);
    expect(readdirSync(join(temp, '~meta'))).toEqual([]);
  });

  test('an orphan sidecar (a crash between the sidecar and its content) is never shown, and a delete removes it', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/o', 'content', { contentType: 'text/real' });
    const { etag } = await driver.stat('/o');
    // What a putContent that crashed before its rename leaves: the next content's sidecar, durable, for an identity that never arrived.
    const sidecarDir = join(temp, '~meta', 'o~');
    writeFileSync(join(sidecarDir, '1-1-1'), JSON.stringify({ contentType: 'text/orphan' }));
    expect(await driver.stat('/o')).toMatchObject({ contentType: 'text/real', etag });
    await driver.delete('/o');
    expect(filesUnder(temp)).toEqual([]);
  });
});

test('killing a process at random moments while it overwrites a file with metadata never pairs content with another write’s metadata, nor loses it (60 kills)', async () => {
  const sizes = { a: 64 * 1024, b: 256 * 1024 + 3 };
  const root = join(temp, 'store');
  const seen = { a: 0, b: 0 };
  for (let kill = 0; kill < 60; kill++) {
    const child = fork(join(__dirname, 'fixtures', 'overwrite-with-metadata-forever.cjs'), [root, '/blob', String(sizes.a), String(sizes.b)], { stdio: 'ignore' });
    // After one or two completed writes (so both versions are seen however slow the machine), then mid-write.
    const writes = 1 + (kill % 2);
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      child.on('message', () => {
        if (++done === writes) resolve();
      });
      child.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    if (!existsSync(join(root, 'blob'))) continue;
    const content = readFileSync(join(root, 'blob'));
    const version = content[0] === 0x61 ? 'a' : 'b';
    expect(content.length).toBe(sizes[version]);
    // The old content keeps its metadata until the new content is in place, and the new one has its own from the rename on.
    expect(await new FilesystemDriver({ rootDirectory: root }).stat('/blob')).toMatchObject({ contentType: `text/${version}`, metadata: { version } });
    seen[version]++;
  }
  expect(seen.a).toBeGreaterThan(0);
  expect(seen.b).toBeGreaterThan(0);
  // Orphans (sidecars whose content never arrived) stay invisible, and the delete removes them with the rest.
  const driver = new FilesystemDriver({ rootDirectory: root });
  expect(await walked(driver)).toEqual(['/blob']);
  await driver.delete('/blob');
  expect(filesUnder(join(root, '~meta'))).toEqual([]);
}, 120_000);

describe('create-only writes', () => {
  test('8 racing putContents, and 8 racing writer commits, to one path: exactly one wins, with its own metadata', async () => {
    const drivers = Array.from({ length: 8 }, () => new FilesystemDriver({ rootDirectory: temp }));
    for (let round = 0; round < 5; round++) {
      const path = `/race/put-${round}`;
      const puts = await Promise.allSettled(drivers.map((d, i) => d.putContent(path, patternBytes(100_000 + i, i), { ifNoneMatch: '*', metadata: { writer: String(i) } })));
      const winners = puts.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of puts) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
      const w = winners[0]!;
      expect((await drivers[0]!.getContent(path)).equals(patternBytes(100_000 + w, w))).toBe(true);
      expect(await drivers[0]!.stat(path)).toMatchObject({ metadata: { writer: String(w) } });
    }
    for (let round = 0; round < 5; round++) {
      const path = `/race/commit-${round}`;
      const writers = await Promise.all(drivers.map((d, i) => d.writer(path, { metadata: { writer: String(i) } })));
      await Promise.all(writers.map((w, i) => w.write(patternBytes(50_000 + i, 10 + i))));
      const commits = await Promise.allSettled(writers.map((w) => w.commit({ ifNoneMatch: '*' })));
      const winners = commits.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of commits) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'PRECONDITION_FAILED', path });
      const w = winners[0]!;
      expect((await drivers[0]!.getContent(path)).equals(patternBytes(50_000 + w, 10 + w))).toBe(true);
      expect(await drivers[0]!.stat(path)).toMatchObject({ metadata: { writer: String(w) } });
      // The losers' uploads stay until cancelled; then only the winner's sidecar remains.
      await Promise.all(writers.map((writer, i) => (i === w ? undefined : writer.cancel())));
    }
    expect(filesUnder(join(temp, '~staging'))).toEqual([]);
    expect(filesUnder(join(temp, '~meta'))).toHaveLength(10);
  });

  test('create-only fails on a directory and on an existing file, changing nothing; a commit retried after success recognises its own content', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    await driver.putContent('/dir/f', 'f', { contentType: 'text/f' });
    await expect(driver.putContent('/dir', 'x', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(driver.putContent('/dir/f', 'x', { ifNoneMatch: '*', contentType: 'text/x' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await driver.stat('/dir/f')).toMatchObject({ contentType: 'text/f', size: 1 });
    expect(filesUnder(temp)).toEqual(['dir/f', expect.stringMatching(/^~meta\/dir\/f~\//)]);

    // The backend's own writer: a commit whose answer was lost is called again with the same condition.
    const writer = await driver.backend.writer('/once', false, undefined, { contentType: 'text/once' });
    await writer.write(Buffer.from('once'));
    await writer.commit(undefined, { ifNoneMatch: '*' });
    await writer.commit(undefined, { ifNoneMatch: '*' });
    expect(await driver.stat('/once')).toMatchObject({ contentType: 'text/once', size: 4 });
  });
});

test('copy: content intact, source kept, missing source PathNotFound, a directory source refused', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  const content = patternBytes(8 * 1024 * 1024 + 3, 7);
  await driver.putContent('/big', content, { contentEncoding: 'identity' });
  await driver.copy('/big', '/deep/copy');
  expect((await driver.getContent('/deep/copy')).equals(content)).toBe(true);
  expect(await driver.stat('/deep/copy')).toMatchObject({ contentEncoding: 'identity', size: content.length });
  await expect(driver.copy('/missing', '/x')).rejects.toBeInstanceOf(PathNotFoundError);
  await expect(driver.copy('/deep', '/x')).rejects.toThrow(/directory/);
  expect(await driver.exists('/x')).toBe(false);
});

test('exists: file, directory, false; follows symbolic links as stat does', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  await driver.putContent('/d/f', 'x');
  symlinkSync(join(temp, 'd', 'f'), join(temp, 'link'));
  expect(await driver.exists('/d/f')).toBe('file');
  expect(await driver.exists('/link')).toBe('file');
  expect(await driver.exists('/d')).toBe('directory');
  expect(await driver.exists('/d/g')).toBe(false);
  expect(await driver.exists('/d/f/below')).toBe(false);
});

test('ranged reads: exactly the range; an end beyond the size is InvalidOffset at open; an empty range at the end is empty', async () => {
  const driver = new FilesystemDriver({ rootDirectory: temp });
  const content = patternBytes(3 * 1024 * 1024 + 5, 3);
  await driver.putContent('/r', content);
  expect((await driver.getContent('/r', { offset: 1024 * 1024 - 3, length: 1024 * 1024 + 9 })).equals(content.subarray(1024 * 1024 - 3, 2 * 1024 * 1024 + 6))).toBe(true);
  expect((await driver.getContent('/r', { offset: 7, length: content.length - 7 })).equals(content.subarray(7))).toBe(true);
  expect((await driver.getContent('/r', { offset: content.length, length: 0 })).length).toBe(0);
  await expect(driver.reader('/r', 10, { length: content.length - 9 })).rejects.toMatchObject({ code: 'INVALID_OFFSET', offset: content.length + 1 });
  await expect(driver.getContent('/r', { offset: content.length + 1, length: 0 })).rejects.toBeInstanceOf(InvalidOffsetError);
});

describe('listPage', () => {
  test('2 500 entries in pages of 333, each page from a new instance, every entry once, with the etag stat gives', async () => {
    const writer = new FilesystemDriver({ rootDirectory: temp });
    const names = Array.from({ length: 2500 }, (_, i) => `/many/${String((i * 7919) % 2500).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 100) await Promise.all(names.slice(i, i + 100).map((name) => writer.putContent(name, name)));
    await writer.putContent('/many/sub/deeper', 'x');
    const seen: FileInfo[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await new FilesystemDriver({ rootDirectory: temp }).listPage('/many', { limit: 333, cursor });
      seen.push(...page.entries);
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < 20);
    expect(pages).toBe(8);
    expect(seen.map((entry) => entry.path)).toEqual([...names, '/many/sub'].sort());
    const sample = seen[1234]!;
    // What one stat(2) tells, exactly as stat gives it for content without metadata.
    expect(sample).toEqual(await writer.stat(sample.path));
    expect(sample).toMatchObject({ size: sample.path.length, isDir: false, etag: expect.stringMatching(/^".+"$/) });
    expect(seen.at(-1)).toMatchObject({ path: '/many/sub', isDir: true, size: 0 });
    await expect(writer.listPage('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(writer.listPage('/many/0000')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await new FilesystemDriver({ rootDirectory: join(temp, 'not-yet') }).listPage('/')).toEqual({ entries: [], cursor: undefined });
  });

  test('recursive: every file below in walk order, resumable at any page size', async () => {
    const driver = new FilesystemDriver({ rootDirectory: temp });
    const files = ['/t/a/x/y', '/t/a/x-1', '/t/a-b', '/t/a.b/c', '/t/b/1/2/3', '/t/c'];
    for (const file of files) await driver.putContent(file, file);
    for (const limit of [1, 2, 3, 4, 1000]) {
      expect({ limit, seen: (await allPages(driver, '/t', { limit, recursive: true })).map((entry) => entry.path) }).toEqual({ limit, seen: files });
    }
  });
});
