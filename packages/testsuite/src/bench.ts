/**
 * Benchmarks (upstream §8.3) and the harness driver packages use for their side-by-side figures:
 * every measurement samples resident memory while it runs, and tables put a baseline beside each
 * figure measured in the same run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Readable, Writable } from 'node:stream';

import type { StorageDriver } from '@storagedriver/core';

import { chunkedStream, patternBytes, patternStream, randomName } from './data.js';

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
  /** CPU time (user + system) of this process while the operations ran, in microseconds. */
  cpuMicros: number;
  /**
   * Busy time of every core of the machine while the operations ran (this process, the servers on
   * the same cores, anything else), in microseconds; Linux only, to 10 ms.
   */
  machineCpuMicros?: number;
}

const MiB = 1024 * 1024;

/** USER_HZ, the unit of /proc/stat: 100 on the Linux ABIs Node runs on. */
const PROC_STAT_TICK_MICROS = 10_000;

/** The machine's busy CPU time so far (all cores), in microseconds, or undefined off Linux. */
function machineBusyMicros(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
  // `cpu  user nice system idle iowait irq softirq steal …`: all but idle and iowait are busy.
  const [user, nice, system, , , irq, softirq, steal] = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * PROC_STAT_TICK_MICROS;
}

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
  let cpuMicros = 0;
  let machineCpuMicros: number | undefined = 0;
  try {
    for (let i = 0; i < operations; i++) {
      if (setup) await setup(i);
      const machineBefore = machineBusyMicros();
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      bytes += await body(i);
      elapsed += Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      const machineAfter = machineBusyMicros();
      cpuMicros += cpu.user + cpu.system;
      machineCpuMicros = machineBefore === undefined || machineAfter === undefined || machineCpuMicros === undefined ? undefined : machineCpuMicros + machineAfter - machineBefore;
    }
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { name, operations, bytes, seconds: elapsed, rssGrowthMiB: (peak - startRss) / MiB, peakRssMiB: peak / MiB, cpuMicros, ...(machineCpuMicros === undefined ? {} : { machineCpuMicros }) };
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
        while (next < operations) {
          // Not `bytes += await …`: that reads `bytes` before the await and loses the other workers' additions.
          const moved = await body(next++);
          bytes += moved;
        }
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

/** Every run of one operation by one subject. */
export interface BenchCell {
  /** The operation's name; it sets the unit (see `benchUnit`). */
  operation: string;
  /** Who ran it: the driver or a baseline. */
  subject: string;
  /** Every run's measurement. */
  runs: Measurement[];
}

/**
 * A figure the report checks against a baseline of the same run, as `compareCells` measures it.
 * `speed`: the subject's throughput / the baseline's must be at least `ratio`; `cpu` (CPU per
 * operation) and `rss` (peak resident memory): the subject's / the baseline's must be at most `ratio`.
 */
export interface BenchGoal {
  /** The operations it applies to: every one whose name starts with this. */
  operation: string;
  /** The subject the report's subject is compared with. */
  baseline: string;
  /** Throughput, CPU per operation or peak resident memory. */
  metric: 'speed' | 'cpu' | 'rss';
  /** The bound on subject / baseline: a minimum for `speed`, a maximum for the others. */
  ratio: number;
}

/** One benchmark's results as the repository's BENCHMARKS.md shows them. */
export interface BenchReport {
  /** The section's title (`s3 on Ceph RGW`). */
  title: string;
  /** The subject the goals are about (this repository's driver). */
  subject: string;
  /** What was measured, how, against which server and versions: one line each. */
  setup: string[];
  /** What was measured. */
  cells: BenchCell[];
  /** What the subject's figures should reach. */
  goals: BenchGoal[];
  /** What the reader needs to know about a figure (why a goal is out of reach, say). */
  notes?: string[];
  /** Subjects without goals that get a ratio column of their own (a floor every subject is read against). */
  references?: string[];
}

/**
 * How an operation's figure is shown: `MiB/s` for operations named with `stream`, the time of one
 * operation in `ms` for those starting with `walk` or `list`, `ops/s` for the rest (case ignored).
 * A stream cell that moved no bytes (upstream's "Stream empty files") is shown in `ops/s`.
 */
export function benchUnit(operation: string): 'MiB/s' | 'ms' | 'ops/s' {
  if (/stream/i.test(operation)) return 'MiB/s';
  if (/^(walk|list)/i.test(operation)) return 'ms';
  return 'ops/s';
}

/** Repeated runs of `runBenchmarks` as the cells of one subject, one cell per benchmark. */
export function benchmarkCells(subject: string, runs: ReadonlyArray<readonly Measurement[]>): BenchCell[] {
  const cells = new Map<string, BenchCell>();
  for (const run of runs) {
    for (const m of run) {
      const cell = cells.get(m.name) ?? { operation: m.name, subject, runs: [] };
      cell.runs.push(m);
      cells.set(m.name, cell);
    }
  }
  return [...cells.values()];
}

function cellUnit(cell: BenchCell): 'MiB/s' | 'ms' | 'ops/s' {
  const unit = benchUnit(cell.operation);
  return unit === 'MiB/s' && cell.runs.every((m) => m.bytes === 0) ? 'ops/s' : unit;
}

/** Throughput of a measurement in the unit's terms; higher is faster for every unit. */
function speed(unit: 'MiB/s' | 'ms' | 'ops/s', m: Measurement): number {
  return unit === 'MiB/s' ? m.bytes / MiB / m.seconds : m.operations / m.seconds;
}

/** The shown figure for a throughput (for `ms`, the time of one operation). */
function shown(unit: 'MiB/s' | 'ms' | 'ops/s', rate: number): number {
  return unit === 'ms' ? 1000 / rate : rate;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A cell's figures over its runs. */
export interface CellMedians {
  /** Median throughput (MiB/s for streams, operations/s otherwise). */
  speed: number;
  /** Lowest throughput of the runs. */
  minSpeed: number;
  /** Highest throughput of the runs. */
  maxSpeed: number;
  /** Median client CPU per operation, in microseconds. */
  cpuMicrosPerOp: number;
  /** Median busy CPU of the whole machine per operation, in microseconds, when every run measured it. */
  machineCpuMicrosPerOp: number | undefined;
  /** Median peak resident memory, in MiB. */
  peakRssMiB: number;
}

/** The medians of a cell's runs, each figure on its own (throughput, CPU per operation, peak RSS). */
export function cellMedians(cell: BenchCell): CellMedians {
  const unit = cellUnit(cell);
  const speeds = cell.runs.map((m) => speed(unit, m));
  return {
    speed: median(speeds),
    minSpeed: Math.min(...speeds),
    maxSpeed: Math.max(...speeds),
    cpuMicrosPerOp: median(cell.runs.map((m) => m.cpuMicros / m.operations)),
    machineCpuMicrosPerOp: cell.runs.every((m) => m.machineCpuMicros !== undefined) ? median(cell.runs.map((m) => m.machineCpuMicros! / m.operations)) : undefined,
    peakRssMiB: median(cell.runs.map((m) => m.peakRssMiB)),
  };
}

/**
 * A subject's figure over a baseline's. When both cells ran equally often their runs are paired by
 * index (`runSideBySide` runs them together: in a small-object cell the subjects took turns, so both
 * met the server in the same state) and the ratio is the median of the runs' ratios, with the
 * lowest and highest; otherwise it is the ratio of the medians.
 */
export interface BenchRatio {
  /** The median of the runs' ratios, or the ratio of the medians when the runs are not paired. */
  median: number;
  /** The lowest run's ratio (the median, when not paired). */
  min: number;
  /** The highest run's ratio (the median, when not paired). */
  max: number;
  /** How many runs were paired: 0 when the cells ran a different number of times. */
  pairedRuns: number;
}

/** A run's figure on a goal's metric: throughput in the cell's unit, CPU per operation or peak RSS. */
function runFigure(metric: BenchGoal['metric'], unit: 'MiB/s' | 'ms' | 'ops/s', m: Measurement): number {
  return metric === 'speed' ? speed(unit, m) : metric === 'cpu' ? m.cpuMicros / m.operations : m.peakRssMiB;
}

/** `ours` over `base` on a metric (for `speed`, above 1 is faster), run by run when the runs are paired. */
export function compareCells(ours: BenchCell, base: BenchCell, metric: BenchGoal['metric']): BenchRatio {
  const unit = cellUnit(ours);
  if (ours.runs.length === base.runs.length) {
    const ratios = ours.runs.map((m, i) => runFigure(metric, unit, m) / runFigure(metric, unit, base.runs[i]!));
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), pairedRuns: ratios.length };
  }
  const ratio = median(ours.runs.map((m) => runFigure(metric, unit, m))) / median(base.runs.map((m) => runFigure(metric, unit, m)));
  return { median: ratio, min: ratio, max: ratio, pairedRuns: 0 };
}

