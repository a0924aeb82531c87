// The README's test command: installs the test servers, runs every package's tests through turbo,
// and closes with one line summing up every jest run ("N passed, N failed, N skipped").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = ['packages', 'examples'].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(root, group, name)) : [],
);
const resultFiles = packages.map((dir) => join(dir, '.jest-results.json'));
for (const file of resultFiles) rmSync(file, { force: true });

const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

let status = run(process.execPath, [join(root, 'tooling/servers/ensure.mjs')]);
// --continue: one failing package must not hide the results of the others.
if (status === 0) status = run('turbo', ['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)]);

const totals = { passed: 0, failed: 0, skipped: 0 };
const perPackage = [];
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
  totals.passed += result.numPassedTests;
  totals.failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  totals.skipped += result.numPendingTests + result.numTodoTests;
  perPackage.push(`${dirname(file).slice(root.length + 1)}: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
}
console.log(`\n${perPackage.join('\n')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${missing > 0 ? `, ${missing} packages without results` : ''}`);
process.exit(status !== 0 ? status : totals.failed > 0 || missing > 0 || totals.passed === 0 ? 1 : 0);
