/**
 * What a driver keeps for itself never shows (contract: Writers): an uncommitted upload makes no
 * directory visible through this driver, nor through a driver on the same storage rooted above it.
 */
import assert from 'node:assert/strict';

import { PathNotFoundError, type StorageDriver } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertNamesDriver, assertSamePaths, readStream, rejectsWith, walked } from './expect.js';

const UPLOADED = 1000;

async function listOrNothing(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return [...(await driver.list(path))].sort();
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  }
}

async function walkOrNothing(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return await walked(driver, path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  }
}

export const hiddenCases: SuiteCase[] = [
  {
    group: 'writer',
    name: 'an uncommitted upload makes no directory visible through stat, list or walk, open or closed; its commit does',
    async run({ driver, dir }) {
      await driver.putContent(`${dir}/keep`, 'k');
      const fresh = `${dir}/fresh`;
      const object = `${fresh}/sub/obj`;
      const writer = await driver.writer(object);
      await writer.write(patternBytes(UPLOADED, 20));
      for (const when of ['while the writer is open', 'after close']) {
        if (when === 'after close') await writer.close();
        assertNamesDriver(await rejectsWith(driver.stat(fresh), PathNotFoundError, `stat of the upload's top directory ${when}`), driver);
        await rejectsWith(driver.stat(`${fresh}/sub`), PathNotFoundError, `stat of the upload's directory ${when}`);
        await rejectsWith(driver.list(fresh), PathNotFoundError, `list of the upload's top directory ${when}`);
        assert.deepEqual([...(await driver.list(dir))], [`${dir}/keep`], `list of the parent ${when}`);
        assert.deepEqual([...(await driver.list('/'))], [dir], `list of the root ${when}`);
        assertSamePaths(await walked(driver, '/'), [dir, `${dir}/keep`], `walk of the root ${when}`);
      }
      const resumed = await driver.writer(object, { append: true });
      assert.equal(resumed.size, UPLOADED, 'the upload resumes');
      await resumed.commit();
      assert.equal((await driver.stat(fresh)).isDir, true, 'the committed object’s directory');
      assert.deepEqual([...(await driver.list(dir))].sort(), [fresh, `${dir}/keep`]);
      assertSamePaths(await walked(driver, fresh), [`${fresh}/sub`, object], 'walk after commit');
      assert.equal((await readStream(driver, object)).length, UPLOADED);
    },
  },
  {
    group: 'writer',
    name: 'a driver rooted above this one sees exactly what this one shows — no upload state, staging or directory of an uncommitted upload',
    skip: (o) => (o.createAbove === undefined ? 'no createAbove option: the driver has no root parameter, or its test has no storage to share' : undefined),
    async run({ driver, dir, options }) {
      const { driver: above, pathOfRoot } = await options.createAbove!();
      const inAbove = (path: string): string => `${pathOfRoot}${path}`;
      const sameView = async (when: string): Promise<void> => {
        assertSamePaths(await listOrNothing(above, pathOfRoot), (await listOrNothing(driver, '/')).map(inAbove), `list of ${pathOfRoot} above ${when}`);
        assertSamePaths(await walkOrNothing(above, pathOfRoot), (await walked(driver, '/')).map(inAbove), `walk of ${pathOfRoot} above ${when}`);
      };
      await driver.putContent(`${dir}/keep`, 'k');
      await sameView('with one object');
      const object = `${dir}/fresh/sub/obj`;
      const writer = await driver.writer(object);
      await writer.write(patternBytes(UPLOADED, 21));
      for (const when of ['while the writer is open', 'after close']) {
        if (when === 'after close') await writer.close();
        await rejectsWith(above.stat(inAbove(`${dir}/fresh`)), PathNotFoundError, `stat above of the upload's directory ${when}`);
        assert.deepEqual(await listOrNothing(above, inAbove(dir)), [inAbove(`${dir}/keep`)], `list above of the case directory ${when}`);
        await sameView(when);
      }
      await (await driver.writer(object, { append: true })).commit();
      assert.equal((await above.stat(inAbove(`${dir}/fresh`))).isDir, true, 'the committed object’s directory, above');
      await sameView('after commit');
    },
  },
];
