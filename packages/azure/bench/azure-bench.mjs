// Side-by-side benchmark on one Azurite started for the run (over plain HTTP: OpenDAL's TLS stack
// trusts only its built-in roots, not a certificate made for the run): the driver beside the SDK's
// own clients (BlockBlobClient.uploadStream / upload, BlobClient.download, listBlobsFlat) and Apache
// OpenDAL's `azblob` service (installed at run time into a temporary directory, never into the lock
// file). Each (subject, operation) runs BENCH_RUNS times (default 3) in a Node process of its own, so
// its peak resident memory and client CPU are its own. Usage: `pnpm run bench` (after build);
// BENCH_STREAM_MIB, BENCH_SMALL_OPS and BENCH_WALK_KEYS shrink it; BENCH_OPS and BENCH_SUBJECTS
// (comma-separated, operation names by prefix) pick cells; BENCH_CPU_PROF=<dir> writes a
// `--cpu-prof` profile of every cell there, in a folder per subject.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: Azurite keeps blocks in its own (single-threaded Node) process memory, and
// three subjects' three runs of a 1 GiB stream would take most of the benchmark's time budget.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
const SMALL_OPS = Number(process.env.BENCH_SMALL_OPS ?? 2000);
const SMALL_BYTES = 4096;
const WALK_KEYS = Number(process.env.BENCH_WALK_KEYS ?? 10_000);
const BLOCK = 4 * MiB;
const BLOCKS_IN_FLIGHT = 4;
const ALL_SUBJECTS = ['driver', 'azure-sdk', 'opendal', 'http floor', 'client floor'];
const ALL_OPERATIONS = [
  `write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16',
  `walk ${WALK_KEYS.toLocaleString('en').replaceAll(',', ' ')} keys`,
];
const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const { subjects: SUBJECTS, operations: OPERATIONS } = benchCells(ALL_SUBJECTS, ALL_OPERATIONS);

const { cellMedians, measureOperation, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);
const { AzureBackend, AzureDriver } = await import('../dist/esm/index.js');

function options(env) {
  return {
    container: 'bench', accountName: env.BENCH_ACCOUNT, serviceUrl: env.BENCH_ENDPOINT,
    credentials: { type: 'shared_key', accountKey: env.BENCH_KEY }, blockSize: BLOCK, uploadConcurrency: BLOCKS_IN_FLIGHT,
  };
}

function drain() {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } }), bytes: () => bytes };
}

/** The operations of one subject, each returning the bytes (or, for a walk, the blobs) it saw. */
async function subject(name, env) {
  const small = Buffer.alloc(SMALL_BYTES, 7);
  const key = (op, i) => `${name.replace(' ', '-')}/${op}/${i}`;
  if (name === 'driver') {
    const driver = new AzureDriver(options(env));
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
        let blobs = 0;
        await driver.walk('/walk', (info) => void (info.isDir || blobs++));
        return blobs;
      },
    };
  }
  if (name === 'azure-sdk') {
    // The same container client the driver builds (same pipeline and retry settings).
    const container = new AzureBackend(options(env)).container;
    return {
      writeStream: async () => {
        await container.getBlockBlobClient(key('big', 0)).uploadStream(source(), BLOCK, BLOCKS_IN_FLIGHT);
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline((await container.getBlobClient(key('big', 0)).download(0)).readableStreamBody, d.sink);
        return d.bytes();
      },
      put: async (i) => (await container.getBlockBlobClient(key('small', i)).upload(small, SMALL_BYTES), SMALL_BYTES),
      get: async (i) => (await container.getBlobClient(key('small', i)).downloadToBuffer()).length,
      walk: async () => {
        let blobs = 0;
        for await (const page of container.listBlobsFlat({ prefix: 'walk/' }).byPage({ maxPageSize: 5000 })) blobs += page.segment.blobItems.length;
        return blobs;
      },
    };
  }
  if (name.endsWith(' floor')) {
    // A container SAS made before the timed loop: Azurite checks its signature, the client computes none.
    const { BlobSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } = await import('@azure/storage-blob');
    const { clientFloor, httpFloor } = await import('../../../tooling/bench/http-floor.mjs');
    const container = new AzureBackend(options(env)).container;
    const sas = generateBlobSASQueryParameters(
      { containerName: 'bench', permissions: BlobSASPermissions.parse('rcw'), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(env.BENCH_ACCOUNT, env.BENCH_KEY),
    ).toString();
    const url = (i) => `${container.getBlobClient(key('small', i)).url}?${sas}`;
    const urls = Array.from({ length: SMALL_OPS }, (_, i) => url(i));
    const http = name === 'http floor' ? httpFloor() : clientFloor((await import('@storagedriver/core')).HttpClient, env.BENCH_ENDPOINT);
    return {
      put: async (i) => (await http.put(urls[i], { 'x-ms-blob-type': 'BlockBlob' }, small), SMALL_BYTES),
      get: async (i) => (await http.get(urls[i])).length,
    };
  }
  const { loadOpendal } = await import('../../../tooling/bench/opendal.mjs');
  const { Operator } = loadOpendal(env.BENCH_OPENDAL_DIR);
  const op = new Operator('azblob', { container: 'bench', endpoint: env.BENCH_ENDPOINT, account_name: env.BENCH_ACCOUNT, account_key: env.BENCH_KEY });
  return {
    writeStream: async () => {
      const w = await op.writer(key('big', 0), { chunk: BigInt(BLOCK), concurrent: BLOCKS_IN_FLIGHT });
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
      let blobs = 0;
      for (let e = await lister.next(); e !== null; e = await lister.next()) if (!e.path().endsWith('/')) blobs++;
      return blobs;
    },
  };
}

/** Child: one operation of one subject; prints its Measurement as JSON. */
async function child(name, operation) {
  const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_OPS, smallBytes: SMALL_BYTES, walkEntries: WALK_KEYS };
  const m = await measureOperation(`${name}: ${operation}`, operation, await subject(name, process.env), sizes);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** The walk's blobs, in 50 prefixes, put once with the SDK at concurrency 32. */
async function seedWalk(env) {
  const container = new AzureBackend(options(env)).container;
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < WALK_KEYS) {
      const i = next++;
      await container.getBlockBlobClient(`walk/d${i % 50}/f${i}`).upload('x', 1);
    }
  }));
}

/** Issue 14's goals for azure: as for s3, ahead of the SDK and of OpenDAL, with CPU and memory bounds on the small operations. */
const GOALS = [
  ...['write', 'read', 'put', 'get', 'walk'].flatMap((operation) => ['azure-sdk', 'opendal'].map((baseline) => ({ operation, baseline, metric: 'speed', ratio: 1 }))),
  ...['put', 'get'].flatMap((operation) => [
    { operation, baseline: 'opendal', metric: 'cpu', ratio: 1 },
    { operation, baseline: 'opendal', metric: 'rss', ratio: 1.3 },
  ]),
];

async function main() {
  const { start } = await import('../../../tooling/servers/azurite.mjs');
  const { CLIENT_FLOOR_DESCRIPTION, FLOOR_DESCRIPTION, floorNotes } = await import('../../../tooling/bench/http-floor.mjs');
  const { installOpendal, OPENDAL_VERSION } = await import('../../../tooling/bench/opendal.mjs');
  const opendal = installOpendal();
  const server = await start({ tls: false });
  try {
    const env = { ...process.env, BENCH_ENDPOINT: server.endpoint, BENCH_ACCOUNT: server.accountName, BENCH_KEY: server.accountKey, BENCH_OPENDAL_DIR: opendal.dir };
    await new AzureBackend(options(env)).container.create();
    await seedWalk(env);
    // Every subject's get cells read the objects its put cells wrote.
    const cells = await runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
      nodeArgs: (name) => (env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}/${name.replace(' ', '-')}`] : []),
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
      takesPart: (name, operation) => !name.endsWith(' floor') || /^(put|get)/.test(operation),
    });
    publishBenchReport({
      title: 'azure on Azurite',
      subject: 'driver',
      setup: [
        `Azurite (in memory) over HTTP on 127.0.0.1; ${sideBySideMethod()}`,
        `driver: @storagedriver/azure (${BLOCK / MiB} MiB blocks, ${BLOCKS_IN_FLIGHT} in flight); azure-sdk: @azure/storage-blob through the same container client (uploadStream with the same block size and concurrency); opendal: opendal ${OPENDAL_VERSION} azblob service (writer chunk ${BLOCK / MiB} MiB, ${BLOCKS_IN_FLIGHT} concurrent).`,
        `Streams of ${STREAM_LABEL}; ${SMALL_OPS} blobs of ${SMALL_BYTES} B per cell; walk of ${WALK_KEYS} blobs in 50 prefixes.`,
        'Azurite is one Node process sharing the 2 cores with the client: its CPU per request bounds every subject.',
        `${FLOOR_DESCRIPTION}; its URLs carry a container SAS (Azurite checks the signature). ${CLIENT_FLOOR_DESCRIPTION}`,
      ],
      cells,
      goals: GOALS,
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
