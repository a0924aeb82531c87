/**
 * Content as streams (issue 13): putContent, put and writer.write take a Node Readable, a WHATWG
 * ReadableStream and an async iterable as well as bytes; put honours conditions and metadata.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';

import { type Content, PathNotFoundError, PreconditionFailedError } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertAbsent, assertMetadata, claimedMetadata } from './api-support.js';
import { assertSameBytes, describeError, rejectsWith } from './expect.js';

/** Chunks of an odd size, so no chunk boundary falls on a part boundary by chance. */
function chunksOf(data: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += 65_537) chunks.push(data.subarray(at, at + 65_537));
  return chunks;
}

/** The same bytes as each kind of content a caller may hand over. */
const SOURCES: Array<[string, (data: Buffer) => Content]> = [
  ['a Node Readable', (data) => Readable.from(chunksOf(data))],
  [
    'a WHATWG ReadableStream',
    (data) => {
      const chunks = chunksOf(data);
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(new Uint8Array(chunk));
        },
      });
    },
  ],
  [
    'an async iterable',
    (data) =>
      (async function* () {
        for (const chunk of chunksOf(data)) yield new Uint8Array(chunk);
      })(),
  ],
];

export const apiStreamCases: SuiteCase[] = [
  {
    group: 'streams',
    name: 'putContent, put and writer.write take a Node Readable, a WHATWG ReadableStream and an async iterable (across part boundaries) and store their bytes',
    timeoutMs: (o) => 60_000 + (12 * o.partSize) / 10_000,
    async run({ driver, path, options }) {
      const size = options.partSize + 70_001;
      for (const [i, [label, make]] of SOURCES.entries()) {
        const data = patternBytes(size, 150 + i);
        const p = path();
        await driver.putContent(p, make(data));
        assertSameBytes(await driver.getContent(p), data, `putContent of ${label}`);
        const q = path();
        await driver.put(q, make(data));
        assertSameBytes(await driver.getContent(q), data, `put of ${label}`);
      }
      const r = path();
      const writer = await driver.writer(r);
      const parts = SOURCES.map((_, i) => patternBytes(100_003, 160 + i));
      for (const [i, [, make]] of SOURCES.entries()) await writer.write(make(parts[i]!));
      await writer.write('tail');
      assert.equal(writer.size, 3 * 100_003 + 4, 'the writer counts every streamed byte');
      await writer.commit();
      assertSameBytes(await driver.getContent(r), Buffer.concat([...parts, Buffer.from('tail')]), 'writer.write of each kind of stream, then a string');
      await driver.put(r, 'small string');
      assert.equal((await driver.getContent(r)).toString(), 'small string', 'put of a string');
      await driver.putContent(r, (async function* () {
        yield 'héllo ';
        yield Buffer.from('wörld');
      })());
      assert.equal((await driver.getContent(r)).toString(), 'héllo wörld', 'an async iterable of strings (UTF-8) and bytes');
    },
  },
  {
    group: 'streams',
    name: 'put honours ifNoneMatch and the claimed metadata; a stream that fails makes putContent and put fail, storing nothing and leaving no upload',
    async run({ driver, path }) {
      const { capabilities } = driver;
      const metadata = claimedMetadata(capabilities);
      const p = path();
      const data = patternBytes(200_000, 170);
      await driver.put(p, Readable.from(chunksOf(data)), { ...metadata, ...(capabilities.writeIfNoneMatch ? { ifNoneMatch: '*' as const } : {}) });
      assertSameBytes(await driver.getContent(p), data, 'put of a stream with options');
      assertMetadata(await driver.stat(p), metadata, 'put of a stream');
      if (capabilities.writeIfNoneMatch) {
        await rejectsWith(driver.put(p, Readable.from(chunksOf(patternBytes(1000, 171))), { ifNoneMatch: '*' }), PreconditionFailedError, 'put over an object with ifNoneMatch');
        await rejectsWith(driver.putContent(p, Readable.from(chunksOf(patternBytes(1000, 171))), { ifNoneMatch: '*' }), PreconditionFailedError, 'putContent of a stream over an object with ifNoneMatch');
        assertSameBytes(await driver.getContent(p), data, 'the object after the refused puts');
      }

      const failing = (): Readable =>
        Readable.from(
          (async function* () {
            yield patternBytes(100_000, 172);
            throw new Error('the source failed');
          })(),
        );
      const q = path();
      for (const [label, call] of [
        ['putContent', () => driver.putContent(q, failing())],
        ['put', () => driver.put(q, failing())],
      ] as const) {
        let failure: unknown;
        await call().catch((error: unknown) => (failure = error));
        assert.ok(failure !== undefined, `${label} of a failing stream succeeded`);
        assert.ok(failure instanceof Error, `${label} of a failing stream rejected with ${describeError(failure)}, not an Error`);
      }
      await assertAbsent(driver, q, 'after failing streams');
      await rejectsWith(driver.writer(q, { append: true }), PathNotFoundError, 'a failed put leaves no upload to resume');
    },
  },
];
