// Side-by-side benchmark on one fake-gcs-server started for the run: the driver beside the SDK
// (file.createWriteStream / save, createReadStream / download, getFiles) and Apache OpenDAL's `gcs`
// service (installed at run time into a temporary directory, never into the lock file). Each
// (subject, operation) runs BENCH_RUNS times (default 3) in a Node process of its own, so its peak
// resident memory and client CPU are its own. Usage: `pnpm run bench` (after build);
// BENCH_STREAM_MIB, BENCH_SMALL_OPS and BENCH_WALK_KEYS shrink it; BENCH_OPS and BENCH_SUBJECTS
// (comma-separated, operation names by prefix) pick cells; BENCH_CPU_PROF=<dir> writes a
// `--cpu-prof` profile of every cell there, in a folder per subject.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: OpenDAL's stream is gathered in memory (below), and the emulator keeps every
// object in memory too.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
// fake-gcs-server's memory backend finds an object by scanning its bucket's list from the oldest
// write: a request costs time in proportion to the objects written before the one it names. So the
// small cells use 500 objects (at 2 000 the emulator's CPU, not the client, decided every figure),
// each subject has a bucket of its own (in a shared one, the subject whose objects were written
// last read 2.5-3x slower than the first: measured, same client), and so do the walk's objects.
const SMALL_OPS = Number(process.env.BENCH_SMALL_OPS ?? 500);
// The get cells go round those objects five times: 500 gets at c=16 are two turns of about 40 ms,
// too short for a steady client CPU figure (two runs of driver and OpenDAL measured 85 against 101
// µs per get where the committed table had 127 against 89).
const GET_OPS = 5 * SMALL_OPS;
const SMALL_BYTES = 4096;
const WALK_KEYS = Number(process.env.BENCH_WALK_KEYS ?? 10_000);
const CHUNK = 16 * MiB;
const ALL_SUBJECTS = ['driver', 'gcs-sdk', 'opendal', 'http floor', 'client floor', 'emulator compose'];
const ALL_OPERATIONS = [
  `write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16',
  `walk ${WALK_KEYS.toLocaleString('en').replaceAll(',', ' ')} keys`,
];
const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const { subjects: SUBJECTS, operations: OPERATIONS } = benchCells(ALL_SUBJECTS, ALL_OPERATIONS);

const { cellMedians, measureOperation, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);
const { GcsBackend, GcsDriver } = await import('../dist/esm/index.js');

/** The bucket of a subject's streams and small objects. */
const bucketOf = (name) => `bench-${name.replace(' ', '-')}`;
const options = (env, name) => ({ bucket: bucketOf(name), apiEndpoint: env.BENCH_ENDPOINT, chunkSize: CHUNK });

function drain() {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } }), bytes: () => bytes };
}

/** The operations of one subject, each returning the bytes (or, for a walk, the objects) it saw. */
async function subject(name, env) {
  const small = Buffer.alloc(SMALL_BYTES, 7);
  const key = (op, i) => `${name.replace(' ', '-')}/${op}/${i}`;
  if (name === 'driver') {
    const driver = new GcsDriver(options(env, name));
    // Made once, as the SDK's bucket is: a walk times the listing, not a new client's first connection.
    const walkDriver = new GcsDriver({ ...options(env, name), bucket: 'walk' });
    return {
      writeStream: async () => {
        const writer = await driver.writer(`/${key('big', 0)}`);
        await pipeline(source(), writer.writable());
        await writer.commit();
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
        let objects = 0;
        await walkDriver.walk('/walk', (info) => void (info.isDir || objects++));
        return objects;
      },
    };
  }
  if (name === 'gcs-sdk') {
    // The same Bucket the driver builds (same endpoint and retry settings); its resumable upload
    // sends one chunk at a time, of the same size.
    const bucket = new GcsBackend(options(env, name)).bucket;
    return {
      writeStream: async () => {
        await pipeline(source(), bucket.file(key('big', 0)).createWriteStream({ resumable: true, chunkSize: CHUNK, validation: false }));
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline(bucket.file(key('big', 0)).createReadStream({ validation: false }), d.sink);
        return d.bytes();
      },
      put: async (i) => (await bucket.file(key('small', i)).save(small, { resumable: false, validation: false }), SMALL_BYTES),
      get: async (i) => (await bucket.file(key('small', i)).download({ validation: false }))[0].length,
      walk: async () => {
        let objects = 0;
        const walkBucket = bucket.storage.bucket('walk');
        let query = { prefix: 'walk/', autoPaginate: false, maxResults: 1000 };
        while (query) {
          const [files, next] = await walkBucket.getFiles(query);
          objects += files.length;
          query = next;
        }
        return objects;
      },
    };
  }
  if (name === 'emulator compose') {
    // The emulator's own share of the driver's write: its compose of the same chunks into the object
    // (the driver's commit), timed alone; the chunks are uploaded before the timing starts.
    const { bucket } = new GcsBackend(options(env, name));
    const chunks = [];
    let index = 0;
    for await (const chunk of source()) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    chunks.length = 0;
    for (let at = 0; at < STREAM_BYTES; at += CHUNK) {
      const object = `${key('chunks', 0)}/${index++}`;
      await bucket.file(object).save(whole.subarray(at, at + CHUNK), { resumable: false, validation: false });
      chunks.push({ name: object });
    }
    return {
      writeStream: async () => {
        const response = await fetch(`${env.BENCH_ENDPOINT}/storage/v1/b/${bucketOf(name)}/o/${encodeURIComponent(key('big', 0))}/compose`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sourceObjects: chunks, destination: {} }),
        });
        if (!response.ok) throw new Error(`compose: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        return STREAM_BYTES;
      },
    };
  }
  if (name.endsWith(' floor')) {
    // The JSON API's media upload and download, anonymous (as the emulator is).
    const { clientFloor, httpFloor } = await import('../../../tooling/bench/http-floor.mjs');
    const http = name === 'http floor' ? httpFloor() : clientFloor((await import('@storagedriver/core')).HttpClient, env.BENCH_ENDPOINT);
    const object = (i) => encodeURIComponent(key('small', i));
    const putUrls = Array.from({ length: SMALL_OPS }, (_, i) => `${env.BENCH_ENDPOINT}/upload/storage/v1/b/${bucketOf(name)}/o?uploadType=media&name=${object(i)}`);
    const getUrls = Array.from({ length: SMALL_OPS }, (_, i) => `${env.BENCH_ENDPOINT}/storage/v1/b/${bucketOf(name)}/o/${object(i)}?alt=media`);
    return {
      put: async (i) => (await http.put(putUrls[i], { 'content-type': 'application/octet-stream' }, small, 'POST'), SMALL_BYTES),
      get: async (i) => (await http.get(getUrls[i])).length,
    };
  }
  const { loadOpendal } = await import('../../../tooling/bench/opendal.mjs');
  const { Operator } = loadOpendal(env.BENCH_OPENDAL_DIR);
  const operator = (bucket) => new Operator('gcs', { bucket, endpoint: env.BENCH_ENDPOINT, allow_anonymous: 'true', disable_vm_metadata: 'true', disable_config_load: 'true' });
  const op = operator(bucketOf(name));
  const walkOp = operator('walk');
  return {
    // OpenDAL's chunked gcs writer uses the XML API's multipart upload, which fake-gcs-server refuses
    // (400 "invalid uploadType"): the stream is gathered in memory and sent in one request.
    writeStream: async () => {
      const chunks = [];
      for await (const chunk of source()) chunks.push(chunk);
      await op.write(key('big', 0), Buffer.concat(chunks));
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
      const lister = await walkOp.lister('walk/', { recursive: true });
      let objects = 0;
      for (let e = await lister.next(); e !== null; e = await lister.next()) if (!e.path().endsWith('/')) objects++;
      return objects;
    },
  };
}

