// Walk benchmark: the driver's walk of 10 000 files beside core's generic list + stat walk over the
// same backend (what the driver did before it had a native walk), raw `node:fs` (a recursive readdir, with
// and without a stat per entry) and Apache OpenDAL's `fs` recursive list (`opendal@0.49.2`,
// installed into a temporary directory at run time, never into the lock file; skipped when it
// cannot be installed) — both its one-call `list` and its `lister` (one entry per call), and the
// former with a `stat` per entry, since the driver's entries carry size and modification time —
// in the same process on the same tree. Rounds run every subject in turn; each figure is the median
// of 3 timed rounds (min–max beside it) after one warm-up round.
// Run (in packages/filesystem, after build): node bench/walk.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BaseDriver } from '@storagedriver/core';

import { DEFAULT_MAX_THREADS, FilesystemDriver } from '../dist/esm/index.js';

const FILES = 10_000;
const DIRS = 50;
const ROUNDS = 3;
const STATS_IN_FLIGHT = 32;

const root = mkdtempSync(join(tmpdir(), 'storagedriver-walk-bench-'));
const top = join(root, 'walk');

/** Runs `fn` on every item with at most `limit` at once. */
async function bounded(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function openDal() {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-opendal-'));
  try {
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', dir, 'opendal@0.49.2'], { stdio: 'ignore', timeout: 300_000 });
    return { dir, Operator: createRequire(join(dir, 'package.json'))('opendal').Operator };
  } catch (error) {
    console.error(`OpenDAL not measured: ${error.message}`);
    rmSync(dir, { recursive: true, force: true });
    return { dir: undefined, Operator: undefined };
  }
}

const { dir: openDalDir, Operator } = openDal();
try {
  for (let d = 0; d < DIRS; d++) mkdirSync(join(top, `d${d}`), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(top, `d${i % DIRS}`, `f${i}`), 'x');

  const driver = new FilesystemDriver({ rootDirectory: root });
  // The same backend without its walk: BaseDriver falls back to core's walkByListing, each list and stat through its limiter.
  const { backend } = driver;
  const generic = new BaseDriver({ name: backend.name, list: (p, s) => backend.list(p, s), stat: (p, s) => backend.stat(p, s) }, { maxConcurrency: DEFAULT_MAX_THREADS });
  const walkFiles = async (subject) => {
    let files = 0;
    await subject.walk('/walk', (info) => void (info.isDir || files++));
    return files;
  };
  const subjects = {
    'driver walk (stat per entry)': () => walkFiles(driver),
    'generic list + stat walk through the base wrapper': () => walkFiles(generic),
    'raw fs readdir recursive, no stat': async () => {
      const entries = await readdir(top, { recursive: true, withFileTypes: true });
      return entries.filter((e) => e.isFile()).length;
    },
    [`raw fs readdir recursive + stat per entry (${STATS_IN_FLIGHT} in flight)`]: async () => {
      const names = await readdir(top, { recursive: true });
      let files = 0;
      await bounded(names, STATS_IN_FLIGHT, async (name) => void ((await stat(join(top, name))).isFile() && files++));
      return files;
    },
  };
  if (Operator) {
    const op = new Operator('fs', { root });
    // Its entries carry no size or time from the fs service (metadata: mode only).
    subjects['OpenDAL fs recursive list (op.list, one call), no stat'] = async () => {
      const entries = await op.list('walk/', { recursive: true });
      return entries.filter((e) => !e.path().endsWith('/')).length;
    };
    subjects['OpenDAL fs recursive lister (one entry per call), no stat'] = async () => {
      const lister = await op.lister('walk/', { recursive: true });
      let files = 0;
      for (let e = await lister.next(); e !== null; e = await lister.next()) if (!e.path().endsWith('/')) files++;
      return files;
    };
    subjects[`OpenDAL fs recursive list (op.list) + stat per entry (${STATS_IN_FLIGHT} in flight)`] = async () => {
      const paths = (await op.list('walk/', { recursive: true })).map((e) => e.path());
      let files = 0;
      await bounded(paths, STATS_IN_FLIGHT, async (path) => void ((await op.stat(path)).isFile() && files++));
      return files;
    };
  }

  const times = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, run] of Object.entries(subjects)) {
      const started = process.hrtime.bigint();
      const files = await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (files !== FILES) throw new Error(`${name}: saw ${files} files, expected ${FILES}`);
      if (round > 0) times[name].push(seconds);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const medians = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
  const driverSeconds = medians['driver walk (stat per entry)'];
  console.log(`\nWalk of ${FILES} files in ${DIRS} directories, median of ${ROUNDS} rounds (ratio: driver time / subject time)\n`);
  console.log('| subject | seconds | min–max | driver ÷ subject |');
  console.log('|---|---|---|---|');
  for (const [name, seconds] of Object.entries(medians)) {
    const range = `${Math.min(...times[name]).toFixed(3)}–${Math.max(...times[name]).toFixed(3)}`;
    console.log(`| ${name} | ${seconds.toFixed(3)} | ${range} | ${(driverSeconds / seconds).toFixed(2)}× |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
  if (openDalDir) rmSync(openDalDir, { recursive: true, force: true });
}
