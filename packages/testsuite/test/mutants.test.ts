/**
 * The suite proves drivers, not core: each mutant of the gallery's reference backend (one known
 * bug each, behind the real BaseDriver) must fail it, and the reference itself must pass it.
 */
import { BaseDriver, type StorageBackend, resolveCapabilities } from '@storagedriver/core';

import type { SuiteCase } from '../src/runner.js';
import { type CaseResult, runSuite } from '../src/suite.js';
import { type BackendOptions, MemoryObjectBackend, ObjectStore } from './mutants/backend.js';
import { type Mutant, mutants, reference } from './mutants/mutants.js';
import { SignedURLServer } from './mutants/server.js';

const PART_SIZE = 256 * 1024;
/** Where the suite's driver is rooted, and the driver above it that shares its store. */
const ROOT = 'suite/root';

/** Cases that take seconds and that no mutant needs to be caught: run on the reference only. */
const SLOW = ['stat describes files and directories', 'a large stream through one writer', 'concurrent writers to different paths', 'ten concurrent readers'];

async function run(make: (store: ObjectStore, options: BackendOptions) => StorageBackend, cases: 'all' | 'quick'): Promise<CaseResult[]> {
  const store = new ObjectStore();
  const server = await new SignedURLServer(store).start();
  store.server = server;
  return runSuite({
    create: () => new BaseDriver(make(store, { root: ROOT, partSize: PART_SIZE })),
    createAbove: () => ({ driver: new BaseDriver(make(store, { root: 'suite', partSize: PART_SIZE })), pathOfRoot: '/root' }),
    mode: 'short',
    partSize: PART_SIZE,
    appendChunkSize: 1024 * 1024,
    capabilities: { walkOrder: 'bytes' },
    // The reference's claims, pinned as a driver package pins its own: a mutant that loses one fails.
    claims: resolveCapabilities(new MemoryObjectBackend(new ObjectStore(), { root: ROOT, partSize: PART_SIZE })),
    ...(cases === 'quick' ? { filter: (c: SuiteCase) => !SLOW.some((slow) => c.name.startsWith(slow)) } : {}),
    teardown: () => server.close(),
  });
}

const failures = (results: CaseResult[]): string[] => results.filter((r) => r.status === 'failed').map((r) => r.name);

/** Killers found per mutant, for the table printed at the end. */
const table: string[] = [];

afterAll(() => {
  console.log(`kill table (mutant → cases that failed it)\n${table.join('\n')}`);
});

test('the reference backend passes every case', async () => {
  const results = await run(reference, 'all');
  const failed = results.filter((r) => r.status === 'failed').map((r) => `${r.name}: ${r.reason?.slice(0, 500)}`);
  expect(failed).toEqual([]);
  expect(results.filter((r) => r.status === 'passed').length).toBeGreaterThan(60);
  table.push(`reference: passes ${results.filter((r) => r.status === 'passed').length} of ${results.length} (${results.filter((r) => r.status === 'skipped').length} skipped)`);
}, 300_000);

describe.each(mutants.map((m) => [m.name, m] as [string, Mutant]))('mutant %s', (_name, mutant) => {
  test(mutant.survives === undefined ? 'the suite fails it, with the cases expected' : 'survives the suite, for the reason given', async () => {
    const results = await run(mutant.make, 'quick');
    const failed = failures(results);
    table.push(`${mutant.name} (${mutant.bug}): ${failed.length === 0 ? `survives — ${mutant.survives ?? 'NOT KILLED'}` : failed.join(' | ')}`);
    if (mutant.survives !== undefined) {
      expect(failed).toEqual([]);
      return;
    }
    expect(failed.length).toBeGreaterThan(0);
    for (const killer of mutant.killedBy) expect(failed.filter((name) => name.includes(killer))).toHaveLength(1);
  }, 300_000);
});

test('the move(p, p) mutant is real: its backend destroys the object, which only core’s guard prevents', async () => {
  const mutant = mutants.find((m) => m.name === 'move-onto-itself-copy-delete')!;
  const backend = mutant.make(new ObjectStore(), { root: ROOT, partSize: PART_SIZE });
  const driver = new BaseDriver(backend);
  await driver.putContent('/a/p', 'content');
  await driver.move('/a/p', '/a/p');
  expect((await driver.getContent('/a/p')).toString()).toBe('content');
  await backend.move('/a/p', '/a/p');
  await expect(driver.getContent('/a/p')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
});
