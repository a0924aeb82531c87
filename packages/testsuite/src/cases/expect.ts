/** Small assertion helpers on top of node:assert, usable under any test runner. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { StorageDriverError, type StorageDriver, readAll } from '@storagedriver/core';

type ErrorClass<T> = abstract new (...args: never[]) => T;

/** Awaits `promise`, requires it to reject with an instance of `type`, and returns the error. */
export async function rejectsWith<T>(promise: Promise<unknown>, type: ErrorClass<T>, what: string): Promise<T> {
  let outcome: unknown;
  try {
    await promise;
  } catch (error) {
    outcome = error;
    if (error instanceof type) return error;
    assert.fail(`${what}: expected ${type.name}, got ${describeError(error)}`);
  }
  assert.fail(`${what}: expected ${type.name}, but it succeeded${outcome === undefined ? '' : ''}`);
}

/** A typed error names the driver in its fields and message. */
export function assertNamesDriver(error: unknown, driver: StorageDriver): void {
  assert.ok(error instanceof StorageDriverError, `expected a StorageDriverError, got ${describeError(error)}`);
  assert.equal(error.driverName, driver.name, 'driverName');
  assert.ok(error.message.includes(driver.name), `message "${error.message}" should name the driver "${driver.name}"`);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function readStream(driver: StorageDriver, path: string, offset = 0): Promise<Buffer> {
  return readAll(await driver.reader(path, offset));
}

/** Writes `data` through a writer (as a stream of several chunks), commits and closes it. */
export async function writeThroughWriter(driver: StorageDriver, path: string, data: Buffer, append = false): Promise<number> {
  const writer = await driver.writer(path, { append });
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += 64 * 1024 + 3) chunks.push(data.subarray(at, at + 64 * 1024 + 3));
  await pipeline(Readable.from(chunks), writer.writable());
  await writer.commit();
  await writer.close();
  return writer.size;
}

export function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  assert.fail(`${what}: ${actual.length} bytes read, ${expected.length} expected, first difference at byte ${at}`);
}

export async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (error instanceof StorageDriverError && error.code === 'PATH_NOT_FOUND') return false;
    throw error;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A typed error of this driver: a StorageDriverError with its driverName set (any class). */
export function assertTyped(error: unknown, driver: StorageDriver, what: string): asserts error is StorageDriverError {
  assert.ok(error instanceof StorageDriverError, `${what}: expected a StorageDriverError, got ${describeError(error)}`);
  assert.equal(error.driverName, driver.name, `${what}: driverName of ${error.name}`);
}

export type Settled<T> = { ok: true; value: T; at: number } | { ok: false; error: unknown; at: number };

/** How a promise settled, and when (performance.now()), without swallowing anything: the caller asserts on it. */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

/** The contract's bound between an abort and the rejection it causes. */
export const ABORT_WITHIN_MS = 50;

/**
 * When an abort happened, and when this process's event loop next ran a macrotask after it (a
 * setImmediate queued at the abort). On a shared, loaded machine the whole process can stall for
 * tens of milliseconds; that stall is not the driver's, so it is measured and reported, and taken
 * out of the driver's latency (a driver blocking the loop itself after an abort would be excused
 * too: none is known to).
 */
export interface AbortMark {
  abortedAt: number;
  loopFree: Promise<number>;
}

export function markAbort(controller: AbortController, reason: unknown): AbortMark {
  const abortedAt = performance.now();
  const loopFree = new Promise<number>((resolve) => setImmediate(() => resolve(performance.now())));
  controller.abort(reason);
  return { abortedAt, loopFree };
}

/** A rejection at `at` came within the contract's 50 ms of the abort, less the process's own stall. */
export async function assertPrompt(at: number, mark: AbortMark, what: string): Promise<void> {
  const latency = at - mark.abortedAt;
  const stall = Math.max(0, Math.min(await mark.loopFree, at) - mark.abortedAt);
  assert.ok(
    latency - stall <= ABORT_WITHIN_MS,
    `${what}: rejected ${latency.toFixed(1)} ms after the abort, ${stall.toFixed(1)} ms of which this process's event loop was stalled (the contract allows ${ABORT_WITHIN_MS} ms)`,
  );
}

export type AbortOutcome<T> = Settled<T> & { reason: Error; mark: AbortMark | undefined };

/**
 * Starts `operation` with a signal, aborts it with a reason object of the case's own `delayMs`
 * later (0: synchronously, right after the call returned, so the operation is surely in flight),
 * and reports how it settled.
 */
export async function abortDuring<T>(operation: (signal: AbortSignal) => Promise<T>, delayMs: number): Promise<AbortOutcome<T>> {
  const controller = new AbortController();
  const reason = new Error('caller abort');
  let mark: AbortMark | undefined;
  const abort = (): void => void (mark = markAbort(controller, reason));
  const settled = settle(operation(controller.signal));
  let timer: NodeJS.Timeout | undefined;
  if (delayMs === 0) abort();
  else timer = setTimeout(abort, delayMs);
  const outcome = await settled;
  clearTimeout(timer);
  return { ...outcome, reason, mark };
}

/**
 * An operation that was aborted rejected with the caller's own reason object within 50 ms of the
 * abort; one that finished first resolved before the abort. Returns whether it was aborted.
 */
export async function assertAbortOutcome(outcome: AbortOutcome<unknown>, what: string): Promise<boolean> {
  const { mark } = outcome;
  if (outcome.ok) {
    if (mark !== undefined) assert.ok(outcome.at <= mark.abortedAt, `${what}: resolved ${(outcome.at - mark.abortedAt).toFixed(1)} ms after the abort instead of rejecting`);
    return false;
  }
  assert.ok(mark !== undefined, `${what}: failed before the abort: ${describeError(outcome.error)}`);
  assert.equal(outcome.error, outcome.reason, `${what}: rejected with ${describeError(outcome.error)}, not with the caller's own reason`);
  await assertPrompt(outcome.at, mark, what);
  return true;
}

/** The object's content, or undefined when there is none (any other failure is thrown). */
export async function contentOrAbsent(driver: StorageDriver, path: string): Promise<Buffer | undefined> {
  try {
    return await driver.getContent(path);
  } catch (error) {
    if (error instanceof StorageDriverError && error.code === 'PATH_NOT_FOUND') return undefined;
    throw error;
  }
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Every path the walk of `path` yields, in order. */
export async function walked(driver: StorageDriver, path: string): Promise<string[]> {
  const seen: string[] = [];
  await driver.walk(path, (info) => void seen.push(info.path));
  return seen;
}

/** Two lists of paths are equal; on a difference, says where rather than printing thousands of entries. */
export function assertSamePaths(actual: readonly string[], expected: readonly string[], what: string): void {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  if (at === actual.length && at === expected.length) return;
  assert.fail(`${what}: ${actual.length} entries, ${expected.length} expected; first difference at entry ${at}: ${actual[at] ?? '(none)'} instead of ${expected[at] ?? '(none)'}`);
}
