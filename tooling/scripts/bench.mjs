// `pnpm bench [package ...]`: runs every package's benchmark (or the named ones, keeping the other
// packages' sections of the file) one after another, each cell BENCH_RUNS times (default 3), and
// writes BENCHMARKS.md from the reports they publish:
// the machine, versions, date and command, then per driver every operation beside its baselines with
// the ratios, client CPU per operation, peak RSS and a ⚑ on every figure below its goal. A benchmark
// prints figures; it never passes or fails on them (CI does not run it). Exits non-zero when a
// package's benchmark failed (its section says so; the others are still written).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The order of the report: local drivers first, then the object stores and the drivers built on them.
const ORDER = ['inmemory', 'filesystem', 's3', 'azure', 'gcs', 'swift', 'rados', 'oss'];
const runs = process.env.BENCH_RUNS ?? '3';
const benched = readdirSync(join(root, 'packages')).filter((name) => {
  const file = join(root, 'packages', name, 'package.json');
  return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).scripts?.bench;
});
const asked = process.argv.slice(2);
for (const name of asked) if (!benched.includes(name)) throw new Error(`no benchmark in packages/${name} (have: ${benched.join(', ')})`);
const chosen = (asked.length > 0 ? asked : benched).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));

const { benchRows, checkGoals, describeGoal, formatRatio, WALK_TURNS, WARM_UP_OPERATIONS } = await import(join(root, 'packages/testsuite/dist/esm/index.js'));

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const started = new Date();
const results = [];
for (const name of chosen) {
  const dir = join(root, 'packages', name);
  const reportDir = mkdtempSync(join(tmpdir(), `storagedriver-bench-${name}-`));
  const loadBefore = load();
  const t0 = Date.now();
  process.stderr.write(`\n== ${name}: ${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.bench} (load ${loadBefore})\n`);
  // The package's own bench script, with the repository's Node first on PATH (as pnpm runs it).
  const status = spawnSync('npm', ['run', '--silent', 'bench'], {
    cwd: dir,
    stdio: 'inherit',
    env: { ...process.env, BENCH_RUNS: runs, BENCH_REPORT_DIR: reportDir, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` },
  }).status;
  // In the order the package's benchmarks published them.
  const files = readdirSync(reportDir).map((file) => join(reportDir, file)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const reports = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
  rmSync(reportDir, { recursive: true, force: true });
  results.push({ name, status, seconds: (Date.now() - t0) / 1000, loadBefore, loadAfter: load(), reports });
}

const sh = (command, args) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};
/** The version of a dependency installed for the package that uses it (pnpm links it there). */
const versionIn = (pkg, dependency) => {
  const file = join(root, 'packages', pkg, 'node_modules', dependency, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
};
const osName = existsSync('/etc/os-release') ? /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
const commit = sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
const nodeVersion = sh(join(root, 'node_modules', '.bin', 'node'), ['--version']);
const versions = [
  ['Node.js', nodeVersion],
  ['@aws-sdk/client-s3', versionIn('s3', '@aws-sdk/client-s3')],
  ['@azure/storage-blob', versionIn('azure', '@azure/storage-blob')],
  ['@google-cloud/storage', versionIn('gcs', '@google-cloud/storage')],
  ['undici', versionIn('swift', 'undici')],
  ['koffi', versionIn('rados', 'koffi')],
  ['opendal (installed at bench time)', '0.49.2'],
  ['Ceph (RGW, RADOS, Swift API)', sh('ceph', ['--version'])?.replace(/^ceph version /, '')],
  ['Azurite', versionIn('azure', 'azurite')],
  ['fake-gcs-server', (await import(join(root, 'tooling/servers/fake-gcs.mjs'))).VERSION],
  ['OpenStack Swift', sh('dpkg-query', ['-W', '-f=${Version}', 'swift'])],
].filter(([, v]) => v);

const cell = (text) => String(text).replaceAll('|', '\\|');
const markdownTable = (rows) => {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return [
    `| ${columns.map(cell).join(' | ')} |`,
    `| ${columns.map((c, i) => (i < 2 || c === 'goals' ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((c) => cell(row[c] ?? '')).join(' | ')} |`),
  ].join('\n');
};

const target = join(root, 'BENCHMARKS.md');
const stamp = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}${dirty ? ' with uncommitted changes' : ''}`;

// A run of some packages keeps the other packages' sections (and their goal lines) from the file.
const kept = new Map();
if (asked.length > 0 && existsSync(target)) {
  const previous = readFileSync(target, 'utf8');
  const previousStamp = /on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)[^(]*\(commit (\w+)/.exec(previous);
  const goalLines = previous.split('\n## Goals not met in this run\n')[1]?.split('\n## ')[0].split('\n').filter((l) => l.startsWith('- ')) ?? [];
  for (const name of ORDER.filter((n) => !chosen.includes(n))) {
    const section = new RegExp(`\n## ${name}\n([\\s\\S]*?)(?=\n## |$)`).exec(previous)?.[1];
    if (section === undefined) continue;
    // Sections written before sections carried their own date get the previous file's.
    const dated = section.includes('Measured ') || !previousStamp ? section : section.replace(/(after\.)/, `$1 Measured ${previousStamp[1]}, commit ${previousStamp[2]}.`);
    const goals = goalLines.filter((l) => new RegExp(`^- (\\*\\*)?${name}[ :]`).test(l));
    kept.set(name, { section: dated.trimEnd(), goals });
  }
}

const missed = results.flatMap((r) => r.reports.flatMap((report) => checkGoals(report).filter((g) => !g.met).map((g) => ({ report, g }))));
const failed = results.filter((r) => r.status !== 0);
const lines = [
  '# Benchmarks',
  '',
  `Regenerated by \`pnpm bench${asked.length > 0 ? ` ${asked.join(' ')}` : ''}\`${process.env.BENCH_RUNS ? ` with BENCH_RUNS=${runs}` : ''} on ${stamp}; do not edit by hand.` +
    (kept.size > 0 ? ` It measured ${chosen.join(', ')}; the sections of ${[...kept.keys()].join(', ')} are kept from an earlier run (each says when).` : ''),
  'A benchmark prints figures and never fails on them; CI does not run it. Each section comes from one package\'s `bench` script.',
  '',
  '## Machine and versions',
  '',
  `- ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${osName ?? 'Linux'}, kernel ${release()}; every server on 127.0.0.1, sharing the cores with the client.`,
  ...versions.map(([name, v]) => `- ${name}: ${v}`),
  '',
  '## How to read it',
  '',
  `- Every cell (one operation by one subject) ran ${runs} times, each time in a fresh process unless its setup says otherwise; a figure is the median, with the lowest and highest of the runs in brackets.`,
  `- A small-object cell (put or get at c=N) first runs ${WARM_UP_OPERATIONS} operations untimed on its keys (round again if it has fewer) at the same concurrency, so its figures are a running process's (connections open, code compiled), not its start-up; a walk cell walks its tree once untimed for the same reason, then its subjects take turns of one walk, ${WALK_TURNS} each (the filesystem walk, in one process, has warm-up rounds).`,
  '- `MiB/s` and `ops/s`: higher is better; `ms`: the time of one operation (a whole walk), lower is better. `vs X`: this row\'s speed / X\'s (above 1.00× is faster), run by run: the median of the runs\' ratios, the lowest and highest in brackets. A run of every subject of a cell is one pairing: in small-object cells the subjects took turns within it, so each ratio compares subjects that met the server in the same state. Goals (CPU and RSS too) are checked on that median.',
  '- Stream writes take their bytes from testsuite\'s `streamSource`: views into one block of pattern bytes made before the timing, so no subject\'s timed loop pays for its data (computing each byte as it goes costs a client here 0.3–0.5 s of CPU per 256 MiB, on the cores the servers share).',
  '- `CPU µs/op`: user + system CPU time of the client process during the timed loop, per operation. `peak RSS MiB`: the client process\'s highest resident memory while it ran.',
  '- `machine CPU µs/op`: busy time of every core during the timed loop (from /proc/stat, to 10 ms), per operation: the client, the servers sharing its cores and anything else. With the cores busy, throughput follows it.',
  '- `goals`: issue 14\'s targets for the driver\'s rows; ✓ met, ⚑ not met in this run. On 2 shared cores small-object figures move by 10–20 % between runs: read the min–max.',
  '',
  '## Goals not met in this run',
  '',
];
const goalLines = new Map(results.map((r) => [r.name, [
  ...(r.status === 0 ? [] : [`- **${r.name}: the benchmark failed** (exit ${r.status}); see its output.`]),
  ...missed.filter(({ report }) => r.reports.includes(report)).map(({ report, g }) => `- ${report.title}, ${g.operation}: ${describeGoal(g.goal)}${g.measured === undefined ? ' (not measured)' : ` — measured ${formatRatio(g.measured)}`}`),
]]));
for (const [name, { goals }] of kept) goalLines.set(name, goals);
const everyGoalLine = ORDER.flatMap((name) => goalLines.get(name) ?? []);
lines.push(...(everyGoalLine.length === 0 ? ['None.'] : everyGoalLine));
for (const name of ORDER) {
  const r = results.find((x) => x.name === name);
  if (r === undefined) {
    if (kept.has(name)) lines.push('', `## ${name}`, kept.get(name).section);
    continue;
  }
  lines.push('', `## ${r.name}`, '', `\`packages/${r.name}\`: ${r.seconds.toFixed(0)} s wall, load average ${r.loadBefore} before, ${r.loadAfter} after. Measured ${stamp}.${r.status === 0 ? '' : ` **Failed (exit ${r.status}).**`}`);
  for (const report of r.reports) {
    lines.push('', `### ${report.title}`, '', ...report.setup.map((l) => `- ${l}`), '', markdownTable(benchRows(report)));
    if (report.notes?.length) lines.push('', ...report.notes.map((n) => `> ${n}`));
  }
}
writeFileSync(target, `${lines.join('\n')}\n`);
process.stderr.write(`\nwrote ${target}: ${results.length} package(s) measured, ${kept.size} kept, ${missed.length} goal(s) not met in this run, ${failed.length} failed\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
