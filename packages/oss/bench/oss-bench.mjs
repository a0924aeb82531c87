// The oss driver beside the s3 driver on one Ceph RGW started for the run (rgw_dns_name s3.test, so
// oss is virtual-hosted, s3 path-style): what OSS's constraints cost (virtual-hosted names, upload
// records instead of ListMultipartUploads). Each (subject, operation) runs BENCH_RUNS times (default 3)
// in its own Node process. Usage: `pnpm run bench` (after build); BENCH_STREAM_MIB sets the stream size.
import { Agent } from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
// Not 1 GiB by default: the test cluster's OSD is memstore (6 GiB) and RGW frees an overwritten
// object's tail only at its garbage collection, so three runs of two subjects at 1 GiB fill it.
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 256) * MiB;
const STREAM_LABEL = STREAM_BYTES % (1024 * MiB) === 0 ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`;
const SMALL_COUNT = 2000;
const SMALL_BYTES = 4096;
const CHUNK = 10 * MiB;
const SUBJECTS = ['s3', 'oss'];
const OPERATIONS = [`write ${STREAM_LABEL} stream`, `read ${STREAM_LABEL} stream`, 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16'];
const DNS_NAME = 's3.test';

const { measureOperation, patternStream, publishBenchReport, runSideBySide, sideBySideMethod, streamSource } = await import('@storagedriver/testsuite');
// Made before any timing: the timed loops pay for no data (testsuite's streamSource).
const source = streamSource(STREAM_BYTES);

/** `*.s3.test` is 127.0.0.1 (no DNS or hosts-file change). */
function lookup(hostname, options, callback) {
  if (hostname !== DNS_NAME && !hostname.endsWith(`.${DNS_NAME}`)) throw new Error(`bench: unexpected host ${hostname}`);
  return options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);
}

const drain = () => {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } }), bytes: () => bytes };
};

async function driverOf(name, env) {
  const bucket = env.BENCH_BUCKET;
  if (name === 's3') {
    const { S3Driver } = await import('@storagedriver/s3');
    return new S3Driver({
      bucket, region: 'us-east-1', regionEndpoint: env.BENCH_UPSTREAM, forcePathStyle: true, accessKey: env.BENCH_ACCESS_KEY,
      secretKey: env.BENCH_SECRET_KEY, requestChecksums: 'WHEN_REQUIRED', chunkSize: CHUNK,
    });
  }
  const { OssDriver } = await import('../dist/esm/index.js');
  return new OssDriver({ bucket, region: 'oss-cn-hangzhou', endpoint: env.BENCH_ENDPOINT, accessKeyId: env.BENCH_ACCESS_KEY, accessKeySecret: env.BENCH_SECRET_KEY, chunkSize: CHUNK, lookup });
}

/** Child: one operation of one subject; prints its Measurement as JSON. */
async function child(name, operation) {
  const driver = await driverOf(name, process.env);
  const small = Buffer.alloc(SMALL_BYTES, 7);
  const big = `/${name}/big`;
  const subject = {
    writeStream: async () => {
      const w = await driver.writer(big);
      await pipeline(source(), w.writable());
      await w.commit();
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline(await driver.reader(big), d.sink);
      return d.bytes();
    },
    put: async (i) => (await driver.putContent(`/${name}/small/${i}`, small), SMALL_BYTES),
    get: async (i) => (await driver.getContent(`/${name}/small/${i}`)).length,
  };
  const sizes = { streamBytes: STREAM_BYTES, smallCount: SMALL_COUNT, smallBytes: SMALL_BYTES, walkEntries: 0 };
  process.stdout.write(`${JSON.stringify(await measureOperation(`${name}: ${operation}`, operation, subject, sizes))}\n`);
}

async function main() {
  const { ensureInstalled, start } = await import('../../../tooling/servers/ceph-rgw.mjs');
  await ensureInstalled();
  const server = await start({ dnsName: DNS_NAME });
  try {
    const sdk = await import('@aws-sdk/client-s3');
    const env = {
      ...process.env, BENCH_UPSTREAM: server.endpoint, BENCH_ENDPOINT: `http://${DNS_NAME}:${server.port}`,
      BENCH_ACCESS_KEY: server.accessKeyId, BENCH_SECRET_KEY: server.secretAccessKey, BENCH_BUCKET: 'bench',
    };
    const client = new sdk.S3Client({
      endpoint: env.BENCH_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: env.BENCH_ACCESS_KEY, secretAccessKey: env.BENCH_SECRET_KEY },
      requestHandler: { httpAgent: new Agent({ lookup }) },
    });
    await client.send(new sdk.CreateBucketCommand({ Bucket: 'bench' }));
    // A fresh cluster is slow on its first large writes (pool and PG setup): warm it before measuring.
    const warm = await driverOf('s3', env);
    const w = await warm.writer('/warm-up');
    await pipeline(patternStream(128 * MiB, 2), w.writable());
    await w.commit();
    await warm.delete('/warm-up');
    const cells = await runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, env,
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    publishBenchReport({
      title: 'oss on Ceph RGW (virtual-hosted)',
      subject: 'oss',
      setup: [
        `Ceph RGW on 127.0.0.1 with rgw_dns_name ${DNS_NAME} (oss virtual-hosted, s3 path-style); ${sideBySideMethod()}`,
        `oss: @storagedriver/oss; s3: @storagedriver/s3 on the same gateway (what OSS's constraints cost: virtual-hosted names, upload records); parts of ${CHUNK / MiB} MiB.`,
        `Streams of ${STREAM_LABEL}; ${SMALL_COUNT} objects of ${SMALL_BYTES} B per cell.`,
      ],
      cells,
      goals: ['write', 'read', 'put', 'get'].map((operation) => ({ operation, baseline: 's3', metric: 'speed', ratio: 0.95 })),
    });
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
