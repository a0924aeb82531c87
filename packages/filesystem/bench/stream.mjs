// Filesystem stream benchmark: the driver's writer and reader against raw fs streams, in the same
// run, on the same disk, with the same data; and the memory target: streaming 2 GiB through one
// writer grows resident memory by less than 64 MiB. Run: pnpm --filter @storagedriver/filesystem bench
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { compare, formatTable, measure, patternStream, runBenchmarks, figures } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../dist/esm/index.js';

const GiB = 1024 ** 3;
const size = Number(process.env.BENCH_STREAM_BYTES ?? 2 * GiB);
const root = mkdtempSync(join(tmpdir(), 'storagedriver-bench-'));
const driver = new FilesystemDriver({ rootDirectory: join(root, 'driver') });
const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

try {
  // Warm-up: the first ~64 MiB of any stream of fresh buffers raises RSS by about that much in Node
  // itself (V8 collects external memory lazily; raw fs streams show the same from a clean start).
  // Measured after it, RSS growth shows whether memory grows with the length of the stream.
  const warmup = await driver.writer('/bench/warmup.bin');
  await pipeline(patternStream(128 * 1024 * 1024, 1, 256 * 1024), warmup.writable());
  await warmup.cancel();
  const driverWrite = await measure('driver writer + commit', 1, async () => {
    const writer = await driver.writer('/bench/stream.bin');
    await pipeline(patternStream(size, 1, 256 * 1024), writer.writable());
    await writer.commit();
    return size;
  });
  const rawWrite = await measure('raw fs.createWriteStream', 1, async () => {
    await pipeline(patternStream(size, 1, 256 * 1024), createWriteStream(join(root, 'raw.bin')));
    return size;
  });
  const rawRead = await measure('raw fs.createReadStream', 1, async () => {
    await pipeline(createReadStream(join(root, 'raw.bin'), { highWaterMark: 1024 * 1024 }), sink());
    return size;
  });
  const driverRead = await measure('driver reader', 1, async () => {
    await pipeline(await driver.reader('/bench/stream.bin'), sink());
    return size;
  });
  console.log(`\nFilesystem streams, ${size / GiB} GiB each (ratio: driver throughput / raw fs throughput)\n`);
  console.log(formatTable([compare(driverWrite, rawWrite), figures(rawWrite), compare(driverRead, rawRead), figures(rawRead)]));

  const target = 64;
  const met = driverWrite.rssGrowthMiB < target;
  console.log(`\nmemory target: writer RSS growth ${driverWrite.rssGrowthMiB.toFixed(1)} MiB while streaming ${size / GiB} GiB after a 128 MiB warm-up (target < ${target} MiB): ${met ? 'met' : 'MISSED'}`);

  console.log('\nUpstream benchmark set (§8.3) against the filesystem driver\n');
  const upstream = await runBenchmarks({ create: () => new FilesystemDriver({ rootDirectory: join(root, 'suite') }), largeSize: Number(process.env.BENCH_LARGE_BYTES ?? GiB) });
  console.log(formatTable(upstream.map(figures)));
  if (!met) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
