// Side-by-side benchmark on one fake-gcs-server started for the run: the driver's writer and reader
// on a 1 GiB stream beside the SDK's file.createWriteStream() and file.createReadStream(), each in a
// Node process of its own so its peak resident memory is its own. Usage: `pnpm run bench` (after
// build); BENCH_STREAM_MIB shrinks the stream.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const CHUNK = 16 * MiB;
const SUBJECTS = ['driver', 'gcs-sdk'];
const OPERATIONS = ['write 1 GiB stream', 'read 1 GiB stream'];

const { measure, patternStream, runSideBySide, formatTable } = await import('@storagedriver/testsuite');
const { GcsBackend, GcsDriver } = await import('../dist/esm/index.js');

const options = (env) => ({ bucket: 'bench', apiEndpoint: env.BENCH_ENDPOINT, chunkSize: CHUNK });

function drain() {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } }), bytes: () => bytes };
}

/** The two operations of one subject, each returning the bytes it moved. */
function subject(name, env) {
  const objectName = `${name}/big`;
  if (name === 'driver') {
    const driver = new GcsDriver(options(env));
    return {
      writeStream: async () => {
        const writer = await driver.writer(`/${objectName}`);
        await pipeline(patternStream(STREAM_BYTES, 1), writer.writable());
        await writer.commit();
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline(await driver.reader(`/${objectName}`), d.sink);
        return d.bytes();
      },
    };
  }
  // The SDK through the same Bucket the driver builds (same endpoint and retry settings); its
  // resumable upload sends one chunk at a time, of the same size.
  const file = new GcsBackend(options(env)).bucket.file(objectName);
  return {
    writeStream: async () => {
      await pipeline(patternStream(STREAM_BYTES, 1), file.createWriteStream({ resumable: true, chunkSize: CHUNK, validation: false }));
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline(file.createReadStream({ validation: false }), d.sink);
      return d.bytes();
    },
  };
}

async function child(name, operation) {
  const s = subject(name, process.env);
  const label = `${name}: ${operation}`;
  const m = operation.startsWith('write') ? await measure(label, 1, s.writeStream) : await measure(label, 1, s.readStream);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main() {
  const { start } = await import('../../../tooling/servers/fake-gcs.mjs');
  const server = await start();
  try {
    const env = { ...process.env, BENCH_ENDPOINT: server.endpoint };
    const { Storage } = await import('@google-cloud/storage');
    await new Storage({ apiEndpoint: server.endpoint, projectId: 'bench' }).createBucket('bench');
    const rows = runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, baseline: 'gcs-sdk', env,
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    console.log(formatTable(rows));
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