/** Child: one operation of one subject; prints its Measurement as JSON. */
async function child(name, operation) {
  const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_OPS, getCount: GET_OPS, smallBytes: SMALL_BYTES, walkEntries: WALK_KEYS };
  const m = await measureOperation(`${name}: ${operation}`, operation, await subject(name, process.env), sizes);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** The walk's objects, in 50 prefixes of the bucket `walk`, put once with the SDK at concurrency 32. */
async function seedWalk(env) {
  const bucket = new GcsBackend({ ...options(env, 'driver'), bucket: 'walk' }).bucket;
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < WALK_KEYS) {
      const i = next++;
      await bucket.file(`walk/d${i % 50}/f${i}`).save('x', { resumable: false, validation: false });
    }
  }));
}

/** How much of the driver's stream write the emulator's compose alone takes (medians). */
function composeNote(cells) {
  const seconds = (subject) => {
    const cell = cells.find((c) => c.subject === subject && c.operation.startsWith('write'));
    return cell && STREAM_BYTES / MiB / cellMedians(cell).speed;
  };
  const driver = seconds('driver');
  const compose = seconds('emulator compose');
  if (driver === undefined || compose === undefined) return [];
  return [`${STREAM_LABEL} stream write: the driver takes ${driver.toFixed(2)} s, of which the emulator's compose of its chunks alone takes ${compose.toFixed(2)} s (${((100 * compose) / driver).toFixed(0)} %); the rest, ${(driver - compose).toFixed(2)} s, is the chunks' upload (the emulator compose row).`];
}

