// The API reference (`pnpm run docs` → docs/api/) and the check in `pnpm test` that every export of
// every published package has a doc comment. Entry points are what users import: each package's
// package.json `exports`, mapped from dist/esm/*.d.ts back to src/*.ts. The packages are read from
// packages/*, so a new package is documented and checked without touching this file.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const published = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => manifest.private !== true);

const entryPoints = published.flatMap(({ dir, manifest }) =>
  Object.entries(manifest.exports ?? {})
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => {
      const types = target?.import?.types;
      const source = typeof types === 'string' ? join(dir, types.replace(/^\.\/dist\/esm\//, 'src/').replace(/\.d\.ts$/, '.ts')) : undefined;
      if (source === undefined || !existsSync(source)) throw new Error(`${manifest.name} exports ${subpath} without a src/ file behind its types (${types})`);
      return relative(here, source);
    }),
);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'storagedriver',
  entryPoints,
  tsconfig: join(here, 'tsconfig.docs.json'),
  out: join(root, 'docs', 'api'),
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // No git remote to link sources to; the pages name each symbol's package instead.
  disableSources: true,
  // Every symbol these packages export must have a doc comment (TypeDoc only checks the packages
  // listed here: without them the check would pass whatever is missing).
  packagesRequiringDocumentation: published.map(({ manifest }) => manifest.name),
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  treatWarningsAsErrors: true,
};
