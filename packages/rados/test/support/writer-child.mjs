// A writing process for the resume and kill tests, on the built package (dist/esm). Modes:
// - `upload <path> <bytes>`: writes <bytes> pattern bytes (seed 7) through a writer, closes it, exits;
// - `versions <path>`: commits version 1, 2, 3, … of <path> until killed, alternating a writer fed in
//   odd-sized pieces and putContent; version v is `versionBytes(v)` (versions.cjs).
// Connection from the RADOS_TEST_* environment; options as JSON in RADOS_CHILD_OPTIONS.
import { patternBytes } from '@storagedriver/testsuite';

import { RadosDriver } from '../../dist/esm/index.js';
import versions from './versions.cjs';

const { versionBytes } = versions;

const [mode, path, arg] = process.argv.slice(2);
const options = JSON.parse(process.env.RADOS_CHILD_OPTIONS ?? '{}');
const driver = new RadosDriver({ poolName: process.env.RADOS_TEST_POOL, userName: process.env.RADOS_TEST_USER, configFile: process.env.RADOS_TEST_CONF, ...options });
if (mode === 'upload') {
  const writer = await driver.writer(path);
  await writer.write(patternBytes(Number(arg), 7));
  await writer.close();
  console.log(String(writer.size));
} else if (mode === 'versions') {
  process.stdout.write('ready\n');
  for (let version = 1; ; version++) {
    const bytes = versionBytes(version);
    if (version % 3 === 0) {
      await driver.putContent(path, bytes);
      continue;
    }
    const writer = await driver.writer(path);
    for (let at = 0; at < bytes.length; ) {
      const piece = 10_007 + ((at * 31) % 50_000);
      await writer.write(bytes.subarray(at, at + piece));
      at += piece;
    }
    await writer.commit();
  }
}
await driver.close();
