// Side-by-side benchmark on both Swift servers started for the run (Ceph RGW's Swift API and
// OpenStack Swift): the driver beside plain `fetch` requests with the same token and connection
// pool (the baseline) and Apache OpenDAL's `swift` service (installed at run time into a temporary
// directory, never into the lock file). Each (subject, operation) runs BENCH_RUNS times (default 3)
// in a Node process of its own, so its peak resident memory and CPU are its own. Usage: `pnpm run
// bench` (after build). BENCH_STREAM_MIB, BENCH_SMALL_OPS and BENCH_WALK_KEYS shrink it; BENCH_OPS
// (comma-separated name prefixes) picks operations (a get needs its put, a read its write) and
// BENCH_SUBJECTS subjects;
// BENCH_CPU_PROF=<dir> writes a `--cpu-prof` profile of every cell there, in a folder per server and subject.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: OpenDAL's swift writer sends one request, so its stream is gathered in
// memory first, and Ceph's test OSD is memstore (6 GiB) with three runs of three subjects per size.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const SMALL_OPS = Number(process.env.BENCH_SMALL_OPS ?? 1000);
const WALK_KEYS = Number(process.env.BENCH_WALK_KEYS ?? 10_000);
const CHUNK = 16 * MiB;
/** The driver's default upload concurrency, which the bench's driver keeps. */
const SEGMENTS_IN_FLIGHT = 4;
const SMALL = 4096;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
const { benchCells } = await import('../../../tooling/bench/cells.mjs');
const { subjects: SUBJECTS, operations: OPERATIONS } = benchCells(['driver', 'fetch', 'plain SLO', 'opendal', 'http floor', 'client floor'], [`write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'get 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=16', `walk ${WALK_KEYS.toLocaleString('en').replaceAll(',', ' ')} keys`]);

const { cellMedians, measureOperation, patternBytes, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);
const { SwiftDriver, SwiftClient, parseSwiftParameters } = await import('../dist/esm/index.js');

const options = (env) => parseSwiftParameters({ ...JSON.parse(env.BENCH_SERVER), container: env.BENCH_CONTAINER, chunksize: CHUNK, prefix: 'bench' });

function drain() {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } }), bytes: () => bytes };
}

/** What each subject does for each operation; each returns the bytes it moved. */
async function subject(name, env) {
  const small = patternBytes(SMALL, 3);
  if (name === 'driver') {
    const driver = new SwiftDriver(options(env));
    // Authenticated before the timer, as the other subjects are (fetch's token, OpenDAL's): a
    // one-operation cell (a walk) would otherwise time the Keystone login and the /info discovery.
    await driver.stat('/walk');
    return {
      writeStream: async () => {
        const writer = await driver.writer('/driver/big');
        await pipeline(source(), writer.writable());
        await writer.commit();
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline(await driver.reader('/driver/big'), d.sink);
        return d.bytes();
      },
      put: async (i) => (await driver.putContent(`/driver/small/${i}`, small), SMALL),
      get: async (i) => (await driver.getContent(`/driver/small/${i}`)).length,
      walk: async () => {
        let files = 0;
        await driver.walk('/walk', (info) => void (info.isDir || files++));
        return files;
      },
    };
  }
  if (name === 'opendal') {
    const { loadOpendal } = await import('../../../tooling/bench/opendal.mjs');
    const { Operator } = loadOpendal(env.BENCH_OPENDAL_DIR);
    const o = options(env);
    const client = new SwiftClient(o);
    const { storageUrl, token } = await client.credentials();
    const op = new Operator('swift', { endpoint: storageUrl, container: o.container, root: '/bench/files', token });
    return {
      // OpenDAL's swift service has no multipart writer (its OneShotWriter refuses a second write):
      // the whole stream is gathered in memory and sent in one request.
      writeStream: async () => {
        const chunks = [];
        for await (const chunk of source()) chunks.push(chunk);
        await op.write('opendal/big', Buffer.concat(chunks));
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline((await op.reader('opendal/big')).createReadStream(), d.sink);
        return d.bytes();
      },
      put: async (i) => (await op.write(`opendal/small/${i}`, small), SMALL),
      get: async (i) => (await op.read(`opendal/small/${i}`)).length,
      walk: async () => (await op.list('walk/', { recursive: true })).filter((entry) => !entry.path().endsWith('/')).length,
    };
  }
  if (name.endsWith(' floor')) {
    const { clientFloor, httpFloor } = await import('../../../tooling/bench/http-floor.mjs');
    const o = options(env);
    const { storageUrl, token } = await new SwiftClient(o).credentials();
    const http = name === 'http floor' ? httpFloor() : clientFloor((await import('@storagedriver/core')).HttpClient, storageUrl);
    const urls = Array.from({ length: 2 * SMALL_OPS }, (_, i) => `${storageUrl}/${o.container}/bench/files/floor/small/${i}`);
    const headers = { 'x-auth-token': token };
    return {
      put: async (i) => (await http.put(urls[i], headers, small), SMALL),
      get: async (i) => (await http.get(urls[i], headers)).length,
    };
  }
  if (name === 'plain SLO') {
    // The driver's object format without its protocol (no upload record, commit mark or clean-up of
    // a replaced object), on the driver's HTTP client: segments of the driver's size with their MD5,
    // as many in flight, then the manifest; read back in one GET, which the server assembles.
    const o = options(env);
    const client = new SwiftClient(o);
    await client.credentials();
    const object = (name) => `bench/files/slo/${name}`;
    return {
      writeStream: async () => {
        const segments = [];
        const inFlight = new Set();
        let pending = [];
        let filled = 0;
        const send = (index, data) => {
          const etag = createHash('md5').update(data).digest('hex');
          segments[index] = { path: `/${o.container}/${object(`segments/${index}`)}`, etag, size_bytes: data.length };
          const put = client.callRaw({ method: 'PUT', container: o.container, object: object(`segments/${index}`), headers: { etag }, body: data });
          inFlight.add(put);
          put.finally(() => inFlight.delete(put)).catch(() => undefined);
        };
        for await (const chunk of source()) {
          pending.push(chunk);
          filled += chunk.length;
          if (filled >= CHUNK) {
            while (inFlight.size >= SEGMENTS_IN_FLIGHT) await Promise.race(inFlight);
            const data = Buffer.concat(pending);
            send(segments.length, data.subarray(0, CHUNK));
            pending = [data.subarray(CHUNK)];
            filled -= CHUNK;
          }
        }
        if (filled > 0) send(segments.length, Buffer.concat(pending));
        await Promise.all(inFlight);
        await client.callRaw({ method: 'PUT', container: o.container, object: object('big'), query: { 'multipart-manifest': 'put' }, body: JSON.stringify(segments) });
        return STREAM_BYTES;
      },
      readStream: async () => {
        const response = await client.sendRaw({ method: 'GET', container: o.container, object: object('big') });
        const d = drain();
        await pipeline(response.body, d.sink);
        return d.bytes();
      },
    };
  }
  // The baseline: plain fetch with the driver's token and storage URL, the same requests a minimal client would send.
  const o = options(env);
  const client = new SwiftClient(o);
  const { storageUrl, token } = await client.credentials();
  const url = (name) => `${storageUrl}/${o.container}/bench/files/${name}`;
  const headers = { 'x-auth-token': token };
  return {
    // One streamed PUT (chunked transfer encoding): no segments, no manifest.
    writeStream: async () => {
      const body = Readable.toWeb(source());
      const response = await fetch(url('raw/big'), { method: 'PUT', headers, body, duplex: 'half' });
      if (!response.ok) throw new Error(`PUT: ${response.status}`);
      await response.arrayBuffer();
      return STREAM_BYTES;
    },
    readStream: async () => {
      const response = await fetch(url('raw/big'), { headers });
      const d = drain();
      await pipeline(Readable.fromWeb(response.body), d.sink);
      return d.bytes();
    },
    put: async (i) => {
      const response = await fetch(url(`raw/small/${i}`), { method: 'PUT', headers: { ...headers, etag: createHash('md5').update(small).digest('hex') }, body: small });
      await response.arrayBuffer();
      return SMALL;
    },
    get: async (i) => (await (await fetch(url(`raw/small/${i}`), { headers })).arrayBuffer()).byteLength,
    // The listing requests alone (pages of 1000 until an empty one).
    walk: async () => {
      let files = 0;
      for (let marker = ''; ;) {
        const page = await (await fetch(`${storageUrl}/${o.container}?format=json&prefix=bench/files/walk/&marker=${encodeURIComponent(marker)}`, { headers })).json();
        if (page.length === 0) return files;
        files += page.length;
        marker = page.at(-1).name;
      }
    },
  };
}

async function child(name, operation) {
  const s = await subject(name, process.env);
  // The c=16 cells use keys of their own.
  const offset = operation.endsWith('c=16') ? SMALL_OPS : 0;
  const keyed = { ...s, put: (i) => s.put(offset + i), get: (i) => s.get(offset + i) };
  const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_OPS, smallBytes: SMALL, walkEntries: WALK_KEYS };
  process.stdout.write(`${JSON.stringify(await measureOperation(`${name}: ${operation}`, operation, keyed, sizes))}\n`);
}

/** The walk fixture: WALK_KEYS small objects in a three-level tree, put with plain requests at concurrency 16. */
async function walkFixture(server, container) {
  const client = new SwiftClient(parseSwiftParameters({ ...server, container }));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < WALK_KEYS) {
      const i = next++;
      await client.call({ method: 'PUT', container, object: `bench/files/walk/${i % 10}/${Math.floor(i / 10) % 100}/${i}`, body: 'x' });
    }
  }));
}

/** Issue 14's goals for a driver joining the table: ahead of plain requests and of OpenDAL. */
const GOALS = [
  ...['write', 'read', 'put', 'get', 'walk'].flatMap((operation) => ['fetch', 'opendal'].map((baseline) => ({ operation, baseline, metric: 'speed', ratio: 1 }))),
  ...['put', 'get'].map((operation) => ({ operation, baseline: 'opendal', metric: 'cpu', ratio: 1 })),
];

async function main() {
  const ceph = await import('../../../tooling/servers/ceph-rgw.mjs');
  const { CLIENT_FLOOR_DESCRIPTION, FLOOR_DESCRIPTION, floorNotes } = await import('../../../tooling/bench/http-floor.mjs');
  const openstack = await import('../../../tooling/servers/openstack-swift.mjs');
  const { installOpendal, OPENDAL_VERSION } = await import('../../../tooling/bench/opendal.mjs');
  await ceph.ensureInstalled();
  await openstack.ensureInstalled();
  const opendal = installOpendal();
  const [rgw, swift] = await Promise.all([ceph.start(), openstack.start()]);
  try {
    const servers = [
      ['Ceph RGW', { authurl: rgw.swift.authUrl, username: rgw.swift.user, password: rgw.swift.key }],
      ['OpenStack Swift', { authurl: swift.authUrl, username: swift.user, password: swift.key }],
    ];
    for (const [label, server] of servers) {
      const container = `bench-${Date.now().toString(36)}`;
      const client = new SwiftClient(parseSwiftParameters({ ...server, container }));
      await client.call({ method: 'PUT', container });
      await walkFixture(server, container);
      const env = { ...process.env, BENCH_SERVER: JSON.stringify(server), BENCH_CONTAINER: container, BENCH_OPENDAL_DIR: opendal.dir };
      const cells = await runSideBySide({
        script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
        onOperationDone: (operation) => process.stderr.write(`${label} done: ${operation}\n`),
        takesPart: (name, operation) => (name.endsWith(' floor') ? /^(put|get)/.test(operation) : name === 'plain SLO' ? /stream$/.test(operation) : true),
        nodeArgs: (name) => (env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}/${label.replace(' ', '-')}/${name.replace(' ', '-')}`] : []),
      });
      publishBenchReport({
        title: `swift on ${label}`,
        subject: 'driver',
        setup: [
          `${label}'s Swift API on 127.0.0.1; ${sideBySideMethod()}`,
          `driver: @storagedriver/swift (${CHUNK / MiB} MiB segments); fetch: Node's fetch with the driver's token, one streamed PUT per object (no segments); plain SLO: the driver's HTTP client writing the driver's object format without its protocol (${CHUNK / MiB} MiB segments with their MD5, ${SEGMENTS_IN_FLIGHT} in flight, then the manifest; no upload record, commit mark or clean-up of the replaced object's segments) and reading it back; opendal: opendal ${OPENDAL_VERSION} swift service (no multipart writer: its stream is gathered in memory and sent in one request).`,
          `Streams of ${STREAM_LABEL}; ${SMALL_OPS} objects of ${SMALL} B per cell; walk of ${WALK_KEYS} objects in a three-level tree.`,
          `${FLOOR_DESCRIPTION}; with the driver's token. ${CLIENT_FLOOR_DESCRIPTION}`,
        ],
        cells,
        goals: GOALS,
        references: ['http floor'],
        notes: floorNotes(cells, cellMedians),
      });
    }
  } finally {
    await Promise.all([rgw.stop(), swift.stop()]);
    opendal.remove();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
