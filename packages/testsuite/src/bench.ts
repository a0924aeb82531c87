/**
 * Benchmarks (upstream §8.3) and the harness driver packages use for their side-by-side figures:
 * every measurement samples resident memory while it runs, and tables put a baseline beside each
 * figure measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';

import type { StorageDriver } from '@storagedriver/core';

import { patternBytes, patternStream, randomName } from './data.js';

/** One benchmark's result, as `measure` and `measureConcurrent` give it. */
export interface Measurement {
  /** The benchmark's name. */
  name: string;
  /** Operations run. */
  operations: number;
  /** Bytes moved by all operations together. */
  bytes: number;
  /** Time the operations took, in seconds (setup excluded). */
  seconds: number;
  /** Highest resident set size seen while it ran, minus the resident size when it started (MiB). */
  rssGrowthMiB: number;
  /** Highest resident set size seen while it ran (MiB). */
  peakRssMiB: number;
}

const MiB = 1024 * 1024;

/**
 * Runs `body` (which returns the bytes it moved) `operations` times, sampling RSS every 20 ms.
 * `setup`, when given, runs before each operation outside the timing.
 */
export async function measure(
  name: string,
  operations: number,
  body: (index: number) => Promise<number>,
  setup?: (index: number) => Promise<void>,
): Promise<Measurement> {
  const startRss = process.memoryUsage.rss();
  let peak = startRss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  let bytes = 0;
  let elapsed = 0;
  try {
    for (let i = 0; i < operations; i++) {
      if (setup) await setup(i);
      const started = process.hrtime.bigint();
      bytes += await body(i);
      elapsed += Number(process.hrtime.bigint() - started) / 1e9;
    }
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { name, operations, bytes, seconds: elapsed, rssGrowthMiB: (peak - startRss) / MiB, peakRssMiB: peak / MiB };
}

/** Runs `body` with `concurrency` workers sharing `operations` operations; timed as a whole. */
export async function measureConcurrent(
  name: string,
  operations: number,
  concurrency: number,
  body: (index: number) => Promise<number>,
): Promise<Measurement> {
  return measure(name, 1, async () => {
    let next = 0;
    let bytes = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < operations) bytes += await body(next++);
      }),
    );
    return bytes;
  }).then((m) => ({ ...m, operations }));
}

/** Options of `runBenchmarks`. */
export interface BenchmarkOptions {
  /** Makes the driver to measure (once). */
  create: () => StorageDriver | Promise<StorageDriver>;
  /** Called after the benchmarks, to release what `create` made. */
  teardown?: () => void | Promise<void>;
  /** Size of the largest files (upstream: 1 GiB). Default 1 GiB. */
  largeSize?: number;
  /** Operations per small-file benchmark. Default 50. */
  iterations?: number;
}

/** The upstream benchmark set against one driver. */
export async function runBenchmarks(options: BenchmarkOptions): Promise<Measurement[]> {
  const driver = await options.create();
  const large = options.largeSize ?? 1024 * MiB;
  const iterations = options.iterations ?? 50;
  const results: Measurement[] = [];
  const parent = `/${randomName(12)}`;
  try {
    for (const [label, size, count] of [
      ['empty', 0, iterations],
      ['1 KiB', 1024, iterations],
      ['1 MiB', MiB, iterations],
      [formatBytes(large), large, 1],
    ] as const) {
      const content = patternBytes(Math.min(size, 64 * MiB), 1);
      if (size <= 64 * MiB) {
        results.push(
          await measure(`PutGet ${label} files`, count, async () => {
            const p = `${parent}/${randomName(32)}`;
            await driver.putContent(p, content);
            return size + (await driver.getContent(p)).length;
          }),
        );
      }
      results.push(
        await measure(`Stream ${label} files`, count, async () => {
          const p = `${parent}/${randomName(32)}`;
          const writer = await driver.writer(p);
          await pipeline(patternStream(size, 2, MiB), writer.writable());
          await writer.commit();
          await writer.close();
          let read = 0;
          await pipeline(
            await driver.reader(p),
            new Writable({
              write(chunk: Buffer, _encoding, callback) {
                read += chunk.length;
                callback();
              },
            }),
          );
          return size + read;
        }),
      );
      await driver.delete(parent).catch(() => undefined);
    }
    for (const files of [5, 50]) {
      const dir = `${parent}/list${files}`;
      for (let i = 0; i < files; i++) await driver.putContent(`${dir}/${randomName(32)}`, '');
      results.push(
        await measure(`List ${files} files`, iterations, async () => {
          const listed = await driver.list(dir);
          if (listed.length !== files) throw new Error(`list returned ${listed.length} entries, expected ${files}`);
          return 0;
        }),
      );
      await driver.delete(dir);
      let batch = '';
      results.push(
        await measure(
          `Delete ${files} files`,
          Math.max(5, Math.floor(iterations / 5)),
          async () => {
            await driver.delete(batch);
            return 0;
          },
          async () => {
            batch = `${parent}/delete${files}-${randomName(8)}`;
            for (let i = 0; i < files; i++) await driver.putContent(`${batch}/${randomName(32)}`, '');
          },
        ),
      );
    }
  } finally {
    await driver.delete(parent).catch(() => undefined);
    await options.teardown?.();
  }
  return results;
}

