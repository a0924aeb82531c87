/**
 * exists and paginated listing (issue 13): pages resumed from a cursor in another driver instance
 * give each entry exactly once, with what stat says of it.
 */
import assert from 'node:assert/strict';

import { type FileInfo, PathNotFoundError, type StorageDriver } from '@storagedriver/core';

import type { ResolvedOptions, SuiteCase } from '../runner.js';
import { assertNamesDriver, forEachConcurrently, rejectsWith } from './expect.js';

/** Puts issued at once while building the listed directory. */
const CONCURRENCY = 32;

function fileCount(options: ResolvedOptions): number {
  // Short mode still crosses a service page of 1000 keys, and makes four pages of 333.
  return options.mode === 'full' ? 2500 : 1001;
}

/** Size of file `i`: varied, so an entry carrying another's size is caught. */
const sizeOf = (i: number): number => 1 + (i % 13);

/**
 * Every page of a listing, each resumed from the previous page's cursor in the other of two driver
 * instances. Fails on a page over the limit or a listing that does not end.
 */
async function allPages(drivers: [StorageDriver, StorageDriver], path: string, limit: number, recursive: boolean, expected: number): Promise<FileInfo[][]> {
  const pages: FileInfo[][] = [];
  let cursor: string | undefined;
  // Pages may hold fewer entries than the limit; four times the minimum bounds a listing that never ends.
  const maxPages = 4 * Math.ceil(expected / limit) + 4;
  do {
    const page = await drivers[pages.length % 2]!.listPage(path, { limit, recursive, ...(cursor === undefined ? {} : { cursor }) });
    assert.ok(page.entries.length <= limit, `page ${pages.length + 1} holds ${page.entries.length} entries, over the limit ${limit}`);
    pages.push(page.entries);
    cursor = page.cursor;
    if (cursor !== undefined) assert.equal(typeof cursor, 'string', 'a cursor is a string');
    assert.ok(pages.length <= maxPages, `the listing of ${expected} entries by ${limit} did not end after ${maxPages} pages`);
  } while (cursor !== undefined);
  return pages;
}

/** Each expected path exactly once, nothing else. */
function assertEachOnce(entries: FileInfo[], expected: ReadonlyMap<string, FileInfo | number>, what: string): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    assert.ok(!seen.has(entry.path), `${what}: ${entry.path} listed twice`);
    seen.add(entry.path);
    assert.ok(expected.has(entry.path), `${what}: ${entry.path} listed but not expected`);
  }
  const missing = [...expected.keys()].filter((path) => !seen.has(path));
  assert.deepEqual(missing.slice(0, 5), [], `${what}: ${missing.length} entries missing`);
}

