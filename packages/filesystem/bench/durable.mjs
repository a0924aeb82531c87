// Durable writes side by side: the driver's putContent (4 KiB, at concurrency 1 and 16) and its
// writer (a 1 GiB stream) beside raw `node:fs` making exactly the same durability calls — write a
// temporary file, fsync it, rename(2) it onto the target, fsync the target's directory — and the
// driver's reader beside a raw read stream. Same process, same disk, same data; rounds alternate
// which subject goes first; each figure is the median of 3 timed rounds (min–max beside it) after
// one warm-up round. Before each stream write, `sync` and a 2 s pause (untimed) let the disk
// finish what the previous one left: this VM's disk otherwise slows whichever write comes next.
// Run (in packages/filesystem, after build): node bench/durable.mjs
// (BENCH_PUTS: puts per measurement, default 2000; BENCH_STREAM_MIB: stream size, default 1024.)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { patternBytes, patternStream } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../dist/esm/index.js';

const MiB = 1024 * 1024;
const PUTS = Number(process.env.BENCH_PUTS ?? 2000);
const PUT_BYTES = 4096;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const CHUNK = MiB;
const ROUNDS = 3;

const root = mkdtempSync(join(tmpdir(), 'storagedriver-durable-bench-'));
const driver = new FilesystemDriver({ rootDirectory: join(root, 'driver') });
const rawTop = join(root, 'raw');
const rawStaging = join(rawTop, 'staging');
mkdirSync(rawStaging, { recursive: true });
const content = patternBytes(PUT_BYTES, 1);
const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

async function fsyncDirectory(dir) {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What raw `node:fs` does for a durable small write: temporary file, write, fsync, close, rename, fsync of the directory. */
async function rawPut(dir, name) {
  const temp = join(rawStaging, `put-${randomBytes(8).toString('hex')}`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, name));
  await fsyncDirectory(dir);
}

/** The same for a stream: a write stream that fsyncs before it closes (`flush`), rename, fsync of the directory. */
async function rawStreamWrite(file) {
  const temp = join(rawStaging, `stream-${randomBytes(8).toString('hex')}`);
  await pipeline(patternStream(STREAM_BYTES, 1, CHUNK), createWriteStream(temp, { flush: true }));
  await rename(temp, file);
  await fsyncDirectory(rawTop);
}

/** Untimed, before a stream write: whatever the disk still has to write goes first. */
async function settle() {
  execFileSync('sync');
  await sleep(2000);
}

/** `operations` calls of `body` by `concurrency` workers; returns seconds. */
async function timed(operations, concurrency, body) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < operations) await body(next++);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Each benchmark: its subjects, each a function of the round returning [seconds, units moved]. */
const benchmarks = [1, 16].map((concurrency) => ({
  name: `putContent 4 KiB, c=${concurrency} (${PUTS} new files)`,
  unit: 'ops/s',
  subjects: {
    driver: async (round) => [await timed(PUTS, concurrency, (i) => driver.putContent(`/put/c${concurrency}-${round}/${i}`, content)), PUTS],
    'raw durable (file fsync, rename, directory fsync)': async (round) => {
      const dir = join(rawTop, 'put', `c${concurrency}-${round}`);
      mkdirSync(dir, { recursive: true });
      return [await timed(PUTS, concurrency, (i) => rawPut(dir, String(i))), PUTS];
    },
  },
}));
benchmarks.push(
  {
    name: `stream write ${STREAM_BYTES / MiB} MiB (1 MiB chunks)`,
    unit: 'MiB/s',
    subjects: {
      driver: async () => [
        await settle().then(() => timed(1, 1, async () => {
          const writer = await driver.writer('/stream/big');
          await pipeline(patternStream(STREAM_BYTES, 1, CHUNK), writer.writable());
          await writer.commit();
        })),
        STREAM_BYTES / MiB,
      ],
      'raw durable (file fsync, rename, directory fsync)': async () => [await settle().then(() => timed(1, 1, () => rawStreamWrite(join(rawTop, 'big')))), STREAM_BYTES / MiB],
    },
  },
  {
    name: `stream read ${STREAM_BYTES / MiB} MiB`,
    unit: 'MiB/s',
    subjects: {
      driver: async () => [await timed(1, 1, async () => pipeline(await driver.reader('/stream/big'), sink())), STREAM_BYTES / MiB],
      'raw fs.createReadStream (1 MiB buffers)': async () => [
        await timed(1, 1, () => pipeline(createReadStream(join(rawTop, 'big'), { highWaterMark: MiB }), sink())),
        STREAM_BYTES / MiB,
      ],
    },
  },
);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  const rows = [];
  for (const benchmark of benchmarks) {
    const names = Object.keys(benchmark.subjects);
    const rates = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const [seconds, units] = await benchmark.subjects[name](round);
        if (round > 0) rates[name].push(units / seconds);
      }
    }
    const baseline = median(rates[names[1]]);
    for (const name of names) {
      const values = rates[name];
      const range = `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
      rows.push(`| ${benchmark.name} | ${name} | ${median(values).toFixed(0)} ${benchmark.unit} | ${range} | ${(median(values) / baseline).toFixed(2)}× |`);
    }
  }
  console.log(`\nDurable writes and reads, median of ${ROUNDS} rounds after a warm-up (ratio: subject ÷ raw, by medians)\n`);
  console.log('| benchmark | subject | median | min–max | ÷ raw |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
} finally {
  rmSync(root, { recursive: true, force: true });
}
