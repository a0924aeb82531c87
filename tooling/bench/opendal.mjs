// Apache OpenDAL's npm binding for the benchmarks' baselines: installed into a temporary directory
// when a benchmark starts, never into the repository's lock file (a peer we compare with, not a
// dependency). 0.49.2 is the newest whose native module loads on this machine's glibc (2.36).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENDAL_VERSION = '0.49.2';

/** Installs opendal into a new temporary directory; `remove()` deletes it. Pass `dir` to child processes. */
export function installOpendal() {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-opendal-'));
  try {
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', dir, `opendal@${OPENDAL_VERSION}`], { stdio: 'ignore' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not install opendal@${OPENDAL_VERSION} for the benchmark baseline`, { cause: error });
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `opendal` module installed in `dir` by installOpendal. */
export function loadOpendal(dir) {
  return createRequire(join(dir, 'package.json'))('opendal');
}
