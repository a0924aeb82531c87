import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ContentMd5, md5 } from '../src/index.js';
import { OFF_THREAD_MIN_BYTES } from '../src/digest.js';

const expected = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

function shared(size: number): Buffer {
  const buffer = Buffer.from(new SharedArrayBuffer(size));
  buffer.set(randomBytes(size));
  return buffer;
}

test('md5 gives the MD5 of every size, in place and off the thread, of shared and unshared memory and of views into it', async () => {
  const sizes = [0, 1, OFF_THREAD_MIN_BYTES - 1, OFF_THREAD_MIN_BYTES, 3 * OFF_THREAD_MIN_BYTES + 5];
  for (const size of sizes) {
    for (const data of [randomBytes(size), shared(size), shared(size + 9).subarray(4, 4 + size), randomBytes(size + 9).subarray(5, 5 + size)]) {
      const before = expected(data);
      const digest = await md5(data);
      expect(digest).toHaveLength(16);
      expect(digest.toString('hex')).toBe(before);
      // The part itself stays the caller's, whole (a copy went to the worker).
      expect(data.byteLength).toBe(size);
      expect(expected(data)).toBe(before);
    }
  }
});

test('md5: many large parts at once each get their own digest', async () => {
  const parts = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? shared : randomBytes)(OFF_THREAD_MIN_BYTES + i));
  const digests = await Promise.all(parts.map((part) => md5(part)));
  expect(digests.map((digest) => digest.toString('hex'))).toEqual(parts.map(expected));
});

/** How many times the event loop turned while `work` ran. */
async function turnsWhile(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const turn = (): void => {
    if (done) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  await work();
  done = true;
  return turns;
}

test('md5: the event loop keeps turning while a large part is hashed, and does not while a small one is', async () => {
  expect(await turnsWhile(() => md5(shared(OFF_THREAD_MIN_BYTES - 1)))).toBe(0);
  expect(await turnsWhile(() => md5(shared(64 * OFF_THREAD_MIN_BYTES)))).toBeGreaterThan(0);
});

test('md5: an idle worker does not keep the process alive (the built package, in a process of its own)', async () => {
  const script = `import { md5 } from ${JSON.stringify(join(__dirname, '..', 'dist', 'esm', 'index.js'))};
    const first = await md5(Buffer.alloc(${2 * OFF_THREAD_MIN_BYTES}, 1));
    const second = await md5(Buffer.from(new SharedArrayBuffer(${2 * OFF_THREAD_MIN_BYTES})).fill(1));
    console.log(first.toString('hex'), second.toString('hex'));`;
  // A file, not `-e`: a process evaluating `-e` exits at its end whatever holds it.
  const dir = mkdtempSync(join(tmpdir(), 'digest-'));
  try {
    writeFileSync(join(dir, 'idle.mjs'), script);
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'idle.mjs')], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 15_000 });
    const digest = expected(Buffer.alloc(2 * OFF_THREAD_MIN_BYTES, 1));
    expect(stdout.trim()).toBe(`${digest} ${digest}`);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

test('ContentMd5 gives each part its own MD5 and the whole content the MD5 of its parts in order, parts in place and off the thread mixed', async () => {
  const sizes = [5, OFF_THREAD_MIN_BYTES + 3, 0, 17, 2 * OFF_THREAD_MIN_BYTES, OFF_THREAD_MIN_BYTES - 1, OFF_THREAD_MIN_BYTES + 1];
  const parts = sizes.map((size, i) => (i % 2 === 0 ? randomBytes(size) : shared(size + 3).subarray(2, 2 + size)));
  const content = new ContentMd5();
  // Parts hashed concurrently, as a writer's uploads in flight are; only their order of calls matters.
  const digests = await Promise.all(parts.map((part) => content.part(part)));
  expect(digests.map((digest) => digest.toString('hex'))).toEqual(parts.map(expected));
  const whole = await content.digest();
  expect(whole?.toString('hex')).toBe(expected(Buffer.concat(parts)));
  expect(await content.digest()).toBe(whole);
  expect(() => content.part(Buffer.from('late'))).toThrow(/after the digest/);
  // Two contents at once keep their own state.
  const [a, b] = [new ContentMd5(), new ContentMd5()];
  const [pa, pb] = [randomBytes(OFF_THREAD_MIN_BYTES + 9), randomBytes(OFF_THREAD_MIN_BYTES + 11)];
  await Promise.all([a.part(pa), b.part(pb), a.part(pb), b.part(pa)]);
  expect((await a.digest())?.toString('hex')).toBe(expected(Buffer.concat([pa, pb])));
  expect((await b.digest())?.toString('hex')).toBe(expected(Buffer.concat([pb, pa])));
  expect((await new ContentMd5().digest())?.toString('hex')).toBe(expected(Buffer.alloc(0)));
});

test('ContentMd5: a content of large parts costs the event loop no hashing', async () => {
  const part = randomBytes(8 * OFF_THREAD_MIN_BYTES);
  const content = new ContentMd5();
  let digest: Buffer | undefined;
  // Eight parts hashed twice each (the part, the content) in place would leave the loop no turn.
  const turns = await turnsWhile(async () => {
    for (let i = 0; i < 8; i++) void content.part(part);
    digest = await content.digest();
  });
  expect(turns).toBeGreaterThan(0);
  expect(digest?.toString('hex')).toBe(expected(Buffer.concat(Array.from({ length: 8 }, () => part))));
});
