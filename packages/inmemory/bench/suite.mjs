// The upstream benchmark set (§8.3) against the in-memory driver. Run: pnpm --filter @storagedriver/inmemory bench
import { figures, formatTable, runBenchmarks } from '@storagedriver/testsuite';

import { InMemoryDriver } from '../dist/esm/index.js';

const results = await runBenchmarks({ create: () => new InMemoryDriver(), largeSize: Number(process.env.BENCH_LARGE_BYTES ?? 256 * 1024 * 1024) });
console.log('\nUpstream benchmark set (§8.3) against the in-memory driver\n');
console.log(formatTable(results.map(figures)));
