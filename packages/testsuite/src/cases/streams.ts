/** Readers and writers (upstream §8.2 cases 11–22, 35, 36; contract: Operations, Writers). */
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';

import { InvalidOffsetError, PathNotFoundError, StorageDriverError, readAll } from '@storagedriver/core';

import { patternBytes, patternStream, verifyPatternStream } from '../data.js';
import type { ResolvedOptions, SuiteCase } from '../runner.js';
import { assertNamesDriver, assertSameBytes, exists, readStream, rejectsWith, writeThroughWriter } from './expect.js';

const MiB = 1024 * 1024;
const minutes = (n: number) => () => n * 60_000;

/** Throughput floor assumed for time limits: 20 MiB/s, plus a minute. */
function streamingTimeout(bytes: number): number {
  return 60_000 + (bytes / (20 * MiB)) * 1000;
}

function largeSize(options: ResolvedOptions): number {
  return options.mode === 'short' ? 64 * MiB : options.largeStreamSize;
}

export const streamCases: SuiteCase[] = [
  ...[
    ['one byte', () => Buffer.from('a')],
    ['32 bytes', () => patternBytes(32, 5)],
    ['1 MiB', () => patternBytes(MiB, 6)],
    ['bytes that are not UTF-8', () => Buffer.from([0x80, 0x80, 0x80, 0x80])],
  ].map(([label, make]): SuiteCase => ({
    group: 'writer',
    name: `a writer's content reads back after commit and close: ${label as string}`,
    async run({ driver, path }) {
      const p = path();
      const data = (make as () => Buffer)();
      assert.equal(await writeThroughWriter(driver, p, data), data.length, 'writer size');
      assertSameBytes(await readStream(driver, p), data, 'reader');
      assertSameBytes(await driver.getContent(p), data, 'getContent');
    },
  })),
  {
    group: 'writer',
    name: 'a large stream through one writer reads back byte for byte (size set by mode / largeStreamSize)',
    timeoutMs: (o) => 2 * streamingTimeout(largeSize(o)),
    async run({ driver, path, options }) {
      const p = path();
      const size = largeSize(options);
      const writer = await driver.writer(p);
      await pipeline(patternStream(size, 7), writer.writable());
      assert.equal(writer.size, size, 'writer size after the stream');
      await writer.commit();
      await writer.close();
      assert.equal((await driver.stat(p)).size, size, 'stat size');
      await verifyPatternStream(await driver.reader(p), size, 7);
    },
  },
  {
    group: 'reader',
    name: 'reader honours offsets: 0, inside, size-1, size (empty); beyond size and negative are InvalidOffsetError',
    async run({ driver, path }) {
      const p = path();
      const data = patternBytes(96, 8);
      await driver.putContent(p, data);
      assertSameBytes(await readStream(driver, p, 0), data, 'offset 0');
      assertSameBytes(await readStream(driver, p, 32), data.subarray(32), 'offset 32');
      assertSameBytes(await readStream(driver, p, 64), data.subarray(64), 'offset 64');
      assertSameBytes(await readStream(driver, p, 95), data.subarray(95), 'offset 95');
      assert.equal((await readStream(driver, p, 96)).length, 0, 'offset == size gives an empty stream');
      const negative = await rejectsWith(driver.reader(p, -1), InvalidOffsetError, 'offset -1');
      assert.equal(negative.offset, -1);
      assert.equal(negative.path, p);
      assertNamesDriver(negative, driver);
      const beyond = await rejectsWith(driver.reader(p, 97), InvalidOffsetError, 'offset size+1');
      assert.equal(beyond.offset, 97);
      await rejectsWith(driver.reader('not a path', -1), InvalidOffsetError, 'a negative offset is checked before the path');
    },
  },
  {
    group: 'reader',
    name: 'reader of a missing path is PathNotFoundError at offsets 0 and 64',
    async run({ driver, path }) {
      const p = path();
      assertNamesDriver(await rejectsWith(driver.reader(p, 0), PathNotFoundError, 'offset 0'), driver);
      await rejectsWith(driver.reader(p, 64), PathNotFoundError, 'offset 64');
    },
  },
  ...[
    ['small (32-byte chunks)', () => 32],
    ['large (appendChunkSize chunks)', (o: ResolvedOptions) => o.appendChunkSize],
  ].map(([label, chunkOf]): SuiteCase => ({
    group: 'writer',
    name: `an upload closed and resumed with append, each time from a new driver instance, commits every chunk in order: ${label as string}`,
    timeoutMs: (o) => streamingTimeout(3 * (chunkOf as (o: ResolvedOptions) => number)(o)) + 60_000,
    async run({ driver, newDriver, path, options }) {
      const p = path();
      const chunk = (chunkOf as (o: ResolvedOptions) => number)(options);
      const w1 = await driver.writer(p);
      await pipeline(patternStream(chunk, 9, 65_537, 0), w1.writable());
      await w1.close();
      assert.equal(w1.size, chunk, 'first writer size after close');
      assert.equal(await exists(driver, p), false, 'nothing is readable before commit');

      const second = await newDriver();
      const w2 = await second.writer(p, { append: true });
      assert.equal(w2.size, chunk, 'resumed writer starts at the size written so far');
      await pipeline(patternStream(chunk, 9, 65_537, chunk), w2.writable());
      await w2.close();
      assert.equal(w2.size, 2 * chunk);

      const third = await newDriver();
      const w3 = await third.writer(p, { append: true });
      assert.equal(w3.size, 2 * chunk);
      await pipeline(patternStream(chunk, 9, 65_537, 2 * chunk), w3.writable());
      await w3.commit();
      await w3.close();
      assert.equal(w3.size, 3 * chunk);
      await verifyPatternStream(await driver.reader(p), 3 * chunk, 9);
    },
  })),
  {
    group: 'writer',
    name: 'an empty writer commits an empty object, which a later append writer extends',
    async run({ driver, path }) {
      const p = path();
      const empty = await driver.writer(p);
      await empty.commit();
      await empty.close();
      assert.equal(empty.size, 0);
      assert.equal((await readStream(driver, p)).length, 0);
      const data = patternBytes(32, 10);
      assert.equal(await writeThroughWriter(driver, p, data, true), 32);
      assertSameBytes(await readStream(driver, p), data, 'after append');
    },
  },
  {
    group: 'writer',
    name: 'an append writer extends an empty object made by putContent',
    async run({ driver, path }) {
      const p = path();
      await driver.putContent(p, new Uint8Array(0));
      assert.equal((await readStream(driver, p)).length, 0);
      const data = patternBytes(32, 11);
      assert.equal(await writeThroughWriter(driver, p, data, true), 32);
      assertSameBytes(await readStream(driver, p), data, 'after append');
    },
  },
  {
    group: 'writer',
    name: 'an append writer on committed non-empty content appends correctly or fails clearly, never corrupting it',
    async run({ driver, path }) {
      const p = path();
      const first = patternBytes(1000, 12);
      const second = patternBytes(500, 13);
      await driver.putContent(p, first);
      let appended = false;
      try {
        await writeThroughWriter(driver, p, second, true);
        appended = true;
      } catch (error) {
        assert.ok(error instanceof StorageDriverError, `a refusal must be a typed error, got ${String(error)}`);
      }
      const stored = await driver.getContent(p);
      assertSameBytes(stored, appended ? Buffer.concat([first, second]) : first, appended ? 'appended content' : 'untouched content');
    },
  },
  {
    group: 'writer',
    name: 'append on a path with no upload and no object is PathNotFoundError',
    async run({ driver, path }) {
      await rejectsWith(driver.writer(path(), { append: true }), PathNotFoundError, 'writer(append) of a missing path');
    },
  },
  {
    group: 'writer',
    name: 'written data is not readable before commit; the previous content stays readable until then',
    async run({ driver, path }) {
      const fresh = path();
      const w = await driver.writer(fresh);
      await w.write(patternBytes(100, 14));
      assert.equal(w.size, 100, 'size counts accepted bytes at once');
      await w.close();
      await rejectsWith(driver.getContent(fresh), PathNotFoundError, 'uncommitted new path');
      // The case directory holds only the uncommitted upload: there is nothing to list.
      assertNamesDriver(await rejectsWith(driver.list(fresh.slice(0, fresh.lastIndexOf('/'))), PathNotFoundError, 'list of a directory holding only an upload'), driver);
      const resumed = await driver.writer(fresh, { append: true });
      await resumed.cancel();

      const existing = path();
      await driver.putContent(existing, 'old');
      const over = await driver.writer(existing);
      await over.write(Buffer.from('new content'));
      assert.equal((await driver.getContent(existing)).toString(), 'old', 'old content while writing');
      await over.close();
      assert.equal((await driver.getContent(existing)).toString(), 'old', 'old content after close');
      const resumedOver = await driver.writer(existing, { append: true });
      await resumedOver.commit();
      assert.equal((await driver.getContent(existing)).toString(), 'new content', 'new content after commit');
    },
  },
  {
    group: 'writer',
    name: 'cancel removes what the writer wrote, including an upload resumed from a new instance',
    async run({ driver, newDriver, path, dir }) {
      const p = path();
      const w = await driver.writer(p);
      await w.write(patternBytes(3 * MiB + 5, 15));
      await w.cancel();
      await rejectsWith(driver.getContent(p), PathNotFoundError, 'after cancel');
      await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, 'no upload left to resume after cancel');

      const q = path();
      const first = await driver.writer(q);
      await first.write(patternBytes(MiB + 3, 16));
      await first.close();
      const other = await newDriver();
      const resumed = await other.writer(q, { append: true });
      assert.equal(resumed.size, MiB + 3);
      await resumed.cancel();
      await rejectsWith(driver.writer(q, { append: true }), PathNotFoundError, 'no upload left after cancelling the resumed one');
      assert.equal(await exists(driver, dir), false, 'nothing left under the directory');
    },
  },
  {
    group: 'writer',
    name: 'the writer state machine: no write after commit or cancel, no commit after cancel; commit again after commit succeeds; close after commit and repeated close are fine',
    async run({ driver, path }) {
      const p = path();
      const w = await driver.writer(p);
      await w.write('abc');
      await w.commit();
      await w.close();
      await w.close();
      await assert.rejects(w.write('more'), StorageDriverError, 'write after commit');
      await w.commit();
      await assert.rejects(w.cancel(), StorageDriverError, 'cancel after commit');
      assert.equal((await driver.getContent(p)).toString(), 'abc');

      const c = await driver.writer(path());
      await c.write('x');
      await c.cancel();
      await assert.rejects(c.write('y'), StorageDriverError, 'write after cancel');
      await assert.rejects(c.commit(), StorageDriverError, 'commit after cancel');
      await c.close();

      const closedPath = path();
      const closed = await driver.writer(closedPath);
      await closed.write('z');
      await closed.close();
      await assert.rejects(closed.write('z'), StorageDriverError, 'write after close');
      await assert.rejects(closed.commit(), StorageDriverError, 'commit after close');
      await assert.rejects(closed.cancel(), StorageDriverError, 'cancel after close (resume, then cancel)');
      await (await driver.writer(closedPath, { append: true })).cancel();
    },
  },
  {
    group: 'writer',
    name: 'commit is idempotent: a second commit resolves and the content is exact',
    async run({ driver, path }) {
      const p = path();
      const data = patternBytes(MiB + 333, 17);
      const w = await driver.writer(p);
      await w.write(data);
      await w.commit();
      await w.commit();
      assertSameBytes(await driver.getContent(p), data, 'after two commits');
      await w.close();
      await w.commit();
      assertSameBytes(await driver.getContent(p), data, 'after commit, close and commit');
    },
  },
  {
    group: 'writer',
    name: 'a writer of 2 parts and a tail (partSize), fed in chunks that straddle part boundaries, reads back byte for byte',
    timeoutMs: (o) => streamingTimeout(6 * o.partSize),
    async run({ driver, path, options }) {
      const p = path();
      const part = options.partSize;
      const size = 2 * part + Math.floor(part / 3) + 7;
      const writer = await driver.writer(p);
      await pipeline(patternStream(size, 18, Math.floor(part / 3) + 1), writer.writable());
      assert.equal(writer.size, size, 'writer size');
      await writer.commit();
      assert.equal((await driver.stat(p)).size, size, 'stat size');
      await verifyPatternStream(await driver.reader(p), size, 18);
      await verifyPatternStream(await driver.reader(p, part + 1), size - part - 1, 18, part + 1);
    },
  },
  {
    group: 'writer',
    name: 'appends from new instances ending mid-part, then on a part boundary, then mid-part again commit every byte in order (partSize)',
    timeoutMs: (o) => streamingTimeout(8 * o.partSize) + 60_000,
    async run({ driver, newDriver, path, options }) {
      const p = path();
      const part = options.partSize;
      // Ends of each writer's data: 1.5 parts, 2 parts (a boundary), 2 parts + a third.
      const ends = [part + Math.floor(part / 2), 2 * part, 2 * part + Math.floor(part / 3) + 5];
      let at = 0;
      for (const [i, end] of ends.entries()) {
        const writer = i === 0 ? await driver.writer(p) : await (await newDriver()).writer(p, { append: true });
        assert.equal(writer.size, at, `writer ${i + 1} starts at the size written so far`);
        await pipeline(patternStream(end - at, 19, 262_147, at), writer.writable());
        assert.equal(writer.size, end, `writer ${i + 1} size`);
        if (i < ends.length - 1) {
          await writer.close();
          assert.equal(await exists(driver, p), false, `nothing is readable after writer ${i + 1} closed`);
        } else await writer.commit();
        at = end;
      }
      await verifyPatternStream(await driver.reader(p), at, 19);
    },
  },
  {
    group: 'writer',
    name: 'two writers on one path: the content committed last wins whole, bytes never interleave',
    timeoutMs: minutes(3),
    async run({ driver, path }) {
      const p = path();
      const size = 3 * MiB + 11;
      const a = await driver.writer(p);
      const b = await driver.writer(p);
      for (let at = 0; at < size; at += 256 * 1024) {
        const length = Math.min(256 * 1024, size - at);
        await Promise.all([a.write(patternBytes(length, 21, at)), b.write(patternBytes(length, 22, at))]);
      }
      await a.commit();
      await verifyPatternStream(await driver.reader(p), size, 21);
      await b.commit();
      await verifyPatternStream(await driver.reader(p), size, 22);
      await Promise.all([a.close(), b.close()]);
    },
  },
  {
    group: 'writer',
    name: 'writes may be issued without awaiting: they are applied in call order',
    async run({ driver, path }) {
      const p = path();
      const w = await driver.writer(p);
      const parts = Array.from({ length: 40 }, (_, i) => patternBytes(10_000, 30, i * 10_000));
      await Promise.all(parts.map((part) => w.write(part)));
      await w.commit();
      await verifyPatternStream(await driver.reader(p), 400_000, 30);
    },
  },
  {
    group: 'reader',
    name: 'ten concurrent readers at random offsets each read the rest of the object',
    timeoutMs: (o) => streamingTimeout(o.mode === 'short' ? 10 * MiB * 6 : 128 * MiB * 6),
    async run({ driver, path, options }) {
      const p = path();
      const size = options.mode === 'short' ? 10 * MiB : 128 * MiB;
      const writer = await driver.writer(p);
      await pipeline(patternStream(size, 31), writer.writable());
      await writer.commit();
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const offset = Math.floor(Math.random() * size);
          await verifyPatternStream(await driver.reader(p, offset), size - offset, 31, offset);
        }),
      );
    },
  },
  {
    group: 'writer',
    name: 'concurrent writers to different paths each store their own stream (8 × 8 MiB short, 32 × 32 MiB full)',
    timeoutMs: (o) => streamingTimeout(o.mode === 'short' ? 64 * MiB * 2 : 1024 * MiB * 2),
    async run({ driver, path, options }) {
      const streams = options.mode === 'short' ? 8 : 32;
      const size = streams * MiB;
      const paths = Array.from({ length: streams }, () => path());
      await Promise.all(
        paths.map(async (p, i) => {
          const writer = await driver.writer(p);
          await pipeline(patternStream(size, 40 + i), writer.writable());
          assert.equal(writer.size, size);
          await writer.commit();
          await writer.close();
        }),
      );
      for (const [i, p] of paths.entries()) await verifyPatternStream(await driver.reader(p), size, 40 + i);
    },
  },
  {
    group: 'reader',
    name: 'a reader stream can be consumed with readAll and with async iteration alike',
    async run({ driver, path }) {
      const p = path();
      const data = patternBytes(200_000, 32);
      await driver.putContent(p, data);
      assertSameBytes(await readAll(await driver.reader(p)), data, 'readAll');
      const chunks: Buffer[] = [];
      for await (const chunk of await driver.reader(p, 1000)) chunks.push(chunk as Buffer);
      assertSameBytes(Buffer.concat(chunks), data.subarray(1000), 'async iteration from offset 1000');
    },
  },
];
