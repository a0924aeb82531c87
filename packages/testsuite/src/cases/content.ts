/** putContent / getContent / paths / errors (upstream §8.2 cases 1–10, 34; contract: paths, errors). */
import assert from 'node:assert/strict';

import { InvalidPathError, PathNotFoundError, StorageDriverError } from '@storagedriver/core';

import { patternBytes, randomName } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertNamesDriver, assertSameBytes, readStream, rejectsWith, writeThroughWriter } from './expect.js';

const VALID_PATHS = [
  '/a', '/2', '/aa', '/a.a', '/0-9/abcdefg', '/abcdefg/z.75', '/abc/1.2.3.4.5-6_zyx/123.z/4', '/docker/docker-registry',
  '/123.abc', '/abc./abc', '/.abc', '/a--b', '/a-.b', '/_.abc', '/Docker/docker-registry', '/Abc/Cba',
];

export const INVALID_PATHS = [
  '', '/', 'abc', '123.abc', '//bcd', '/abc_123/', '/a b', '/a/../b', '/..', '/a/./b', '/.', '/a:b', '/a+b', '/ä',
  `/${'x'.repeat(1024)}`,
];

export const contentCases: SuiteCase[] = [
  {
    group: 'paths',
    name: 'the root can be listed',
    async run({ driver }) {
      assert.ok(Array.isArray(await driver.list('/')));
    },
  },
  {
    group: 'paths',
    name: 'every valid path is stored and read back, case-sensitively',
    async run({ driver, defer }) {
      const tops = new Set(VALID_PATHS.map((p) => `/${p.split('/')[1]}`));
      defer(async () => {
        for (const top of tops) await driver.delete(top).catch(() => undefined);
      });
      for (const [i, path] of VALID_PATHS.entries()) {
        await driver.putContent(path, patternBytes(64, i));
      }
      for (const [i, path] of VALID_PATHS.entries()) {
        assertSameBytes(await driver.getContent(path), patternBytes(64, i), path);
      }
    },
  },
  {
    group: 'paths',
    name: 'invalid paths are rejected with InvalidPathError naming the driver, by every operation',
    async run({ driver, dir }) {
      for (const path of INVALID_PATHS) {
        const put = await rejectsWith(driver.putContent(path, 'x'), InvalidPathError, `putContent(${JSON.stringify(path)})`);
        assertNamesDriver(put, driver);
        assert.equal(put.code, 'INVALID_PATH');
        await rejectsWith(driver.getContent(path), InvalidPathError, `getContent(${JSON.stringify(path)})`);
      }
      const bad = '/a/../etc';
      await rejectsWith(driver.reader(bad), InvalidPathError, 'reader');
      await rejectsWith(driver.writer(bad), InvalidPathError, 'writer');
      await rejectsWith(driver.stat(bad), InvalidPathError, 'stat');
      await rejectsWith(driver.list(bad), InvalidPathError, 'list');
      await rejectsWith(driver.delete(bad), InvalidPathError, 'delete');
      await rejectsWith(driver.delete('/'), InvalidPathError, 'delete of the root');
      await rejectsWith(driver.move(bad, `${dir}/x`), InvalidPathError, 'move source');
      await rejectsWith(driver.move(`${dir}/x`, bad), InvalidPathError, 'move destination');
      await rejectsWith(driver.walk(bad, () => undefined), InvalidPathError, 'walk');
      await rejectsWith(driver.redirectURL(bad, { method: 'GET' }), InvalidPathError, 'redirectURL');
    },
  },
  ...[
    ['a one-byte string', () => Buffer.from('a')],
    ['a two-byte UTF-8 character', () => Buffer.from('\xc3\x9f', 'latin1')],
    ['32 bytes', () => patternBytes(32, 3)],
    ['1 MiB', () => patternBytes(1024 * 1024, 4)],
    ['bytes that are not UTF-8', () => Buffer.from([0x80, 0x80, 0x80, 0x80])],
  ].map(([label, make]): SuiteCase => ({
    group: 'content',
    name: `putContent then getContent returns the same bytes: ${label as string}`,
    async run({ driver, path }) {
      const p = path();
      const data = (make as () => Buffer)();
      await driver.putContent(p, data);
      assertSameBytes(await driver.getContent(p), data, p);
    },
  })),
  {
    group: 'content',
    name: 'putContent accepts a string as UTF-8 and an empty body',
    async run({ driver, path }) {
      const p = path();
      await driver.putContent(p, 'héllo');
      assert.equal((await driver.getContent(p)).toString('utf8'), 'héllo');
      await driver.putContent(p, new Uint8Array(0));
      assert.equal((await driver.getContent(p)).length, 0);
    },
  },
  {
    group: 'content',
    name: 'putContent replaces the whole object (1 MiB then 1 KiB; 4096 then 2048 bytes)',
    async run({ driver, path }) {
      const p = path();
      await driver.putContent(p, patternBytes(1024 * 1024, 1));
      assertSameBytes(await driver.getContent(p), patternBytes(1024 * 1024, 1), 'first content');
      await driver.putContent(p, patternBytes(1024, 2));
      assertSameBytes(await driver.getContent(p), patternBytes(1024, 2), 'after truncation');
      await driver.putContent(p, patternBytes(4096, 3));
      await driver.putContent(p, patternBytes(2048, 4));
      assertSameBytes(await driver.getContent(p), patternBytes(2048, 4), 'second content');
    },
  },
  {
    group: 'content',
    name: 'an object holds exactly its latest content while its size crosses every storage shape (empty, 1 byte, 4 KiB, 4 KiB + 1, 64 KiB + 3, a part + 1000, and back down), by putContent and by writer: whole, from an offset, its stat size, a new etag each time, no upload left pending',
    timeoutMs: (o) => 60_000 + o.partSize / 1_000,
    async run({ driver, path, options }) {
      const p = path();
      const sizes = [0, 1, 4096, 4097, 64 * 1024 + 3, options.partSize + 1000, 4096, 5, 4097, 0, 1];
      let previousEtag: string | undefined;
      for (const [i, size] of sizes.entries()) {
        const data = patternBytes(size, 200 + i);
        const byWriter = i % 2 === 1;
        if (byWriter) await writeThroughWriter(driver, p, data);
        else await driver.putContent(p, data);
        const what = `step ${i}: ${size} bytes by ${byWriter ? 'a writer' : 'putContent'} over ${i === 0 ? 'nothing' : `${sizes[i - 1]} bytes`}`;
        assertSameBytes(await driver.getContent(p), data, what);
        const offset = Math.max(0, size - 100);
        assertSameBytes(await readStream(driver, p, offset), data.subarray(offset), `${what}, read from ${offset}`);
        const info = await driver.stat(p);
        assert.equal(info.size, size, `${what}: stat size`);
        if (driver.capabilities.etag) {
          assert.ok(info.etag !== undefined && info.etag !== previousEtag, `${what}: a new etag (${info.etag}; the previous content's ${previousEtag})`);
          previousEtag = info.etag;
        }
      }
      if (driver.capabilities.uploads) {
        const pending = [];
        for await (const upload of driver.uploads(p)) pending.push(upload);
        assert.deepEqual(pending, [], 'uploads pending after the writes');
      }
    },
  },
  {
    group: 'content',
    name: 'putContent creates missing parent directories',
    async run({ driver, dir }) {
      const p = `${dir}/${randomName(8)}/${randomName(8)}/${randomName(8)}`;
      await driver.putContent(p, 'deep');
      assert.equal((await driver.getContent(p)).toString(), 'deep');
    },
  },
  {
    group: 'errors',
    name: 'getContent of a missing path is PathNotFoundError with code, path and driver name',
    async run({ driver, path }) {
      const p = path();
      const error = await rejectsWith(driver.getContent(p), PathNotFoundError, 'getContent');
      assert.equal(error.code, 'PATH_NOT_FOUND');
      assert.equal(error.path, p);
      assert.ok(error instanceof StorageDriverError);
      assertNamesDriver(error, driver);
      assert.ok(error.message.includes(`Path not found: ${p}`), error.message);
    },
  },
  {
    group: 'errors',
    name: 'getContent of a directory is PathNotFoundError (there is no object at that path)',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/child`, 'x');
      await rejectsWith(driver.getContent(dir), PathNotFoundError, 'getContent of a directory');
      await rejectsWith(driver.reader(dir), PathNotFoundError, 'reader of a directory');
    },
  },
  {
    group: 'content',
    name: 'concurrent putContent of one path leaves exactly one whole content',
    async run({ driver, path }) {
      const p = path();
      const contents = Array.from({ length: 16 }, (_, i) => patternBytes(4096 + i * 512, 100 + i));
      await Promise.all(contents.map((c) => driver.putContent(p, c)));
      const stored = await driver.getContent(p);
      assert.ok(contents.some((c) => c.equals(stored)), `stored content (${stored.length} bytes) is none of the 16 written`);
    },
  },
];
