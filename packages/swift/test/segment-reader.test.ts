/**
 * The segment stream's own rules, with segments served from memory (what a server cannot be made
 * to do: a segment longer or shorter than its manifest lists); reads against both servers are in
 * swift.test.ts and the fault campaigns.
 */
import { Readable } from 'node:stream';

import { DriverError, PreconditionFailedError, isTransientError } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { ownSegments, segmentStream, type ManifestSegment, type OpenSegment } from '../src/segment-reader.js';
import { drain } from './support/drain.js';

const data = patternBytes(3 * 1000 + 5, 40);
const segments: ManifestSegment[] = [
  { object: 's/0', etag: 'e0', bytes: 1000 },
  { object: 's/1', etag: 'e1', bytes: 1000 },
  { object: 's/2', etag: 'e2', bytes: 1005 },
];
const startOf = (index: number): number => index * 1000;

/** Serves each segment's bytes from `data` in 100-byte chunks, changed by `change` where given. */
function served(change: (index: number, bytes: Buffer) => { etag?: string; bytes: Buffer } = (_, bytes) => ({ bytes })): { open: OpenSegment; opened: string[] } {
  const opened: string[] = [];
  const open: OpenSegment = async (segment, offset) => {
    const index = segments.indexOf(segment);
    opened.push(`${segment.object}@${offset}`);
    const whole = data.subarray(startOf(index), startOf(index) + segment.bytes);
    const { etag, bytes } = change(index, whole);
    const part = bytes.subarray(offset);
    const chunks = Array.from({ length: Math.ceil(part.length / 100) }, (_, i) => part.subarray(i * 100, i * 100 + 100));
    return { etag: etag ?? `"${segment.etag}"`, body: Readable.from(chunks) };
  };
  return { open, opened };
}

test('reads every segment in order from an offset inside one, the first from that offset', async () => {
  for (const from of [0, 999, 1000, 1500, 3004, 3005]) {
    const { open, opened } = served();
    const { bytes, error } = await drain(segmentStream('/p', segments, from, open));
    expect(error).toBeUndefined();
    expect(bytes.equals(data.subarray(from))).toBe(true);
    if (from < data.length) expect(opened[0]).toBe(`s/${Math.min(2, Math.floor(from / 1000))}@${from - startOf(Math.min(2, Math.floor(from / 1000)))}`);
    else expect(opened).toEqual([]);
  }
});

test('a segment shorter than its manifest lists fails the stream with a retryable error after its bytes, none of the next', async () => {
  const { open } = served((index, bytes) => ({ bytes: index === 1 ? bytes.subarray(0, 600) : bytes }));
  const { bytes, error } = await drain(segmentStream('/p', segments, 0, open));
  expect(error).toBeInstanceOf(DriverError);
  expect(isTransientError(error)).toBe(true);
  expect(bytes.equals(data.subarray(0, 1600))).toBe(true);
});

test('a segment longer than its manifest lists fails the stream without passing on a byte past the listed length', async () => {
  const { open } = served((index, bytes) => ({ bytes: index === 0 ? Buffer.concat([bytes, Buffer.alloc(50, 1)]) : bytes }));
  const { bytes, error } = await drain(segmentStream('/p', segments, 0, open));
  expect(error).toBeInstanceOf(DriverError);
  expect(isTransientError(error)).toBe(false);
  expect(bytes.length).toBeLessThanOrEqual(1000);
  expect(bytes.equals(data.subarray(0, bytes.length))).toBe(true);
});

test('a segment whose ETag is not the manifest\'s fails the stream with PreconditionFailedError before any of its bytes', async () => {
  const { open } = served((index, bytes) => ({ bytes, etag: index === 2 ? '"other"' : undefined }));
  const { bytes, error } = await drain(segmentStream('/p', segments, 0, open));
  expect(error).toBeInstanceOf(PreconditionFailedError);
  expect(bytes.equals(data.subarray(0, 2000))).toBe(true);
});

test('only whole segments below the upload prefix in the container make a manifest of the driver\'s own', () => {
  const entry = (name: string, extra: Record<string, unknown> = {}) => ({ name, hash: 'h', bytes: 10, ...extra });
  const own = (entries: unknown[]) => ownSegments(JSON.stringify(entries), 'c', 'files~segments/u/');
  expect(own([entry('/c/files~segments/u/00000000'), entry('/c/files~segments/u/00000001')])).toEqual([
    { object: 'files~segments/u/00000000', etag: 'h', bytes: 10 },
    { object: 'files~segments/u/00000001', etag: 'h', bytes: 10 },
  ]);
  expect(own([entry('/c/files~segments/other/00000000')])).toBeUndefined();
  expect(own([entry('/d/files~segments/u/00000000')])).toBeUndefined();
  expect(own([entry('/c/files~segments/u/00000000', { range: '0-4' })])).toBeUndefined();
  expect(own([entry('/c/files~segments/u/00000000', { sub_slo: true })])).toBeUndefined();
  expect(own([])).toBeUndefined();
  expect(ownSegments('not json', 'c', 'files~segments/u/')).toBeUndefined();
});