/** A ratio as the report shows it: `1.04×`, with the runs' lowest and highest when more than one run was paired. */
export function formatRatio(ratio: BenchRatio): string {
  return `${ratio.median.toFixed(2)}×${ratio.pairedRuns > 1 ? ` (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})` : ''}`;
}

/** A goal's outcome on one operation. */
export interface BenchGoalResult {
  /** The goal checked. */
  goal: BenchGoal;
  /** The operation it was checked on. */
  operation: string;
  /** The measured subject / baseline (see `BenchRatio`), or undefined when either cell is missing. */
  measured: BenchRatio | undefined;
  /** Whether the measured ratio's median is within the goal (false when it could not be measured). */
  met: boolean;
}

/** Every goal of the report checked on every operation it applies to. */
export function checkGoals(report: BenchReport): BenchGoalResult[] {
  const find = (operation: string, subject: string) => report.cells.find((c) => c.operation === operation && c.subject === subject);
  const operations = [...new Set(report.cells.map((c) => c.operation))];
  return report.goals.flatMap((goal) =>
    operations
      .filter((operation) => operation.startsWith(goal.operation))
      .map((operation) => {
        const ours = find(operation, report.subject);
        const base = find(operation, goal.baseline);
        if (!ours || !base) return { goal, operation, measured: undefined, met: false };
        const measured = compareCells(ours, base, goal.metric);
        return { goal, operation, measured, met: goal.metric === 'speed' ? measured.median >= goal.ratio : measured.median <= goal.ratio };
      }),
  );
}

