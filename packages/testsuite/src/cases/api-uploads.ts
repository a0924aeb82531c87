/**
 * Pending uploads (issue 15): what `uploads` lists (closed, uncommitted writers, from any instance,
 * with their size and start time, at the path and below it only) and what `abortUpload` removes (that
 * upload and nothing else; its writer can no longer commit it), and `purgeUploads` by age.
 */
import assert from 'node:assert/strict';

import { type PendingUpload, PathNotFoundError, PreconditionFailedError, StorageDriverError, type StorageDriver, UnsupportedMethodError, purgeUploads } from '@storagedriver/core';

import { patternBytes } from '../data.js';
import { NotApplicable, type SuiteCase } from '../runner.js';
import { assertAbsent, requireClaim } from './api-support.js';
import { assertSameBytes, describeError, rejectsWith, sleep } from './expect.js';

/** Commits raced by an abort of their upload, the abort started a little later each round. */
const RACE_ROUNDS = 8;

/** Service clocks and the suite's share this machine, but some services keep whole seconds. */
const CLOCK_SLACK_MS = 5_000;

async function collect(driver: StorageDriver, path: string): Promise<PendingUpload[]> {
  const found: PendingUpload[] = [];
  for await (const upload of driver.uploads(path)) found.push(upload);
  return found;
}

