import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import { ContentMd5, md5 } from '../src/index.js';
import { OFF_THREAD_MIN_BYTES } from '../src/digest.js';

// A file of its own: a worker that failed is never used again by this module instance.
const expected = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

test('md5 and ContentMd5 when a part cannot be posted to the worker (memory exhausted): the MD5 is computed in place, a content the worker held has none', async () => {
  const content = new ContentMd5();
  const first = randomBytes(OFF_THREAD_MIN_BYTES);
  expect((await content.part(first)).toString('hex')).toBe(expected(first));
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = () => {
    throw new RangeError('Array buffer allocation failed');
  };
  try {
    const large = randomBytes(2 * OFF_THREAD_MIN_BYTES);
    expect((await md5(large)).toString('hex')).toBe(expected(large));
    expect((await content.part(large)).toString('hex')).toBe(expected(large));
    expect(await content.digest()).toBeUndefined();
    const after = new ContentMd5();
    expect((await after.part(large)).toString('hex')).toBe(expected(large));
    expect((await after.digest())?.toString('hex')).toBe(expected(large));
  } finally {
    Worker.prototype.postMessage = post;
  }
});
