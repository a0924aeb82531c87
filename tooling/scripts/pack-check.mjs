// Packs every published package (packages/*) as `pnpm publish` would, into a temporary folder, and
// checks each tarball as a consumer receives it: LICENSE is in it (the root's, byte for byte),
// publint reports nothing (warnings count as errors), and are-the-types-wrong finds no problem in
// any resolution mode: node10 (`main`/`types`), node16 from CommonJS and from ESM, and bundler —
// the packages ship ESM and CommonJS builds with declarations for each, so all four must resolve
// to the right types. Run by `pnpm test`; alone: `node tooling/scripts/pack-check.mjs`.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Under `pnpm test`, pnpm is the process that started us; alone, the pinned one through npx.
const pnpm = basename(process.env.npm_execpath ?? '').startsWith('pnpm')
  ? [process.execPath, process.env.npm_execpath]
  : ['npx', '-y', rootManifest.packageManager];
// Built through turbo (cached when up to date), so packing skips the prepack scripts, which would
// build every package again: the checks below cover what prepack's check-package.mjs refuses.
const build = spawnSync(bin('turbo'), ['run', 'build', '--filter=./packages/*', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('pack check: the build failed');
  process.exit(1);
}
const started = Date.now();

const out = mkdtempSync(join(tmpdir(), 'storagedriver-pack-'));
try {
  const pack = spawnSync(pnpm[0], [...pnpm.slice(1), '--recursive', '--filter=./packages/*', 'pack', '--pack-destination', out, '--json'], {
    cwd: root,
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (pack.status !== 0) {
    console.error(`pack check: pnpm pack failed\n${pack.stderr}`);
    process.exit(1);
  }
  const tarballs = JSON.parse(pack.stdout);
  const resolve = createRequire(join(root, 'package.json')).resolve;
  const { publint } = await import(pathToFileURL(resolve('publint')).href);
  const { formatMessage } = await import(pathToFileURL(resolve('publint/utils')).href);
  const license = readFileSync(join(root, 'LICENSE'));
  const attw = promisify(execFile);

  const check = async ({ name, version, filename, files }) => {
    const problems = [];
    if (!files.some((file) => file.path === 'LICENSE')) {
      problems.push('LICENSE is not in the tarball');
    } else {
      const packed = spawnSync('tar', ['-xzOf', filename, 'package/LICENSE']).stdout;
      if (!license.equals(packed)) problems.push('the packed LICENSE differs from the root LICENSE');
    }
    const tarball = readFileSync(filename);
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      strict: true,
    });
    for (const message of messages) problems.push(`publint ${message.type}: ${formatMessage(message, pkg)}`);
    // --no-definitely-typed: our packages ship their own types, and attw would otherwise ask the
    // registry for @types packages. No rule is ignored: every one applies to a dual ESM/CJS package.
    const result = await attw(bin('attw'), [filename, '--format', 'json', '--profile', 'strict', '--no-definitely-typed'], { maxBuffer: 64 * 1024 * 1024 })
      .catch((error) => error);
    let analysis;
    try {
      analysis = JSON.parse(result.stdout).analysis;
    } catch {
      problems.push(`attw did not run: ${result.stderr || result.message}`);
    }
    if (analysis !== undefined) {
      for (const problem of analysis.problems ?? []) {
        const where = [problem.entrypoint, problem.resolutionKind, problem.fileName?.replace(/^\/node_modules\//, '')].filter(Boolean).join(', ');
        problems.push(`attw ${problem.kind} (${where})`);
      }
      if ((analysis.problems ?? []).length === 0 && result.code !== undefined) problems.push(`attw exited with ${result.code}: ${result.stderr}`);
    }
    return { name, version, files: files.length, problems };
  };

  // attw starts TypeScript once per tarball: a few at a time keeps this to seconds.
  const results = [];
  const queue = [...tarballs];
  await Promise.all(Array.from({ length: Math.max(1, Math.min(4, availableParallelism())) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) results.push(await check(next));
  }));
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const { name, version, files, problems } of results) {
    console.log(problems.length === 0
      ? `${name}@${version}: ${files} files, LICENSE, publint and attw (node10, node16 CJS, node16 ESM, bundler) clean`
      : `${name}@${version}: ${problems.length} problems\n  ${problems.join('\n  ')}`);
  }
  const failed = results.filter((result) => result.problems.length > 0).length;
  console.log(`pack check: ${results.length} tarballs, ${failed} with problems (${((Date.now() - started) / 1000).toFixed(1)} s after the build)`);
  process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;
} finally {
  rmSync(out, { recursive: true, force: true });
}
