// Side-by-side benchmark on one Ceph cluster started for the run: this driver (librados through
// koffi) vs `rados bench` (Ceph's own client, C++) vs the s3 driver through radosgw on the same OSD.
// Each (subject, operation) runs BENCH_RUNS times (default 3) in its own process, so each peak
// resident memory is its own (for `rados bench`, GNU time's maximum RSS and CPU). Usage: `pnpm run
// bench` (after build); BENCH_STREAM_MIB and BENCH_SMALL_COUNT shrink it; BENCH_OPS and BENCH_SUBJECTS
// (comma-separated, operation names by prefix) pick cells (a read needs its write, a get its put);
// BENCH_CPU_PROF=<dir> writes a `--cpu-prof` profile of every Node cell there, in a folder per subject.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: the test cluster's OSD is memstore (6 GiB), shared by three subjects' runs
// and by RGW, which frees an overwritten object's tail only at its garbage collection.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 2000);
const SMALL_BYTES = 4096;
const CHUNK = 4 * MiB;
const IN_FLIGHT = 4;
const POOL = 'bench';
const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const { subjects: SUBJECTS, operations: OPERATIONS } = benchCells(
  ['driver', 'librados', 'rados bench', 's3 driver (rgw)'],
  [`write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16'],
);

const { measureOperation, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);

const drain = () => {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } }), bytes: () => bytes };
};

async function makeDriver(name, env) {
  if (name === 'driver') {
    const { RadosDriver } = await import('../dist/esm/index.js');
    return new RadosDriver({ poolName: POOL, configFile: env.BENCH_CONF, chunkSize: CHUNK, uploadConcurrency: IN_FLIGHT, rootDirectory: 'bench' });
  }
  const { S3Driver } = await import('@storagedriver/s3');
  return new S3Driver({
    bucket: 'bench', region: 'us-east-1', regionEndpoint: env.BENCH_ENDPOINT, forcePathStyle: true, accessKey: env.BENCH_ACCESS_KEY,
    secretKey: env.BENCH_SECRET_KEY, requestChecksums: 'WHEN_REQUIRED', chunkSize: 10 * MiB, uploadConcurrency: IN_FLIGHT,
  });
}

/** Removes a driver subject's small files (run in a process of its own: its memory is not the cell's). */
async function clearSmall(name) {
  const driver = await makeDriver(name, process.env);
  await driver.delete('/small').catch((error) => {
    if (error?.code !== 'PATH_NOT_FOUND') throw error;
  });
  await driver.close?.();
}

/** The operations of a driver subject, each returning the bytes it moved. */
async function driverSubject(name, env, operation) {
  // Every put makes a new file, as every object of `rados bench` is new: the previous run's files
  // go first (untimed), and the warm-up's names are not the timed loop's. The gets read the first
  // SMALL_COUNT names, written by the last put run.
  if (operation.startsWith('put')) execFileSync(process.execPath, [here, '--clear', name], { env, stdio: 'inherit' });
  const driver = await makeDriver(name, env);
  const small = Buffer.alloc(SMALL_BYTES, 7);
  let nextName = 0;
  return {
    writeStream: async () => {
      const w = await driver.writer('/big');
      await pipeline(source(), w.writable());
      await w.commit();
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline(await driver.reader('/big'), d.sink);
      return d.bytes();
    },
    put: async () => (await driver.putContent(`/small/${nextName++}`, small), SMALL_BYTES),
    get: async (i) => (await driver.getContent(`/small/${i}`)).length,
    close: () => driver.close?.(),
  };
}

/**
 * The floor of this FFI path: librados through koffi with the driver's own bindings, one aio call
 * per object and nothing else (no directory entry, no upload record, no atomic replace). The driver's
 * put and get minus this are what its guarantees cost; this minus `rados bench` is what koffi costs.
 */
async function libradosSubject(env) {
  const { Cluster } = await import('../dist/esm/cluster.js');
  const { readInto, writeFull } = await import('../dist/esm/librados.js');
  const cluster = new Cluster({ poolName: POOL, configFile: env.BENCH_CONF });
  const expect = (rc, what) => {
    if (rc < 0) throw new Error(`${what}: rc ${rc}`);
    return rc;
  };
  const inFlight = async (count, fn) => {
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await fn(next++);
    }));
  };
  const objects = Math.ceil(STREAM_BYTES / CHUNK);
  const small = Buffer.alloc(SMALL_BYTES, 7);
  return {
    writeStream: async () => {
      const chunks = source()[Symbol.asyncIterator]();
      let rest = Buffer.alloc(0);
      let index = 0;
      // The stream cut into 4 MiB objects, one cut at a time, IN_FLIGHT objects written at once, as the driver's writer does.
      let cutting = Promise.resolve();
      const nextObject = () => {
        const cut = cutting.then(async () => {
          const pieces = [rest];
          let length = rest.length;
          while (length < CHUNK) {
            const { value, done } = await chunks.next();
            if (done) break;
            pieces.push(value);
            length += value.length;
          }
          const whole = Buffer.concat(pieces, length);
          rest = whole.subarray(Math.min(CHUNK, whole.length));
          return { index: index++, data: whole.subarray(0, Math.min(CHUNK, whole.length)) };
        });
        cutting = cut.then(() => undefined);
        return cut;
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        for (let next = await nextObject(); next.data.length > 0; next = await nextObject()) {
          const { index: i, data } = next;
          await cluster.use(async (io) => expect((await writeFull(io, `raw-big-${i}`, data)).rc, 'write_full'));
        }
      }));
      return STREAM_BYTES;
    },
    readStream: async () => {
      let bytes = 0;
      await inFlight(objects, async (i) => {
        const into = Buffer.allocUnsafe(Math.min(CHUNK, STREAM_BYTES - i * CHUNK));
        const read = await cluster.use(async (io) => expect((await readInto(io, `raw-big-${i}`, into, 0)).rc, 'read'));
        bytes += read;
      });
      return bytes;
    },
    put: async (i) => cluster.use(async (io) => (expect((await writeFull(io, `raw-small-${i}`, small)).rc, 'write_full'), SMALL_BYTES)),
    get: async (i) => cluster.use(async (io) => expect((await readInto(io, `raw-small-${i}`, Buffer.allocUnsafe(SMALL_BYTES), 0)).rc, 'read')),
    close: () => cluster.close(),
  };
}

/** `rados bench` as a Measurement: its own totals, and GNU time's peak RSS and CPU (start-up included). */
async function radosBench(operation, env) {
  const streamed = operation.includes('stream');
  const size = streamed ? CHUNK : SMALL_BYTES;
  const threads = operation.endsWith('c=16') ? 16 : streamed ? IN_FLIGHT : 1;
  const mode = operation.startsWith('write') || operation.startsWith('put') ? 'write' : operation.startsWith('read') ? 'seq' : 'rand';
  // A write stops after as many objects as the drivers write (the seconds only bound it): 5 s of 4 MiB
  // objects is some 2.5 GiB, whose removal and rewrite leave the memstore OSD slow for seconds, on
  // whichever subject runs next. `seq` reads those objects once; `rand` reads them for 5 s.
  const objects = streamed ? Math.ceil(STREAM_BYTES / CHUNK) : SMALL_COUNT;
  const cli = ['-c', env.BENCH_CONF, '-p', POOL, 'bench', mode === 'rand' ? '5' : '60', mode, '-t', String(threads)];
  // The reads read what the last write left (--no-cleanup), of the same object size; each write
  // first removes the previous one's objects (untimed).
  if (mode === 'write') {
    await run('rados', ['-c', env.BENCH_CONF, '-p', POOL, 'cleanup', '--run-name', `bench-${size}`], { maxBuffer: 64 * MiB });
    cli.push('-b', String(size), '--max-objects', String(objects), '--no-cleanup', '--run-name', `bench-${size}`);
  } else cli.push('--run-name', `bench-${size}`);
  const { stderr, stdout } = await run('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', 'rados', ...cli], { maxBuffer: 64 * MiB });
  const field = (label) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(stdout)?.[1]);
  const total = mode === 'write' ? field('Total writes made') : field('Total reads made');
  const runTime = field('Total time run');
  const peak = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  const [, user, system] = /cpu=([\d.]+)\+([\d.]+)/.exec(stderr) ?? [];
  if (!(total > 0) || !(runTime > 0) || user === undefined) throw new Error(`rados bench ${cli.join(' ')}: no totals in its output:\n${stdout}\n${stderr}`);
  // A stream is one operation of total × size bytes; the small operations count each request.
  return {
    name: `rados bench: ${operation}`, operations: streamed ? 1 : total, bytes: streamed ? total * size : 0, seconds: runTime,
    rssGrowthMiB: peak, peakRssMiB: peak, cpuMicros: (Number(user) + Number(system)) * 1e6,
  };
}

async function child(name, operation) {
  let m;
  if (name === 'rados bench') m = await radosBench(operation, process.env);
  else {
    const s = name === 'librados' ? await libradosSubject(process.env) : await driverSubject(name, process.env, operation);
    const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, walkEntries: 0 };
    m = await measureOperation(`${name}: ${operation}`, operation, s, sizes);
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
    const cells = await runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
      nodeArgs: (name) => (env.BENCH_CPU_PROF && name !== 'rados bench' ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}/${name.replace(/[ ()]+/g, '-')}`] : []),
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    publishBenchReport({
      title: 'rados on Ceph',
      subject: 'driver',
      setup: [
        `One memstore OSD on 127.0.0.1, pool of 8 PGs; ${sideBySideMethod()}`,
        `driver: @storagedriver/rados (librados through koffi, ${CHUNK / MiB} MiB chunks, ${IN_FLIGHT} in flight); rados bench: Ceph's own C++ client (${IN_FLIGHT} threads of ${CHUNK / MiB} MiB objects on the streams, 4 KiB objects on the small operations; a write makes as many objects as a driver cell, the previous write's removed first; a stream read reads them once, a small read reads them at random for 5 s; its CPU from GNU time, start-up included); librados: the same koffi bindings making one aio call per object (write_full, read) and nothing else, the floor of the driver's FFI path; s3 driver (rgw): @storagedriver/s3 through radosgw on the same OSD.`,
        'A driver put of 4 KiB keeps the data inline, in the directory entry: two dependent round trips for a new file (the atomic publish in the parent directory, compared with nothing, beside the look-up; then the directory links read), and a get is one omap read. Replacing a file takes three: the first publish is refused, and a second one, compared with what the look-up found, follows it. Larger content adds an upload record and chunk objects (four round trips for a new file, a get two). That is what atomic replace, crash clean-up and directories cost: the goal against rados bench, one write per put, cannot be met by a driver that keeps those guarantees; librados shows how close this FFI path comes to it.',
        `Streams of ${STREAM_LABEL} through the drivers; ${SMALL_COUNT} objects of ${SMALL_BYTES} B per driver cell, each driver put a new file (the previous run's removed first, untimed; the warm-up's under other names).`,
      ],
      cells,
      goals: SUBJECTS.includes('driver') && SUBJECTS.includes('rados bench') ? ['write', 'read', 'put', 'get'].map((operation) => ({ operation, baseline: 'rados bench', metric: 'speed', ratio: 1 })) : [],
    });
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else if (process.argv[2] === '--clear') await clearSmall(process.argv[3]);
else await main();
