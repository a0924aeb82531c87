// Installs (or builds) every test server the suites need, before `turbo run test`. Each server
// module in this folder exports `ensureInstalled()`; it is idempotent and quick when done already.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = readdirSync(here).filter((name) => name.endsWith('.mjs') && name !== 'ensure.mjs').sort();

for (const name of modules) {
  const server = await import(pathToFileURL(join(here, name)).href);
  if (typeof server.ensureInstalled !== 'function') continue;
  const started = performance.now();
  await server.ensureInstalled();
  console.log(`test server ${name.replace('.mjs', '')}: ready to start (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
