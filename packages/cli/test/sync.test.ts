/** sync between two different backends: 1 000 objects including one of 100 MiB, killed half-way, resumed. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readAll, type StorageDriver } from '@storagedriver/core';
import { FilesystemDriver } from '@storagedriver/filesystem';
import { S3Driver, parseS3Parameters } from '@storagedriver/s3';
import { patternBytes } from '@storagedriver/testsuite';
import { parse } from 'yaml';

import { s3Config } from './support/backends.js';
import { json, run, start, tempDir } from './support/run.js';

const MiB = 1024 * 1024;
const SMALL = 999;

async function inventory(driver: StorageDriver): Promise<Map<string, string>> {
  const files: string[] = [];
  await driver.walk('/', (info) => void (info.isDir || files.push(info.path)));
  const hashes = new Map<string, string>();
  for (const path of files) hashes.set(path, createHash('sha256').update(await readAll(await driver.reader(path))).digest('hex'));
  return hashes;
}

async function countFiles(driver: StorageDriver): Promise<number> {
  let count = 0;
  await driver.walk('/', (info) => void (info.isDir || count++)).catch(() => undefined);
  return count;
}

test('sync of 1 000 objects (one of 100 MiB) from filesystem to S3 survives SIGKILL half-way and resumes to identical trees', async () => {
  const dir = tempDir('sync');
  const root = join(dir, 'source');
  for (let i = 0; i < SMALL; i++) {
    const folder = join(root, `d${i % 10}`, `e${i % 7}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `f${i}`), patternBytes(1 + ((i * 7919) % 20_000), i));
  }
  mkdirSync(join(root, 'd5'), { recursive: true });
  writeFileSync(join(root, 'd5', 'big.bin'), patternBytes(100 * MiB, 1000));
  const config = await s3Config(dir, '/mirror');
  const storage = (parse(readFileSync(config, 'utf8')) as { storage: { s3: Record<string, unknown> } }).storage.s3;
  const destination = new S3Driver(parseS3Parameters(storage));
  const source = new FilesystemDriver({ rootDirectory: root });
  const args = ['sync', '--from-driver', 'filesystem', '--from-param', `rootdirectory=${root}`, '--to-config', config, '--json'];

  // First run: killed once about half of the objects have arrived.
  const first = start(args);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const copied = await countFiles(destination);
    if (copied >= 500 || first.child.exitCode !== null) break;
  }
  first.child.kill('SIGKILL');
  const killed = await first.done;
  expect(killed.code).toBeNull(); // it really was killed, not finished
  const before = await countFiles(destination);
  expect(before).toBeGreaterThan(0);
  expect(before).toBeLessThan(SMALL + 1);

  // Second run: skips what arrived whole, copies the rest.
  const resumed = await run(args);
  expect(resumed.code).toBe(0);
  const summary = json(resumed);
  expect(summary).toMatchObject({ files: SMALL + 1, failed: [] });
  expect(summary.skipped).toBeGreaterThanOrEqual(before);
  expect(summary.copied + summary.skipped).toBe(SMALL + 1);

  const [want, have] = await Promise.all([inventory(source), inventory(destination)]);
  expect(have.size).toBe(SMALL + 1);
  expect([...have.entries()].sort()).toEqual([...want.entries()].sort());

  // Third run: nothing left to do.
  const again = json(await run(args));
  expect(again).toMatchObject({ files: SMALL + 1, copied: 0, skipped: SMALL + 1, failed: [] });
});
