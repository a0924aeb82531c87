/**
 * Conditional writes (issue 13): `ifNoneMatch: '*'` and `ifMatch: etag` on putContent, put and
 * commit, checked atomically by the service — concurrent create-only writers leave exactly one
 * winner, a compare-and-swap on one etag exactly one.
 */
import assert from 'node:assert/strict';

import { PreconditionFailedError, type StorageDriver, type WriteConditions } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import type { ResolvedOptions, SuiteCase } from '../runner.js';
import { assertAbsent, requireClaim } from './api-support.js';
import { assertNamesDriver, assertSameBytes, describeError, rejectsWith, settle } from './expect.js';

const RACERS = 8;

async function preconditionFailed(driver: StorageDriver, promise: Promise<unknown>, path: string, what: string): Promise<void> {
  const error = await rejectsWith(promise, PreconditionFailedError, what);
  assert.equal(error.code, 'PRECONDITION_FAILED', `${what}: code`);
  assert.equal(error.path, path, `${what}: path`);
  assertNamesDriver(error, driver);
}

/** Writes `data` through a writer and commits it with `conditions`; a failed commit cancels the upload. */
async function commitWith(driver: StorageDriver, path: string, data: Buffer, conditions: WriteConditions): Promise<void> {
  const writer = await driver.writer(path);
  await writer.write(data);
  try {
    await writer.commit(conditions);
  } catch (error) {
    await writer.cancel();
    throw error;
  }
}

/**
 * Runs the racers at once: exactly one must succeed, every other fail with PreconditionFailedError,
 * and the stored content be the winner's.
 */
async function assertOneWinner(driver: StorageDriver, path: string, contents: Buffer[], race: (data: Buffer) => Promise<void>, what: string): Promise<void> {
  const outcomes = await Promise.all(contents.map((data) => settle(race(data))));
  const winners = outcomes.flatMap((outcome, i) => (outcome.ok ? [i] : []));
  for (const outcome of outcomes) {
    if (!outcome.ok && !(outcome.error instanceof PreconditionFailedError)) assert.fail(`${what}: a loser failed with ${describeError(outcome.error)}, not PreconditionFailedError`);
  }
  assert.equal(winners.length, 1, `${what}: ${winners.length} of ${contents.length} writers succeeded (writers ${winners.join(', ')})`);
  assertSameBytes(await driver.getContent(path), contents[winners[0]!]!, `${what}: the stored content is the winner's`);
}

function racerSize(options: ResolvedOptions, i: number): number {
  // In full mode each writer holds more than a part, so the race is on a multipart commit.
  return (options.mode === 'full' ? options.partSize : 0) + 1001 + i;
}

