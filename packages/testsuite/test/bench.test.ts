import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { patternBytes } from '../src/data.js';

import { benchmarkCells, benchRows, benchUnit, checkGoals, compareCells, measure, measureConcurrent, measureOperation, runSideBySide, streamSource, TURN_OPERATIONS, WALK_TURNS, WARM_UP_OPERATIONS, type BenchReport, type Measurement } from '../src/bench.js';

/** A measurement of `operations` in `seconds` moving `bytes`, with `cpuMicros` of CPU and `peakRssMiB`. */
function m(seconds: number, { operations = 100, bytes = 0, cpuMicros = 10_000, peakRssMiB = 100 } = {}): Measurement {
  return { name: 'x', operations, bytes, seconds, cpuMicros, peakRssMiB, rssGrowthMiB: 0 };
}

const report = (overrides: Partial<BenchReport>): BenchReport => ({ title: 't', subject: 'driver', setup: [], cells: [], goals: [], ...overrides });

test('units follow the operation name', () => {
  expect(benchUnit('write 1 GiB stream')).toBe('MiB/s');
  expect(benchUnit('walk 10 000 keys')).toBe('ms');
  expect(benchUnit('list 50 files')).toBe('ms');
  expect(benchUnit('put 4 KiB c=16')).toBe('ops/s');
});

test('a speed goal compares throughput run by run, and a walk (shown in ms) is faster when it takes less time', () => {
  const r = report({
    cells: [
      { operation: 'put 4 KiB c=1', subject: 'driver', runs: [m(1), m(2), m(10)] }, // median 50 ops/s
      { operation: 'put 4 KiB c=1', subject: 'opendal', runs: [m(1.6), m(1.6), m(1.6)] }, // 62.5 ops/s
      { operation: 'walk 10 000 keys', subject: 'driver', runs: [m(0.1, { operations: 1 })] },
      { operation: 'walk 10 000 keys', subject: 'opendal', runs: [m(0.3, { operations: 1 })] },
    ],
    goals: [
      { operation: 'put', baseline: 'opendal', metric: 'speed', ratio: 1 },
      { operation: 'walk', baseline: 'opendal', metric: 'speed', ratio: 1 },
    ],
  });
  const results = checkGoals(r);
  expect(results.map((g) => [g.operation, g.met, g.measured?.median.toFixed(2)])).toEqual([
    ['put 4 KiB c=1', false, '0.80'],
    ['walk 10 000 keys', true, '3.00'],
  ]);
  const rows = benchRows(r);
  // Run by run: 100/62.5, 50/62.5, 10/62.5.
  expect(rows[0]).toMatchObject({ 'median (min–max)': '50.0 (10.0–100) ops/s', 'vs opendal': '0.80× (0.16–1.60)', goals: '⚑ ≥ 1.00× opendal' });
  expect(rows[2]).toMatchObject({ 'median (min–max)': '100 (100–100) ms', 'vs opendal': '3.00×', goals: '✓ ≥ 1.00× opendal' });
  expect(rows[1]!.goals).toBe(''); // goals are shown on the subject's rows only
  expect(rows[1]).toMatchObject({ 'vs driver': '1.25× (0.63–6.25)', 'vs opendal': '' });
});

test('runs of equal count are compared pair by pair (the median of the runs\' ratios), others by their medians', () => {
  // Speeds 100, 50, 33 against 50, 100, 25: the medians are equal, the runs' ratios 2, 0.5 and 1.33.
  const driver = { operation: 'get 4 KiB c=16', subject: 'driver', runs: [m(1, { cpuMicros: 10_000 }), m(2, { cpuMicros: 30_000 }), m(3, { cpuMicros: 20_000 })] };
  const opendal = { operation: 'get 4 KiB c=16', subject: 'opendal', runs: [m(2, { cpuMicros: 20_000 }), m(1, { cpuMicros: 10_000 }), m(4, { cpuMicros: 40_000 })] };
  expect(compareCells(driver, opendal, 'speed')).toEqual({ median: expect.closeTo(4 / 3), min: 0.5, max: 2, pairedRuns: 3 });
  expect(compareCells(driver, opendal, 'cpu')).toEqual({ median: 0.5, min: 0.5, max: 3, pairedRuns: 3 });
  const goals = [
    { operation: 'get', baseline: 'opendal', metric: 'speed' as const, ratio: 1.2 },
    { operation: 'get', baseline: 'opendal', metric: 'cpu' as const, ratio: 0.6 },
  ];
  const paired = report({ cells: [driver, opendal], goals });
  expect(checkGoals(paired).map((g) => g.met)).toEqual([true, true]);
  expect(benchRows(paired)[0]).toMatchObject({ 'vs opendal': '1.33× (0.50–2.00)', goals: '✓ ≥ 1.20× opendal; ✓ CPU/op ≤ 0.60× opendal (0.50× (0.50–3.00))' });
  // Without a pairing (a run missing), the ratio of the medians: 50 / 75 ops/s, 200 / 150 µs per operation.
  const unpaired = report({ cells: [driver, { ...opendal, runs: opendal.runs.slice(0, 2) }], goals });
  expect(checkGoals(unpaired).map((g) => [g.met, g.measured])).toEqual([
    [false, { median: expect.closeTo(2 / 3), min: expect.closeTo(2 / 3), max: expect.closeTo(2 / 3), pairedRuns: 0 }],
    [false, { median: expect.closeTo(4 / 3), min: expect.closeTo(4 / 3), max: expect.closeTo(4 / 3), pairedRuns: 0 }],
  ]);
  expect(benchRows(unpaired)[0]!['vs opendal']).toBe('0.67×');
});

