/** The Ceph cluster globalSetup started: drivers on its pools, and the `rados` CLI beside them. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { DriverConstruction } from '@storagedriver/testsuite';

import { RadosDriver, type RadosOptions } from '../../src/index.js';

const run = promisify(execFile);

export function connection() {
  const conf = process.env.RADOS_TEST_CONF;
  if (conf === undefined) throw new Error('RADOS_TEST_CONF is not set: run through jest (globalSetup starts Ceph)');
  return {
    dir: process.env.RADOS_TEST_DIR!,
    conf,
    user: process.env.RADOS_TEST_USER!,
    keyring: process.env.RADOS_TEST_KEYRING!,
    pool: process.env.RADOS_TEST_POOL!,
    countPool: process.env.RADOS_TEST_COUNT_POOL!,
  };
}

const opened: RadosDriver[] = [];

/** A driver as the limited user; closed by `closeDrivers()`. */
export function newDriver(extra: Partial<RadosOptions> = {}): RadosDriver {
  const { conf, user, pool } = connection();
  const driver = new RadosDriver({ poolName: pool, userName: user, configFile: conf, ...extra });
  opened.push(driver);
  return driver;
}

/** Closes every driver newDriver made (each holds a librados cluster handle and its threads). */
export async function closeDrivers(): Promise<void> {
  await Promise.all(opened.splice(0).map((driver) => driver.close()));
}

/** Runs the `rados` CLI as the limited user on `pool`; resolves with stdout as a Buffer. */
export async function radosCli(args: string[], options: { pool?: string; input?: Buffer } = {}): Promise<Buffer> {
  const { conf, user, pool } = connection();
  const child = run('rados', ['-c', conf, '--id', user, '-p', options.pool ?? pool, ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 } as ExecFileOptions);
  if (options.input !== undefined) {
    child.child.stdin!.end(options.input);
  }
  const { stdout } = await child;
  return stdout as unknown as Buffer;
}

/** The object names in a pool (the CLI's `ls`). */
export async function poolObjects(pool: string): Promise<string[]> {
  return (await radosCli(['ls'], { pool })).toString('utf8').split('\n').filter((line) => line !== '').sort();
}

/** The value of one omap key as the CLI reads it (`rados getomapval` into a file), or undefined. */
export async function omapValueByCli(oid: string, key: string, pool?: string): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'rados-cli-'));
  try {
    await radosCli(['getomapval', oid, key, join(dir, 'value')], { pool });
    return readFileSync(join(dir, 'value'), 'utf8');
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(): DriverConstruction {
  const { conf, user, pool } = connection();
  return { make: (options) => new RadosDriver(options as unknown as RadosOptions), options: { poolName: pool, userName: user, configFile: conf, rootDirectory: 'suite/root', chunkSize: 4 * 1024 * 1024 } };
}