export const apiConditionalCases: SuiteCase[] = [
  {
    group: 'conditional',
    name: 'ifNoneMatch "*" creates only where nothing is: putContent, put and commit succeed on a missing path, and over an object fail with PreconditionFailedError leaving it unchanged',
    async run({ driver, path }) {
      requireClaim(driver.capabilities.writeIfNoneMatch, 'writeIfNoneMatch');
      const create = { ifNoneMatch: '*' } as const;
      const first = patternBytes(1500, 70);
      const second = patternBytes(1400, 71);

      const p = path();
      await driver.putContent(p, first, create);
      assertSameBytes(await driver.getContent(p), first, 'putContent created the object');
      await preconditionFailed(driver, driver.putContent(p, second, create), p, 'putContent over an object');
      await preconditionFailed(driver, driver.put(p, second, create), p, 'put over an object');
      await preconditionFailed(driver, commitWith(driver, p, second, create), p, 'commit over an object');
      assertSameBytes(await driver.getContent(p), first, 'the object after the refused writes');

      const q = path();
      await commitWith(driver, q, first, create);
      assertSameBytes(await driver.getContent(q), first, 'commit created the object');
      const r = path();
      await driver.put(r, first, create);
      assertSameBytes(await driver.getContent(r), first, 'put created the object');
    },
  },
  {
    group: 'conditional',
    name: `${RACERS} concurrent create-only putContents of one path, three rounds: exactly one succeeds, the others fail with PreconditionFailedError, the winner's content is stored`,
    async run({ driver, path }) {
      requireClaim(driver.capabilities.writeIfNoneMatch, 'writeIfNoneMatch');
      for (let round = 0; round < 3; round++) {
        const p = path();
        const contents = Array.from({ length: RACERS }, (_, i) => patternBytes(2000 + i, 80 + 10 * round + i));
        await assertOneWinner(driver, p, contents, (data) => driver.putContent(p, data, { ifNoneMatch: '*' }), `round ${round + 1}`);
      }
    },
  },
  {
    group: 'conditional',
    name: `${RACERS} writers committing create-only to one path at once: exactly one succeeds, the others fail with PreconditionFailedError, the winner's content is stored`,
    timeoutMs: (o) => 60_000 + (RACERS * o.partSize) / 20_000,
    async run({ driver, path, options }) {
      requireClaim(driver.capabilities.writeIfNoneMatch, 'writeIfNoneMatch');
      const p = path();
      const contents = Array.from({ length: RACERS }, (_, i) => patternBytes(racerSize(options, i), 90 + i));
      // Every writer holds its content before any commits, so the commits race, not the uploads.
      const writers = await Promise.all(
        contents.map(async (data) => {
          const writer = await driver.writer(p);
          await writer.write(data);
          return writer;
        }),
      );
      await assertOneWinner(
        driver,
        p,
        contents,
        async (data) => {
          const writer = writers[contents.indexOf(data)]!;
          try {
            await writer.commit({ ifNoneMatch: '*' });
          } catch (error) {
            await writer.cancel();
            throw error;
          }
        },
        'create-only commits',
      );
    },
  },
  {
    group: 'conditional',
    name: 'ifMatch replaces only the object with that etag: the current etag succeeds on putContent and commit; a stale etag or a missing object fails with PreconditionFailedError, content unchanged',
    async run({ driver, path }) {
      requireClaim(driver.capabilities.writeIfMatch, 'writeIfMatch');
      const p = path();
      const versions = Array.from({ length: 4 }, (_, i) => patternBytes(1200 + i, 100 + i));
      await driver.putContent(p, versions[0]!);
      const etag0 = (await driver.stat(p)).etag;
      assert.ok(etag0 !== undefined, 'stat gives the etag ifMatch takes');
      await driver.putContent(p, versions[1]!, { ifMatch: etag0 });
      assertSameBytes(await driver.getContent(p), versions[1]!, 'putContent with the current etag');
      const etag1 = (await driver.stat(p)).etag!;
      assert.notEqual(etag1, etag0, 'a new etag');

      await preconditionFailed(driver, driver.putContent(p, versions[2]!, { ifMatch: etag0 }), p, 'putContent with a stale etag');
      await preconditionFailed(driver, driver.put(p, versions[2]!, { ifMatch: etag0 }), p, 'put with a stale etag');
      await preconditionFailed(driver, commitWith(driver, p, versions[2]!, { ifMatch: etag0 }), p, 'commit with a stale etag');
      assertSameBytes(await driver.getContent(p), versions[1]!, 'the object after the stale writes');

      await commitWith(driver, p, versions[3]!, { ifMatch: etag1 });
      assertSameBytes(await driver.getContent(p), versions[3]!, 'commit with the current etag');

      const missing = path();
      await preconditionFailed(driver, driver.putContent(missing, versions[0]!, { ifMatch: etag1 }), missing, 'putContent with ifMatch of a missing object');
      await preconditionFailed(driver, commitWith(driver, missing, versions[0]!, { ifMatch: etag1 }), missing, 'commit with ifMatch of a missing object');
      await assertAbsent(driver, missing, 'after ifMatch writes to a missing object');
    },
  },
  {
    group: 'conditional',
    name: `${RACERS} concurrent putContents with the same current etag (a compare-and-swap): exactly one succeeds, the others fail with PreconditionFailedError`,
    async run({ driver, path }) {
      requireClaim(driver.capabilities.writeIfMatch, 'writeIfMatch');
      const p = path();
      await driver.putContent(p, patternBytes(500, 110));
      const etag = (await driver.stat(p)).etag;
      assert.ok(etag !== undefined, 'stat gives the etag ifMatch takes');
      const contents = Array.from({ length: RACERS }, (_, i) => patternBytes(600 + i, 111 + i));
      await assertOneWinner(driver, p, contents, (data) => driver.putContent(p, data, { ifMatch: etag }), 'compare-and-swap');
    },
  },
];
