/**
 * A writing process killed at random moments (SIGKILL, seeded delays) never leaves a torn or partial
 * visible file, and once its upload is cancelled — or the file overwritten — no chunk object is left
 * that the visible file does not own, counted in a pool only this test uses (`rados ls`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { DriverError, PathNotFoundError } from '@storagedriver/core';

import { closeDrivers, connection, newDriver, omapValueByCli, poolObjects, radosCli } from './support/server.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { versionBytes } = require('./support/versions.cjs') as { versionBytes: (version: number) => Buffer };

const KILLS = Number(process.env.RADOS_KILLS ?? 50);
/** Bounded by count; the whole campaign must end within this (about 2 s a kill on a loaded machine). */
const CAMPAIGN_TIMEOUT_MS = 300_000;
const CHUNK = 64 * 1024;
/** A short op timeout: a killed putContent's record is stale two op timeouts after its deadline. */
const OPTIONS = { rootDirectory: 'kill', chunkSize: CHUNK, opTimeoutMs: 2000 };
const STALE_AFTER_DEADLINE_MS = 2 * OPTIONS.opTimeoutMs;
const { conf, user, countPool } = connection();
const driver = newDriver({ poolName: countPool, ...OPTIONS });

afterAll(closeDrivers);

/** mulberry32: the same seed gives the same kill moments. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts the writing child, kills it `delayMs` after it is ready; resolves once it is gone. */
function killWriterAfter(path: string, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [join(__dirname, 'support', 'writer-child.mjs'), 'versions', path], {
    env: { ...process.env, RADOS_TEST_POOL: countPool, RADOS_TEST_USER: user, RADOS_TEST_CONF: conf, RADOS_CHILD_OPTIONS: JSON.stringify(OPTIONS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the writer exited by itself (code ${code}) before the kill`))));
  });
}

/** The visible content: absent, or exactly one whole version. */
async function assertWholeOrAbsent(path: string, when: string): Promise<number | undefined> {
  const content = await driver.getContent(path).catch((error: unknown) => {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  });
  if (content === undefined) return undefined;
  const version = Number(content.readBigUInt64LE(0));
  expect({ when, version, whole: content.equals(versionBytes(version)) }).toEqual({ when, version, whole: true });
  return version;
}

interface RecordValue {
  id: string;
  reserved: number;
  putDeadline?: number;
}

async function uploadRecords(): Promise<RecordValue[]> {
  const keys = (await radosCli(['listomapkeys', 'storagedriver:uploads'], { pool: countPool }).catch(() => Buffer.alloc(0))).toString().split('\n').filter(Boolean);
  const records: RecordValue[] = [];
  for (const key of keys) {
    const value = await omapValueByCli('storagedriver:uploads', key, countPool);
    if (value !== undefined) records.push(JSON.parse(value) as RecordValue);
  }
  return records;
}

/**
 * Every chunk object in the pool belongs to the visible file (which has all its chunks), or to a
 * killed putContent whose record is still young (the next append writer cleans it once stale);
 * no other upload record is left.
 */
async function assertNoOrphans(when: string, allowPutRecords = true): Promise<RecordValue[]> {
  const raw = await omapValueByCli('dir:/kill', 'file', countPool);
  const expected: string[] = [];
  if (raw !== undefined) {
    const { id, size, chunk, data } = JSON.parse(raw) as { id: string; size: number; chunk: number; data?: string };
    // An inline file (data in its entry) has no chunk.
    if (data === undefined) for (let i = 0; i < Math.ceil(size / chunk); i++) expected.push(`chunk:${id}:${i}`);
  }
  const records = await uploadRecords();
  const puts = records.filter((record) => allowPutRecords && record.putDeadline !== undefined);
  expect({ when, others: records.filter((record) => !puts.includes(record)) }).toEqual({ when, others: [] });
  const chunks = (await poolObjects(countPool)).filter((name) => name.startsWith('chunk:'));
  const owned = chunks.filter((name) => expected.includes(name));
  const ofPuts = chunks.filter((name) => puts.some((put) => name.startsWith(`chunk:${put.id}:`)));
  expect({ when, chunksOfTheFile: owned.length, orphans: chunks.filter((name) => !owned.includes(name) && !ofPuts.includes(name)) }).toEqual({ when, chunksOfTheFile: expected.length, orphans: [] });
  return puts;
}

/** Resumes what a killed writer left and cancels it; says what it found. */
async function resumeAndCancel(path: string): Promise<'resumed' | 'committed' | 'nothing'> {
  try {
    await (await driver.writer(path, { append: true })).cancel();
    return 'resumed';
  } catch (error) {
    // No upload left: a committed file (append to it is refused) or nothing at all.
    if (error instanceof DriverError && /cannot append/.test(error.message)) return 'committed';
    if (error instanceof PathNotFoundError) return 'nothing';
    throw error;
  }
}

test(`a writer killed at ${KILLS} random moments never leaves a torn visible file, nor an orphaned chunk after cancel or overwrite`, async () => {
  const next = random(1);
  const path = '/file';
  const outcomes = { resumed: 0, committed: 0, nothing: 0, overwritten: 0 };
  const started = performance.now();
  let kills = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    kills++;
    await killWriterAfter(path, 20 + Math.floor(next() * 600));
    const when = `after kill ${kill + 1}`;
    await assertWholeOrAbsent(path, when);
    // A new process's view: resume what the killed one left, and cancel it.
    outcomes[await resumeAndCancel(path)]++;
    await assertWholeOrAbsent(path, `${when}, after the cancel`);
    await assertNoOrphans(`${when}, after the cancel`);
    if (kill % 2 === 1) {
      const version = 100_000 + kill;
      if (kill % 4 === 1) await driver.putContent(path, versionBytes(version));
      else {
        const writer = await driver.writer(path);
        await writer.write(versionBytes(version));
        await writer.commit();
      }
      outcomes.overwritten++;
      expect(await assertWholeOrAbsent(path, `${when}, after the overwrite`)).toBe(version);
      await assertNoOrphans(`${when}, after the overwrite`);
    }
  }
  // Killed putContents' records become stale, and the next append writer removes their chunks.
  const young = await assertNoOrphans('after the campaign');
  console.log(`rados kill campaign: ${kills} of ${KILLS} kills in ${Math.round((performance.now() - started) / 1000)} s, ${JSON.stringify({ ...outcomes, killedPutsLeft: young.length })}`);
  if (young.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(...young.map((put) => put.putDeadline!)) + STALE_AFTER_DEADLINE_MS + 100 - Date.now()));
  await resumeAndCancel(path);
  await assertNoOrphans('after the campaign, once stale', false);
  await driver.delete(path);
  await assertNoOrphans('after the delete', false);
}, CAMPAIGN_TIMEOUT_MS);
