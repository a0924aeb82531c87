// Side-by-side benchmark on one Ceph RGW started for the run: this driver vs the plain AWS SDK
// (lib-storage Upload, GetObject, ListObjectsV2) vs Apache OpenDAL's npm binding (installed into a
// temporary directory at run time, never into the lock file). Each (subject, operation) runs in its
// own Node process so its peak resident memory is its own. Usage: `pnpm run bench` (after build).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const SMALL_COUNT = 2000;
const SMALL_BYTES = 4096;
const WALK_KEYS = 10_000;
const CHUNK = 10 * MiB;
const PARTS_IN_FLIGHT = 4;
const SUBJECTS = ['driver', 'aws-sdk', 'opendal'];
const OPERATIONS = ['write 1 GiB stream', 'read 1 GiB stream', 'put 4 KiB c=1', 'put 4 KiB c=16', 'get 4 KiB c=1', 'get 4 KiB c=16', 'walk 10 000 keys'];

const { measure, measureConcurrent, patternStream, runSideBySide, formatTable } = await import('@storagedriver/testsuite');
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
async function subject(name, env) {
  const bucket = env.BENCH_BUCKET;
  const small = Buffer.alloc(SMALL_BYTES, 7);
  const key = (op, i) => `${name}/${op}/${i}`;
  if (name === 'driver') {
    const { S3Driver } = await import('../dist/esm/index.js');
    const driver = new S3Driver({
      bucket, region: 'us-east-1', regionEndpoint: env.BENCH_ENDPOINT, forcePathStyle: true, accessKey: env.BENCH_ACCESS_KEY,
      secretKey: env.BENCH_SECRET_KEY, requestChecksums: 'WHEN_REQUIRED', chunkSize: CHUNK, uploadConcurrency: PARTS_IN_FLIGHT,
    });
    return {
      writeStream: async () => {
        const w = await driver.writer(`/${key('big', 0)}`);
        await pipeline(patternStream(STREAM_BYTES, 1), w.writable());
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
        await new Upload({ client, params: { Bucket: bucket, Key: key('big', 0), Body: patternStream(STREAM_BYTES, 1) }, partSize: CHUNK, queueSize: PARTS_IN_FLIGHT }).done();
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
  const { Operator } = createRequire(join(env.BENCH_OPENDAL_DIR, 'package.json'))('opendal');
  const op = new Operator('s3', {
    bucket, endpoint: env.BENCH_ENDPOINT, region: 'us-east-1', access_key_id: env.BENCH_ACCESS_KEY, secret_access_key: env.BENCH_SECRET_KEY,
  });
  return {
    writeStream: async () => {
      const w = await op.writer(key('big', 0), { chunk: BigInt(CHUNK) });
      await pipeline(patternStream(STREAM_BYTES, 1), w.createWriteStream());
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
  const s = await subject(name, process.env);
  const label = `${name}: ${operation}`;
  let m;
  switch (operation) {
    case 'write 1 GiB stream': m = await measure(label, 1, s.writeStream); break;
    case 'read 1 GiB stream': m = await measure(label, 1, s.readStream); break;
    case 'put 4 KiB c=1': m = await measureConcurrent(label, SMALL_COUNT, 1, s.put); break;
    case 'put 4 KiB c=16': m = await measureConcurrent(label, SMALL_COUNT, 16, s.put); break;
    case 'get 4 KiB c=1': m = await measureConcurrent(label, SMALL_COUNT, 1, s.get); break;
    case 'get 4 KiB c=16': m = await measureConcurrent(label, SMALL_COUNT, 16, s.get); break;
    case 'walk 10 000 keys': {
      let found = 0;
      m = await measure(label, 1, async () => ((found = await s.walk()), 0));
      if (found !== WALK_KEYS) throw new Error(`${label}: saw ${found} keys, expected ${WALK_KEYS}`);
      m = { ...m, operations: 1 };
      break;
    }
  }
  process.stdout.write(`${JSON.stringify(m)}\n`);
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
  await ensureInstalled();
  const opendalDir = mkdtempSync(join(tmpdir(), 'storagedriver-opendal-'));
  const server = await start();
  try {
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', opendalDir, 'opendal@0.49.2'], { stdio: 'ignore' });
    const env = {
      ...process.env, BENCH_ENDPOINT: server.endpoint, BENCH_ACCESS_KEY: server.accessKeyId, BENCH_SECRET_KEY: server.secretAccessKey,
      BENCH_BUCKET: 'bench', BENCH_OPENDAL_DIR: opendalDir,
    };
    await rawClient(env).send(new sdk.CreateBucketCommand({ Bucket: 'bench' }));
    await seedWalkKeys(env);
    await warmUp(env);
    const rows = runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, baseline: 'aws-sdk', env,
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    console.log(formatTable(rows));
  } finally {
    await server.stop();
    rmSync(opendalDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