/** `bytes` for people: in GiB, MiB or KiB when a whole multiple of one, else in bytes (`1 GiB`, `4 KiB`, `1000 B`). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Figures of a measurement as table cells. */
export function figures(m: Measurement): Record<string, string> {
  return {
    benchmark: m.name,
    ops: String(m.operations),
    'ops/s': (m.operations / m.seconds).toFixed(1),
    'MiB/s': m.bytes === 0 ? '-' : (m.bytes / MiB / m.seconds).toFixed(1),
    'ms/op': ((m.seconds * 1000) / m.operations).toFixed(2),
    'peak RSS MiB': m.peakRssMiB.toFixed(0),
    'RSS growth MiB': m.rssGrowthMiB.toFixed(0),
  };
}

/**
 * Rows measured side by side: each subject against the baseline of the same pair, with the ratio
 * of throughput (subject / baseline; above 1 means the subject is faster).
 */
export function compare(subject: Measurement, baseline: Measurement): Record<string, string> {
  const rate = (m: Measurement) => (m.bytes > 0 ? m.bytes / m.seconds : m.operations / m.seconds);
  return { ...figures(subject), baseline: baseline.name, 'vs baseline': `${(rate(subject) / rate(baseline)).toFixed(2)}×` };
}

/** Options of `runSideBySide`. */
export interface SideBySideOptions {
  /** The benchmark script; run as `node <script> --child <subject> <operation>`, it prints one Measurement as JSON on its last stdout line. */
  script: string;
  /** The subjects to compare (names the script understands). */
  subjects: readonly string[];
  /** The operations to measure (names the script understands). */
  operations: readonly string[];
  /** The subject every other is compared with. */
  baseline: string;
  /** The child processes' environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Called after each operation has been measured on every subject (for progress output). */
  onOperationDone?: (operation: string) => void;
}

/**
 * Measures every (subject, operation) in a Node process of its own, so each peak resident memory is
 * its own, rotating the order per operation so no subject always runs first on a cold server.
 * Returns table rows, each against the baseline of the same operation.
 */
export function runSideBySide(options: SideBySideOptions): Record<string, string>[] {
  const { script, subjects, operations, baseline } = options;
  const rows: Record<string, string>[] = [];
  for (const [index, operation] of operations.entries()) {
    const results = new Map<string, Measurement>();
    const shift = index % subjects.length;
    for (const subject of [...subjects.slice(shift), ...subjects.slice(0, shift)]) {
      const run = spawnSync(process.execPath, [script, '--child', subject, operation], { env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 16 * MiB });
      if (run.status !== 0) throw new Error(`${subject}: ${operation} failed:\n${run.stderr}`);
      results.set(subject, JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Measurement);
    }
    for (const subject of subjects) rows.push(compare(results.get(subject)!, results.get(baseline)!));
    options.onOperationDone?.(operation);
  }
  return rows;
}

/** A plain-text table with aligned columns. */
export function formatTable(rows: ReadonlyArray<Record<string, string>>): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(columns.map((c) => row[c] ?? '')))].join('\n');
}
