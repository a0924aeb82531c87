/**
 * The cluster going away mid-operation (its only OSD stopped with SIGSTOP): operations fail with a
 * typed, retryable error within the configured op timeout instead of hanging, an abort still rejects
 * at once, and the same driver works again once the OSD is back (SIGCONT).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DriverError } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { closeDrivers, connection, newDriver } from './support/server.js';

const { dir } = connection();
const driver = newDriver({ rootDirectory: `loss-${Date.now().toString(36)}`, chunkSize: 64 * 1024, opTimeoutMs: 2000 });

afterAll(closeDrivers);

test('with the OSD stopped, reads and writes reject with a retryable DriverError (ETIMEDOUT) in bounded time; aborts reject at once; all works after it resumes', async () => {
  const data = patternBytes(300 * 1024, 9);
  await driver.putContent('/kept', data);
  const osd = Number(readFileSync(join(dir, 'run', 'osd.0.pid'), 'utf8').trim());
  process.kill(osd, 'SIGSTOP');
  try {
    const started = performance.now();
    const outcomes = await Promise.allSettled([driver.getContent('/kept'), driver.putContent('/new', data), driver.list('/')]);
    const elapsed = performance.now() - started;
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as DriverError;
      expect(error).toBeInstanceOf(DriverError);
      expect({ retryable: error.retryable, message: error.message }).toMatchObject({ retryable: true, message: expect.stringMatching(/ETIMEDOUT/) });
    }
    // Two op timeouts at most (a lookup, then the operation's own request).
    expect(elapsed).toBeLessThan(10_000);
    const controller = new AbortController();
    const reason = new Error('caller abort');
    const pending = driver.getContent('/kept', { signal: controller.signal }).catch((error: unknown) => ({ error, at: performance.now() }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const abortedAt = performance.now();
    controller.abort(reason);
    const { error, at } = (await pending) as { error: unknown; at: number };
    expect(error).toBe(reason);
    expect(at - abortedAt).toBeLessThan(50);
  } finally {
    process.kill(osd, 'SIGCONT');
  }
  // The cluster handle recovers by itself: the same driver reads and writes again.
  expect((await driver.getContent('/kept')).equals(data)).toBe(true);
  await driver.putContent('/after', 'back');
  await driver.delete('/after');
  await driver.delete('/kept');
});
