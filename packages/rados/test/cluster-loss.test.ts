/**
 * The cluster going away mid-operation (its only OSD stopped with SIGSTOP): operations fail with a
 * typed, retryable error within the configured op timeout instead of hanging, an abort still rejects
 * at once, and the same driver works again once the OSD is back (SIGCONT).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { DriverError } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { closeDrivers, connection, newDriver } from './support/server.js';

const { dir } = connection();
const driver = newDriver({ rootDirectory: `loss-${Date.now().toString(36)}`, chunkSize: 64 * 1024, opTimeoutMs: 2000 });

afterAll(closeDrivers);

/** Waits until every thread of `pid` is stopped (state T): SIGSTOP takes effect asynchronously. */
async function stopped(pid: number): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const states = readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return [/^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))?.[1]];
      } catch {
        return []; // The thread exited meanwhile: nothing of it runs.
      }
    });
    if (states.every((state) => state === 'T')) return;
    if (performance.now() > deadline) throw new Error(`the OSD (pid ${pid}) is not stopped 5 s after SIGSTOP: thread states ${states.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function shape(outcome: PromiseSettledResult<unknown>) {
  if (outcome.status === 'fulfilled') return { status: 'fulfilled', value: Buffer.isBuffer(outcome.value) ? `${outcome.value.length} bytes` : outcome.value };
  const error = outcome.reason as Error;
  return { status: 'rejected', error: error instanceof DriverError ? 'DriverError' : error.constructor.name, retryable: (error as DriverError).retryable, message: error.message };
}

test('with the OSD stopped, reads and writes reject with a retryable DriverError (ETIMEDOUT) in bounded time; aborts reject at once; all works after it resumes', async () => {
  const data = patternBytes(300 * 1024, 9);
  await driver.putContent('/kept', data);
  const osd = Number(readFileSync(join(dir, 'run', 'osd.0.pid'), 'utf8').trim());
  expect(readFileSync(`/proc/${osd}/comm`, 'utf8').trim()).toBe('ceph-osd');
  process.kill(osd, 'SIGSTOP');
  try {
    await stopped(osd);
    const started = performance.now();
    const outcomes = await Promise.allSettled([driver.getContent('/kept'), driver.putContent('/new', data), driver.list('/')]);
    const elapsed = performance.now() - started;
    // Named, and with what a fulfilled one returned, so a failure says which operation got through.
    const seen = Object.fromEntries(['getContent', 'putContent', 'list'].map((name, i) => [name, shape(outcomes[i]!)]));
    const timedOut = { status: 'rejected', error: 'DriverError', retryable: true, message: expect.stringMatching(/ETIMEDOUT/) };
    expect(seen).toEqual({ getContent: timedOut, putContent: timedOut, list: timedOut });
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
