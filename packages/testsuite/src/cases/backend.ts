/**
 * What the core wrapper hides: cases that call a BaseDriver's backend directly, because core makes
 * the public behaviour right whatever the backend does there (it filters walk callbacks after
 * `stop`, and never calls commit again after a success), so only the backend shows whether the
 * driver itself does the right thing.
 */
import assert from 'node:assert/strict';

import { BaseDriver, type StorageBackend, type StorageDriver } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import { NotApplicable, type SuiteCase } from '../runner.js';
import { assertSameBytes } from './expect.js';
import { makeFixture } from './walk.js';

function backendOf(driver: StorageDriver): StorageBackend {
  if (!BaseDriver.isBaseDriver(driver)) throw new NotApplicable('the driver is not a BaseDriver: its backend cannot be reached');
  return (driver as BaseDriver).backend;
}

export const backendCases: SuiteCase[] = [
  {
    group: 'backend',
    name: 'a native walk calls back nothing after the callback said stop, at any depth (counted at the backend, below the core guard)',
    async run(context) {
      const backend = backendOf(context.driver);
      if (backend.walk === undefined) throw new NotApplicable('no native walk: core’s generic walk serves this driver');
      await makeFixture(context);
      const all: string[] = [];
      await backend.walk(context.dir, (info) => void all.push(info.path), undefined);
      assert.ok(all.length > 3, `the backend's walk yielded ${all.length} entries of the fixture`);
      for (const stopAt of [all[0]!, all[Math.floor(all.length / 2)]!, all.find((p) => p.split('/').length > 5) ?? all[1]!]) {
        const afterStop: string[] = [];
        let stopped = false;
        await backend.walk(
          context.dir,
          (info) => {
            if (stopped) afterStop.push(info.path);
            else if (info.path === stopAt) stopped = true;
            return stopped ? 'stop' : undefined;
          },
          undefined,
        );
        assert.ok(stopped, `the walk reached ${stopAt}`);
        assert.deepEqual(afterStop, [], `the backend went on calling back after stop at ${stopAt}`);
      }
    },
  },
  {
    group: 'backend',
    name: 'the backend’s commit called again after it succeeded (as when its answer was lost) succeeds and the content stays exact',
    async run({ driver, path, options }) {
      const backend = backendOf(driver);
      const p = path();
      const data = patternBytes(options.partSize + 1001, 22);
      const writer = await backend.writer(p, false);
      await writer.write(data);
      await writer.commit();
      await writer.commit();
      assertSameBytes(await driver.getContent(p), data, 'after the second commit');
    },
  },
];
