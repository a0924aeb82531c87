/**
 * Aborting (contract: Operations). Every abort uses a reason object of the case's own, and the
 * rejection must be that very object, within 50 ms of the abort, whatever the operation was doing.
 * An aborted operation must also have no effect after its rejection: a caller that was told
 * "aborted" and writes again must not be overwritten by the aborted write landing late.
 */
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';

import { PathNotFoundError, type StorageDriver } from '@storagedriver/core';

import { patternBytes, patternStream, verifyPatternStream } from '../data.js';
import type { SuiteCase } from '../runner.js';
import {
  type AbortMark,
  abortDuring,
  assertAbortOutcome,
  assertPrompt,
  assertSameBytes,
  contentOrAbsent,
  describeError,
  exists,
  markAbort,
  rejectsWith,
  settle,
  type Settled,
  sleep,
} from './expect.js';

const MiB = 1024 * 1024;
/** Large enough that a backend is still transferring it when the abort comes. */
const LARGE = 16 * MiB;
/** How long an aborted operation gets to show a late effect. */
const SETTLE_MS = 300;

async function rejectsWithReason(promise: Promise<unknown>, reason: unknown, what: string): Promise<void> {
  const outcome = await settle(promise);
  assert.ok(!outcome.ok, `${what}: succeeded despite an aborted signal`);
  assert.equal(outcome.error, reason, `${what}: rejected with ${describeError(outcome.error)}, not with the caller's own reason`);
}

async function writeLarge(driver: StorageDriver, path: string, seed: number): Promise<void> {
  const writer = await driver.writer(path);
  await pipeline(patternStream(LARGE, seed), writer.writable());
  await writer.commit();
}

