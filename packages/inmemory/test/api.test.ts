/** Inmemory's side of the API additions: everything is claimed, so everything is proven here against the store itself. */
import { createHash } from 'node:crypto';

import { InvalidOffsetError, PathNotFoundError, PreconditionFailedError } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { InMemoryDriver, MemoryStore } from '../src/index.js';

const headers = { contentType: 'text/plain; charset=utf-8', cacheControl: 'max-age=60', contentDisposition: 'attachment; filename="a.txt"', contentEncoding: 'identity' };

test('claims every metadata kind, both conditions, etag, copy, append to committed, ranged reads, native pages and pending uploads; no URLs', () => {
  expect(new InMemoryDriver().capabilities).toEqual({
    redirectURL: false,
    signedURL: [],
    signedURLMaxExpiresIn: 0,
    writeIfNoneMatch: true,
    writeIfMatch: true,
    metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
    etag: true,
    copy: true,
    appendToCommitted: true,
    rangedRead: true,
    listPage: true,
    uploads: true,
  });
});

test('stat returns what putContent stored, an md5 of the content, and an etag and version that change on every write, even of the same bytes', async () => {
  const driver = new InMemoryDriver();
  const content = patternBytes(3000, 1);
  await driver.putContent('/a/f', content, { ...headers, metadata: { owner: 'me', 'x-1': 'v' } });
  const first = await driver.stat('/a/f');
  expect(first).toMatchObject({ ...headers, metadata: { owner: 'me', 'x-1': 'v' }, size: 3000, checksums: { md5: createHash('md5').update(content).digest('base64') } });
  expect(first.etag).toMatch(/^".+"$/);
  expect((await driver.stat('/a/f')).etag).toBe(first.etag);
  await driver.putContent('/a/f', content);
  const second = await driver.stat('/a/f');
  expect(second.etag).not.toBe(first.etag);
  expect(second.version).not.toBe(first.version);
  // An overwrite without metadata keeps none of the old.
  for (const kind of [...Object.keys(headers), 'metadata']) expect(second).not.toHaveProperty(kind);
});

test('ifNoneMatch: 8 racing putContents and 8 racing writer commits to one path each leave exactly one winner', async () => {
  const driver = new InMemoryDriver();
  const puts = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => driver.putContent('/race/put', `put ${i}`, { ifNoneMatch: '*' })));
  expect(puts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  for (const r of puts) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);

  const writers = await Promise.all(Array.from({ length: 8 }, () => driver.writer('/race/commit')));
  await Promise.all(writers.map((w, i) => w.write(`commit ${i}`)));
  const commits = await Promise.allSettled(writers.map((w) => w.commit({ ifNoneMatch: '*' })));
  const winners = commits.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  expect(winners).toHaveLength(1);
  expect((await driver.getContent('/race/commit')).toString()).toBe(`commit ${winners[0]}`);
  // A losing upload stays resumable: cancel removes it.
  await Promise.all(writers.map((w, i) => (i === winners[0] ? undefined : w.cancel())));
  expect(driver.store.uploads.size).toBe(0);
});

