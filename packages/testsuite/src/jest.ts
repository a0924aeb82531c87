/**
 * The jest adapter: `testDriver(options)` in a driver package's test file registers the whole
 * conformance suite as one describe block with one test per case. Uses jest's globals, so it must
 * be called from a jest test file.
 */
import { conformanceCases } from './cases/index.js';
import type { SuiteOptions } from './options.js';
import { CaseSequence, assertEmptyRoot, caseTitle, resolveOptions, sequencedTimeout } from './runner.js';

/** The jest globals used, typed here so the published types do not depend on @types/jest. */
interface JestGlobals {
  describe(name: string, body: () => void): void;
  test: ((name: string, body: () => Promise<void>, timeoutMs?: number) => void) & { skip(name: string, body: () => void): void };
  beforeAll(body: () => Promise<void>, timeoutMs?: number): void;
  afterAll(body: () => Promise<void>, timeoutMs?: number): void;
}

/**
 * Registers the conformance suite for a driver as one jest describe block, one test per case (skipped where a capability is absent).
 * Call it from a jest test file; it throws otherwise.
 */
export function testDriver(options: SuiteOptions): void {
  const { describe, test, beforeAll, afterAll } = globalThis as unknown as Partial<JestGlobals>;
  if (!describe || !test || !beforeAll || !afterAll) {
    throw new Error('testDriver registers jest tests: call it from a jest test file (or use runSuite without a test runner)');
  }
  let sequence: CaseSequence | undefined;
  // Timeouts and skips must be known when tests are registered, before any driver exists.
  const planned = resolveOptions(options);

  describe(`${options.name ?? 'storage driver'} conformance`, () => {
    beforeAll(async () => {
      const driver = await options.create();
      await assertEmptyRoot(driver, 'before the suite');
      sequence = new CaseSequence(driver, resolveOptions(options, driver));
    }, 120_000);

    afterAll(async () => {
      await options.teardown?.();
    }, 120_000);

    for (const testCase of conformanceCases) {
      const skipReason = testCase.skip?.(planned);
      if (skipReason !== undefined) {
        test.skip(`${caseTitle(testCase, planned)} (skipped: ${skipReason})`, () => undefined);
        continue;
      }
      test(
        caseTitle(testCase, planned),
        async () => {
          if (sequence === undefined) throw new Error('the driver was not created (see beforeAll)');
          await sequence.run(testCase);
        },
        // The sequence reports an overrun itself, once the case has ended or it gave up waiting.
        sequencedTimeout(testCase, planned),
      );
    }
  });
}
