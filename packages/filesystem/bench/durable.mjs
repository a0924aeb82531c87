// Durable writes side by side: the driver's putContent (4 KiB, at concurrency 1 and 16) and its
// writer (a 1 GiB stream) beside raw `node:fs` making exactly the same durability calls — write a
// temporary file, fsync it, rename(2) it onto the target, fsync the target's directory — and the
// driver's reader beside a raw read stream. Same process, same disk, same data. Each round rotates
// the subjects' order (a put cell's 9 timed rounds give each of its three subjects each place three
// times); each figure is the median of the timed rounds (min–max beside it: 3 × BENCH_RUNS for
// puts, BENCH_RUNS for streams, BENCH_RUNS defaulting to 3) after one warm-up round. Before each
// write measurement (puts and streams), `sync` and a 2 s pause (untimed) let the disk finish what
// the previous subject left: this VM's disk otherwise slows whichever write comes next.
// (Alternating two orders by round put the driver last in 2 of 3 timed rounds, and its put medians
// then came from the rounds that followed 4 000 other files.)
// Run (in packages/filesystem, after build): node bench/durable.mjs
// (BENCH_PUTS: puts per measurement, default 2000; BENCH_STREAM_MIB: stream size, default 1024;
// BENCH_OPS: comma-separated prefixes of the operations to measure, default all.)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, fstatSync, futimesSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { benchRuns, measure, measureConcurrent, patternBytes, publishBenchReport, streamSource } from '@storagedriver/testsuite';

import { FilesystemDriver } from '../dist/esm/index.js';
import { METADATA_DIR, STAGING_DIR } from '../dist/esm/layout.js';

const MiB = 1024 * 1024;
const PUTS = Number(process.env.BENCH_PUTS ?? 2000);
const PUT_BYTES = 4096;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const CHUNK = MiB;
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES, CHUNK);

const root = mkdtempSync(join(tmpdir(), 'storagedriver-durable-bench-'));
const driver = new FilesystemDriver({ rootDirectory: root });
// The raw baselines stage their temporary files in the driver's staging directory and write their
// files beside the driver's: ext4 gives a new file an inode in its directory's block group, and on
// this machine's ext4 (no journal) a group with inodes freed in the last minutes (the walk
// benchmark's 10 000 files, an earlier run's) makes every allocation there step over them. In
// directories of their own, whichever subject's directory landed in such a group ran up to 3× slower
// (measured: either subject, by run), which decided the ratio.
const rawTop = join(root, 'raw');
const rawStaging = join(root, STAGING_DIR);
mkdirSync(rawStaging, { recursive: true });
mkdirSync(rawTop, { recursive: true });
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

/**
 * rawPut plus the three calls the driver's etag and metadata cost, made as the driver makes them, all
 * synchronous: an lstat of the root's `~meta` (whether any metadata sidecar exists; none does here,
 * so the replaced file needs no look-up), then futimens (the stamp that keeps an etag unique when an
 * inode is reused within a clock tick) and an fstat of the written file (its identity) on the open
 * file's inode, before the fsync.
 */
async function rawPutWithIdentity(dir, name) {
  const temp = join(rawStaging, `put-${randomBytes(8).toString('hex')}`);
  const target = join(dir, name);
  lstatSync(join(root, METADATA_DIR), { throwIfNoEntry: false });
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    const stamp = Date.now() / 1000;
    futimesSync(handle.fd, stamp, stamp);
    fstatSync(handle.fd, { bigint: true });
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await fsyncDirectory(dir);
}

/** The same for a stream: a write stream that fsyncs before it closes (`flush`), rename, fsync of the directory. */
async function rawStreamWrite(file) {
  const temp = join(rawStaging, `stream-${randomBytes(8).toString('hex')}`);
  await pipeline(source(), createWriteStream(temp, { flush: true }));
  await rename(temp, file);
  await fsyncDirectory(rawTop);
}

/** Untimed, before a write measurement: whatever the disk still has to write goes first. */
async function settle() {
  execFileSync('sync');
  await sleep(2000);
}

const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;

/**
 * Timed rounds of a put cell: three times the streams'. On this VM's disk a put round's figure moves
 * by up to 2× from one round to the next, for any subject (kernel time in libuv's threads), and the
 * median of 3 could not tell a 5 % goal from that.
 */
const PUT_ROUNDS = 3 * benchRuns();

