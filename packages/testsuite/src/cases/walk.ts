/** walk (upstream §6.1 fixtures; contract: walk). Orders differ by driver; expectations follow the declared order. */
import assert from 'node:assert/strict';

import { type FileInfo, PathNotFoundError, type StorageDriver, type WalkDecision, compareWalkOrder, walkEntries } from '@storagedriver/core';

import type { CaseContext, SuiteCase } from '../runner.js';
import { rejectsWith } from './expect.js';

const FILES = [
  'file1',
  'folder1/file1',
  'folder1-suffix/file1',
  'folder2/file1',
  'folder3/subfolder1/subfolder1/file1',
  'folder3/subfolder2/subfolder1/file1',
  'folder4/file1',
];

interface Entry {
  path: string;
  isDir: boolean;
}

function fixtureEntries(base: string): Entry[] {
  const entries = new Map<string, Entry>();
  for (const file of FILES) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${base}/${parts.slice(0, i).join('/')}`;
      entries.set(dir, { path: dir, isDir: true });
    }
    entries.set(`${base}/${file}`, { path: `${base}/${file}`, isDir: false });
  }
  return [...entries.values()];
}

/** The key an entry sorts by in a flat listing: directories come just before their first key. */
const byteKey = (e: Entry): string => (e.isDir ? `${e.path}/` : e.path);

function ordered(entries: Entry[], order: 'components' | 'bytes'): string[] {
  const sorted = [...entries].sort((a, b) =>
    order === 'components' ? compareWalkOrder(a.path, b.path) : byteKey(a) < byteKey(b) ? -1 : byteKey(a) > byteKey(b) ? 1 : 0,
  );
  return sorted.map((e) => e.path);
}

/** Whether `e` comes strictly after the hint in the walk order (the hint's ancestors do not). */
function after(e: Entry, hint: string, order: 'components' | 'bytes'): boolean {
  if (e.path === hint || hint.startsWith(`${e.path}/`)) return false;
  return order === 'components' ? compareWalkOrder(e.path, hint) > 0 : byteKey(e) > hint;
}

export async function makeFixture({ driver, dir }: CaseContext): Promise<Entry[]> {
  for (const file of FILES) await driver.putContent(`${dir}/${file}`, file);
  return fixtureEntries(dir);
}

async function collect(
  driver: StorageDriver,
  from: string,
  options: { startAfter?: string; decide?: (info: FileInfo) => WalkDecision } = {},
): Promise<string[]> {
  const seen: string[] = [];
  await driver.walk(
    from,
    (info) => {
      seen.push(info.path);
      return options.decide?.(info);
    },
    options.startAfter === undefined ? {} : { startAfter: options.startAfter },
  );
  return seen;
}

export const walkCases: SuiteCase[] = [
  {
    group: 'walk',
    name: 'walk yields every file and directory below the path once, in the documented order, never the path itself',
    async run(context) {
      const entries = await makeFixture(context);
      const order = context.options.capabilities.walkOrder;
      assert.deepEqual(await collect(context.driver, context.dir), ordered(entries, order));
      assert.deepEqual(await collect(context.driver, `${context.dir}/folder1`), [`${context.dir}/folder1/file1`]);
      const infos: FileInfo[] = [];
      await context.driver.walk(context.dir, (info) => void infos.push(info));
      for (const info of infos) {
        const file = FILES.find((f) => `${context.dir}/${f}` === info.path);
        assert.equal(info.isDir, file === undefined, `isDir of ${info.path}`);
        if (file !== undefined) assert.equal(info.size, file.length, `size of ${info.path}`);
      }
    },
  },
  {
    group: 'walk',
    name: 'walk entries tell what stat tells: the size, and the etag when the driver claims etags (a walk is a listing)',
    async run(context) {
      await makeFixture(context);
      await context.driver.putContent(`${context.dir}/folder1/file1`, 'replaced, so its etag is not its first');
      const files: FileInfo[] = [];
      await context.driver.walk(context.dir, (info) => void (info.isDir || files.push(info)));
      assert.equal(files.length, FILES.length, 'every file');
      for (const entry of files) {
        const info = await context.driver.stat(entry.path);
        assert.equal(entry.size, info.size, `${entry.path}: size against stat`);
        if (context.driver.capabilities.etag) {
          assert.ok(entry.etag !== undefined, `${entry.path}: a walk entry carries the etag the driver claims`);
          assert.equal(entry.etag, info.etag, `${entry.path}: etag against stat`);
        }
      }
    },
  },
  {
    group: 'walk',
    name: 'walk does not enter a directory the callback skips',
    async run(context) {
      const entries = await makeFixture(context);
      const skipped = `${context.dir}/folder1`;
      const seen = await collect(context.driver, context.dir, { decide: (info) => (info.path === skipped ? 'skipDir' : undefined) });
      const expected = ordered(entries, context.options.capabilities.walkOrder).filter((p) => !p.startsWith(`${skipped}/`));
      assert.deepEqual(seen, expected);
    },
  },
  {
    group: 'walk',
    name: 'stop ends the whole walk at once, at every depth, and the walk resolves',
    async run(context) {
      const entries = await makeFixture(context);
      const all = ordered(entries, context.options.capabilities.walkOrder);
      for (const stopAt of [`${context.dir}/folder1/file1`, `${context.dir}/folder3/subfolder1/subfolder1/file1`]) {
        const seen = await collect(context.driver, context.dir, { decide: (info) => (info.path === stopAt ? 'stop' : undefined) });
        assert.deepEqual(seen, all.slice(0, all.indexOf(stopAt) + 1), `stop at ${stopAt}`);
        // With a hint the walk resumes level by level in upstream's fallback, which kept going after a stop.
        const hint = `${context.dir}/folder2/file1`;
        const hinted = await collect(context.driver, context.dir, {
          startAfter: hint,
          decide: (info) => (info.path === stopAt ? 'stop' : undefined),
        });
        const afterHint = all.filter((p) => after(entries.find((e) => e.path === p)!, hint, context.options.capabilities.walkOrder));
        const stopIndex = afterHint.indexOf(stopAt);
        assert.deepEqual(hinted, stopIndex === -1 ? afterHint : afterHint.slice(0, stopIndex + 1), `stop at ${stopAt} after hint`);
      }
    },
  },
  {
    group: 'walk',
    name: 'startAfter: only entries after the hint are yielded (hints inside, equal to, before, after and missing)',
    async run(context) {
      const entries = await makeFixture(context);
      const { dir, driver } = context;
      const order = context.options.capabilities.walkOrder;
      const expect = (from: string, hint: string): string[] =>
        ordered(entries.filter((e) => e.path.startsWith(`${from}/`)), order).filter((p) => after(entries.find((e) => e.path === p)!, hint, order));
      const cases: Array<[string, string]> = [
        [dir, `${dir}/folder1/file1`],
        [dir, `${dir}/folder3/subfolder1/subfolder1/file1`],
        [`${dir}/folder3`, `${dir}/folder3/subfolder1/subfolder1/file1`],
        [`${dir}/folder3`, `${dir}/folder3`],
        [`${dir}/folder3`, `${dir}/folder3/notafolder/notafile`],
        [`${dir}/folder3`, `${dir}/folder1-suffix/file1`],
        [`${dir}/folder1`, `${dir}/folder2`],
      ];
      for (const [from, hint] of cases) {
        const outside = !hint.startsWith(`${from}/`) && hint !== from;
        const expected = outside ? (compareWalkOrder(hint, from) < 0 ? expect(from, '') : []) : expect(from, hint);
        assert.deepEqual(await collect(driver, from, { startAfter: hint }), expected, `walk ${from} after ${hint}`);
      }
    },
  },
  {
    group: 'walk',
    name: 'an error thrown by the callback, or by an async callback, ends the walk and reaches the caller unchanged',
    async run(context) {
      await makeFixture(context);
      const boom = new Error('boom');
      for (const [kind, callback] of [
        ['sync', () => { throw boom; }],
        ['async', async () => { await Promise.resolve(); throw boom; }],
      ] as const) {
        let calls = 0;
        const outcome = await context.driver
          .walk(context.dir, () => {
            calls++;
            return callback();
          })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        assert.equal(outcome, boom, `${kind} callback`);
        assert.equal(calls, 1, `${kind} callback: called once`);
      }
    },
  },
  {
    group: 'walk',
    name: 'walk of a missing path or of a file is PathNotFoundError; walk of an empty root yields nothing',
    async run({ driver, dir }) {
      const atRoot: string[] = [];
      await driver.walk('/', (info) => void atRoot.push(info.path));
      assert.deepEqual(atRoot, [], 'the root is empty when a case starts');
      await rejectsWith(driver.walk(`${dir}/missing`, () => undefined), PathNotFoundError, 'walk of a missing path');
      await driver.putContent(`${dir}/file`, 'x');
      await rejectsWith(driver.walk(`${dir}/file`, () => undefined), PathNotFoundError, 'walk of a file');
    },
  },
  {
    group: 'walk',
    name: 'walkEntries iterates the same entries, and leaving the loop early stops the walk',
    async run(context) {
      const entries = await makeFixture(context);
      const all = ordered(entries, context.options.capabilities.walkOrder);
      const seen: string[] = [];
      for await (const info of walkEntries(context.driver, context.dir)) seen.push(info.path);
      assert.deepEqual(seen, all);
      const firstThree: string[] = [];
      for await (const info of walkEntries(context.driver, context.dir)) {
        firstThree.push(info.path);
        if (firstThree.length === 3) break;
      }
      assert.deepEqual(firstThree, all.slice(0, 3));
    },
  },
];
