// Side-by-side benchmark on one Ceph RGW started for the run: this driver vs the plain AWS SDK
// (lib-storage Upload, GetObject, ListObjectsV2) vs Apache OpenDAL's npm binding (installed into a
// temporary directory at run time, never into the lock file). Each (subject, operation) runs
// BENCH_RUNS times (default 3) in a Node process of its own so its peak resident memory and client
// CPU are its own; the table shows medians with min–max. Usage: `pnpm run bench` (after build).
// BENCH_OPS and BENCH_SUBJECTS (comma-separated, operation names by prefix) pick cells;
// BENCH_STREAM_MIB sets the stream size (default 256: see STREAM_BYTES); BENCH_CPU_PROF=<dir> writes
// a `--cpu-prof` profile of every cell there, in a folder per subject.
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: the test cluster's OSD keeps objects in memory (memstore, 6 GiB) and RGW
// frees an overwritten object's tail only at its next garbage collection, so nine 1 GiB writes fill it.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
const SMALL_COUNT = 2000;
const SMALL_BYTES = 4096;
const WALK_KEYS = 10_000;
const CHUNK = 10 * MiB;
const PARTS_IN_FLIGHT = 4;
const ALL_SUBJECTS = ['driver', 'aws-sdk', 'opendal', 'http floor', 'undici floor', 'client floor'];
const ALL_OPERATIONS = [`write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16', 'walk 10 000 keys'];
const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const { subjects: SUBJECTS, operations: OPERATIONS } = benchCells(ALL_SUBJECTS, ALL_OPERATIONS);

const { cellMedians, measureOperation, patternStream, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);
const sdk = await import('@aws-sdk/client-s3');

function rawClient(env) {
  return new sdk.S3Client({
    endpoint: env.BENCH_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.BENCH_ACCESS_KEY, secretAccessKey: env.BENCH_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const drain = () => {
  let bytes = 0;
  return {
    sink: new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } }),
    bytes: () => bytes,
  };
};

/** The operations of one subject, each returning the bytes it moved. */
async function subject(name, env, operation) {
  const bucket = env.BENCH_BUCKET;
  const small = Buffer.alloc(SMALL_BYTES, 7);
  const key = (op, i) => `${name.replace(' ', '-')}/${op}/${i}`;
  if (name === 'driver') {
    const { S3Driver } = await import('../dist/esm/index.js');
    const driver = new S3Driver({
      bucket, region: 'us-east-1', regionEndpoint: env.BENCH_ENDPOINT, forcePathStyle: true, accessKey: env.BENCH_ACCESS_KEY,
      secretKey: env.BENCH_SECRET_KEY, requestChecksums: 'WHEN_REQUIRED', chunkSize: CHUNK, uploadConcurrency: PARTS_IN_FLIGHT,
    });
    return {
      writeStream: async () => {
        const w = await driver.writer(`/${key('big', 0)}`);
        await pipeline(source(), w.writable());
        await w.commit();
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline(await driver.reader(`/${key('big', 0)}`), d.sink);
        return d.bytes();
      },
      put: async (i) => (await driver.putContent(`/${key('small', i)}`, small), SMALL_BYTES),
      get: async (i) => (await driver.getContent(`/${key('small', i)}`)).length,
      walk: async () => {
        let n = 0;
        await driver.walk('/walk', (info) => void (info.isDir || n++));
        return n;
      },
    };
  }
  if (name === 'aws-sdk') {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const client = rawClient(env);
    return {
      writeStream: async () => {
        await new Upload({ client, params: { Bucket: bucket, Key: key('big', 0), Body: source() }, partSize: CHUNK, queueSize: PARTS_IN_FLIGHT }).done();
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline((await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key('big', 0) }))).Body, d.sink);
        return d.bytes();
      },
      put: async (i) => (await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key('small', i), Body: small })), SMALL_BYTES),
      get: async (i) => (await (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key('small', i) }))).Body.transformToByteArray()).length,
      walk: async () => {
        let n = 0;
        let token;
        do {
          const out = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: 'walk/', ContinuationToken: token }));
          n += out.Contents?.length ?? 0;
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token);
        return n;
      },
    };
  }
  if (name.endsWith(' floor')) {
    // Presigned before the timed loop: the gateway checks the same SigV4 signatures, the client computes none.
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const { clientFloor, httpFloor, undiciFloor } = await import('../../../tooling/bench/http-floor.mjs');
    const client = rawClient(env);
    const http =
      name === 'http floor' ? httpFloor()
      : name === 'undici floor' ? undiciFloor((await import('undici')).Pool, env.BENCH_ENDPOINT)
      : clientFloor((await import('@storagedriver/core')).HttpClient, env.BENCH_ENDPOINT);
    const Command = operation.startsWith('put') ? sdk.PutObjectCommand : sdk.GetObjectCommand;
    const urls = [];
    for (let i = 0; i < SMALL_COUNT; i++) urls.push(await getSignedUrl(client, new Command({ Bucket: bucket, Key: key('small', i) }), { expiresIn: 3600 }));
    return {
      put: async (i) => (await http.put(urls[i], {}, small), SMALL_BYTES),
      get: async (i) => (await http.get(urls[i])).length,
    };
  }
  const { loadOpendal } = await import('../../../tooling/bench/opendal.mjs');
  const { Operator } = loadOpendal(env.BENCH_OPENDAL_DIR);
  const op = new Operator('s3', {
    bucket, endpoint: env.BENCH_ENDPOINT, region: 'us-east-1', access_key_id: env.BENCH_ACCESS_KEY, secret_access_key: env.BENCH_SECRET_KEY,
  });
  return {
    writeStream: async () => {
      const w = await op.writer(key('big', 0), { chunk: BigInt(CHUNK) });
      await pipeline(source(), w.createWriteStream());
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline((await op.reader(key('big', 0))).createReadStream(), d.sink);
      return d.bytes();
    },
    put: async (i) => (await op.write(key('small', i), small), SMALL_BYTES),
    get: async (i) => (await op.read(key('small', i))).length,
    walk: async () => {
      const lister = await op.lister('walk/', { recursive: true });
      let n = 0;
      for (let e = await lister.next(); e !== null; e = await lister.next()) if (!e.path().endsWith('/')) n++;
      return n;
    },
  };
}

/** Child: one operation of one subject; prints its Measurement as JSON. */
async function child(name, operation) {
  const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, walkEntries: WALK_KEYS };
  const m = await measureOperation(`${name}: ${operation}`, operation, await subject(name, process.env, operation), sizes);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** The keys the get cells read, when no put cell of this run writes them. */
async function seedSmallKeys(env) {
  const client = rawClient(env);
  const body = Buffer.alloc(SMALL_BYTES, 7);
  const keys = SUBJECTS.flatMap((name) => Array.from({ length: SMALL_COUNT }, (_, i) => `${name.replace(' ', '-')}/small/${i}`));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < keys.length) await client.send(new sdk.PutObjectCommand({ Bucket: env.BENCH_BUCKET, Key: keys[next++], Body: body }));
  }));
}

/** Issue 14's goals, on the subjects of this run. */
function goals() {
  const all = [
    ...['put', 'get'].flatMap((operation) => [
      { operation, baseline: 'opendal', metric: 'speed', ratio: 1 },
      { operation, baseline: 'opendal', metric: 'cpu', ratio: 1 },
      { operation, baseline: 'opendal', metric: 'rss', ratio: 1.3 },
    ]),
    ...['write', 'read'].flatMap((operation) => ['opendal', 'aws-sdk'].map((baseline) => ({ operation, baseline, metric: 'speed', ratio: 1 }))),
    { operation: 'walk', baseline: 'opendal', metric: 'speed', ratio: 1 },
  ];
  return all.filter((g) => SUBJECTS.includes(g.baseline) && SUBJECTS.includes('driver'));
}

async function seedWalkKeys(env) {
  const client = rawClient(env);
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < WALK_KEYS) {
      const i = next++;
      await client.send(new sdk.PutObjectCommand({ Bucket: env.BENCH_BUCKET, Key: `walk/d${i % 50}/f${i}`, Body: 'x' }));
    }
  }));
}

/** A fresh cluster is slow on its first large writes (pool and PG setup): warm it before measuring. */
async function warmUp(env) {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = rawClient(env);
  const params = { Bucket: env.BENCH_BUCKET, Key: 'warm-up' };
  await new Upload({ client, params: { ...params, Body: patternStream(128 * MiB, 2) }, partSize: CHUNK, queueSize: PARTS_IN_FLIGHT }).done();
  await client.send(new sdk.DeleteObjectCommand(params));
}

async function main() {
  const { ensureInstalled, start } = await import('../../../tooling/servers/ceph-rgw.mjs');
  const { CLIENT_FLOOR_DESCRIPTION, FLOOR_DESCRIPTION, floorNotes } = await import('../../../tooling/bench/http-floor.mjs');
  await ensureInstalled();
  const { installOpendal, OPENDAL_VERSION } = await import('../../../tooling/bench/opendal.mjs');
  const opendal = installOpendal();
  const server = await start();
  try {
    const env = {
      ...process.env, BENCH_ENDPOINT: server.endpoint, BENCH_ACCESS_KEY: server.accessKeyId, BENCH_SECRET_KEY: server.secretAccessKey,
      BENCH_BUCKET: 'bench', BENCH_OPENDAL_DIR: opendal.dir,
    };
    await rawClient(env).send(new sdk.CreateBucketCommand({ Bucket: 'bench' }));
    if (OPERATIONS.some((o) => o.startsWith('walk'))) await seedWalkKeys(env);
    if (OPERATIONS.some((o) => o.startsWith('get')) && !OPERATIONS.some((o) => o.startsWith('put'))) await seedSmallKeys(env);
    if (OPERATIONS.some((o) => o.startsWith('read')) && !OPERATIONS.some((o) => o.startsWith('write'))) throw new Error('a read cell needs the write cell of the same run');
    await warmUp(env);
    const cells = await runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
      nodeArgs: (name) => (env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}/${name.replace(' ', '-')}`] : []),
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
      takesPart: (name, operation) => !name.endsWith(' floor') || /^(put|get)/.test(operation),
    });
    const versions = (names) => names.map((n) => `${n} ${createRequire(import.meta.url)(`${n}/package.json`).version}`).join(', ');
    publishBenchReport({
      title: 's3 on Ceph RGW',
      subject: 'driver',
      setup: [
        `Ceph RGW on 127.0.0.1 (one memstore OSD), path-style; ${sideBySideMethod()}`,
        `driver: @storagedriver/s3 (${CHUNK / MiB} MiB parts, ${PARTS_IN_FLIGHT} in flight); aws-sdk: ${versions(['@aws-sdk/client-s3', '@aws-sdk/lib-storage'])} (Upload with the same part size and queue); opendal: opendal ${OPENDAL_VERSION} s3 service (writer chunk ${CHUNK / MiB} MiB).`,
        `Streams of ${STREAM_LABEL} (not 1 GiB: the OSD is memstore, 6 GiB, and RGW frees overwritten tails only at garbage collection); ${SMALL_COUNT} small objects of ${SMALL_BYTES} B per cell; walk of ${WALK_KEYS} keys in 50 prefixes.`,
        'CPU µs/op: user + system CPU of the client process during the timed loop, per operation.',
        `${FLOOR_DESCRIPTION}; its URLs are presigned (the gateway checks the same SigV4 signatures). undici floor: the same on undici's Pool. ${CLIENT_FLOOR_DESCRIPTION}`,
      ],
      cells,
      goals: goals(),
      references: ['http floor'],
      notes: floorNotes(cells, cellMedians),
    });
  } finally {
    await server.stop();
    opendal.remove();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
