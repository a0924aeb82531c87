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
