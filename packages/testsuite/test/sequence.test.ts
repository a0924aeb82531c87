/**
 * A case that overruns its limit keeps running in the background (a promise cannot be cancelled),
 * and its clean-up empties the root. The sequence must not let it overlap the next case.
 */
import { BaseDriver, type StorageDriver } from '@storagedriver/core';

import { CaseSequence, type SuiteCase, resolveOptions } from '../src/runner.js';
import { MemoryObjectBackend, ObjectStore } from './mutants/backend.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sequence(): { driver: StorageDriver; cases: CaseSequence } {
  const driver = new BaseDriver(new MemoryObjectBackend(new ObjectStore(), { root: 'suite/root', partSize: 256 * 1024 }));
  return { driver, cases: new CaseSequence(driver, resolveOptions({ create: () => driver, mode: 'short' }, driver)) };
}

test('a case that overruns is reported once it ended, and the next case starts only then, with its files left alone', async () => {
  const { driver, cases } = sequence();
  let slowEnded = 0;
  const slow: SuiteCase = {
    group: 'test',
    name: 'slow',
    timeoutMs: () => 1000,
    async run({ driver: d, path }) {
      await d.putContent(path(), 'slow');
      await sleep(1600);
      slowEnded = performance.now();
    },
  };
  let nextStarted = 0;
  let listed: string[] = [];
  const next: SuiteCase = {
    group: 'test',
    name: 'next',
    async run({ driver: d, dir }) {
      nextStarted = performance.now();
      for (const name of ['a', 'b', 'c']) await d.putContent(`${dir}/${name}`, name);
      listed = [...(await d.list(dir))].sort();
    },
  };
  await expect(cases.run(slow)).rejects.toThrow(/^slow: timed out after 1 s \(it ended 2 s after it started\)$/);
  await expect(cases.run(next)).resolves.toEqual({});
  expect(slowEnded).toBeGreaterThan(0);
  expect(nextStarted).toBeGreaterThanOrEqual(slowEnded);
  expect(listed).toHaveLength(3);
  expect(await driver.list('/').catch(() => [])).toEqual([]);
});

test('a case still running after twice its limit fails every later case without running it', async () => {
  const { cases } = sequence();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const stuck: SuiteCase = {
    group: 'test',
    name: 'stuck',
    timeoutMs: () => 500,
    async run() {
      await released;
    },
  };
  let laterRan = false;
  const later: SuiteCase = {
    group: 'test',
    name: 'later',
    async run() {
      laterRan = true;
    },
  };
  try {
    await expect(cases.run(stuck)).rejects.toThrow(/^stuck: timed out after 1 s \(still running 1 s after it started\)$/);
    await expect(cases.run(later)).rejects.toThrow('not run: the case "stuck" timed out and is still running');
    expect(laterRan).toBe(false);
  } finally {
    release();
  }
});

test('a case within its limit passes through: its result, or its own failure', async () => {
  const { cases } = sequence();
  await expect(cases.run({ group: 'test', name: 'quick', run: async () => undefined })).resolves.toEqual({});
  await expect(cases.run({ group: 'test', name: 'failing', run: async () => Promise.reject(new Error('its own failure')) })).rejects.toThrow('its own failure');
});
