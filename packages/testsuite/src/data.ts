/**
 * Position-dependent test data. Byte `p` of the stream for `seed` is a function of (p, seed) alone,
 * so a chunk stored at the wrong offset, stored twice or dropped is detected — unlike upstream's
 * suite, whose data repeats the same prefix on every read.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** xorshift32 of the word index (a bijection, so no two words of a stream repeat), mixed with the seed. */
function word(index: number, seed: number): number {
  // Shifts rather than Math.imul: jest's sandboxed Math makes imul ~50× slower.
  let x = index | 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x ^ seed) >>> 0;
}

/** Fills `target` with the pattern bytes starting at stream position `position`. */
export function fillPattern(target: Uint8Array, position: number, seed: number): void {
  const lead = position % 4;
  const aligned = lead === 0 && target.byteOffset % 4 === 0 && target.length % 4 === 0;
  // Whole words are generated into an aligned view; unaligned requests go through a scratch copy.
  const words = new Uint32Array(aligned ? target.buffer : new ArrayBuffer(Math.ceil((lead + target.length) / 4) * 4), aligned ? target.byteOffset : 0, aligned ? target.length / 4 : undefined);
  // Word indices fit in 32 bits up to 16 GiB of data.
  let index = (position - lead) / 4;
  for (let w = 0; w < words.length; w++, index++) words[w] = word(index, seed);
  if (!aligned) target.set(new Uint8Array(words.buffer, lead, target.length));
}

/** `size` pattern bytes from position 0 (or `position`). */
export function patternBytes(size: number, seed: number, position = 0): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  fillPattern(buffer, position, seed);
  return buffer;
}

/** A stream of `size` pattern bytes in chunks of `chunkSize` (odd by default, to cross every boundary). */
export function patternStream(size: number, seed: number, chunkSize = 1024 * 1024 + 7, position = 0): Readable {
  return chunkedStream(size, chunkSize, (sent, length) => patternBytes(length, seed, position + sent));
}

/** A stream of `size` bytes in chunks of `chunkSize`, chunk by chunk from `chunkAt(bytes sent before it, its length)`. */
export function chunkedStream(size: number, chunkSize: number, chunkAt: (sent: number, length: number) => Uint8Array): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (sent >= size) return void this.push(null);
      const length = Math.min(chunkSize, size - sent);
      this.push(chunkAt(sent, length));
      sent += length;
    },
  });
}

/**
 * Reads `stream` to its end and checks it is exactly `size` pattern bytes starting at `position`.
 * Fails at the first differing byte with its offset, without holding the stream in memory.
 */
export async function verifyPatternStream(stream: Readable, size: number, seed: number, position = 0): Promise<void> {
  let offset = 0;
  let expected = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (offset + chunk.length > size) throw new Error(`stream longer than expected: more than ${size} bytes`);
    if (expected.length < chunk.length) expected = Buffer.allocUnsafe(chunk.length);
    const want = expected.subarray(0, chunk.length);
    fillPattern(want, position + offset, seed);
    if (!want.equals(chunk)) {
      let at = 0;
      while (want[at] === chunk[at]) at++;
      throw new Error(`stream differs from the data written at byte ${offset + at} (of ${size})`);
    }
    offset += chunk.length;
  }
  if (offset !== size) throw new Error(`stream ended after ${offset} bytes, expected ${size}`);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random path component of `length` characters from [a-z0-9]. */
export function randomName(length = 16): string {
  let name = '';
  for (let i = 0; i < length; i++) name += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return name;
}
