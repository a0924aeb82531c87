/** The suite without a test runner: used by the command-line tool, and by the jest adapter's pieces. */
import type { StorageDriver } from '@storagedriver/core';

import { conformanceCases } from './cases/index.js';
import type { SuiteOptions } from './options.js';
import { CaseSequence, type SuiteCase, assertEmptyRoot, caseTitle, resolveOptions } from './runner.js';

/** The result of one case in `runSuite`. */
export interface CaseResult {
  /** The case's name (its title when it has one). */
  name: string;
  /** The case's group. */
  group: string;
  /** How it ended. */
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  /** How long it ran, in milliseconds. */
  durationMs: number;
}

/** Options of `runSuite`: the suite's, plus a filter and progress callbacks. */
export interface RunSuiteOptions extends SuiteOptions {
  /** Run only cases whose name includes this text, or for which this returns true. */
  filter?: string | ((testCase: SuiteCase) => boolean);
  /** Called as each case starts and ends (for progress display). */
  onCaseStart?: (testCase: SuiteCase, index: number, total: number) => void;
  /** Called as each case ends, with its result. */
  onCaseEnd?: (result: CaseResult, index: number, total: number) => void;
}

/** Runs every conformance case against a driver and reports each result; never throws for a failed case. */
export async function runSuite(options: RunSuiteOptions): Promise<CaseResult[]> {
  const driver: StorageDriver = await options.create();
  const resolved = resolveOptions(options, driver);
  const { filter } = options;
  const cases = conformanceCases.filter((c) => (filter === undefined ? true : typeof filter === 'string' ? c.name.includes(filter) : filter(c)));
  const results: CaseResult[] = [];
  try {
    await assertEmptyRoot(driver, 'before the suite');
    const sequence = new CaseSequence(driver, resolved);
    for (const [index, testCase] of cases.entries()) {
      options.onCaseStart?.(testCase, index, cases.length);
      const started = performance.now();
      const skipReason = testCase.skip?.(resolved);
      const name = caseTitle(testCase, resolved);
      let result: CaseResult;
      if (skipReason !== undefined) {
        result = { name, group: testCase.group, status: 'skipped', reason: skipReason, durationMs: 0 };
      } else {
        try {
          const { notApplicable } = await sequence.run(testCase);
          const durationMs = performance.now() - started;
          result =
            notApplicable === undefined
              ? { name, group: testCase.group, status: 'passed', durationMs }
              : { name, group: testCase.group, status: 'skipped', reason: notApplicable, durationMs };
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          result = { name, group: testCase.group, status: 'failed', reason, durationMs: performance.now() - started };
        }
      }
      results.push(result);
      options.onCaseEnd?.(result, index, cases.length);
    }
  } finally {
    await options.teardown?.();
  }
  return results;
}
