// Side-by-side benchmark on one Ceph cluster started for the run: this driver (librados through
// koffi) vs `rados bench` (Ceph's own client, C++) vs the s3 driver through radosgw on the same OSD.
// Each (subject, operation) runs in its own process, so each peak resident memory is its own (for
// `rados bench`, GNU time's maximum RSS). Usage: `pnpm run bench` (after build).
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 2000);
const SMALL_BYTES = 4096;
const CHUNK = 4 * MiB;
const IN_FLIGHT = 4;
const POOL = 'bench';
const SUBJECTS = ['driver', 'rados bench', 's3 driver (rgw)'];
const OPERATIONS = ['write 1 GiB stream', 'read 1 GiB stream', 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16'];

const { measure, measureConcurrent, patternStream, runSideBySide, formatTable } = await import('@storagedriver/testsuite');

const drain = () => {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } }), bytes: () => bytes };
};

/** The operations of a driver subject, each returning the bytes it moved. */
async function driverSubject(name, env) {
  let driver;
  if (name === 'driver') {
    const { RadosDriver } = await import('../dist/esm/index.js');
    driver = new RadosDriver({ poolName: POOL, configFile: env.BENCH_CONF, chunkSize: CHUNK, uploadConcurrency: IN_FLIGHT, rootDirectory: 'bench' });
  } else {
    const { S3Driver } = await import('@storagedriver/s3');
    driver = new S3Driver({
      bucket: 'bench', region: 'us-east-1', regionEndpoint: env.BENCH_ENDPOINT, forcePathStyle: true, accessKey: env.BENCH_ACCESS_KEY,
      secretKey: env.BENCH_SECRET_KEY, requestChecksums: 'WHEN_REQUIRED', chunkSize: 10 * MiB, uploadConcurrency: IN_FLIGHT,
    });
  }
  const small = Buffer.alloc(SMALL_BYTES, 7);
  return {
    writeStream: async () => {
      const w = await driver.writer('/big');
      await pipeline(patternStream(STREAM_BYTES, 1), w.writable());
      await w.commit();
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline(await driver.reader('/big'), d.sink);
      return d.bytes();
    },
    put: async (i) => (await driver.putContent(`/small/${i}`, small), SMALL_BYTES),
    get: async (i) => (await driver.getContent(`/small/${i}`)).length,
    close: () => driver.close?.(),
  };
}

/** `rados bench` as a Measurement: its own totals, and GNU time's peak RSS. */
async function radosBench(operation, env) {
  const bytesFor = { 'write 1 GiB stream': CHUNK, 'read 1 GiB stream': CHUNK };
  const size = bytesFor[operation] ?? SMALL_BYTES;
  const threads = operation.endsWith('c=16') ? 16 : operation.includes('GiB') ? IN_FLIGHT : 1;
  const seconds = operation.includes('GiB') ? 10 : 5;
  const mode = operation.startsWith('write') || operation.startsWith('put') ? 'write' : operation.startsWith('read') ? 'seq' : 'rand';
  const cli = ['-c', env.BENCH_CONF, '-p', POOL, 'bench', String(seconds), mode, '-t', String(threads)];
  // The reads read what the last write left (--no-cleanup), of the same object size.
  if (mode === 'write') cli.push('-b', String(size), '--no-cleanup', '--run-name', `bench-${size}`);
  else cli.push('--run-name', `bench-${size}`);
  const { stderr, stdout } = await run('/usr/bin/time', ['-f', 'maxrss=%M', 'rados', ...cli], { maxBuffer: 64 * MiB });
  const field = (label) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(stdout)?.[1]);
  const total = mode === 'write' ? field('Total writes made') : field('Total reads made');
  const runTime = field('Total time run');
  const peak = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  return { name: `rados bench: ${operation}`, operations: operation.includes('GiB') ? 1 : total, bytes: operation.includes('GiB') ? total * size : 0, seconds: runTime, rssGrowthMiB: peak, peakRssMiB: peak };
}

async function child(name, operation) {
  let m;
  if (name === 'rados bench') m = await radosBench(operation, process.env);
  else {
    const s = await driverSubject(name, process.env);
    const label = `${name}: ${operation}`;
    switch (operation) {
      case 'write 1 GiB stream': m = await measure(label, 1, s.writeStream); break;
      case 'read 1 GiB stream': m = await measure(label, 1, s.readStream); break;
      case 'put 4 KiB c=1': m = await measureConcurrent(label, SMALL_COUNT, 1, s.put); break;
      case 'put 4 KiB c=16': m = await measureConcurrent(label, SMALL_COUNT, 16, s.put); break;
      case 'get 4 KiB c=1': m = await measureConcurrent(label, SMALL_COUNT, 1, s.get); break;
      case 'get 4 KiB c=16': m = await measureConcurrent(label, SMALL_COUNT, 16, s.get); break;
    }
    // Operation counts, not bytes, are the rate of the small operations (as for `rados bench`).
    if (operation.includes('KiB')) m = { ...m, bytes: 0 };
    await s.close();
  }
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main() {
  const { ensureInstalled, start } = await import('../../../tooling/servers/ceph-rgw.mjs');
  await ensureInstalled();
  const server = await start();
  try {
    const conf = join(server.dir, 'ceph.conf');
    execFileSync('ceph', ['-c', conf, 'osd', 'pool', 'create', POOL, '8']);
    execFileSync('ceph', ['-c', conf, 'osd', 'pool', 'application', 'enable', POOL, 'rados']);
    const env = { ...process.env, BENCH_CONF: conf, BENCH_ENDPOINT: server.endpoint, BENCH_ACCESS_KEY: server.accessKeyId, BENCH_SECRET_KEY: server.secretAccessKey };
    const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const rows = runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, baseline: 'rados bench', env,
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    console.log(formatTable(rows));
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
