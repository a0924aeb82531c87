import { Readable } from 'node:stream';

import { patternBytes, patternStream, verifyPatternStream } from '../src/data.js';
import { formatTable } from '../src/bench.js';

const streamOf = (...chunks: Buffer[]) => Readable.from(chunks);

describe('position-dependent data catches what upstream’s repeating data cannot', () => {
  const chunk = 64 * 1024;
  const a = patternBytes(chunk, 1, 0);
  const b = patternBytes(chunk, 1, chunk);
  const c = patternBytes(chunk, 1, 2 * chunk);

  test('the right chunks in order verify', async () => {
    await expect(verifyPatternStream(streamOf(a, b, c), 3 * chunk, 1)).resolves.toBeUndefined();
  });

  test('a duplicated chunk fails inside the duplicate', async () => {
    const error: Error = await verifyPatternStream(streamOf(a, a, c), 3 * chunk, 1).catch((e: Error) => e) as Error;
    const at = Number(/at byte (\d+)/.exec(error.message)?.[1]);
    expect(at).toBeGreaterThanOrEqual(chunk);
    expect(at).toBeLessThan(chunk + 8);
  });

  test('swapped chunks fail', async () => {
    await expect(verifyPatternStream(streamOf(a, c, b), 3 * chunk, 1)).rejects.toThrow(/differs/);
  });

  test('a dropped chunk fails (short stream)', async () => {
    await expect(verifyPatternStream(streamOf(a, b), 3 * chunk, 1)).rejects.toThrow(`ended after ${2 * chunk} bytes`);
  });

  test('another seed is other data', async () => {
    await expect(verifyPatternStream(streamOf(patternBytes(100, 2)), 100, 1)).rejects.toThrow(/at byte 0/);
  });

  test('generation at any offset and chunking agrees with one whole buffer', async () => {
    const whole = patternBytes(1_000_003, 9);
    const parts: Buffer[] = [];
    for await (const part of patternStream(1_000_003, 9, 4099)) parts.push(part as Buffer);
    expect(Buffer.concat(parts).equals(whole)).toBe(true);
    expect(patternBytes(13, 9, 777).equals(whole.subarray(777, 790))).toBe(true);
  });
});

test('formatTable aligns columns', () => {
  expect(formatTable([{ name: 'a', 'MiB/s': '1.5' }, { name: 'longer', 'MiB/s': '12.0' }]).split('\n')).toEqual([
    'name    MiB/s',
    '------  -----',
    'a         1.5',
    'longer   12.0',
  ]);
});