/** Issue 14's goals for gcs: as for s3, ahead of the SDK and of OpenDAL, with CPU and memory bounds on the small operations. */
const GOALS = [
  ...['write', 'read', 'put', 'get', 'walk'].flatMap((operation) => ['gcs-sdk', 'opendal'].map((baseline) => ({ operation, baseline, metric: 'speed', ratio: 1 }))),
  ...['put', 'get'].flatMap((operation) => [
    { operation, baseline: 'opendal', metric: 'cpu', ratio: 1 },
    { operation, baseline: 'opendal', metric: 'rss', ratio: 1.3 },
  ]),
];

async function main() {
  const { start, VERSION } = await import('../../../tooling/servers/fake-gcs.mjs');
  const { CLIENT_FLOOR_DESCRIPTION, FLOOR_DESCRIPTION, floorNotes } = await import('../../../tooling/bench/http-floor.mjs');
  const { installOpendal, OPENDAL_VERSION } = await import('../../../tooling/bench/opendal.mjs');
  const opendal = installOpendal();
  const server = await start();
  try {
    const env = { ...process.env, BENCH_ENDPOINT: server.endpoint, BENCH_OPENDAL_DIR: opendal.dir };
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: server.endpoint, projectId: 'bench' });
    for (const name of SUBJECTS) await storage.createBucket(bucketOf(name));
    await storage.createBucket('walk');
    await seedWalk(env);
    // Every subject's get cells read the objects its put cells wrote.
    const cells = await runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
      nodeArgs: (name) => (env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}/${name.replace(' ', '-')}`] : []),
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
      takesPart: (name, operation) => (name === 'emulator compose' ? operation.startsWith('write') : !name.endsWith(' floor') || /^(put|get)/.test(operation)),
    });
    publishBenchReport({
      title: 'gcs on fake-gcs-server',
      subject: 'driver',
      setup: [
        `fake-gcs-server ${VERSION} (memory backend) over HTTP on 127.0.0.1; ${sideBySideMethod()}`,
        `driver: @storagedriver/gcs (${CHUNK / MiB} MiB chunks); gcs-sdk: @google-cloud/storage through the same Bucket (resumable createWriteStream with the same chunk size, save and download without validation); opendal: opendal ${OPENDAL_VERSION} gcs service, anonymous.`,
        `OpenDAL's stream write is one request of the whole stream gathered in memory: its chunked writer uses the XML API's multipart upload, which fake-gcs-server answers with 400 "invalid uploadType".`,
        `Streams of ${STREAM_LABEL}; ${SMALL_OPS} objects of ${SMALL_BYTES} B per put cell, each get cell reading them ${GET_OPS / SMALL_OPS} times round, each subject in a bucket of its own (the emulator's memory backend finds an object by scanning its bucket from the oldest write: at 2 000 objects its CPU decided every figure, and in one shared bucket the subject written last read 2.5–3× slower); walk of ${WALK_KEYS} objects in 50 prefixes of a bucket of their own.`,
        `emulator compose: fake-gcs-server's compose of the driver's chunks (${STREAM_BYTES / CHUNK} of ${CHUNK / MiB} MiB, uploaded before the timing) into the object, timed alone: the driver's commit. fake-gcs-server concatenates the chunks' bytes in memory and computes the object's MD5 and CRC32C, which costs it as long as taking a single upload of the whole stream (OpenDAL's write): a write in chunks composed at the end cannot match one request here.`,
        `${FLOOR_DESCRIPTION}; JSON API media uploads (the driver sends multipart uploads, whose first part carries the object's metadata) and alt=media downloads, anonymous as every subject here. ${CLIENT_FLOOR_DESCRIPTION}`,
      ],
      cells,
      goals: GOALS,
      references: ['http floor'],
      notes: [...composeNote(cells), ...floorNotes(cells, cellMedians)],
    });
  } finally {
    await server.stop();
    opendal.remove();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
