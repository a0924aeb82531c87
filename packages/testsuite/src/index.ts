/**
 * The conformance suite every driver passes, the fault campaign and the benchmarks; runnable from jest or standalone.
 *
 * @module @storagedriver/testsuite
 */
export { testDriver } from './jest.js';
export { runSuite, type CaseResult, type RunSuiteOptions } from './suite.js';
export { conformanceCases } from './cases/index.js';
export type { CaseContext, SuiteCase } from './runner.js';
export type { DriverAbove, DriverConstruction, SuiteCapabilities, SuiteOptions, TestServerGaps } from './options.js';
export {
  benchmarkCells,
  benchRows,
  benchRuns,
  benchUnit,
  cellMedians,
  checkGoals,
  compareCells,
  describeGoal,
  figures,
  formatBytes,
  formatRatio,
  formatTable,
  measure,
  measureConcurrent,
  measureOperation,
  publishBenchReport,
  runBenchmarks,
  runSideBySide,
  sideBySideMethod,
  streamSource,
  TURN_OPERATIONS,
  WALK_TURNS,
  WARM_UP_OPERATIONS,
  type BenchCell,
  type BenchGoal,
  type BenchGoalResult,
  type BenchRatio,
  type BenchmarkOptions,
  type BenchReport,
  type BenchSizes,
  type BenchSubject,
  type CellMedians,
  type Measurement,
  type SideBySideOptions,
} from './bench.js';
export { fillPattern, patternBytes, patternStream, randomName, verifyPatternStream } from './data.js';
export * from './faults/index.js';
