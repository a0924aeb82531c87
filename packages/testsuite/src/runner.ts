/**
 * Running cases, independent of any test runner: the jest adapter and the command-line runner
 * both go through `runCase`, so each case is defined once.
 */
import { type Capabilities, PathNotFoundError, type StorageDriver, purgeUploads } from '@storagedriver/core';

import { randomName } from './data.js';
import type { SuiteOptions } from './options.js';

export interface ResolvedOptions extends Required<Omit<SuiteOptions, 'teardown' | 'name' | 'capabilities' | 'createAbove' | 'claims' | 'testServerGaps' | 'construct'>> {
  testServerGaps: NonNullable<SuiteOptions['testServerGaps']>;
  name: string;
  capabilities: { redirect: boolean; walkOrder: 'components' | 'bytes' };
  teardown: SuiteOptions['teardown'];
  createAbove: SuiteOptions['createAbove'];
  construct: SuiteOptions['construct'];
  claims: Capabilities | undefined;
  /** The driver's own `capabilities`, once it exists (undefined while jest registers the cases). */
  driverCapabilities: Capabilities | undefined;
}

/** What a case's `run` gets: the driver, a directory of its own, and clean-up. */
export interface CaseContext {
  /** The suite's driver. */
  driver: StorageDriver;
  /** A new driver instance on the same storage. */
  newDriver(): Promise<StorageDriver>;
  /** The suite's options, completed with defaults. */
  options: ResolvedOptions;
  /** A fresh top-level directory for this case, deleted afterwards. */
  dir: string;
  /** A new random path below `dir`. */
  path(): string;
  /** Registers cleanup to run after the case, before the empty-root check. */
  defer(cleanup: () => Promise<void>): void;
}

/** One conformance case. */
export interface SuiteCase {
  /** States the rule the case proves. */
  name: string;
  /** The name shown in reports, when it depends on the driver (the claims case lists the claims). */
  title?: (options: ResolvedOptions) => string;
  /** The group it is reported under (the operation or area it tests). */
  group: string;
  /** Why the case does not apply to this driver, or undefined. */
  skip?: (options: ResolvedOptions) => string | undefined;
  /** Time the case may take; default 60 s. */
  timeoutMs?: (options: ResolvedOptions) => number;
  /** Runs the case; rejecting fails it. */
  run(context: CaseContext): Promise<void>;
}

/** The options completed with defaults; `driver` is absent while jest registers the cases. */
export function resolveOptions(options: SuiteOptions, driver?: StorageDriver): ResolvedOptions {
  return {
    name: options.name ?? driver?.name ?? 'driver',
    create: options.create,
    teardown: options.teardown,
    mode: options.mode ?? 'full',
    largeStreamSize: options.largeStreamSize ?? 1024 ** 3,
    appendChunkSize: options.appendChunkSize ?? 10 * 1024 * 1024,
    partSize: options.partSize ?? 5 * 1024 * 1024,
    createAbove: options.createAbove,
    construct: options.construct,
    capabilities: {
      redirect: options.capabilities?.redirect ?? driver?.capabilities.redirectURL ?? false,
      walkOrder: options.capabilities?.walkOrder ?? 'components',
    },
    insecureTLS: options.insecureTLS ?? false,
    claims: options.claims,
    testServerGaps: options.testServerGaps ?? {},
    driverCapabilities: driver?.capabilities,
  };
}

/**
 * Thrown by a case that finds, once the driver exists, that it does not apply (a backend-level
 * check on a driver without that backend feature). runSuite reports it as skipped; under jest the
 * test passes, since jest cannot skip a running test.
 */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}

export const DEFAULT_TIMEOUT_MS = 60_000;

export function caseTitle(testCase: SuiteCase, options: ResolvedOptions): string {
  return testCase.title?.(options) ?? testCase.name;
}

function caseTimeout(testCase: SuiteCase, options: ResolvedOptions): number {
  return testCase.timeoutMs?.(options) ?? DEFAULT_TIMEOUT_MS;
}

