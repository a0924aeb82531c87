/** copy (issue 13): server-side, whole and with its metadata; the error rules of move. */
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';

import { DriverError, PathNotFoundError } from '@storagedriver/core';

import { patternBytes, patternStream, randomName, verifyPatternStream } from '../data.js';
import type { ResolvedOptions, SuiteCase } from '../runner.js';
import { assertAbsent, assertMetadata, claimedMetadata, requireClaim } from './api-support.js';
import { assertNamesDriver, assertSameBytes, rejectsWith } from './expect.js';

const MiB = 1024 * 1024;

/** 64 MiB in full mode (above single-request limits some services have), a few MiB in short mode. */
function copySize(options: ResolvedOptions): number {
  return options.mode === 'full' ? 64 * MiB : 4 * MiB + 3;
}

export const apiCopyCases: SuiteCase[] = [
  {
    group: 'copy',
    name: 'copy of a large object (64 MiB in full mode) gives the destination every byte and every claimed metadata kind, and leaves the source as it was',
    timeoutMs: (o) => 60_000 + (4 * copySize(o)) / (20 * MiB) * 1000,
    async run({ driver, path, dir, options }) {
      requireClaim(driver.capabilities.copy, 'copy');
      const size = copySize(options);
      const metadata = claimedMetadata(driver.capabilities);
      const source = path();
      const writer = await driver.writer(source, metadata);
      await pipeline(patternStream(size, 130), writer.writable());
      await writer.commit();
      const dest = `${dir}/${randomName(8)}/${randomName(8)}/copy`;
      await driver.copy(source, dest);
      const copied = await driver.stat(dest);
      assert.equal(copied.size, size, 'the copy’s size');
      assertMetadata(copied, metadata, 'the copy');
      await verifyPatternStream(await driver.reader(dest), size, 130);
      await verifyPatternStream(await driver.reader(source), size, 130);
      assertMetadata(await driver.stat(source), metadata, 'the source');
    },
  },
  {
    group: 'copy',
    name: 'copy overwrites the destination; a missing source is PathNotFoundError and a directory source an error, the destination untouched; copy(p, p) keeps the object',
    async run({ driver, path, dir }) {
      requireClaim(driver.capabilities.copy, 'copy');
      const source = path();
      const dest = path();
      const data = patternBytes(3000, 131);
      await driver.putContent(source, data);
      await driver.putContent(dest, patternBytes(5000, 132));
      await driver.copy(source, dest);
      assertSameBytes(await driver.getContent(dest), data, 'the overwritten destination');
      assertSameBytes(await driver.getContent(source), data, 'the source');

      const missing = path();
      const old = patternBytes(700, 133);
      await driver.putContent(dest, old);
      assertNamesDriver(await rejectsWith(driver.copy(missing, dest), PathNotFoundError, 'copy of a missing source'), driver);
      assertSameBytes(await driver.getContent(dest), old, 'the destination after a missing source');

      const tree = `${dir}/tree`;
      await driver.putContent(`${tree}/a/b`, 'below');
      const error = await rejectsWith(driver.copy(tree, dest), DriverError, 'copy of a directory');
      assertNamesDriver(error, driver);
      assertSameBytes(await driver.getContent(dest), old, 'the destination after a directory source');
      const fresh = path();
      await rejectsWith(driver.copy(tree, fresh), DriverError, 'copy of a directory to a new path');
      await assertAbsent(driver, fresh, 'nothing copied from a directory');
      await assertAbsent(driver, `${fresh}/a/b`, 'nothing copied from a directory');

      await driver.copy(source, source);
      assertSameBytes(await driver.getContent(source), data, 'copy(p, p)');
      await rejectsWith(driver.copy(tree, tree), DriverError, 'copy(p, p) of a directory');
      await rejectsWith(driver.copy(missing, missing), PathNotFoundError, 'copy(p, p) of a missing path');
    },
  },
  {
    group: 'copy',
    name: 'a copy is independent of its source: overwriting, moving or deleting either leaves the other whole, with its metadata',
    async run({ driver, path }) {
      requireClaim(driver.capabilities.copy, 'copy');
      const metadata = claimedMetadata(driver.capabilities);
      // Several parts where a driver writes parts (a copy sharing them must not lose them with the source).
      const data = patternBytes(3 * 1024 * 1024 + 17, 134);
      const source = path();
      await driver.putContent(source, data, metadata);
      const first = path();
      const second = path();
      await driver.copy(source, first);
      await driver.copy(first, second);
      await driver.putContent(source, 'overwritten');
      assertSameBytes(await driver.getContent(first), data, 'the copy after its source was overwritten');
      await driver.delete(source);
      const moved = path();
      await driver.move(first, moved);
      assertSameBytes(await driver.getContent(second), data, 'the copy of the copy after the first copy moved');
      await driver.delete(moved);
      assertSameBytes(await driver.getContent(second), data, 'the last copy after every other is gone');
      assertMetadata(await driver.stat(second), metadata, 'the last copy');
    },
  },
];
