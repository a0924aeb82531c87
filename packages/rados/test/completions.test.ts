/**
 * The completion reaper with fake completions (numbers), so the order in which operations complete
 * is the test's: librados' own completions go through it in every other test of this package.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { CompletionReaper, type AioResult, type CompletionCalls } from '../src/completions.js';

/** Completions a test completes by hand; a worker's wait returns on the next turn of the event loop. */
class FakeCompletions implements CompletionCalls<number> {
  readonly complete = new Set<number>();
  readonly released: number[] = [];
  /** Every completion a worker was asked to wait on, in order. */
  readonly waitsStarted: number[] = [];
  readonly waiters = new Map<number, (error: unknown) => void>();
  /** Completions released while a worker still waited on them (use after free in librados). */
  readonly releasedUnderWait: number[] = [];
  failWaits: 'throw' | 'error' | undefined;

  isComplete(c: number): boolean {
    return this.complete.has(c);
  }

  waitForComplete(c: number, done: (error: unknown) => void): void {
    if (this.failWaits === 'throw') throw new Error('too many async calls');
    this.waitsStarted.push(c);
    if (this.failWaits === 'error') {
      setImmediate(() => done(new Error('worker failed')));
      return;
    }
    this.waiters.set(c, done);
    if (this.complete.has(c)) this.#wake(c);
  }

  result(c: number): AioResult {
    return { rc: c, version: BigInt(c) };
  }

  release(c: number): void {
    if (this.waiters.has(c)) this.releasedUnderWait.push(c);
    this.released.push(c);
  }

  /** Completes `c`; a worker waiting on it returns. */
  finish(c: number): void {
    this.complete.add(c);
    if (this.waiters.has(c)) this.#wake(c);
  }

  #wake(c: number): void {
    setImmediate(() => {
      const done = this.waiters.get(c);
      this.waiters.delete(c);
      done?.(null);
    });
  }
}

/** Resolves with what the promise resolved with, or 'pending' if it has not within `ms`. */
const within = <T>(promise: Promise<T>, ms = 200): Promise<T | 'pending'> => Promise.race([promise, sleep(ms, 'pending' as const)]);

describe('completion reaper', () => {
  test('an operation settles as soon as it completes, while an older one the worker waits on is still in flight', async () => {
    const fake = new FakeCompletions();
    const reaper = new CompletionReaper(fake);
    const [slow, quick, last] = [1, 2, 3].map((c) => reaper.track(c, 'pool', []));
    expect(fake.waitsStarted).toEqual([1]);
    fake.finish(2);
    expect(await within(quick!)).toEqual({ rc: 2, version: 2n });
    expect(fake.released).toEqual([2]);
    expect(reaper.pending).toBe(2);
    fake.finish(1);
    fake.finish(3);
    expect(await within(slow!)).toEqual({ rc: 1, version: 1n });
    expect(await within(last!)).toEqual({ rc: 3, version: 3n });
    expect(fake.released.sort()).toEqual([1, 2, 3]);
    expect(fake.releasedUnderWait).toEqual([]);
    expect(reaper.pending).toBe(0);
  });

  test('one wait on the oldest settles every operation complete by the time it returns', async () => {
    const fake = new FakeCompletions();
    // A timer too slow to matter here: the worker's return does the settling.
    const reaper = new CompletionReaper(fake, 60_000);
    const results = [1, 2, 3, 4, 5].map((c) => reaper.track(c, 'pool', []));
    for (const c of [5, 3, 4, 2]) fake.complete.add(c);
    fake.finish(1);
    expect(await within(Promise.all(results))).toEqual([1, 2, 3, 4, 5].map((c) => ({ rc: c, version: BigInt(c) })));
    expect(fake.waitsStarted).toEqual([1]);
    expect(reaper.pending).toBe(0);
    expect(fake.releasedUnderWait).toEqual([]);
  });

  test('a completion is not released while a worker still waits on it, even when the timer sees it complete first', async () => {
    const fake = new FakeCompletions();
    const reaper = new CompletionReaper(fake);
    const result = reaper.track(1, 'pool', []);
    // Complete, but the worker has not returned: ticks of the timer pass.
    fake.complete.add(1);
    await sleep(20);
    expect(fake.released).toEqual([]);
    fake.finish(1);
    expect(await within(result)).toEqual({ rc: 1, version: 1n });
    expect(fake.released).toEqual([1]);
    expect(fake.releasedUnderWait).toEqual([]);
  });

  test.each(['throw', 'error'] as const)('when a wait cannot run (%s), the timer still settles every operation', async (failure) => {
    const fake = new FakeCompletions();
    fake.failWaits = failure;
    const reaper = new CompletionReaper(fake);
    const results = [1, 2].map((c) => reaper.track(c, 'pool', []));
    fake.finish(1);
    fake.finish(2);
    expect(await within(Promise.all(results))).toEqual([{ rc: 1, version: 1n }, { rc: 2, version: 2n }]);
    expect(reaper.pending).toBe(0);
  });

  test('after the reaper went idle, a quick operation behind a slow one still settles at once', async () => {
    const fake = new FakeCompletions();
    const reaper = new CompletionReaper(fake);
    const first = reaper.track(1, 'pool', []);
    fake.finish(1);
    expect(await within(first)).toEqual({ rc: 1, version: 1n });
    // Long enough for the idle timer to stop.
    await sleep(20);
    const [slow, quick] = [2, 3].map((c) => reaper.track(c, 'pool', []));
    fake.finish(3);
    expect(await within(quick!)).toEqual({ rc: 3, version: 3n });
    fake.finish(2);
    expect(await within(slow!)).toEqual({ rc: 2, version: 2n });
    expect(fake.waitsStarted).toEqual([1, 2]);
  });

  test('operations are counted per owner, so one owner can wait for its own without waiting for another\'s', async () => {
    const fake = new FakeCompletions();
    const reaper = new CompletionReaper(fake);
    const mine = [1, 2].map((c) => reaper.track(c, 'mine', []));
    const theirs = reaper.track(3, 'theirs', []);
    expect([reaper.pendingOf('mine'), reaper.pendingOf('theirs'), reaper.pending]).toEqual([2, 1, 3]);
    fake.finish(2);
    fake.finish(1);
    await Promise.all(mine);
    expect([reaper.pendingOf('mine'), reaper.pendingOf('theirs'), reaper.pending]).toEqual([0, 1, 1]);
    fake.finish(3);
    await theirs;
    expect(reaper.pendingOf('theirs')).toBe(0);
  });
});
