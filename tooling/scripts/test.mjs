// The README's test command: type-checks and lints every package, installs the test servers, runs
// every package's tests through turbo (and the runtime matrix), and closes with one line per package
// and one summing up every run ("N passed, N failed, N skipped").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = [
  ...['packages', 'examples'].flatMap((group) =>
    existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(root, group, name)) : [],
  ),
  // The runtime matrix: the suite of every driver on Node 22, Node 24, Bun and Deno.
  join(root, 'tooling', 'runtimes'),
];
const resultFiles = packages.map((dir) => join(dir, '.jest-results.json'));
for (const file of resultFiles) rmSync(file, { force: true });

const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

// Types and lint first: ts-jest does not type-check, so a type error would otherwise pass.
const checks = run('turbo', ['run', 'typecheck', 'lint', '--output-logs=errors-only']);
// Every export of every published package has a doc comment: TypeDoc fails on an undocumented one
// (tooling/typedoc.config.mjs: validation.notDocumented, treatWarningsAsErrors). Validation only, no HTML.
const docs = run('typedoc', ['--options', 'tooling/typedoc.config.mjs', '--emit', 'none']);
let status = run(process.execPath, [join(root, 'tooling/servers/ensure.mjs')]);
// --continue: one failing package must not hide the results of the others.
if (status === 0) status = run('turbo', ['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)]);
// The README's table of what each driver supports must say what the built drivers claim.
const table = run(process.execPath, [join(root, 'tooling/scripts/capabilities-table.mjs'), '--check']);
// The tarballs as they would be published: LICENSE in each, publint and are-the-types-wrong clean.
const packs = run(process.execPath, [join(root, 'tooling/scripts/pack-check.mjs')]);
// Every README example marked runnable runs verbatim against the built packages.
const examples = run(process.execPath, [join(root, 'tooling/scripts/readme-examples.mjs')]);

/** The first lines of a jest failure message, without colours, indented under the test's name. */
function firstLines(message, count = 12) {
  // eslint-disable-next-line no-control-regex
  const plain = message.replace(/\u001b\[[0-9;]*m/g, '').split('\n').filter((line) => line.trim() !== '');
  return `\n    ${plain.slice(0, count).join('\n    ')}`;
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const perPackage = [];
// Each failed test by name with the head of its message: CI hands back only the end of the log.
const failures = [];
let missing = 0;
for (const file of resultFiles) {
  const manifest = join(dirname(file), 'package.json');
  const hasTests = existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test !== undefined;
  if (!existsSync(file)) {
    // A package whose jest run died before reporting (a crashed server setup, say) counts as failed.
    if (hasTests) {
      perPackage.push(`${dirname(file).slice(root.length + 1)}: no results`);
      missing++;
    }
    continue;
  }
  const result = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = result.numPendingTests + result.numTodoTests;
  totals.passed += result.numPassedTests;
  totals.failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  totals.skipped += skipped;
  // A package whose tests were all skipped (a missing server, say) proved nothing: it fails.
  const allSkipped = result.numPassedTests === 0 && skipped > 0;
  if (allSkipped) missing++;
  for (const suite of result.testResults ?? []) {
    const where = `${dirname(file).slice(root.length + 1)}/${suite.name.slice(dirname(file).length + 1)}`;
    // A suite that failed outside any test (a syntax error, a crashed beforeAll) has only a message.
    if (suite.status === 'failed' && suite.assertionResults.every((test) => test.status !== 'failed')) failures.push(`${where}: ${firstLines(suite.message)}`);
    for (const test of suite.assertionResults) {
      if (test.status === 'failed') failures.push(`${where} › ${test.fullName}: ${firstLines(test.failureMessages.join('\n'))}`);
    }
  }
  perPackage.push(`${dirname(file).slice(root.length + 1)}: ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${skipped} skipped${allSkipped ? ' (all skipped: fails the run)' : ''}`);
}
console.log(`\n${perPackage.join('\n')}`);
if (failures.length > 0) console.log(`\nfailed:\n${failures.join('\n')}`);
if (checks !== 0) console.log('typecheck or lint failed (see above): the run fails');
if (docs !== 0) console.log('an export has no doc comment, or the API docs have another warning (see above; `pnpm run docs` builds them): the run fails');
if (table !== 0) console.log('the README capabilities table is out of date (node tooling/scripts/capabilities-table.mjs rewrites it): the run fails');
if (packs !== 0) console.log('a packed tarball lacks LICENSE or fails publint or attw (see "pack check" above): the run fails');
if (examples !== 0) console.log('a README example failed or is not marked (see "readme examples" above): the run fails');
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${missing > 0 ? `, ${missing} packages without results` : ''}`);
process.exit(status !== 0 ? status : checks !== 0 || docs !== 0 || table !== 0 || packs !== 0 || examples !== 0 || totals.failed > 0 || missing > 0 || totals.passed === 0 ? 1 : 0);
