// The runtime matrix: the conformance suite (short mode, through `runSuite`, no jest) for every
// driver on Node 22, Node 24, Bun and Deno — each runtime from the npm registry, pinned in this
// package. Ceph and fake-gcs-server start once and serve every runtime; Azurite starts afresh for
// each run (it keeps every blob in memory and slows as they pile up). Prints a table and writes
// .jest-results.json (the shape the repository's test summary reads); exits 1 when any case fails,
// any run produced no results or a run reports another runtime than its row's. Arguments narrow the matrix: `node matrix.mjs deno gcs`, `node matrix.mjs node22`.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AzureBackend } from '@storagedriver/azure';

import * as azurite from '../servers/azurite.mjs';
import * as ceph from '../servers/ceph-rgw.mjs';
import * as fakeGcs from '../servers/fake-gcs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = (name) => join(here, 'node_modules', '.bin', name);
// Each runtime's command, and the `SD_RUNTIME` line its run must print: a row runs where it says
// (`pnpm run` puts this package's pinned `node` first on the PATH, so `node` alone is not Node 24).
const RUNTIMES = {
  'node 24': { command: [join(here, 'node_modules', 'node24', 'bin', 'node')], reports: /^node 24\./ },
  'node 22': { command: [join(here, 'node_modules', 'node22', 'bin', 'node')], reports: /^node 22\./ },
  bun: { command: [bin('bun')], reports: /^bun / },
  deno: { command: [bin('deno'), 'run', '--allow-all'], reports: /^deno / },
};
const CASE_TIMEOUT_MS = 15 * 60 * 1000;
const only = new Set(process.argv.slice(2));
/** The entries an argument names (`node22`, `deno`, `gcs`…), or all of them when none is named. */
function narrowed(entries) {
  const named = entries.filter(([name]) => only.has(name.replace(' ', '')));
  return named.length > 0 ? named : entries;
}

const unique = (name) => `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

async function startServers() {
  const [s3, gcs] = await Promise.all([ceph.start(), fakeGcs.start()]);
  return { s3, gcs };
}

/**
 * Each run gets its own bucket or container (the suite needs an empty root), and for Azure its own
 * Azurite, which `stop` ends; `env` is what the run's runtime must be given.
 */
async function driverSetups(servers, scratch) {
  const s3Client = new S3Client({
    endpoint: servers.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: servers.s3.accessKeyId, secretAccessKey: servers.s3.secretAccessKey },
  });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const gcsKey = {
    type: 'service_account',
    project_id: 'test',
    client_email: 'storagedriver-test@test.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const walkBytes = { capabilities: { redirect: true, walkOrder: 'bytes' }, largeStreamSize: 32 * 1024 * 1024 };
  return {
    inmemory: async () => ({ params: {}, suite: { largeStreamSize: 32 * 1024 * 1024 } }),
    filesystem: async () => {
      const parent = mkdtempSync(join(scratch, 'fs-'));
      return { params: { rootdirectory: join(parent, 'root') }, suite: { largeStreamSize: 32 * 1024 * 1024 }, above: { params: { rootdirectory: parent }, pathOfRoot: '/root' } };
    },
    s3: async () => {
      const bucket = unique('rt');
      await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
      const setup = {
        params: {
          bucket, region: 'us-east-1', regionendpoint: servers.s3.endpoint, forcepathstyle: true, accesskey: servers.s3.accessKeyId,
          secretkey: servers.s3.secretAccessKey, requestchecksums: 'WHEN_REQUIRED', chunksize: 5 * 1024 * 1024, rootdirectory: 'suite/root',
        },
        suite: walkBytes,
      };
      return { ...setup, above: { params: { ...setup.params, rootdirectory: 'suite' }, pathOfRoot: '/root' } };
    },
    azure: async () => {
      const server = await azurite.start();
      const caFile = join(scratch, 'azurite-ca.pem');
      writeFileSync(caFile, server.ca);
      const container = unique('rt');
      const params = { accountname: server.accountName, accountkey: server.accountKey, container, serviceurl: server.endpoint, skipverify: true, rootdirectory: 'suite/root' };
      // The driver's own client (skipverify: Azurite's certificate is self-signed) creates the container.
      try {
        await new AzureBackend({ accountName: params.accountname, container, serviceUrl: params.serviceurl, credentials: { type: 'shared_key', accountKey: params.accountkey }, skipVerify: true }).container.create();
      } catch (error) {
        await server.stop();
        throw error;
      }
      return {
        params,
        suite: { ...walkBytes, insecureTLS: true },
        above: { params: { ...params, rootdirectory: 'suite' }, pathOfRoot: '/root' },
        env: { NODE_EXTRA_CA_CERTS: caFile, DENO_CERT: caFile },
        stop: server.stop,
      };
    },
    swift: async () => {
      // Ceph RGW's Swift API on the same cluster; the driver creates its container. Upstream's layout
      // puts files under `<prefix>/files`, so the driver above sees this root at `/root/files`.
      const { authUrl, user, key } = servers.s3.swift;
      const base = { authurl: authUrl, username: user, password: key, container: unique('rt'), chunksize: '5MiB' };
      return { params: { ...base, prefix: 'suite/files/root' }, suite: walkBytes, above: { params: { ...base, prefix: 'suite' }, pathOfRoot: '/root/files' } };
    },
    gcs: async () => {
      const bucket = unique('rt');
      const created = await fetch(`${servers.gcs.endpoint}/storage/v1/b?project=test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: bucket }) });
      if (!created.ok) throw new Error(`fake-gcs: bucket not created (${created.status})`);
      const params = { bucket, apiendpoint: servers.gcs.endpoint, credentials: gcsKey, chunksize: 5 * 256 * 1024, rootdirectory: 'suite/root' };
      // fake-gcs-server serves any signature (packages/gcs proves its signing by unit tests).
      const suite = { ...walkBytes, testServerGaps: { signedURLVerification: 'fake-gcs-server does not verify signatures' } };
      return { params, suite, above: { params: { ...params, rootdirectory: 'suite' }, pathOfRoot: '/root' } };
    },
  };
}

