import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import { ContentMd5, md5 } from '../src/index.js';
import { OFF_THREAD_MIN_BYTES } from '../src/digest.js';

// A file of its own: a worker that failed is never used again by this module instance.
const expected = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

test('md5 and ContentMd5 when the worker dies: parts still get their MD5 (in place), a content it held has none, later contents are hashed in place', async () => {
  const post = Worker.prototype.postMessage;
  const seen = new Set<Worker>();
  Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    seen.add(this);
    return post.apply(this, args);
  };
  try {
    const content = new ContentMd5();
    const first = randomBytes(OFF_THREAD_MIN_BYTES + 1);
    expect((await content.part(first)).toString('hex')).toBe(expected(first));
    expect(seen.size).toBe(1);
    const large = randomBytes(64 * OFF_THREAD_MIN_BYTES);
    const inFlight = [md5(large), content.part(large)];
    await [...seen][0]!.terminate();
    const digests = await Promise.all(inFlight);
    expect(digests.map((digest) => digest.toString('hex'))).toEqual([expected(large), expected(large)]);
    expect(await content.digest()).toBeUndefined();
    const after = new ContentMd5();
    const part = randomBytes(OFF_THREAD_MIN_BYTES + 5);
    expect((await after.part(part)).toString('hex')).toBe(expected(part));
    expect((await after.digest())?.toString('hex')).toBe(expected(part));
  } finally {
    Worker.prototype.postMessage = post;
  }
});