/** Each operation: its subjects, each a function of the round returning a Measurement, and its timed rounds when not benchRuns(). */
const operations = [1, 16].map((concurrency) => ({
  name: `put 4 KiB c=${concurrency}`,
  rounds: PUT_ROUNDS,
  subjects: {
    driver: async (round) => {
      await settle();
      return measureConcurrent('driver', PUTS, concurrency, async (i) => (await driver.putContent(`/put/c${concurrency}-${round}/${i}`, content), PUT_BYTES));
    },
    raw: async (round) => {
      const dir = join(rawTop, 'put', `c${concurrency}-${round}`);
      mkdirSync(dir, { recursive: true });
      await settle();
      return measureConcurrent('raw', PUTS, concurrency, async (i) => (await rawPut(dir, String(i)), PUT_BYTES));
    },
    'raw+identity': async (round) => {
      const dir = join(rawTop, 'put-identity', `c${concurrency}-${round}`);
      mkdirSync(dir, { recursive: true });
      await settle();
      return measureConcurrent('raw+identity', PUTS, concurrency, async (i) => (await rawPutWithIdentity(dir, String(i)), PUT_BYTES));
    },
  },
}));
operations.push(
  {
    name: `write ${STREAM_LABEL} stream`,
    subjects: {
      driver: async () => {
        await settle();
        return measure('driver', 1, async () => {
          const writer = await driver.writer('/stream/big');
          await pipeline(source(), writer.writable());
          await writer.commit();
          return STREAM_BYTES;
        });
      },
      raw: async () => {
        await settle();
        return measure('raw', 1, async () => (await rawStreamWrite(join(rawTop, 'big')), STREAM_BYTES));
      },
    },
  },
  {
    name: `read ${STREAM_LABEL} stream`,
    subjects: {
      driver: () => measure('driver', 1, async () => (await pipeline(await driver.reader('/stream/big'), sink()), STREAM_BYTES)),
      raw: () => measure('raw', 1, async () => (await pipeline(createReadStream(join(rawTop, 'big'), { highWaterMark: MiB }), sink()), STREAM_BYTES)),
    },
  },
);

const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const chosen = benchCells([], operations.map((operation) => operation.name)).operations;

try {
  const cells = [];
  for (const operation of operations.filter((candidate) => chosen.includes(candidate.name))) {
    const names = Object.keys(operation.subjects);
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round <= (operation.rounds ?? benchRuns()); round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        const m = await operation.subjects[name](round);
        if (round > 0) runs[name].push(m);
      }
    }
    for (const name of names) cells.push({ operation: operation.name, subject: name, runs: runs[name] });
  }
  publishBenchReport({
    title: 'filesystem: durable writes and reads',
    subject: 'driver',
    setup: [
      `The machine's disk, one process; each round rotates the subjects' order; ${PUT_ROUNDS} timed rounds per put cell (a put round's figure moves by up to 2× between rounds on this disk, for any subject) and ${benchRuns()} per stream cell, after a warm-up round; ${PUTS} new 4 KiB files per put round; streams of ${STREAM_LABEL} in ${CHUNK / MiB} MiB chunks; every write measurement (puts and streams) after \`sync\` and a 2 s pause (untimed).`,
      'raw, for writes: node:fs making exactly the durability calls the driver makes — write a temporary file, fsync it, rename it onto the target, fsync the target directory (streams: a write stream with flush, then rename and the directory fsync) — with its temporary files in the driver\'s staging directory and its files beside the driver\'s (ext4 places a new inode in its directory\'s block group, and here a group with inodes freed in the last minutes slowed every file made in it up to 3×: in directories of their own, that placement decided the ratio); for reads: fs.createReadStream with 1 MiB buffers.',
      'raw+identity, for puts: raw plus the three calls the driver makes for its etag and metadata, made as the driver makes them, all synchronous — lstat of the root\'s ~meta (whether any metadata sidecar exists: none does here, so the replaced file, whose sidecar would go, needs no look-up), then futimens (a stamp that keeps etags unique when an inode is reused within a clock tick) and fstat of the written file, on the open file\'s inode, before its fsync.',
      'Peak RSS is the one process every subject shares.',
    ],
    cells,
    goals: [
      { operation: 'put', baseline: 'raw', metric: 'speed', ratio: 0.95 },
      { operation: 'put', baseline: 'raw+identity', metric: 'speed', ratio: 0.95 },
      { operation: 'write', baseline: 'raw', metric: 'speed', ratio: 0.95 },
      { operation: 'read', baseline: 'raw', metric: 'speed', ratio: 1 },
    ],
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
