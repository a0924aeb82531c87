/** Directories larger than one listing page (contract: list, walk — object stores list 1000 keys per request). */
import type { SuiteCase } from '../runner.js';
import { randomName } from '../data.js';
import { assertSamePaths, forEachConcurrently, walked } from './expect.js';

/** Puts issued at once while building a large directory. */
const CONCURRENCY = 32;

function largeDirectoryCase(count: number, fullOnly: boolean): SuiteCase {
  return {
    group: 'list',
    name: `list and walk of ${count.toLocaleString('en')} direct children cross listing pages: every child once, in order, and startAfter past the first page`,
    skip: fullOnly ? (o) => (o.mode === 'short' ? `${count} children only in full mode` : undefined) : undefined,
    timeoutMs: () => 60_000 + count * 60,
    async run({ driver, dir }) {
      const parent = `${dir}/${randomName(8)}`;
      const children = Array.from({ length: count }, (_, i) => `${parent}/c${String(i).padStart(5, '0')}`);
      await forEachConcurrently(children, CONCURRENCY, (child) => driver.putContent(child, 'x'));
      // A directory after the last page of files: the walk must still infer it from its key.
      await driver.putContent(`${parent}/sub/x`, 'x');
      const entries = [...children, `${parent}/sub`];
      assertSamePaths([...(await driver.list(parent))].sort(), entries, `list of ${count} files and a directory`);
      assertSamePaths(await walked(driver, parent), [...entries, `${parent}/sub/x`], 'walk');
      const hinted: string[] = [];
      await driver.walk(parent, (info) => void hinted.push(info.path), { startAfter: children[count - 2] });
      assertSamePaths(hinted, [children[count - 1]!, `${parent}/sub`, `${parent}/sub/x`], `walk after ${children[count - 2]}`);
    },
  };
}

export const listingCases: SuiteCase[] = [largeDirectoryCase(1001, false), largeDirectoryCase(5001, true)];
