/** The CLI's version, read at run time from the package.json of @storagedriver/cli. */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const NAME = '@storagedriver/cli';

/**
 * Looks upwards from this module's directory for the package's package.json. The ESM build has no
 * `__dirname` (and the CommonJS build no `import.meta`), so there the running bin's real path stands
 * in: `node_modules/.bin/storagedriver` is a symlink to `dist/esm/bin.js`.
 */
export function version(): string {
  const start = typeof __dirname === 'string' ? __dirname : dirname(realpathSync(process.argv[1] ?? '.'));
  let dir = start;
  // dist/esm/bin.js is three levels below the package root; dist/cjs/package.json has no name.
  for (let level = 0; level < 4; level++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json at this level: look one higher.
    }
  }
  throw new Error(`cannot find the package.json of ${NAME} above ${start}`);
}