test('ifMatch replaces only the content whose etag it names; a stale etag or a missing object fails, changing nothing', async () => {
  const driver = new InMemoryDriver();
  await expect(driver.putContent('/m', 'x', { ifMatch: '"1"' })).rejects.toBeInstanceOf(PreconditionFailedError);
  await driver.putContent('/m', 'one');
  const stale = (await driver.stat('/m')).etag!;
  await driver.putContent('/m', 'two', { ifMatch: stale });
  await expect(driver.putContent('/m', 'three', { ifMatch: stale })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', path: '/m' });
  const writer = await driver.writer('/m');
  await writer.write('four');
  await expect(writer.commit({ ifMatch: stale })).rejects.toBeInstanceOf(PreconditionFailedError);
  expect((await driver.getContent('/m')).toString()).toBe('two');
  await writer.commit({ ifMatch: (await driver.stat('/m')).etag! });
  expect((await driver.getContent('/m')).toString()).toBe('four');
});

test('copy keeps content and metadata under a new etag; the source stays; a missing source is PathNotFound', async () => {
  const driver = new InMemoryDriver();
  const content = patternBytes(5 * 1024 * 1024 + 7, 2);
  await driver.putContent('/src', content, { contentType: 'image/png', metadata: { k: 'v' } });
  await driver.putContent('/dst/x', 'old', { cacheControl: 'no-store' });
  await driver.copy('/src', '/dst/x');
  const [source, copied] = [await driver.stat('/src'), await driver.stat('/dst/x')];
  expect(copied).toMatchObject({ contentType: 'image/png', metadata: { k: 'v' }, size: content.length, checksums: source.checksums });
  expect(copied).not.toHaveProperty('cacheControl');
  expect(copied.etag).not.toBe(source.etag);
  expect((await driver.getContent('/dst/x')).equals(content)).toBe(true);
  expect((await driver.getContent('/src')).equals(content)).toBe(true);
  await expect(driver.copy('/missing', '/y')).rejects.toBeInstanceOf(PathNotFoundError);
  await expect(driver.copy('/dst', '/y')).rejects.toThrow(/directory/);
});

test('move keeps the metadata', async () => {
  const driver = new InMemoryDriver();
  await driver.putContent('/from', 'x', { contentType: 'text/csv' });
  await driver.move('/from', '/to');
  expect(await driver.stat('/to')).toMatchObject({ contentType: 'text/csv' });
});

test('exists answers file, directory or false', async () => {
  const driver = new InMemoryDriver();
  await driver.putContent('/d/f', 'x');
  expect(await driver.exists('/d/f')).toBe('file');
  expect(await driver.exists('/d')).toBe('directory');
  expect(await driver.exists('/')).toBe('directory');
  expect(await driver.exists('/d/f/below')).toBe(false);
  expect(await driver.exists('/d/g')).toBe(false);
  await driver.delete('/d/f');
  expect(await driver.exists('/d')).toBe(false);
});

test('ranged reads return exactly the range; an end beyond the size is InvalidOffset at open', async () => {
  const driver = new InMemoryDriver();
  const content = patternBytes(3 * 1024 * 1024 + 5, 3);
  await driver.putContent('/r', content);
  expect((await driver.getContent('/r', { offset: 1024 * 1024 - 3, length: 1024 * 1024 + 9 })).equals(content.subarray(1024 * 1024 - 3, 2 * 1024 * 1024 + 6))).toBe(true);
  expect((await driver.getContent('/r', { offset: content.length, length: 0 })).length).toBe(0);
  expect((await driver.getContent('/r', { offset: 10, length: content.length - 10 })).equals(content.subarray(10))).toBe(true);
  await expect(driver.reader('/r', 10, { length: content.length - 9 })).rejects.toMatchObject({ code: 'INVALID_OFFSET', offset: content.length + 1 });
  await expect(driver.getContent('/r', { offset: content.length + 1, length: 0 })).rejects.toBeInstanceOf(InvalidOffsetError);
});

test('listPage: 2 500 entries in pages of 333, each page from a new instance on the same store, every entry exactly once with its etag', async () => {
  const store = new MemoryStore();
  const names = Array.from({ length: 2500 }, (_, i) => `/many/${String((i * 7919) % 2500).padStart(4, '0')}`);
  const writer = new InMemoryDriver({ store });
  for (const name of names) await writer.putContent(name, name);
  await writer.putContent('/many/sub/deeper', 'x');
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await new InMemoryDriver({ store }).listPage('/many', { limit: 333, cursor });
    for (const entry of page.entries) {
      seen.push(entry.path);
      if (!entry.isDir) expect(entry).toMatchObject({ size: entry.path.length, etag: expect.stringMatching(/^".+"$/) });
    }
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined && pages < 20);
  expect(seen).toEqual([...names, '/many/sub'].sort());
  expect(pages).toBe(8);
  await expect(writer.listPage('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
  await expect(writer.listPage('/many/0000')).rejects.toBeInstanceOf(PathNotFoundError);
});

test('recursive listPage gives every file below in walk order, resumable at any page size', async () => {
  const driver = new InMemoryDriver();
  const files = ['/t/a/x/y', '/t/a/x-1', '/t/a-b', '/t/a.b/c', '/t/b/1/2/3', '/t/c'];
  for (const file of files) await driver.putContent(file, file);
  for (const limit of [1, 2, 3, 4, 1000]) {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await driver.listPage('/t', { limit, cursor, recursive: true });
      seen.push(...page.entries.map((entry) => entry.path));
      cursor = page.cursor;
      if (cursor === undefined) break;
    }
    expect({ limit, seen }).toEqual({ limit, seen: files });
  }
});

test('a resumed upload keeps the metadata it started with, whatever the resuming writer asks; so does append to committed content', async () => {
  const store = new MemoryStore();
  const first = await new InMemoryDriver({ store }).writer('/up', { contentType: 'application/json', metadata: { a: '1' } });
  await first.write('{"a":');
  await first.close();
  const resumed = await new InMemoryDriver({ store }).writer('/up', { append: true, contentType: 'text/plain' });
  await resumed.write('1}');
  await resumed.commit();
  const driver = new InMemoryDriver({ store });
  expect(await driver.stat('/up')).toMatchObject({ contentType: 'application/json', metadata: { a: '1' }, size: 7 });
  const appended = await driver.writer('/up', { append: true, cacheControl: 'no-cache' });
  await appended.write('\n');
  await appended.commit();
  const after = await driver.stat('/up');
  expect(after).toMatchObject({ contentType: 'application/json', metadata: { a: '1' }, size: 8 });
  expect(after).not.toHaveProperty('cacheControl');
});