/** A goal in words: `≥ 1.00× opendal`, `CPU/op ≤ 1.00× opendal`, `RSS ≤ 1.30× opendal`. */
export function describeGoal(goal: BenchGoal): string {
  const bound = `${goal.ratio.toFixed(2)}× ${goal.baseline}`;
  return goal.metric === 'speed' ? `≥ ${bound}` : `${goal.metric === 'cpu' ? 'CPU/op' : 'RSS'} ≤ ${bound}`;
}

/**
 * Table rows of a report, one per cell: the median figure with min–max of the runs, median client
 * CPU per operation and peak RSS, the speed ratio against the report's subject and each goal's
 * baseline (see `compareCells`), and on the subject's rows every goal of that operation, ⚑ when it
 * is not met.
 */
export function benchRows(report: BenchReport): Record<string, string>[] {
  // Ratio columns against the report's subject and every goal's baseline (on many subjects, a
  // column per subject would bury the ones that matter).
  const present = new Set(report.cells.map((c) => c.subject));
  const subjects = [...new Set([report.subject, ...report.goals.map((g) => g.baseline), ...(report.references ?? [])])].filter((s) => present.has(s));
  const results = checkGoals(report);
  const machineColumn = report.cells.some((cell) => cell.runs.some((m) => m.machineCpuMicros !== undefined));
  return report.cells.map((cell) => {
    const m = cellMedians(cell);
    const unit = cellUnit(cell);
    const digits = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2));
    const low = shown(unit, unit === 'ms' ? m.maxSpeed : m.minSpeed);
    const high = shown(unit, unit === 'ms' ? m.minSpeed : m.maxSpeed);
    const row: Record<string, string> = {
      operation: cell.operation,
      subject: cell.subject,
      'median (min–max)': `${digits(shown(unit, m.speed))} (${digits(low)}–${digits(high)}) ${unit}`,
      runs: String(cell.runs.length),
      'CPU µs/op': m.cpuMicrosPerOp.toFixed(0),
      ...(machineColumn ? { 'machine CPU µs/op': m.machineCpuMicrosPerOp?.toFixed(0) ?? '' } : {}),
      'peak RSS MiB': m.peakRssMiB.toFixed(0),
    };
    for (const other of present.size > 1 ? subjects : []) {
      const base = report.cells.find((c) => c.operation === cell.operation && c.subject === other);
      row[`vs ${other}`] = other === cell.subject || !base ? '' : formatRatio(compareCells(cell, base, 'speed'));
    }
    if (report.goals.length === 0) return row;
    row.goals =
      cell.subject !== report.subject
        ? ''
        : results
            .filter((r) => r.operation === cell.operation)
            .map((r) => `${r.met ? '✓' : '⚑'} ${describeGoal(r.goal)}${r.goal.metric === 'speed' || r.measured === undefined ? '' : ` (${formatRatio(r.measured)})`}`)
            .join('; ');
    return row;
  });
}

