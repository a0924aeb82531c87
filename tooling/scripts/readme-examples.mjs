// Runs every README example marked runnable, verbatim, against the built workspace packages.
//
// A fenced block is marked by an HTML comment on the line right above its opening fence:
//   <!-- runnable -->                  the block runs: ```ts as a .mts file on Node 24 (types stripped),
//                                      ```sh with bash -e; each in a fresh temporary folder as cwd, where
//                                      `@storagedriver/*` resolve to packages/* (and the examples/ to theirs), and `storagedriver`
//                                      (also through npx) is the built CLI; at most 120 s per block
//   <!-- not runnable: REASON -->      it does not (a cloud account, your own driver, a fragment…)
// Every ```ts / ```js block must carry one of the two, so no new example goes unchecked.
// Run by `pnpm test`; alone: `node tooling/scripts/readme-examples.mjs [README.md …]`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TIMEOUT_MS = 120_000;
const RUNNABLE = /^<!--\s*runnable\s*-->$/;
const NOT_RUNNABLE = /^<!--\s*not runnable:\s*\S.*-->$/;

const readmes = process.argv.length > 2
  ? process.argv.slice(2).map((file) => join(process.cwd(), file))
  : [
      join(root, 'README.md'),
      ...['packages', 'examples'].flatMap((group) => readdirSync(join(root, group))
        .map((name) => join(root, group, name, 'README.md'))
        .filter((file) => existsSync(file))),
    ];

/** The fenced blocks of a README with the marker above each. */
function blocks(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (open === null) continue;
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (end === -1) throw new Error(`${relative(root, file)}:${i + 1}: a code block is not closed`);
    const marker = (lines[i - 1] ?? '').trim();
    found.push({
      file, line: i + 1, lang: open[1],
      runnable: RUNNABLE.test(marker), notRunnable: NOT_RUNNABLE.test(marker),
      code: lines.slice(i + 1, end).join('\n') + '\n',
    });
    i = end;
  }
  return found;
}

// Node 24 (the root's pinned dev dependency) strips types natively; its real binary, not the
// node_modules/.bin shim, whose NODE_PATH would let an example import packages it never installed.
const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
const node = existsSync(node24) ? realpathSync(node24) : process.execPath;

// One folder whose node_modules holds every workspace package, as an application's would.
const sandbox = mkdtempSync(join(tmpdir(), 'storagedriver-readme-'));
const modules = join(sandbox, 'node_modules');
mkdirSync(join(modules, '@storagedriver'), { recursive: true });
mkdirSync(join(modules, '.bin'));
for (const dir of ['packages', 'examples'].flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  mkdirSync(dirname(join(modules, manifest.name)), { recursive: true });
  symlinkSync(dir, join(modules, manifest.name));
  for (const [bin, target] of Object.entries(manifest.bin ?? {})) {
    writeFileSync(join(modules, '.bin', bin), `#!/bin/sh\nexec "${node}" "${join(dir, target)}" "$@"\n`, { mode: 0o755 });
  }
}
writeFileSync(join(sandbox, 'package.json'), '{ "private": true, "type": "module" }\n');

function runBlock(block, index) {
  const cwd = join(sandbox, `example-${index}`);
  mkdirSync(cwd);
  const env = { ...process.env, PATH: [join(modules, '.bin'), dirname(node), process.env.PATH].join(delimiter), NODE_OPTIONS: '' };
  delete env.NODE_PATH;
  let command;
  if (block.lang === 'sh' || block.lang === 'bash') {
    command = ['bash', ['-e', '-c', block.code]];
  } else {
    writeFileSync(join(cwd, 'example.mts'), block.code);
    command = [node, ['--disable-warning=ExperimentalWarning', 'example.mts']];
  }
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command[0], command[1], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(killed after ${TIMEOUT_MS / 1000} s)`;
      process.kill(-child.pid, 'SIGKILL');
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, detail: code === 0 ? '' : `exit ${code ?? signal}\n${output.trimEnd()}`, seconds: (Date.now() - started) / 1000 });
    });
  });
}

// The examples need the built packages (cached by turbo when up to date).
const build = spawnSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--filter=./packages/*', '--filter=./examples/*', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
let ran = 0;
let failed = 0;
let skipped = 0;
try {
  if (build.status !== 0) throw new Error('the build failed');
  let index = 0;
  for (const file of readmes) {
    for (const block of blocks(file)) {
      const where = `${relative(root, file)}:${block.line}`;
      if (!block.runnable) {
        if (['ts', 'typescript', 'js', 'javascript'].includes(block.lang) && !block.notRunnable) {
          console.log(`${where}: a \`\`\`${block.lang} block without <!-- runnable --> or <!-- not runnable: reason --> above it`);
          failed++;
        } else if (block.notRunnable) skipped++;
        continue;
      }
      const result = await runBlock(block, index++);
      ran++;
      if (!result.ok) failed++;
      console.log(`${where} (${block.lang}): ${result.ok ? 'ran' : 'FAILED'} in ${result.seconds.toFixed(1)} s${result.ok ? '' : `\n  ${result.detail.replaceAll('\n', '\n  ')}`}`);
    }
  }
} catch (error) {
  console.log(`readme examples: ${error.message}`);
  failed++;
} finally {
  rmSync(sandbox, { recursive: true, force: true });
}
console.log(`readme examples: ${ran} run, ${failed} failing, ${skipped} marked not runnable`);
process.exitCode = failed > 0 || ran === 0 ? 1 : 0;
