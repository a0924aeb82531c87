// Runs at prepack, after the build, in the package being packed: refuses to pack when the
// package's LICENSE copy has drifted from the root LICENSE (pnpm pack only takes files from the
// package folder, so each package commits a copy) or when a file that package.json points
// consumers at (main, module, types, exports, bin) is missing.
// Usage (from a package's scripts): node ../../tooling/build/check-package.mjs
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cwd = process.cwd();
const root = fileURLToPath(new URL('../../', import.meta.url));
const problems = [];

const license = join(cwd, 'LICENSE');
if (!existsSync(license)) {
  problems.push('LICENSE is missing (copy the root LICENSE into the package)');
} else if (!readFileSync(license).equals(readFileSync(join(root, 'LICENSE')))) {
  problems.push('LICENSE differs from the root LICENSE');
}

const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
const targets = (value) =>
  typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(targets) : [];
for (const target of targets([pkg.main, pkg.module, pkg.types, pkg.exports, pkg.bin])) {
  if (!existsSync(join(cwd, target))) problems.push(`${target} (named in package.json) is missing`);
}

if (problems.length > 0) {
  console.error(`${pkg.name}: not packable:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
