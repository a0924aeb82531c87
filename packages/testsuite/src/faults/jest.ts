/** The jest adapter of the fault campaign: one test that runs it, prints its table and fails on any failure class. */
import { type FaultCampaignOptions, runFaultCampaign } from './campaign.js';

interface JestGlobals {
  describe(name: string, body: () => void): void;
  test(name: string, body: () => Promise<void>, timeoutMs?: number): void;
}

/** Options of `testFaultCampaign`: the campaign's, and a time limit. */
export interface TestFaultCampaignOptions extends FaultCampaignOptions {
  /** The whole campaign's limit. Default 10 minutes. */
  timeoutMs?: number;
}

/**
 * Registers the fault campaign as one jest test (in a describe block named after it) that fails unless the campaign passes.
 * Call it from a jest test file; it throws otherwise.
 */
export function testFaultCampaign(options: TestFaultCampaignOptions): void {
  const { describe, test } = globalThis as unknown as Partial<JestGlobals>;
  if (!describe || !test) throw new Error('testFaultCampaign registers a jest test: call it from a jest test file (or use runFaultCampaign)');
  describe(`${options.name} fault campaign`, () => {
    test(
      'no untyped failure, lost or duplicated byte, silent truncation or hang; every failed writer resumes from a new instance',
      async () => {
        const result = await runFaultCampaign(options);
        console.log(result.report);
        if (!result.passed) throw new Error(`fault campaign of ${options.name} failed:\n${result.report}`);
      },
      options.timeoutMs ?? 600_000,
    );
  });
}
