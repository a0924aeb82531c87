// Builds the package in the current directory twice from one source: ESM (type-checked, with
// declarations) into dist/esm and CommonJS (transpile only) into dist/cjs, so both `import` and
// `require` consumers get native output. Usage (from a package's scripts): node ../../tooling/build/build-package.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const cwd = process.cwd();
const run = (...args) => execFileSync(process.execPath, [tsc, ...args], { cwd, stdio: 'inherit' });

rmSync(join(cwd, 'dist'), { recursive: true, force: true });
run('-p', 'tsconfig.build.json', '--outDir', 'dist/esm');
run(
  '-p', 'tsconfig.build.json', '--outDir', 'dist/cjs',
  '--module', 'commonjs', '--moduleResolution', 'node10',
);
mkdirSync(join(cwd, 'dist/cjs'), { recursive: true });
writeFileSync(join(cwd, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
