/** list, stat, move, delete (upstream §8.2 cases 23–28, 30–34; contract: Operations). */
import assert from 'node:assert/strict';

import { DriverError, PathNotFoundError, StorageDriverError } from '@storagedriver/core';

import { patternBytes, randomName } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertNamesDriver, assertSameBytes, assertTyped, exists, rejectsWith, sleep } from './expect.js';

export const treeCases: SuiteCase[] = [
  {
    group: 'list',
    name: 'list gives the absolute paths of direct children only; a missing path or a file is PathNotFoundError',
    async run({ driver, dir }) {
      const missing = `${dir}/nonexistent`;
      const error = await rejectsWith(driver.list(missing), PathNotFoundError, 'list of a missing path');
      assert.equal(error.path, missing);
      assertNamesDriver(error, driver);
      const parent = `${dir}/${randomName(10)}`;
      const children = Array.from({ length: 50 }, () => `${parent}/${randomName(12)}`);
      for (const child of children) await driver.putContent(child, patternBytes(32, 1));
      await driver.putContent(`${parent}/sub/deeper/file`, 'x');
      assert.deepEqual([...(await driver.list('/'))], [dir], 'list("/") shows only the case directory');
      assert.deepEqual([...(await driver.list(dir))], [parent]);
      const listed = [...(await driver.list(parent))].sort();
      assert.deepEqual(listed, [...children, `${parent}/sub`].sort());
      for (const entry of listed) assert.ok(!entry.endsWith('/'), `no trailing slash: ${entry}`);
      await rejectsWith(driver.list(children[0]!), PathNotFoundError, 'list of a file');
    },
  },
  {
    group: 'stat',
    name: 'stat describes files and directories; missing paths are PathNotFoundError; the root is a directory or not found',
    timeoutMs: () => 60_000,
    async run({ driver, dir }) {
      const sub = `${dir}/${randomName(8)}`;
      const file = `${sub}/${randomName(8)}`;
      await rejectsWith(driver.stat(sub), PathNotFoundError, 'stat of a missing directory');
      await rejectsWith(driver.stat(file), PathNotFoundError, 'stat of a missing file');
      await driver.putContent(file, patternBytes(4096, 2));
      const info = await driver.stat(file);
      assert.equal(info.path, file);
      assert.equal(info.size, 4096);
      assert.equal(info.isDir, false);
      // By tag, not instanceof: under jest the driver's Date may come from another realm.
      assert.ok(Object.prototype.toString.call(info.modTime) === '[object Date]' && !Number.isNaN(info.modTime.getTime()), 'modTime is a valid Date');
      const dirInfo = await driver.stat(sub);
      assert.equal(dirInfo.path, sub);
      assert.equal(dirInfo.isDir, true);
      assert.equal(dirInfo.size, 0);
      // Backends with one-second modification times need more than a second between writes.
      await sleep(1200);
      await driver.putContent(file, patternBytes(4096, 3));
      const later = await driver.stat(file);
      assert.ok(later.modTime.getTime() > info.modTime.getTime(), `modTime advances on overwrite: ${info.modTime.toISOString()} → ${later.modTime.toISOString()}`);
      try {
        assert.equal((await driver.stat('/')).isDir, true, 'the root is a directory');
      } catch (error) {
        if (!(error instanceof PathNotFoundError)) throw error;
      }
    },
  },
  {
    group: 'stat',
    name: 'a path is a directory only when something lies below path/, not when a sibling shares its prefix',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/ab`, 'x');
      await driver.putContent(`${dir}/a-b/c`, 'x');
      await rejectsWith(driver.stat(`${dir}/a`), PathNotFoundError, '/a with only /ab and /a-b/c present');
      await rejectsWith(driver.list(`${dir}/a`), PathNotFoundError, 'list /a');
    },
  },
  {
    group: 'move',
    name: 'move moves the content and removes the source, creating destination parents',
    async run({ driver, dir, path }) {
      const source = path();
      const dest = `${dir}/${randomName(8)}/${randomName(8)}`;
      await driver.putContent(source, patternBytes(32, 4));
      await driver.move(source, dest);
      assertSameBytes(await driver.getContent(dest), patternBytes(32, 4), 'destination');
      await rejectsWith(driver.getContent(source), PathNotFoundError, 'source after move');
    },
  },
  {
    group: 'move',
    name: 'move overwrites an existing destination',
    async run({ driver, path }) {
      const source = path();
      const dest = path();
      await driver.putContent(source, patternBytes(32, 5));
      await driver.putContent(dest, patternBytes(64, 6));
      await driver.move(source, dest);
      assertSameBytes(await driver.getContent(dest), patternBytes(32, 5), 'destination');
      await rejectsWith(driver.getContent(source), PathNotFoundError, 'source after move');
    },
  },
  {
    group: 'move',
    name: 'move of a missing source is PathNotFoundError and leaves the destination untouched',
    async run({ driver, path }) {
      const dest = path();
      await driver.putContent(dest, patternBytes(32, 7));
      const error = await rejectsWith(driver.move(path(), dest), PathNotFoundError, 'move of a missing source');
      assertNamesDriver(error, driver);
      assertSameBytes(await driver.getContent(dest), patternBytes(32, 7), 'destination');
    },
  },
  {
    group: 'move',
    name: 'move of a path below a file fails',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/notadir`, 'x');
      await assert.rejects(driver.move(`${dir}/notadir/foo`, `${dir}/notadir/bar`), StorageDriverError);
      assert.equal((await driver.getContent(`${dir}/notadir`)).toString(), 'x');
    },
  },
  {
    group: 'move',
    name: 'move of a directory fails with a clear error and moves nothing',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/src/a`, 'a');
      await driver.putContent(`${dir}/src/b/c`, 'c');
      const error = await rejectsWith(driver.move(`${dir}/src`, `${dir}/dst`), StorageDriverError, 'move of a directory');
      assert.ok(error instanceof DriverError || error instanceof PathNotFoundError, `got ${error.name}`);
      assert.ok(/director/i.test(error.message) || error instanceof PathNotFoundError, `the message should say why: ${error.message}`);
      assert.equal((await driver.getContent(`${dir}/src/a`)).toString(), 'a');
      assert.equal((await driver.getContent(`${dir}/src/b/c`)).toString(), 'c');
      assert.equal(await exists(driver, `${dir}/dst`), false, 'nothing at the destination');
    },
  },
  {
    group: 'move',
    name: 'move(p, p) leaves the object intact; onto itself a missing path is PathNotFoundError and a directory an error that moves nothing',
    async run({ driver, dir, path }) {
      const p = path();
      const data = patternBytes(100_000, 8);
      await driver.putContent(p, data);
      await driver.move(p, p);
      assertSameBytes(await driver.getContent(p), data, 'the object after move onto itself');
      const missing = path();
      const error = await rejectsWith(driver.move(missing, missing), PathNotFoundError, 'move(p, p) of a missing path');
      assertNamesDriver(error, driver);
      assert.equal(await exists(driver, missing), false, 'nothing created');
      await driver.putContent(`${dir}/tree/a`, 'a');
      await driver.putContent(`${dir}/tree/b/c`, 'c');
      const dirError = await rejectsWith(driver.move(`${dir}/tree`, `${dir}/tree`), StorageDriverError, 'move(p, p) of a directory');
      assertTyped(dirError, driver, 'move(p, p) of a directory');
      assert.equal((await driver.getContent(`${dir}/tree/a`)).toString(), 'a');
      assert.equal((await driver.getContent(`${dir}/tree/b/c`)).toString(), 'c');
    },
  },
  {
    group: 'delete',
    name: 'delete removes the object; a missing path is PathNotFoundError',
    async run({ driver, path }) {
      const p = path();
      await driver.putContent(p, 'x');
      await driver.delete(p);
      await rejectsWith(driver.getContent(p), PathNotFoundError, 'after delete');
      assertNamesDriver(await rejectsWith(driver.delete(path()), PathNotFoundError, 'delete of a missing path'), driver);
    },
  },
  {
    group: 'delete',
    name: 'delete of a missing path inside an existing directory is PathNotFoundError, and removes nothing',
    async run({ driver, dir }) {
      const folder = `${dir}/${randomName(8)}`;
      await driver.putContent(`${folder}/kept`, 'kept');
      assertNamesDriver(await rejectsWith(driver.delete(`${folder}/missing`), PathNotFoundError, 'delete of a missing sibling'), driver);
      assert.equal((await driver.getContent(`${folder}/kept`)).toString(), 'kept');
    },
  },
  {
    group: 'delete',
    name: 'a directory whose last file was deleted is gone: not listed by its parent, not a directory to stat',
    async run({ driver, dir }) {
      const parent = `${dir}/${randomName(8)}`;
      await driver.putContent(`${parent}/stays`, 's');
      await driver.putContent(`${parent}/sub/deep/last`, 'l');
      await driver.delete(`${parent}/sub/deep/last`);
      assert.deepEqual([...(await driver.list(parent))].sort(), [`${parent}/stays`], 'the parent lists only what remains');
      await rejectsWith(driver.stat(`${parent}/sub`), PathNotFoundError, 'the emptied directory');
      await rejectsWith(driver.list(`${parent}/sub`), PathNotFoundError, 'list of the emptied directory');
    },
  },
  {
    group: 'delete',
    name: 'delete of a directory removes everything below it',
    async run({ driver, dir }) {
      const folder = `${dir}/${randomName(8)}`;
      const files = ['f1', 'f2', 'f3', 'sub/f4', 'sub/deep/f5'].map((f) => `${folder}/${f}`);
      for (const f of files) await driver.putContent(f, patternBytes(32, 8));
      await driver.delete(files[0]!);
      await rejectsWith(driver.getContent(files[0]!), PathNotFoundError, 'deleted file');
      assertSameBytes(await driver.getContent(files[1]!), patternBytes(32, 8), 'sibling');
      await driver.delete(folder);
      for (const f of files) await rejectsWith(driver.getContent(f), PathNotFoundError, f);
      await rejectsWith(driver.stat(folder), PathNotFoundError, 'the directory itself');
    },
  },
  {
    group: 'delete',
    name: 'delete never removes a sibling that only shares a textual prefix',
    async run({ driver, dir }) {
      const d = `${dir}/${randomName(12)}`;
      const f = `${d}/${randomName(12)}`;
      const sub = `${d}/${randomName(12)}`;
      await driver.putContent(f, 'f');
      await driver.putContent(`${f}suffix`, 'fs');
      await driver.putContent(`${f}-v2/x`, 'fv');
      await driver.putContent(`${sub}/file`, 'df');
      await driver.putContent(`${sub}suffix/file`, 'dsf');
      await driver.delete(f);
      await rejectsWith(driver.getContent(f), PathNotFoundError, 'deleted file');
      assert.equal((await driver.getContent(`${f}suffix`)).toString(), 'fs');
      assert.equal((await driver.getContent(`${f}-v2/x`)).toString(), 'fv');
      await driver.delete(sub);
      await rejectsWith(driver.getContent(`${sub}/file`), PathNotFoundError, 'file in deleted directory');
      assert.equal((await driver.getContent(`${sub}suffix/file`)).toString(), 'dsf');
    },
  },
  {
    group: 'delete',
    name: 'delete of a tree of 1,100 objects removes them all',
    timeoutMs: () => 5 * 60_000,
    async run({ driver, dir }) {
      const tree = `${dir}/${randomName(8)}`;
      const paths = Array.from({ length: 1100 }, (_, i) => `${tree}/d${i % 7}/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < paths.length; i += 50) await Promise.all(paths.slice(i, i + 50).map((p) => driver.putContent(p, 'x')));
      await driver.delete(tree);
      await rejectsWith(driver.stat(tree), PathNotFoundError, 'the tree after delete');
      await rejectsWith(driver.getContent(paths[1099]!), PathNotFoundError, 'the last object');
    },
  },
];