test('cpu and rss goals are upper bounds on the ratio, and a missing baseline is a goal not met', () => {
  const r = report({
    cells: [
      { operation: 'get 4 KiB c=16', subject: 'driver', runs: [m(1, { cpuMicros: 30_000, peakRssMiB: 120 })] },
      { operation: 'get 4 KiB c=16', subject: 'opendal', runs: [m(1, { cpuMicros: 20_000, peakRssMiB: 100 })] },
    ],
    goals: [
      { operation: 'get', baseline: 'opendal', metric: 'cpu', ratio: 1 },
      { operation: 'get', baseline: 'opendal', metric: 'rss', ratio: 1.3 },
      { operation: 'get', baseline: 'aws-sdk', metric: 'speed', ratio: 1 },
    ],
  });
  expect(checkGoals(r).map((g) => [g.goal.metric, g.met, g.measured?.median.toFixed(2)])).toEqual([
    ['cpu', false, '1.50'],
    ['rss', true, '1.20'],
    ['speed', false, undefined],
  ]);
  expect(benchRows(r)[0]!.goals).toBe('⚑ CPU/op ≤ 1.00× opendal (1.50×); ✓ RSS ≤ 1.30× opendal (1.20×); ⚑ ≥ 1.00× aws-sdk');
});

test('measure records the CPU its operations used', async () => {
  const result = await measure('spin', 2, async () => {
    const until = performance.now() + 20;
    while (performance.now() < until);
    return 0;
  });
  expect(result.cpuMicros).toBeGreaterThanOrEqual(30_000);
  expect(result.seconds).toBeGreaterThanOrEqual(0.04);
});

test('measure records the whole machine\'s busy CPU, which holds its own, user and system (Linux), and a table shows it only when measured', async () => {
  const result = await measure('spin', 1, async () => {
    const until = performance.now() + 200;
    // Reading /proc/stat spends most of its time in the kernel.
    while (performance.now() < until) readFileSync('/proc/stat');
    return 0;
  });
  // /proc/stat counts in 10 ms ticks: two of slack.
  expect(result.machineCpuMicros).toBeGreaterThanOrEqual(result.cpuMicros - 20_000);
  expect(result.machineCpuMicros).toBeGreaterThanOrEqual(150_000);
  const cells = (runs: Measurement[]) => [{ operation: 'put 4 KiB c=1', subject: 'driver', runs }];
  const [row] = benchRows(report({ cells: cells([{ ...result, operations: 100 }]) }));
  expect(Number(row!['machine CPU µs/op'])).toBe(Math.round(result.machineCpuMicros! / 100));
  expect(Object.keys(benchRows(report({ cells: cells([m(1)]) }))[0]!)).not.toContain('machine CPU µs/op');
});

test('measureConcurrent counts the bytes of every worker', async () => {
  const result = await measureConcurrent('x', 40, 8, async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return 4096;
  });
  expect(result).toMatchObject({ operations: 40, bytes: 40 * 4096 });
});

test('benchmarkCells groups repeated runs of the upstream set by benchmark', () => {
  const run = (seconds: number) => [{ ...m(seconds), name: 'PutGet 1 KiB files' }, { ...m(seconds), name: 'Stream 1 GiB files' }];
  const cells = benchmarkCells('driver', [run(1), run(2), run(3)]);
  expect(cells.map((c) => [c.operation, c.subject, c.runs.map((r) => r.seconds)])).toEqual([
    ['PutGet 1 KiB files', 'driver', [1, 2, 3]],
    ['Stream 1 GiB files', 'driver', [1, 2, 3]],
  ]);
  expect(benchUnit('Stream 1 GiB files')).toBe('MiB/s');
  expect(benchUnit('List 5 files')).toBe('ms');
});