/**
 * Prints a report (its setup lines, the table and the goals not met) and, when the environment names
 * a directory in BENCH_REPORT_DIR (as `pnpm bench` does), writes it there as JSON for BENCHMARKS.md.
 */
export function publishBenchReport(report: BenchReport): void {
  const missed = checkGoals(report).filter((r) => !r.met);
  const lines = [
    `\n${report.title}`,
    ...report.setup.map((l) => `  ${l}`),
    '',
    formatTable(benchRows(report)),
    report.goals.length === 0 ? '' : missed.length === 0 ? 'every goal met' : `goals not met: ${missed.map((r) => `${r.operation} ${describeGoal(r.goal)}`).join('; ')}`,
    ...(report.notes ?? []),
  ];
  console.log(lines.join('\n'));
  const dir = process.env.BENCH_REPORT_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const slug = report.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    writeFileSync(join(dir, `${slug}.json`), `${JSON.stringify(report, null, 2)}\n`);
  }
}

/** How many times every cell runs: BENCH_RUNS, default 3 (a table shows min–max of the runs). */
export function benchRuns(): number {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
  return runs;
}

/**
 * A benchmark's write source: `source()` gives a fresh stream of `size` bytes in chunks of
 * `chunkSize` (odd by default, as patternStream's), each chunk a view into one block of pattern
 * bytes made when `streamSource` is called, so the timed loop pays for no data. Computing every byte
 * as it goes (patternStream) costs a client here 0.3–0.5 s of CPU per 256 MiB, on cores the servers
 * share, where a real source (a file in the page cache, a socket) costs a copy at most; `rados bench`
 * too writes from one buffer. The content repeats every 16 chunks: no server here dedupes or
 * compresses, and write cells only count bytes.
 */
export function streamSource(size: number, chunkSize = MiB + 7): () => Readable {
  const block = patternBytes(chunkSize * SOURCE_BLOCK_CHUNKS, 5);
  return () =>
    chunkedStream(size, chunkSize, (sent, length) => {
      const start = ((sent / chunkSize) % SOURCE_BLOCK_CHUNKS) * chunkSize;
      return block.subarray(start, start + length);
    });
}

const SOURCE_BLOCK_CHUNKS = 16;

/** What one subject of a side-by-side benchmark does; each returns the bytes it moved (a walk: the entries it saw). */
export interface BenchSubject {
  /** Writes the stream of `streamBytes` the read cells read back. */
  writeStream?: () => Promise<number>;
  /** Reads back what writeStream wrote. */
  readStream?: () => Promise<number>;
  /** Puts the small object number `index`. */
  put?: (index: number) => Promise<number>;
  /** Gets the small object number `index` (put by the same subject's put cells, or seeded). */
  get?: (index: number) => Promise<number>;
  /** Lists the walk's tree recursively; returns the entries that are not directories. */
  walk?: () => Promise<number>;
}

/** The sizes `measureOperation` checks what a subject moved against. */
export interface BenchSizes {
  /** Bytes of a stream cell. */
  streamBytes: number;
  /** Operations per small-object cell: the objects a put cell writes. */
  smallCount: number;
  /**
   * Operations per get cell, round the `smallCount` objects as often as it takes (default
   * `smallCount`): longer get turns on a server whose reads slow as objects accumulate.
   */
  getCount?: number;
  /** Bytes of each small object. */
  smallBytes: number;
  /** Entries a walk must see. */
  walkEntries: number;
}

/**
 * Small-object operations a cell runs untimed before its timed loop (on its keys in order, round
 * again if it has fewer, at the cell's concurrency), so the figures are a running process's: its
 * connections open and its code compiled.
 * In a fresh process the first thousand 4 KiB GETs cost a JavaScript client (the s3 driver, or bare
 * node:http) 1.3–1.6× the CPU of later ones, and a native one (OpenDAL) no more: start-up, not a
 * cost per operation.
 */
export const WARM_UP_OPERATIONS = 1000;