export const abortCases: SuiteCase[] = [
  {
    group: 'abort',
    name: 'every operation given an aborted signal rejects with the signal’s own reason and changes nothing',
    async run({ driver, path }) {
      const reason = new Error('caller abort');
      const signal = AbortSignal.abort(reason);
      const p = path();
      const existing = path();
      await driver.putContent(existing, 'keep');
      await rejectsWithReason(driver.putContent(p, 'x', { signal }), reason, 'putContent');
      assert.equal(await exists(driver, p), false, 'putContent left nothing');
      await rejectsWithReason(driver.getContent(existing, { signal }), reason, 'getContent');
      await rejectsWithReason(driver.reader(existing, 0, { signal }), reason, 'reader');
      await rejectsWithReason(driver.writer(p, { signal }), reason, 'writer');
      await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, 'the aborted writer started no upload');
      await rejectsWithReason(driver.stat(existing, { signal }), reason, 'stat');
      await rejectsWithReason(driver.list('/', { signal }), reason, 'list');
      await rejectsWithReason(driver.move(existing, p, { signal }), reason, 'move');
      await rejectsWithReason(driver.delete(existing, { signal }), reason, 'delete');
      let called = false;
      await rejectsWithReason(driver.walk('/', () => void (called = true), { signal }), reason, 'walk');
      assert.equal(called, false, 'an aborted walk calls nothing');
      await rejectsWithReason(driver.redirectURL(existing, { method: 'GET', signal }), reason, 'redirectURL');
      assert.equal((await driver.getContent(existing)).toString(), 'keep');
      assert.equal(await exists(driver, p), false);
    },
  },
  {
    group: 'abort',
    name: 'a 16 MiB putContent aborted in flight rejects with the reason at once, and never leaves a partial object nor lands after its rejection',
    async run({ driver, path }) {
      const data = patternBytes(LARGE, 60);
      const old = patternBytes(MiB, 61);
      const replaced = path();
      await driver.putContent(replaced, old);
      for (const [p, before, delayMs] of [[path(), undefined, 0], [path(), undefined, 5], [replaced, old, 2]] as const) {
        const what = `putContent aborted after ${delayMs} ms${before ? ' over an existing object' : ''}`;
        const outcome = await abortDuring((signal) => driver.putContent(p, data, { signal }), delayMs);
        const aborted = await assertAbortOutcome(outcome, what);
        const atRejection = await contentOrAbsent(driver, p);
        await sleep(SETTLE_MS);
        const later = await contentOrAbsent(driver, p);
        const describe = (b: Buffer | undefined): string => (b === undefined ? 'absent' : b.equals(data) ? 'the new content' : before?.equals(b) ? 'the old content' : `${b.length} bytes of neither content`);
        assert.ok(later === undefined ? before === undefined : later.equals(data) || before?.equals(later), `${what}: the path holds ${describe(later)}`);
        if (!aborted) assert.ok(later?.equals(data), `${what}: it resolved, so the new content must be stored; found ${describe(later)}`);
        assert.equal(describe(later), describe(atRejection), `${what}: the aborted write landed after its rejection`);
      }
    },
  },
  {
    group: 'abort',
    name: 'getContent of a large object aborted in flight rejects with the reason within 50 ms',
    async run({ driver, path }) {
      const p = path();
      await writeLarge(driver, p, 62);
      for (const delayMs of [0, 2]) {
        const outcome = await abortDuring((signal) => driver.getContent(p, { signal }), delayMs);
        if (!(await assertAbortOutcome(outcome, `getContent aborted after ${delayMs} ms`)) && outcome.ok) {
          assertSameBytes(outcome.value, patternBytes(LARGE, 62), 'getContent that finished before the abort');
        }
      }
    },
  },
  {
    group: 'abort',
    name: 'a reader of a large object aborted while being consumed errors with the reason within 50 ms',
    async run({ driver, path }) {
      const p = path();
      await writeLarge(driver, p, 50);
      const controller = new AbortController();
      const reason = new Error('caller abort');
      const stream = await driver.reader(p, 0, { signal: controller.signal });
      let received = 0;
      let mark: AbortMark | undefined;
      let failure: { error: unknown; at: number } | undefined;
      try {
        for await (const chunk of stream) {
          received += (chunk as Buffer).length;
          mark ??= markAbort(controller, reason);
        }
      } catch (error) {
        failure = { error, at: performance.now() };
      }
      assert.ok(failure !== undefined, `the stream ended without an error after the abort (${received} of ${LARGE} bytes)`);
      assert.equal(failure.error, reason, `the stream failed with ${describeError(failure.error)}, not with the caller's own reason`);
      await assertPrompt(failure.at, mark!, 'the stream');
    },
  },
  {
    group: 'abort',
    name: 'a 16 MiB writer.write aborted in flight rejects with the reason; the upload resumes at a size whose bytes are right',
    timeoutMs: () => 120_000,
    async run({ driver, path }) {
      const p = path();
      const total = MiB + LARGE;
      const writer = await driver.writer(p);
      await writer.write(patternBytes(MiB, 63));
      const chunk = patternBytes(LARGE, 63, MiB);
      const outcome = await abortDuring((signal) => writer.write(chunk, { signal }), 2);
      await assertAbortOutcome(outcome, 'writer.write aborted after 2 ms');
      await writer.close();
      // Whatever part of the aborted chunk was kept, the resumed writer continues right after it.
      const resumed = await driver.writer(p, { append: true });
      assert.ok(resumed.size >= MiB && resumed.size <= total, `the resumed upload holds ${resumed.size} bytes, outside [${MiB}, ${total}]`);
      if (resumed.size < total) await resumed.write(patternBytes(total - resumed.size, 63, resumed.size));
      await resumed.commit();
      await verifyPatternStream(await driver.reader(p), total, 63);
    },
  },
  {
    group: 'abort',
    name: 'a commit aborted in flight rejects with the reason; committing again (or resuming with append) gives the whole content',
    timeoutMs: () => 120_000,
    async run({ driver, path, options }) {
      const size = 2 * options.partSize + 4097;
      for (const [delayMs, retry] of [[1, 'same writer'], [4, 'append']] as const) {
        const p = path();
        const writer = await driver.writer(p);
        await pipeline(patternStream(size, 64, 65_539), writer.writable());
        const outcome = await abortDuring((signal) => writer.commit({ signal }), delayMs);
        const what = `commit aborted after ${delayMs} ms, then ${retry}`;
        await assertAbortOutcome(outcome, what);
        if (retry === 'same writer') {
          // A failed commit removes nothing: the same writer's next commit finishes the upload, or
          // finds that this very upload is already the committed object.
          await writer.commit();
        } else {
          await writer.close();
          if (!(await exists(driver, p))) {
            const resumed = await driver.writer(p, { append: true });
            assert.equal(resumed.size, size, `${what}: the resumed upload's size`);
            await resumed.commit();
          }
        }
        await verifyPatternStream(await driver.reader(p), size, 64);
      }
    },
  },
  {
    group: 'abort',
    name: 'a walk aborted while its callback is slow rejects with the reason within 50 ms and calls nothing more',
    async run({ driver, dir }) {
      for (let i = 0; i < 10; i++) await driver.putContent(`${dir}/d${i}/f`, 'x');
      const controller = new AbortController();
      const reason = new Error('caller abort');
      let mark: AbortMark | undefined;
      let calls = 0;
      const outcome = await settle(
        driver.walk(
          dir,
          async () => {
            if (++calls === 3) setTimeout(() => (mark = markAbort(controller, reason)), 5);
            await sleep(100);
          },
          { signal: controller.signal },
        ),
      );
      const callsAtRejection = calls;
      await assertAbortOutcome({ ...outcome, reason, mark }, 'walk aborted during a callback');
      await sleep(250);
      assert.equal(calls, callsAtRejection, 'the callback was called after the walk rejected');
    },
  },
  {
    group: 'abort',
    name: 'a writer aborted while it opens rejects with the reason and leaves no upload to resume',
    async run({ driver, path }) {
      // Aborts land at successive points of the open (event-loop turns, then timers), so some come
      // while the backend is staging: whatever it staged must go once the caller has been told "aborted".
      const points: Array<{ ticks: number } | { ms: number }> = [0, 1, 2, 3, 5, 8, 13, 21].map((ticks) => ({ ticks }));
      points.push({ ms: 1 }, { ms: 3 });
      const aborted: string[] = [];
      for (const point of points) {
        const p = path();
        const controller = new AbortController();
        const reason = new Error('caller abort');
        const opening = settle(driver.writer(p, { signal: controller.signal }));
        if ('ticks' in point) for (let i = 0; i < point.ticks; i++) await new Promise((resolve) => setImmediate(resolve));
        else await sleep(point.ms);
        controller.abort(reason);
        const outcome = await opening;
        if (outcome.ok) {
          await outcome.value.cancel();
        } else {
          assert.equal(outcome.error, reason, `writer aborted after ${JSON.stringify(point)}: rejected with ${describeError(outcome.error)}, not with the caller's own reason`);
          aborted.push(p);
        }
      }
      await sleep(SETTLE_MS);
      for (const p of aborted) await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, `the writer at ${p} aborted while opening left an upload behind`);
      assert.ok(aborted.length > 0, 'no open was aborted: every writer opened before its abort');
    },
  },
  {
    group: 'abort',
    name: 'one caller’s abort fails only that caller: on a new driver instance, operations started beside it succeed',
    async run({ driver, path, newDriver, options }) {
      // A new instance still has its one-time work ahead (authentication, finding the container or
      // a signing key): work the first caller starts is shared, and must not end with that caller's abort.
      const existing = path();
      await driver.putContent(existing, 'existing');
      for (const ticks of [0, 1, 3, 8, 20]) {
        const fresh = await newDriver();
        const controller = new AbortController();
        const reason = new Error('caller abort');
        const signal = controller.signal;
        const operations = (signal: AbortSignal | undefined, target: string): Array<[string, Promise<unknown>]> => [
          ['putContent', fresh.putContent(target, 'written', { signal })],
          ['writer', (async () => {
            const writer = await fresh.writer(`${target}-w`, { signal });
            try {
              await writer.write(Buffer.from('streamed'), { signal });
              await writer.commit({ signal });
            } catch (error) {
              // An aborted commit may still have landed, and then there is nothing to cancel.
              await writer.cancel().catch(() => undefined);
              throw error;
            }
          })()],
          ['getContent', fresh.getContent(existing, { signal })],
          ['stat', fresh.stat(existing, { signal })],
          ...(options.capabilities.redirect ? [['redirectURL', fresh.redirectURL(existing, { method: 'GET', signal })] as [string, Promise<unknown>]] : []),
        ];
        const settled = (started: Array<[string, Promise<unknown>]>): Array<[string, Promise<Settled<unknown>>]> => started.map(([name, promise]) => [name, settle(promise)]);
        const victims = settled(operations(signal, path()));
        const bystanderPath = path();
        const bystanders = settled(operations(undefined, bystanderPath));
        for (let i = 0; i < ticks; i++) await new Promise((resolve) => setImmediate(resolve));
        controller.abort(reason);
        for (const [name, outcome] of victims) {
          const victim = await outcome;
          if (!victim.ok) assert.equal(victim.error, reason, `${name} aborted after ${ticks} turns: rejected with ${describeError(victim.error)}, not with the caller's own reason`);
        }
        for (const [name, outcome] of bystanders) {
          const bystander = await outcome;
          assert.ok(bystander.ok, `${name} without a signal failed when another caller aborted after ${ticks} turns: ${bystander.ok ? '' : describeError(bystander.error)}`);
        }
        assert.equal((await driver.getContent(bystanderPath)).toString(), 'written');
        assert.equal((await driver.getContent(`${bystanderPath}-w`)).toString(), 'streamed');
      }
    },
  },
  {
    group: 'abort',
    name: 'a write that has resolved is kept: aborting its signal afterwards cuts none of its bytes, and the commit stores them all',
    timeoutMs: () => 120_000,
    async run({ driver, path, options }) {
      const p = path();
      // Several parts, so uploads are still in flight when the write resolves.
      const size = 3 * options.partSize + 1234;
      const controller = new AbortController();
      const writer = await driver.writer(p);
      await writer.write(patternBytes(size, 66), { signal: controller.signal });
      controller.abort(new Error('caller abort, after the write'));
      await writer.commit();
      await verifyPatternStream(await driver.reader(p), size, 66);
    },
  },
  {
    group: 'abort',
    name: 'an aborted write fails the writer; cancel then removes the upload',
    async run({ driver, path }) {
      const p = path();
      const reason = new Error('caller abort');
      const writer = await driver.writer(p);
      await writer.write(patternBytes(MiB, 51));
      await rejectsWithReason(writer.write(patternBytes(MiB, 52), { signal: AbortSignal.abort(reason) }), reason, 'write');
      await rejectsWithReason(writer.commit({ signal: AbortSignal.abort(reason) }), reason, 'commit');
      await writer.cancel();
      assert.equal(await exists(driver, p), false);
      await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, 'no upload left');
    },
  },
];