function runOne(command, env) {
  return new Promise((resolve) => {
    const child = spawn(command[0], [...command.slice(1), join(here, 'run-suite.mjs')], { cwd: here, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('SD_RESULTS '));
      resolve({ code, results: line === undefined ? undefined : JSON.parse(line.slice('SD_RESULTS '.length)), output });
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'storagedriver-runtimes-'));
const servers = await startServers();
const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
// The failures in jest's result shape, so the repository's summary names them at the end of the log.
const testResults = [];
let broken = 0;
try {
  const setups = await driverSetups(servers, scratch);
  for (const [runtime, { command, reports }] of narrowed(Object.entries(RUNTIMES))) {
    for (const [driver, setup] of narrowed(Object.entries(setups))) {
      const started = performance.now();
      const run = await setup().then(
        async ({ params, suite, above, env, stop }) => {
          try {
            return await runOne(command, {
              SD_DRIVER: driver,
              SD_PARAMS: JSON.stringify(params),
              SD_SUITE: JSON.stringify(suite),
              ...(above === undefined ? {} : { SD_ABOVE: JSON.stringify(above) }),
              ...env,
              DENO_NO_UPDATE_CHECK: '1',
            });
          } finally {
            await stop?.();
          }
        },
        (error) => ({ code: 'none', output: `setup failed: ${error?.stack ?? error}` }),
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const ranOn = /^SD_RUNTIME (.*)$/m.exec(run.output)?.[1];
      const fault = run.results === undefined ? `no results (exit ${run.code})` : !reports.test(ranOn ?? '') ? `ran on ${ranOn ?? 'an unknown runtime'}, not ${runtime}` : undefined;
      if (fault !== undefined) {
        broken++;
        const tail = run.output.split('\n').filter((line) => !line.startsWith('SD_RESULTS ')).slice(-15).join('\n');
        rows.push(`${runtime.padEnd(8)} ${driver.padEnd(11)} ${fault} ${seconds} s\n${tail}`);
        testResults.push({ name: join(here, `${runtime} ${driver}`), status: 'failed', message: `${fault}\n${tail}`, assertionResults: [] });
        continue;
      }
      const count = (status) => run.results.filter((r) => r.status === status).length;
      for (const status of ['passed', 'failed', 'skipped']) totals[status] += count(status);
      rows.push(`${runtime.padEnd(8)} ${driver.padEnd(11)} ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped  ${seconds} s  (${ranOn})`);
      const failed = run.results.filter((r) => r.status === 'failed');
      for (const failure of failed) rows.push(`    ✕ ${failure.name}: ${failure.reason}`);
      if (failed.length > 0) {
        const assertionResults = failed.map((failure) => ({ status: 'failed', fullName: failure.name, failureMessages: [String(failure.reason)] }));
        testResults.push({ name: join(here, `${runtime} ${driver}`), status: 'failed', message: '', assertionResults });
      }
    }
  }
} finally {
  await Promise.allSettled([servers.s3.stop(), servers.gcs.stop()]);
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`runtime  driver      results\n${rows.join('\n')}`);
console.log(`runtimes: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${broken > 0 ? `, ${broken} runs without results` : ''}`);
writeFileSync(join(here, '.jest-results.json'), JSON.stringify({
  numPassedTests: totals.passed,
  numFailedTests: totals.failed + broken,
  numPendingTests: totals.skipped,
  numTodoTests: 0,
  numRuntimeErrorTestSuites: 0,
  testResults,
}));
process.exit(totals.failed > 0 || broken > 0 || totals.passed === 0 ? 1 : 0);