/**
 * Measures one operation of the usual set on a subject, by the operation's name: `write … stream`,
 * `read … stream`, `put … c=N` and `get … c=N` (`smallCount` operations, or `getCount` gets round
 * the same keys, N in flight, after WARM_UP_OPERATIONS untimed ones on the same keys), `walk …`
 * (after one untimed walk; `WALK_TURNS` walks when taking turns in `runSideBySide`, else one).
 * Fails when the bytes or entries are not what `sizes` says: a benchmark that moved nothing
 * measured nothing. For a script's `--child` side of `runSideBySide`.
 */
export async function measureOperation(label: string, operation: string, subject: BenchSubject, sizes: BenchSizes): Promise<Measurement> {
  const need = <T>(step: T | undefined, name: string): T => {
    if (step === undefined) throw new Error(`${label}: the subject has no ${name}`);
    return step;
  };
  let m: Measurement;
  let expected: number;
  if (operation.startsWith('write')) {
    m = await measure(label, 1, need(subject.writeStream, 'writeStream'));
    expected = sizes.streamBytes;
  } else if (operation.startsWith('read')) {
    m = await measure(label, 1, need(subject.readStream, 'readStream'));
    expected = sizes.streamBytes;
  } else if (operation.startsWith('walk')) {
    const walk = need(subject.walk, 'walk');
    const check = (entries: number): void => {
      if (entries !== sizes.walkEntries) throw new Error(`${label}: saw ${entries} entries, expected ${sizes.walkEntries}`);
    };
    // Untimed first, as a small-object cell's warm-up: the timed walk is a running process's.
    check(await walk());
    if (takingTurns()) return await measureInTurns(label, WALK_TURNS, 1, 1, async () => (check(await walk()), 0));
    let entries = 0;
    m = await measure(label, 1, async () => ((entries = await walk()), 0));
    check(entries);
    return m;
  } else {
    const concurrency = Number(/c=(\d+)$/.exec(operation)?.[1]);
    if (!(concurrency > 0)) throw new Error(`${label}: no concurrency (c=N) in the operation's name`);
    const isPut = operation.startsWith('put');
    const step = isPut ? need(subject.put, 'put') : need(subject.get, 'get');
    const count = isPut ? sizes.smallCount : (sizes.getCount ?? sizes.smallCount);
    const body = (index: number) => step(index % sizes.smallCount);
    await measureConcurrent(`${label} (warm-up)`, WARM_UP_OPERATIONS, concurrency, body);
    m = takingTurns() ? await measureInTurns(label, count, concurrency, TURN_OPERATIONS, body) : await measureConcurrent(label, count, concurrency, body);
    expected = count * sizes.smallBytes;
  }
  if (m.bytes !== expected) throw new Error(`${label}: moved ${m.bytes} bytes, expected ${expected}`);
  return m;
}

/** Options of `runSideBySide`. */
export interface SideBySideOptions {
  /** The benchmark script; run as `node [nodeArgs] <script> --child <subject> <operation>`, it prints one Measurement as JSON on its last stdout line. */
  script: string;
  /** The subjects to compare (names the script understands). */
  subjects: readonly string[];
  /** The operations to measure (names the script understands). */
  operations: readonly string[];
  /** Times each (subject, operation) runs. Default: `benchRuns()`. */
  runs?: number;
  /** The child processes' environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Node options of a subject's child processes (`--cpu-prof` for the driver, say). */
  nodeArgs?: (subject: string) => string[];
  /** Called after each operation has been measured on every subject (for progress output). */
  onOperationDone?: (operation: string) => void;
  /** Whether a subject takes part in an operation (a baseline of small requests only, say). Default: every subject in every operation. */
  takesPart?: (subject: string, operation: string) => boolean;
}

/**
 * Small-object operations a subject runs per turn when `runSideBySide` has the subjects of a cell
 * take turns: enough that the ramp up and down of a turn at concurrency 16 costs little, few enough
 * that a cell of 2 000 operations takes eight turns.
 */
export const TURN_OPERATIONS = 250;

/**
 * Walks a walk cell times per run when its subjects take turns, one walk a turn: a walk is one long
 * operation, and one walk per process (the subjects one after another) moved with the server's state
 * by more than the subjects differed.
 */
export const WALK_TURNS = 5;

/** Set by `runSideBySide` in its children: `measureOperation` then times small-object operations and walks in the turns the parent gives. */
const TAKE_TURNS_ENV = 'BENCH_TAKE_TURNS';