/**
 * Runs a suite's cases one after another, each within its time limit. A case that overruns is not
 * abandoned at once: its requests may still change the storage, and its clean-up empties the root,
 * which would delete what the next case is writing. So the next case starts only after it ended,
 * waiting up to its limit once more; a case still running then keeps the storage, and every later
 * case fails without running.
 */
export class CaseSequence {
  readonly #driver: StorageDriver;
  readonly #options: ResolvedOptions;
  /** The title of a case that overran and never ended. */
  #stillRunning: string | undefined;

  constructor(driver: StorageDriver, options: ResolvedOptions) {
    this.#driver = driver;
    this.#options = options;
  }

  async run(testCase: SuiteCase): Promise<{ notApplicable?: string }> {
    if (this.#stillRunning !== undefined) {
      throw new Error(`not run: the case "${this.#stillRunning}" timed out and is still running, so the storage is not this case's alone`);
    }
    const limit = caseTimeout(testCase, this.#options);
    const started = performance.now();
    const running = runCase(testCase, this.#driver, this.#options);
    const ended = running.then(
      () => true,
      () => true,
    );
    if (await endsWithin(ended, limit)) return running;
    const endedLate = await endsWithin(ended, limit);
    const seconds = (ms: number): number => Math.round(ms / 1000);
    if (!endedLate) this.#stillRunning = caseTitle(testCase, this.#options);
    const after = endedLate ? `it ended ${seconds(performance.now() - started)} s after it started` : `still running ${seconds(2 * limit)} s after it started`;
    throw new Error(`${testCase.name}: timed out after ${seconds(limit)} s (${after})`);
  }
}

/** The longest a test runner must allow one case under CaseSequence: its limit, then as long again to end. */
export function sequencedTimeout(testCase: SuiteCase, options: ResolvedOptions): number {
  return 2 * caseTimeout(testCase, options) + 10_000;
}

async function endsWithin(ended: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([ended, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one case in its own top-level directory, then deletes it and checks the root is empty (a
 * driver must not leave upload state, temporary files or emptied directories behind). A failure of
 * the case itself takes precedence over a cleanup failure.
 */
async function runCase(testCase: SuiteCase, driver: StorageDriver, options: ResolvedOptions): Promise<{ notApplicable?: string }> {
  const dir = `/${randomName(20)}`;
  const cleanups: Array<() => Promise<void>> = [];
  const context: CaseContext = {
    driver,
    newDriver: async () => options.create(),
    options,
    dir,
    path: () => `${dir}/${randomName(16)}`,
    defer: (cleanup) => void cleanups.push(cleanup),
  };
  let failure: unknown;
  let notApplicable: string | undefined;
  try {
    await testCase.run(context);
  } catch (error) {
    if (error instanceof NotApplicable) notApplicable = error.message;
    else failure = error;
  }
  try {
    for (const cleanup of cleanups.reverse()) await cleanup();
    // Uploads a case closed and left: not the driver's fault, but they must not pile up on the server.
    if (driver.capabilities.uploads) await purgeUploads(driver, { path: dir, olderThan: new Date(Date.now() + 60_000) });
    await deleteIfPresent(driver, dir);
    await assertEmptyRoot(driver, 'after the case');
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
  return notApplicable === undefined ? {} : { notApplicable };
}

export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (error) {
    if (!(error instanceof PathNotFoundError)) throw error;
  }
}

/** Fails when anything is left at the root, after removing it so later cases start clean. */
export async function assertEmptyRoot(driver: StorageDriver, when: string): Promise<void> {
  const left = await driver.list('/').catch((error: unknown) => {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  });
  if (left.length === 0) return;
  for (const path of left) await deleteIfPresent(driver, path);
  throw new Error(`the storage root is not empty ${when}: ${left.join(', ')} (the driver did not clean up, or the root was not empty to start with)`);
}
