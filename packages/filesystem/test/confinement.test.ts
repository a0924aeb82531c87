/**
 * Property: no path, however hostile, reaches anything outside the driver's root. Every generated
 * path is either rejected with InvalidPathError before any filesystem access, or resolves inside
 * the root; and a sample of real writes and deletes leaves everything outside the root untouched.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

import { InvalidPathError, StorageDriverError, isValidPath } from '@storagedriver/core';
import fc from 'fast-check';

import { FilesystemDriver, resolveInRoot } from '../src/index.js';

const hostileComponent = fc.oneof(
  fc.constantFrom('..', '.', '', '...', '%2e%2e', '..%2f', '..\\', '\\..', '~', '$HOME', '\0', ' ', '..\u2215', '\u002e\u002e', 'a/../..', '//', '\\', 'C:', '.git'),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
  fc.string({ maxLength: 8, unit: 'binary' }),
);

const hostilePath = fc
  .tuple(fc.boolean(), fc.array(hostileComponent, { minLength: 0, maxLength: 8 }), fc.boolean())
  .map(([leading, parts, trailing]) => `${leading ? '/' : ''}${parts.join('/')}${trailing ? '/' : ''}`);

/** Mostly valid paths, so that the real-I/O property certainly writes, moves and deletes. */
const plausiblePath = fc
  .array(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/), { minLength: 1, maxLength: 4 })
  .map((parts) => `/${parts.join('/')}`);
const mixedPath = fc.oneof(hostilePath, plausiblePath);

function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort().map((p) => `${p}:${statSync(join(dir, p)).mtimeMs}`);
}

let sandbox: string;
let root: string;
let outside: string;

beforeAll(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'storagedriver-confine-'));
  root = join(sandbox, 'root');
  outside = join(sandbox, 'outside');
  mkdirSync(root);
  mkdirSync(join(outside, 'etc'), { recursive: true });
  writeFileSync(join(outside, 'etc', 'passwd'), 'sentinel');
  writeFileSync(join(sandbox, 'sibling'), 'sentinel');
});
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

test('100,000 hostile paths: each is rejected before any I/O, or resolves inside the root', async () => {
  const driver = new FilesystemDriver({ rootDirectory: root });
  await fc.assert(
    fc.asyncProperty(hostilePath, async (path) => {
      if (!isValidPath(path)) {
        await expect(driver.getContent(path)).rejects.toBeInstanceOf(InvalidPathError);
        return;
      }
      const rel = relative(root, resolveInRoot(root, path));
      expect(rel === '' || rel.startsWith(`..${sep}`) || rel === '..').toBe(false);
    }),
    { numRuns: 100_000 },
  );
}, 300_000);

test('2,000 hostile paths used for real writes, moves and deletes touch nothing outside the root', async () => {
  const driver = new FilesystemDriver({ rootDirectory: root });
  const before = { outside: snapshot(outside), sandbox: readdirSync(sandbox).sort() };
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(mixedPath, mixedPath, async (path, other) => {
      for (const operation of [
        () => driver.putContent(path, 'x'),
        () => driver.move(path, other),
        () => driver.writer(path).then((w) => w.cancel()),
        () => driver.delete(other),
        () => driver.delete(path),
      ]) {
        try {
          await operation();
          accepted++;
        } catch (error) {
          // Typed refusals (invalid path, not found, a file where a directory is needed) are fine; anything else is a bug.
          if (!(error instanceof StorageDriverError)) throw error;
        }
      }
    }),
    { numRuns: 2_000 },
  );
  expect(snapshot(outside)).toEqual(before.outside);
  expect(readdirSync(sandbox).sort()).toEqual(before.sandbox);
  // Half the paths come from the plausible generator, so real I/O certainly happened (about 2 000
  // accepted operations are expected; 300 leaves a wide margin for the random draw).
  expect(accepted).toBeGreaterThan(300);
}, 300_000);