function takingTurns(): boolean {
  return process.env[TAKE_TURNS_ENV] === '1' && process.send !== undefined;
}

type ToChild = { type: 'turn'; start: number; end: number } | { type: 'finish' };
type FromChild = { type: 'ready'; operations: number; perTurn: number } | { type: 'done' };

/** Events as a queue a loop awaits one at a time. */
function eventQueue<T>(): { push: (event: T) => void; next: () => Promise<T> } {
  const queued: T[] = [];
  const waiting: ((event: T) => void)[] = [];
  return {
    push: (event) => {
      const waiter = waiting.shift();
      if (waiter) waiter(event);
      else queued.push(event);
    },
    next: () => (queued.length > 0 ? Promise.resolve(queued.shift()!) : new Promise<T>((resolve) => waiting.push(resolve))),
  };
}

/**
 * A `runSideBySide` child's side of the turns: after its warm-up it reports ready with its count of
 * operations and how many a turn holds, then runs each turn it is given (operations `start` to `end`,
 * at `concurrency`), timed, until told to finish. The measurement adds up the turns; peak RSS is the
 * highest of any turn.
 */
async function measureInTurns(name: string, operations: number, concurrency: number, perTurn: number, body: (index: number) => Promise<number>): Promise<Measurement> {
  const messages = eventQueue<ToChild | { type: 'disconnected' }>();
  const onMessage = (message: ToChild): void => messages.push(message);
  const onDisconnect = (): void => messages.push({ type: 'disconnected' });
  process.on('message', onMessage).once('disconnect', onDisconnect);
  const send = (message: FromChild): Promise<void> =>
    new Promise((resolve, reject) => process.send!(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve())));
  const startRssMiB = process.memoryUsage.rss() / MiB;
  const total: Measurement = { name, operations: 0, bytes: 0, seconds: 0, rssGrowthMiB: 0, peakRssMiB: startRssMiB, cpuMicros: 0, machineCpuMicros: 0 };
  try {
    await send({ type: 'ready', operations, perTurn });
    for (let message = await messages.next(); message.type !== 'finish'; message = await messages.next()) {
      if (message.type === 'disconnected') throw new Error(`${name}: the benchmark's parent went away before the last turn`);
      const { start } = message;
      const turn = await measureConcurrent(name, message.end - start, concurrency, (index) => body(start + index));
      total.operations += turn.operations;
      total.bytes += turn.bytes;
      total.seconds += turn.seconds;
      total.cpuMicros += turn.cpuMicros;
      total.machineCpuMicros = turn.machineCpuMicros === undefined || total.machineCpuMicros === undefined ? undefined : total.machineCpuMicros + turn.machineCpuMicros;
      total.peakRssMiB = Math.max(total.peakRssMiB, turn.peakRssMiB);
      await send({ type: 'done' });
    }
  } finally {
    process.off('message', onMessage).off('disconnect', onDisconnect);
    if (process.connected) process.disconnect();
  }
  if (total.operations !== operations) throw new Error(`${name}: the turns ran ${total.operations} operations, expected ${operations}`);
  const { machineCpuMicros, ...rest } = total;
  return { ...rest, rssGrowthMiB: total.peakRssMiB - startRssMiB, ...(machineCpuMicros === undefined ? {} : { machineCpuMicros }) };
}

