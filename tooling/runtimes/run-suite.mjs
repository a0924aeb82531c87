// Runs the conformance suite (runner-independent `runSuite`, short mode) against one driver, under
// whichever runtime executes this file (Node, Bun, Deno), and prints one JSON line of results.
// Input from the environment: SD_DRIVER (registered name), SD_PARAMS (JSON parameters for create),
// SD_SUITE (JSON suite options: capabilities, largeStreamSize, …), and optionally SD_ABOVE (JSON
// `{params, pathOfRoot}`: a driver on the same storage rooted one level above, for the suite's
// "driver rooted above" case).
import { create } from '@storagedriver/core';
import { runSuite } from '@storagedriver/testsuite';

const PACKAGES = {
  inmemory: '@storagedriver/inmemory',
  filesystem: '@storagedriver/filesystem',
  s3: '@storagedriver/s3',
  azure: '@storagedriver/azure',
  gcs: '@storagedriver/gcs',
  swift: '@storagedriver/swift',
};

const env = globalThis.process?.env ?? {};
const driver = env.SD_DRIVER;
await import(PACKAGES[driver]);
const parameters = JSON.parse(env.SD_PARAMS ?? '{}');
const suite = JSON.parse(env.SD_SUITE ?? '{}');
// One instance for inmemory (its storage lives in the instance); a new one per call elsewhere, as
// the suite's "from a new driver instance" cases require.
const shared = driver === 'inmemory' ? await create(driver, parameters) : undefined;
const above = env.SD_ABOVE === undefined ? undefined : JSON.parse(env.SD_ABOVE);
const results = await runSuite({
  ...suite,
  mode: 'short',
  create: async () => shared ?? create(driver, parameters),
  ...(above === undefined ? {} : { createAbove: async () => ({ driver: await create(driver, above.params), pathOfRoot: above.pathOfRoot }) }),
});
// The runtime and version that ran the suite, so the matrix can tell a row ran where it says.
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.versions.node}`;
console.log(`SD_RUNTIME ${runtime}`);
console.log(`SD_RESULTS ${JSON.stringify(results.map(({ name, status, reason }) => ({ name, status, reason })))}`);
// Idle keep-alive sockets of the SDKs' agents keep Deno's event loop alive for about a minute
// (Node and Bun unref them): the results are out, so end now.
process.exit(0);