/** The uploads listed at `path`, as `path → size`, sorted. */
async function listed(driver: StorageDriver, path: string): Promise<Array<[string, number]>> {
  return (await collect(driver, path)).map((u): [string, number] => [u.path, u.size]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Writes `data` through a new writer and closes it without committing: a pending upload. */
async function pendingUpload(driver: StorageDriver, path: string, data: Buffer): Promise<void> {
  const writer = await driver.writer(path);
  await writer.write(data);
  await writer.close();
}

async function onlyUpload(driver: StorageDriver, path: string): Promise<PendingUpload> {
  const found = await collect(driver, path);
  assert.equal(found.length, 1, `one pending upload at ${path}, found ${JSON.stringify(found)}`);
  return found[0]!;
}

export const apiUploadCases: SuiteCase[] = [
  {
    group: 'uploads',
    name: 'putContent leaves no pending upload: not once it resolved (new, replacing, over a part), nor when its condition refused it',
    timeoutMs: (o) => 60_000 + o.partSize / 5_000,
    async run({ driver, dir, options }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const file = `${dir}/put/file`;
      const large = `${dir}/put/large`;
      await driver.putContent(file, patternBytes(1000, 160));
      await driver.putContent(file, patternBytes(2000, 161));
      await driver.putContent(large, patternBytes(options.partSize + 1000, 162));
      assert.deepEqual(await listed(driver, dir), [], 'uploads after putContents that resolved');
      const refused: Array<[string, () => Promise<void>]> = [];
      if (driver.capabilities.writeIfNoneMatch) {
        refused.push(['ifNoneMatch "*" over a file', () => driver.putContent(file, patternBytes(3000, 163), { ifNoneMatch: '*' })]);
        refused.push(['ifNoneMatch "*" over a file, larger than a part', () => driver.putContent(large, patternBytes(options.partSize + 2000, 164), { ifNoneMatch: '*' })]);
      }
      if (driver.capabilities.writeIfMatch) {
        refused.push(['ifMatch with a stale etag', () => driver.putContent(file, patternBytes(3000, 165), { ifMatch: '"not-the-etag"' })]);
        refused.push(['ifMatch on a missing path', () => driver.putContent(`${dir}/put/missing`, patternBytes(3000, 166), { ifMatch: '"not-the-etag"' })]);
      }
      for (const [what, put] of refused) await rejectsWith(put(), PreconditionFailedError, what);
      assert.deepEqual(await listed(driver, dir), [], `uploads after refused putContents (${refused.map(([what]) => what).join('; ') || 'none: no condition claimed'})`);
      assertSameBytes(await driver.getContent(file), patternBytes(2000, 161), 'the file after the refused writes');
    },
  },
  {
    group: 'uploads',
    name: 'abortUpload racing the commit of the upload it aborts: the commit lands whole and stays readable, or fails and leaves nothing at the path',
    timeoutMs: () => 120_000,
    async run({ driver, dir }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const outcomes = { committed: 0, refused: 0 };
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const path = `${dir}/race/${round}`;
        const data = patternBytes(3000 + round, 170 + round);
        await pendingUpload(driver, path, data);
        const { id } = await onlyUpload(driver, path);
        const resumed = await driver.writer(path, { append: true });
        // The abort starts 0–3 ms after the commit: early rounds abort first, later ones meet the commit mid-way.
        const [committed, aborted] = await Promise.allSettled([resumed.commit(), sleep(round % 4).then(() => driver.abortUpload(path, id))]);
        if (aborted.status === 'rejected' && !(aborted.reason instanceof StorageDriverError)) throw aborted.reason;
        if (committed.status === 'fulfilled') {
          outcomes.committed++;
          assertSameBytes(await driver.getContent(path), data, `round ${round}: the content of a commit that resolved beside an abort`);
        } else {
          outcomes.refused++;
          await resumed.cancel().catch(() => undefined);
          await assertAbsent(driver, path, `round ${round}: a commit that failed beside an abort (${describeError(committed.reason)})`);
        }
      }
      assert.deepEqual(await listed(driver, `${dir}/race`), [], `no upload pending after the races (${outcomes.committed} commits landed, ${outcomes.refused} refused)`);
    },
  },
  {
    group: 'uploads',
    name: 'a closed, uncommitted writer is a pending upload listed at its path, its ancestors and the root, from any instance, with its size and start time; not at a sibling sharing its prefix, nor once committed or cancelled',
    timeoutMs: (o) => 60_000 + o.partSize / 10_000,
    async run({ driver, dir, newDriver, options }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const file = `${dir}/a/file`;
      const longer = `${dir}/a/file2`;
      const below = `${dir}/a/b/c`;
      const big = options.partSize + 1001;
      const before = Date.now();
      await pendingUpload(driver, file, patternBytes(3000, 150));
      await pendingUpload(driver, longer, patternBytes(big, 151));
      await pendingUpload(driver, below, patternBytes(1, 152));
      const after = Date.now();

      const all = await collect(driver, dir);
      assert.deepEqual(await listed(driver, dir), [[below, 1], [file, 3000], [longer, big]], 'uploads(dir): each pending upload with the bytes it holds');
      assert.equal(new Set(all.map((u) => `${u.path}\n${u.id}`)).size, 3, 'ids tell uploads apart');
      for (const upload of all) {
        assert.equal(typeof upload.id, 'string', 'id is a string');
        assert.ok(upload.id !== '', 'id is not empty');
        assert.ok(upload.startedAt instanceof Date && !Number.isNaN(upload.startedAt.getTime()), `startedAt of ${upload.path} is a valid Date`);
        const started = upload.startedAt.getTime();
        assert.ok(started >= before - CLOCK_SLACK_MS && started <= after + CLOCK_SLACK_MS, `startedAt of ${upload.path} (${upload.startedAt.toISOString()}) is when the upload started (between ${new Date(before).toISOString()} and ${new Date(after).toISOString()})`);
      }
      assert.deepEqual(await listed(driver, file), [[file, 3000]], 'uploads(file): that upload only, not the one at file2');
      assert.deepEqual(await listed(driver, `${dir}/a/fi`), [], 'uploads of a path that is only a prefix of the upload paths');
      assert.deepEqual(await listed(driver, `${dir}/a/b`), [[below, 1]], 'uploads(a/b)');
      assert.deepEqual(await listed(driver, `${dir}/elsewhere`), [], 'uploads of a path with none');
      const atRoot = (await listed(driver, '/')).filter(([p]) => p.startsWith(`${dir}/`));
      assert.deepEqual(atRoot, [[below, 1], [file, 3000], [longer, big]], 'uploads(/) lists them too');
      assert.deepEqual(await listed(await newDriver(), dir), [[below, 1], [file, 3000], [longer, big]], 'another driver instance lists the same uploads');
      assert.deepEqual(await driver.list(dir).catch((e: unknown) => (e instanceof PathNotFoundError ? [] : Promise.reject(e))), [], 'pending uploads are not listed as content');

      const resumed = await driver.writer(file, { append: true });
      assert.equal(resumed.size, 3000, 'the listed size is what a continuing writer starts from');
      await resumed.write(patternBytes(10, 153));
      await resumed.commit();
      assert.deepEqual(await listed(driver, file), [], 'a committed upload is no longer pending');
      const cancelled = await driver.writer(longer, { append: true });
      await cancelled.cancel();
      assert.deepEqual(await listed(driver, dir), [[below, 1]], 'a cancelled upload is no longer pending; the others stay');
      await (await driver.writer(below, { append: true })).cancel();
      assert.deepEqual(await listed(driver, dir), [], 'nothing pending after the last cancel');
    },
  },
  {
    group: 'uploads',
    name: 'abortUpload removes that upload only: committed content at the path, other uploads and other paths stay; it cannot be resumed; aborting it again, an unknown id or a hostile id succeeds and harms nothing',
    async run({ driver, dir }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const committed = `${dir}/obj`;
      const other = `${dir}/other`;
      const committedData = patternBytes(4000, 154);
      await driver.putContent(committed, committedData);
      await driver.putContent(`${dir}/keep/x`, 'x');
      await pendingUpload(driver, committed, patternBytes(2000, 155));
      await pendingUpload(driver, other, patternBytes(3000, 156));

      const target = await onlyUpload(driver, committed);
      assert.equal(target.size, 2000, 'the pending upload over committed content');
      await driver.abortUpload(target.path, target.id);
      assert.deepEqual(await listed(driver, dir), [[other, 3000]], 'after abortUpload only the other upload is pending');
      assertSameBytes(await driver.getContent(committed), committedData, 'the committed content at the aborted upload’s path');
      assert.equal((await driver.getContent(`${dir}/keep/x`)).toString(), 'x', 'other content');

      await driver.abortUpload(target.path, target.id);
      for (const id of ['no-such-upload', '..', '../other', '/', `${target.id}/..`, '*']) {
        await driver.abortUpload(other, id).catch((error: unknown) => {
          // Refusing a malformed id is fine; doing anything else with it is not.
          if (!(error instanceof StorageDriverError && error.code === 'INVALID_PARAMETER')) throw error;
        });
      }
      assert.deepEqual(await listed(driver, dir), [[other, 3000]], 'unknown and hostile ids abort nothing');
      assertSameBytes(await driver.getContent(committed), committedData, 'the committed content after unknown ids');

      const pending = await onlyUpload(driver, other);
      await driver.abortUpload(pending.path, pending.id);
      await rejectsWith(driver.writer(other, { append: true }), PathNotFoundError, 'an append writer after the abort (nothing left to continue)');
      await assertAbsent(driver, other, 'the aborted upload’s path');
      assert.deepEqual(await listed(driver, dir), [], 'nothing pending');
    },
  },
  {
    group: 'uploads',
    name: 'a writer whose upload was aborted cannot commit it: writing on or committing fails with a typed error, nothing appears at the path, and cancelling it leaves nothing pending',
    async run({ driver, path }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const p = path();
      await pendingUpload(driver, p, patternBytes(3000, 157));
      const writer = await driver.writer(p, { append: true });
      assert.equal(writer.size, 3000, 'the resumed writer');
      const upload = await onlyUpload(driver, p);
      await driver.abortUpload(upload.path, upload.id);
      let failure: unknown;
      try {
        await writer.write(patternBytes(2000, 158));
        await writer.commit();
      } catch (error) {
        failure = error;
      }
      assert.ok(failure !== undefined, 'a writer committed an upload that had been aborted');
      assert.ok(failure instanceof StorageDriverError, `the failure is a StorageDriverError, got ${describeError(failure)}`);
      await assertAbsent(driver, p, 'after the failed commit of an aborted upload');
      await writer.cancel();
      assert.deepEqual(await listed(driver, p), [], 'nothing pending after cancelling the failed writer');
    },
  },
  {
    group: 'uploads',
    name: 'purgeUploads aborts the uploads started before the cutoff only (dryRun lists them and aborts nothing)',
    async run({ driver, dir }) {
      requireClaim(driver.capabilities.uploads, 'uploads');
      const old = `${dir}/old`;
      const young = `${dir}/young`;
      await pendingUpload(driver, old, patternBytes(100, 159));
      // Whole seconds either side of the cutoff: some services keep the start time to the second.
      await sleep(2100);
      const cutoff = new Date();
      await sleep(1100);
      await pendingUpload(driver, young, patternBytes(200, 160));

      const dry = await purgeUploads(driver, { path: dir, olderThan: cutoff, dryRun: true });
      assert.deepEqual(dry.map((u) => u.path), [old], 'dryRun names the old upload only');
      assert.deepEqual(await listed(driver, dir), [[old, 100], [young, 200]], 'dryRun aborts nothing');
      const purged = await purgeUploads(driver, { path: dir, olderThan: cutoff });
      assert.deepEqual(purged.map((u) => u.path), [old], 'the purge names what it aborted');
      assert.deepEqual(await listed(driver, dir), [[young, 200]], 'the young upload stays');
      await rejectsWith(driver.writer(old, { append: true }), PathNotFoundError, 'the purged upload cannot be resumed');
      const resumed = await driver.writer(young, { append: true });
      assert.equal(resumed.size, 200, 'the young upload resumes whole');
      await resumed.cancel();
    },
  },
];

export const apiUploadRefusalCases: SuiteCase[] = [
  {
    group: 'uploads',
    name: 'without the uploads claim, uploads and abortUpload are refused with UnsupportedMethodError',
    async run({ driver, path }) {
      if (driver.capabilities.uploads) throw new NotApplicable('the driver claims uploads');
      const p = path();
      await rejectsWith(collect(driver, p), UnsupportedMethodError, 'uploads');
      await rejectsWith(driver.abortUpload(p, 'x'), UnsupportedMethodError, 'abortUpload');
    },
  },
];
