// The upstream benchmark set (§8.3) against the in-memory driver, BENCH_RUNS times (default 3): no
// baseline (nothing else keeps the same store), the figures show the cost of the driver and core alone.
// Run: pnpm --filter @storagedriver/inmemory bench (BENCH_LARGE_BYTES sets the large file, default 256 MiB).
import { benchmarkCells, benchRuns, formatBytes, publishBenchReport, runBenchmarks } from '@storagedriver/testsuite';

import { InMemoryDriver } from '../dist/esm/index.js';

const largeSize = Number(process.env.BENCH_LARGE_BYTES ?? 256 * 1024 * 1024);
const runs = [];
for (let run = 0; run < benchRuns(); run++) runs.push(await runBenchmarks({ create: () => new InMemoryDriver(), largeSize }));
publishBenchReport({
  title: 'inmemory: upstream benchmark set',
  subject: 'driver',
  setup: [
    `Upstream's benchmark set (put/get and stream of empty, 1 KiB, 1 MiB and ${formatBytes(largeSize)} files; list and delete of 5 and 50 files) in one process, ${runs.length} runs.`,
    'No baseline: the figures are what the base wrapper and the driver cost over a Map.',
  ],
  cells: benchmarkCells('driver', runs),
  goals: [],
});