/** One child process of `runSideBySide`: its messages and its end, in order. */
class BenchChild {
  readonly #process: ChildProcess;
  readonly #events = eventQueue<FromChild | { type: 'closed'; code: number | null }>();
  #stdout = '';
  #stderr = '';
  #closed = false;

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.#process = spawn(process.execPath, args, { env: { ...env, [TAKE_TURNS_ENV]: '1' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.#process.stdout!.setEncoding('utf8').on('data', (text: string) => (this.#stdout += text));
    this.#process.stderr!.setEncoding('utf8').on('data', (text: string) => (this.#stderr += text));
    this.#process.on('message', (message: FromChild) => this.#events.push(message));
    this.#process.on('close', (code) => {
      this.#closed = true;
      this.#events.push({ type: 'closed', code });
    });
  }

  /** Its next message; if it ended instead, its measurement (a child that ran its cell alone). */
  async next(): Promise<FromChild | { type: 'measured'; measurement: Measurement }> {
    const event = await this.#events.next();
    if (event.type !== 'closed') return event;
    if (event.code !== 0) throw new Error(`${this.label} failed:\n${this.#stderr}`);
    return { type: 'measured', measurement: JSON.parse(this.#stdout.trim().split('\n').at(-1)!) as Measurement };
  }

  async turn(start: number, end: number): Promise<void> {
    this.#process.send({ type: 'turn', start, end } satisfies ToChild);
    const reply = await this.next();
    if (reply.type !== 'done') throw new Error(`${this.label}: expected the end of a turn, got ${reply.type}`);
  }

  async finish(): Promise<Measurement> {
    this.#process.send({ type: 'finish' } satisfies ToChild);
    const reply = await this.next();
    if (reply.type !== 'measured') throw new Error(`${this.label}: expected its measurement, got ${reply.type}`);
    return reply.measurement;
  }

  kill(): void {
    if (!this.#closed) this.#process.kill();
  }
}

/** `list` started `shift` places on, wrapping round. */
function rotated<T>(list: readonly T[], shift: number): T[] {
  const at = list.length === 0 ? 0 : shift % list.length;
  return [...list.slice(at), ...list.slice(0, at)];
}

/**
 * Measures every (subject, operation) `runs` times, each subject in a Node process of its own so
 * each peak resident memory and CPU figure is its own, rotating the subjects' order per operation
 * and run so none always meets a cold or a tired server first.
 * The subjects of a small-object cell (`measureOperation`'s `put`/`get … c=N`) take turns: each
 * child starts, warms up and waits while the next one does; then they run `TURN_OPERATIONS`
 * operations at a time in rotating order, so every subject meets the server in the same state
 * (a server slows as objects accumulate and as its memory fills). Walk cells take turns the same
 * way, one walk a turn, `WALK_TURNS` each. Stream cells, and children that do not take turns, run
 * one subject at a time.
 */
export async function runSideBySide(options: SideBySideOptions): Promise<BenchCell[]> {
  const { script, subjects, operations } = options;
  const runs = options.runs ?? benchRuns();
  const cells: BenchCell[] = [];
  for (const [index, operation] of operations.entries()) {
    const results = new Map<string, Measurement[]>(subjects.map((s) => [s, []]));
    for (let run = 0; run < runs; run++) {
      const started: BenchChild[] = [];
      const waiting: { subject: string; child: BenchChild; turns: { start: number; end: number }[] }[] = [];
      try {
        for (const subject of rotated(subjects, index + run)) {
          if (options.takesPart?.(subject, operation) === false) continue;
          const child = new BenchChild(`${subject}: ${operation}`, [...(options.nodeArgs?.(subject) ?? []), script, '--child', subject, operation], options.env ?? process.env);
          started.push(child);
          const first = await child.next();
          if (first.type === 'measured') results.get(subject)!.push(first.measurement);
          else if (first.type === 'ready') {
            const { operations: count, perTurn } = first;
            const turns = Array.from({ length: Math.ceil(count / perTurn) }, (_, i) => ({ start: i * perTurn, end: Math.min(count, (i + 1) * perTurn) }));
            waiting.push({ subject, child, turns });
          } else throw new Error(`${subject}: ${operation}: a turn ended before any began`);
        }
        for (let round = 0; waiting.some((w) => w.turns.length > 0); round++) {
          for (const w of rotated(waiting, round)) {
            const turn = w.turns.shift();
            if (turn) await w.child.turn(turn.start, turn.end);
          }
        }
        for (const w of waiting) results.get(w.subject)!.push(await w.child.finish());
      } finally {
        for (const child of started) child.kill();
      }
    }
    for (const subject of subjects) if (results.get(subject)!.length > 0) cells.push({ operation, subject, runs: results.get(subject)! });
    options.onOperationDone?.(operation);
  }
  return cells;
}

/** How `runSideBySide` measured, for a report's setup lines. */
export function sideBySideMethod(runs = benchRuns()): string {
  return `${runs} runs per cell, every subject in a Node process of its own; in small-object cells the subjects take turns of ${TURN_OPERATIONS} operations in rotating order (each warmed up first), in walk cells turns of one walk (${WALK_TURNS} each, after an untimed one), stream cells run one subject at a time, order rotated.`;
}

/** A plain-text table with aligned columns. */
export function formatTable(rows: ReadonlyArray<Record<string, string>>): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(columns.map((c) => row[c] ?? '')))].join('\n');
}
