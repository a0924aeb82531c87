/** Ranged reads (issue 13): reader, getContent and webReader with offset and length, the offset rules extended to the range's end. */
import assert from 'node:assert/strict';
import type { ReadableStream } from 'node:stream/web';

import { InvalidOffsetError, PathNotFoundError, readAll } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertNamesDriver, assertSameBytes, rejectsWith } from './expect.js';

const MiB = 1024 * 1024;

async function readWeb(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  // Bounded by the object's size: the driver's stream ends, or the case's timeout ends it.
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
  }
}

export const apiRangeCases: SuiteCase[] = [
  {
    group: 'ranges',
    name: 'reader, getContent and webReader with offset and length give exactly those bytes: at 0, inside, across 1 MiB, up to the end, and empty at the end',
    async run({ driver, path }) {
      const p = path();
      const size = 3 * MiB + 5;
      const data = patternBytes(size, 140);
      await driver.putContent(p, data);
      const ranges: Array<[number, number]> = [
        [0, 1],
        [0, 1000],
        [0, size],
        [12_345, 100_000],
        [MiB - 3, MiB + 7],
        [size - 1, 1],
        [size - 70_000, 70_000],
        [MiB, 0],
        [size, 0],
      ];
      for (const [offset, length] of ranges) {
        const expected = data.subarray(offset, offset + length);
        const what = `offset ${offset}, length ${length}`;
        assertSameBytes(await readAll(await driver.reader(p, offset, { length })), expected, `reader ${what}`);
        assertSameBytes(await driver.getContent(p, { offset, length }), expected, `getContent ${what}`);
        assertSameBytes(await readWeb(await driver.webReader(p, offset, { length })), expected, `webReader ${what}`);
      }
      assertSameBytes(await driver.getContent(p, { offset: size - 10 }), data.subarray(size - 10), 'getContent with an offset alone');
      assertSameBytes(await readWeb(await driver.webReader(p)), data, 'webReader of the whole object');
    },
  },
  {
    group: 'ranges',
    name: 'a range ending past the size is InvalidOffsetError at open (reader) and with no bytes (getContent), naming the range’s end; a missing object is PathNotFoundError',
    async run({ driver, path }) {
      const p = path();
      const size = 100_000;
      await driver.putContent(p, patternBytes(size, 141));
      for (const [offset, length] of [
        [0, size + 1],
        [size - 10, 11],
        [size, 1],
        [size + 1, 0],
        [5000, 2 * size],
      ] as const) {
        const what = `offset ${offset}, length ${length}`;
        const opened = await rejectsWith(driver.reader(p, offset, { length }), InvalidOffsetError, `reader ${what}`);
        assertNamesDriver(opened, driver);
        assert.equal(opened.path, p, `reader ${what}: path`);
        if (offset <= size) assert.equal(opened.offset, offset + length, `reader ${what}: the error names the range's end`);
        await rejectsWith(driver.getContent(p, { offset, length }), InvalidOffsetError, `getContent ${what}`);
        await rejectsWith(driver.webReader(p, offset, { length }), InvalidOffsetError, `webReader ${what}`);
      }
      const missing = path();
      await rejectsWith(driver.reader(missing, 0, { length: 1 }), PathNotFoundError, 'reader of a missing object');
      await rejectsWith(driver.getContent(missing, { offset: 0, length: 1 }), PathNotFoundError, 'getContent of a missing object');
    },
  },
];