test('measureOperation dispatches by the operation name and fails when a subject moved less than it should', async () => {
  const sizes = { streamBytes: 100, smallCount: 10, smallBytes: 4, walkEntries: 7 };
  const seen: number[] = [];
  const subject = {
    writeStream: async () => 100,
    readStream: async () => 99,
    put: async (i: number) => (seen.push(i), 4),
    walk: async () => 7,
  };
  expect((await measureOperation('w', 'write 100 B stream', subject, sizes)).bytes).toBe(100);
  await expect(measureOperation('r', 'read 100 B stream', subject, sizes)).rejects.toThrow('r: moved 99 bytes, expected 100');
  const put = await measureOperation('p', 'put 4 B c=3', subject, sizes);
  // The untimed warm-up (WARM_UP_OPERATIONS, round the cell's keys) runs first and is not counted.
  expect(put).toMatchObject({ operations: 10, bytes: 40 });
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  expect(seen).toHaveLength(WARM_UP_OPERATIONS + 10);
  expect(new Set(seen.slice(0, WARM_UP_OPERATIONS))).toEqual(new Set(all));
  expect(seen.slice(WARM_UP_OPERATIONS).sort((a, b) => a - b)).toEqual(all);
  await expect(measureOperation('g', 'get 4 B c=1', subject, sizes)).rejects.toThrow('g: the subject has no get');
  // A get cell of getCount operations goes round the smallCount keys.
  const got: number[] = [];
  const get = await measureOperation('g', 'get 4 B c=2', { get: async (i: number) => (got.push(i), 4) }, { ...sizes, getCount: 25 });
  expect(get).toMatchObject({ operations: 25, bytes: 100 });
  const timed = got.slice(WARM_UP_OPERATIONS);
  expect(timed).toHaveLength(25);
  expect(all.map((key) => timed.filter((i) => i === key).length)).toEqual([3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
  // getCount is the gets' alone: a put cell still writes smallCount objects.
  expect(await measureOperation('p', 'put 4 B c=2', subject, { ...sizes, getCount: 25 })).toMatchObject({ operations: 10, bytes: 40 });
  await expect(measureOperation('x', 'put 4 B', subject, sizes)).rejects.toThrow('no concurrency');
  // A walk cell walks once untimed, then once timed; both must see every entry.
  let walks = 0;
  expect((await measureOperation('k', 'walk 7 keys', { walk: async () => (walks++, 7) }, sizes)).operations).toBe(1);
  expect(walks).toBe(2);
  await expect(measureOperation('k', 'walk 7 keys', { walk: async () => 6 }, sizes)).rejects.toThrow('saw 6 entries, expected 7');
  let timedWalkShort = 0;
  await expect(measureOperation('k', 'walk 7 keys', { walk: async () => (timedWalkShort++ === 0 ? 7 : 6) }, sizes)).rejects.toThrow('saw 6 entries, expected 7');
});

test('streamSource gives fresh streams of exactly the size, its chunks views into one block made up front', async () => {
  const chunkSize = 1000;
  const size = 40 * chunkSize + 123;
  const source = streamSource(size, chunkSize);
  const block = patternBytes(16 * chunkSize, 5);
  for (let round = 0; round < 2; round++) {
    const chunks: Buffer[] = [];
    for await (const chunk of source()) chunks.push(chunk as Buffer);
    expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(size);
    expect(chunks.map((chunk) => chunk.length)).toEqual([...Array<number>(40).fill(chunkSize), 123]);
    expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(1);
    chunks.forEach((chunk, i) => expect(chunk.equals(block.subarray((i % 16) * chunkSize, (i % 16) * chunkSize + chunk.length))).toBe(true));
  }
  const empty: Buffer[] = [];
  for await (const chunk of streamSource(0)()) empty.push(chunk as Buffer);
  expect(empty).toEqual([]);
});

describe('runSideBySide', () => {
  // A benchmark script for runSideBySide (on the built package, as a driver package's script is):
  // every small operation logs "subject timed? start end" (monotonic ns, one clock for all processes).
  const dir = mkdtempSync(join(tmpdir(), 'side-by-side-'));
  const script = join(dir, 'bench.mjs');
  const log = join(dir, 'log');
  writeFileSync(script, `
    import { appendFileSync } from 'node:fs';
    import { measureOperation, WARM_UP_OPERATIONS } from ${JSON.stringify(pathToFileURL(join(__dirname, '../dist/esm/index.js')).href)};
    const [, , , name, operation] = process.argv;
    appendFileSync(${JSON.stringify(log)}, 'pid ' + process.pid + '\\n');
    let calls = 0;
    const put = async (index) => {
      const timed = calls++ >= WARM_UP_OPERATIONS;
      if (name === 'broken' && timed && index === 300) throw new Error('broken on purpose');
      const start = process.hrtime.bigint();
      await new Promise((resolve) => setImmediate(resolve));
      appendFileSync(${JSON.stringify(log)}, name + ' ' + timed + ' ' + start + ' ' + process.hrtime.bigint() + '\\n');
      return 4;
    };
    let walks = 0;
    const walk = async () => {
      const timed = walks++ >= 1;
      const start = process.hrtime.bigint();
      await new Promise((resolve) => setTimeout(resolve, 2));
      appendFileSync(${JSON.stringify(log)}, name + ' ' + timed + ' ' + start + ' ' + process.hrtime.bigint() + '\\n');
      return 7;
    };
    const sizes = { streamBytes: 100, smallCount: 600, smallBytes: 4, walkEntries: 7 };
    const m = await measureOperation(name + ': ' + operation, operation, { put, walk, writeStream: async () => 100 }, sizes);
    process.stdout.write(JSON.stringify(m) + '\\n');
  `);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The log as runs of consecutive operations of one subject, in the order they started. */
  function spans(): { subject: string; timed: number; start: bigint; end: bigint }[] {
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' ')).filter(([first]) => first !== 'pid')
      .map(([subject, timed, start, end]) => ({ subject: subject!, timed: timed === 'true', start: BigInt(start!), end: BigInt(end!) }))
      .sort((a, b) => (a.start < b.start ? -1 : 1));
    const result: { subject: string; timed: number; start: bigint; end: bigint }[] = [];
    for (const e of entries) {
      const last = result.at(-1);
      if (last?.subject === e.subject) {
        last.timed += e.timed ? 1 : 0;
        last.end = e.end > last.end ? e.end : last.end;
      } else result.push({ subject: e.subject, timed: e.timed ? 1 : 0, start: e.start, end: e.end });
    }
    return result;
  }

  test('the subjects of a small-object cell take turns, never overlapping, each measured over all its operations', async () => {
    writeFileSync(log, '');
    const cells = await runSideBySide({ script, subjects: ['a', 'b'], operations: ['put 4 B c=3', 'write 100 B stream'], runs: 1 });
    expect(cells.map((c) => [c.operation, c.subject, c.runs.map((r) => [r.operations, r.bytes])])).toEqual([
      ['put 4 B c=3', 'a', [[600, 2400]]],
      ['put 4 B c=3', 'b', [[600, 2400]]],
      ['write 100 B stream', 'a', [[1, 100]]],
      ['write 100 B stream', 'b', [[1, 100]]],
    ]);
    const runs = spans();
    // Every operation of one subject ended before the other's next one started: warm-ups and turns alike.
    for (let i = 1; i < runs.length; i++) expect(runs[i - 1]!.end < runs[i]!.start).toBe(true);
    // a warms up, then b; then turns of TURN_OPERATIONS in rotating order (a b, b a, a b): b's second
    // and third turns, and a's, run back to back.
    const timed = runs.filter((r) => r.timed > 0).map((r) => [r.subject, r.timed]);
    expect(TURN_OPERATIONS).toBe(250);
    expect(timed).toEqual([['a', 250], ['b', 500], ['a', 350], ['b', 100]]);
    expect(runs.filter((r) => r.timed === 0).map((r) => r.subject)).toEqual(['a', 'b']);
  }, 60_000);

  test('the subjects of a walk cell take turns of one walk, each timed over WALK_TURNS walks after an untimed one', async () => {
    writeFileSync(log, '');
    const cells = await runSideBySide({ script, subjects: ['a', 'b'], operations: ['walk 7 keys'], runs: 1 });
    expect(WALK_TURNS).toBe(5);
    expect(cells.map((c) => [c.subject, c.runs.map((r) => [r.operations, r.bytes])])).toEqual([
      ['a', [[5, 0]]],
      ['b', [[5, 0]]],
    ]);
    const runs = spans();
    for (let i = 1; i < runs.length; i++) expect(runs[i - 1]!.end < runs[i]!.start).toBe(true);
    // Untimed walks of a, then b; then rounds a b, b a, a b, b a, a b.
    expect(runs.filter((r) => r.timed === 0).map((r) => r.subject)).toEqual(['a', 'b']);
    expect(runs.filter((r) => r.timed > 0).map((r) => [r.subject, r.timed])).toEqual([['a', 1], ['b', 2], ['a', 2], ['b', 2], ['a', 2], ['b', 1]]);
  }, 60_000);

  test('a subject that fails in a turn fails the run, with its error, and leaves no process behind', async () => {
    writeFileSync(log, '');
    await expect(runSideBySide({ script, subjects: ['a', 'broken'], operations: ['put 4 B c=1'], runs: 1 })).rejects.toThrow(/broken: put 4 B c=1 failed:[^]*broken on purpose/);
    // a was waiting for its next turn: killed.
    const pids = [...readFileSync(log, 'utf8').matchAll(/^pid (\d+)$/gm)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(2);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let waited = 0; pids.some(alive) && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});