export const apiListingCases: SuiteCase[] = [
  {
    group: 'exists',
    name: 'exists answers file, directory (because of a nested file) or false: for a missing path, for /a when only /ab exists, for an uncommitted upload',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/ab`, 'x');
      await driver.putContent(`${dir}/d/e/f`, 'x');
      assert.equal(await driver.exists(`${dir}/ab`), 'file', 'a file');
      assert.equal(await driver.exists(`${dir}/d/e/f`), 'file', 'a nested file');
      assert.equal(await driver.exists(`${dir}/d`), 'directory', 'a directory holding only a directory');
      assert.equal(await driver.exists(`${dir}/d/e`), 'directory', 'a directory holding a file');
      assert.equal(await driver.exists(dir), 'directory', 'the case directory');
      assert.equal(await driver.exists(`${dir}/a`), false, '/a when only /ab exists');
      assert.equal(await driver.exists(`${dir}/d/e/f/g`), false, 'below a file');
      assert.equal(await driver.exists(`${dir}/missing`), false, 'a missing path');
      const writer = await driver.writer(`${dir}/u/v`);
      await writer.write('uncommitted');
      await writer.close();
      assert.equal(await driver.exists(`${dir}/u/v`), false, 'an uncommitted upload');
      assert.equal(await driver.exists(`${dir}/u`), false, 'the directory of an uncommitted upload');
      await (await driver.writer(`${dir}/u/v`, { append: true })).cancel();
    },
  },
  {
    group: 'listPage',
    name: 'listPage of a large directory (2,500 files in full mode) by 1000 and by 333, each page resumed from the cursor in another driver instance: every entry once, directories only when not recursive, sizes and etags those of stat',
    timeoutMs: (o) => 120_000 + fileCount(o) * 100,
    async run({ driver, newDriver, dir, options }) {
      const count = fileCount(options);
      const parent = `${dir}/big`;
      const files = Array.from({ length: count }, (_, i) => `${parent}/f${String(i).padStart(5, '0')}`);
      await forEachConcurrently(files, CONCURRENCY, (file, i) => driver.putContent(file, 'x'.repeat(sizeOf(i))));
      // A directory sorting among the files (and after a prefix sibling file), and one nested deeper.
      const nested = [`${parent}/f01000x/one`, `${parent}/f01000x/deeper/two`];
      for (const file of nested) await driver.putContent(file, 'nested');
      const drivers: [StorageDriver, StorageDriver] = [driver, await newDriver()];

      const direct = new Map<string, number>(files.map((file, i) => [file, sizeOf(i)]));
      const childDir = `${parent}/f01000x`;
      const recursive = new Map(direct);
      for (const file of nested) recursive.set(file, 6);
      for (const limit of [1000, 333]) {
        const pages = await allPages(drivers, parent, limit, false, count + 1);
        const entries = pages.flat();
        assertEachOnce(entries, new Map([...direct, [childDir, 0]]), `by ${limit}`);
        for (const entry of entries) {
          if (entry.path === childDir) assert.equal(entry.isDir, true, `${childDir} is listed as a directory`);
          else {
            assert.equal(entry.isDir, false, `${entry.path} is a file`);
            assert.equal(entry.size, direct.get(entry.path), `${entry.path}: size`);
          }
          assert.ok(entry.modTime instanceof Date, `${entry.path}: modTime is a Date`);
        }
        const all = await allPages(drivers, parent, limit, true, count + 2);
        const below = all.flat();
        assertEachOnce(below, recursive, `recursive by ${limit}`);
        for (const entry of below) {
          assert.equal(entry.isDir, false, `a recursive listing gives files only, not ${entry.path}`);
          assert.equal(entry.size, recursive.get(entry.path), `${entry.path}: size`);
        }
        // The entries around page boundaries, against stat.
        const boundaries = pages.flatMap((page) => [page[0], page.at(-1)]).filter((entry): entry is FileInfo => entry !== undefined && !entry.isDir);
        for (const entry of boundaries.slice(0, 12)) {
          const info = await driver.stat(entry.path);
          assert.equal(entry.size, info.size, `${entry.path}: size against stat`);
          if (driver.capabilities.etag) {
            assert.ok(entry.etag !== undefined, `${entry.path}: a listing entry carries the etag the driver claims`);
            assert.equal(entry.etag, info.etag, `${entry.path}: etag against stat`);
          }
        }
      }
    },
  },
  {
    group: 'listPage',
    name: 'listPage of a small directory is one page without a cursor; of a file, a missing path or a directory holding only an upload it is PathNotFoundError',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/s/a`, 'a');
      await driver.putContent(`${dir}/s/b`, 'bb');
      await driver.putContent(`${dir}/s/c/d`, 'ddd');
      const page = await driver.listPage(`${dir}/s`);
      assert.equal(page.cursor, undefined, 'the only page has no cursor');
      assert.deepEqual(
        page.entries.map((e) => [e.path, e.isDir, e.isDir ? 0 : e.size]).sort(),
        [[`${dir}/s/a`, false, 1], [`${dir}/s/b`, false, 2], [`${dir}/s/c`, true, 0]],
        'the direct children',
      );
      const all = await driver.listPage(`${dir}/s`, { recursive: true });
      assert.equal(all.cursor, undefined, 'the only recursive page has no cursor');
      assert.deepEqual(all.entries.map((e) => e.path).sort(), [`${dir}/s/a`, `${dir}/s/b`, `${dir}/s/c/d`], 'every file below');
      const exact = await driver.listPage(`${dir}/s`, { limit: 3 });
      assert.equal(exact.entries.length, 3, 'a limit equal to the children');
      for (const recursive of [false, true]) {
        assertNamesDriver(await rejectsWith(driver.listPage(`${dir}/s/a`, { recursive }), PathNotFoundError, `listPage of a file (recursive: ${recursive})`), driver);
        await rejectsWith(driver.listPage(`${dir}/missing`, { recursive }), PathNotFoundError, `listPage of a missing path (recursive: ${recursive})`);
      }
      const writer = await driver.writer(`${dir}/u/v`);
      await writer.write('x');
      await writer.close();
      await rejectsWith(driver.listPage(`${dir}/u`), PathNotFoundError, 'listPage of a directory holding only an upload');
      await (await driver.writer(`${dir}/u/v`, { append: true })).cancel();
    },
  },
];
