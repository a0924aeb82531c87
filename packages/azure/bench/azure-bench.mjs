// Side-by-side benchmark on one Azurite started for the run: the driver's writer and reader on a
// 1 GiB stream beside the SDK's own BlockBlobClient.uploadStream and BlobClient.download, each in a
// Node process of its own so its peak resident memory is its own. Usage: `pnpm run bench` (after
// build); BENCH_STREAM_MIB shrinks the stream.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB;
const BLOCK = 4 * MiB;
const BLOCKS_IN_FLIGHT = 4;
const SUBJECTS = ['driver', 'azure-sdk'];
const OPERATIONS = ['write 1 GiB stream', 'read 1 GiB stream'];

const { measure, patternStream, runSideBySide, formatTable } = await import('@storagedriver/testsuite');
const { AzureBackend, AzureDriver } = await import('../dist/esm/index.js');

function options(env) {
  return {
    container: 'bench', accountName: env.BENCH_ACCOUNT, serviceUrl: env.BENCH_ENDPOINT, skipVerify: true,
    credentials: { type: 'shared_key', accountKey: env.BENCH_KEY }, blockSize: BLOCK, uploadConcurrency: BLOCKS_IN_FLIGHT,
  };
}

function drain() {
  let bytes = 0;
  return { sink: new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } }), bytes: () => bytes };
}

/** The two operations of one subject, each returning the bytes it moved. */
function subject(name, env) {
  const blobName = `${name}/big`;
  if (name === 'driver') {
    const driver = new AzureDriver(options(env));
    return {
      writeStream: async () => {
        const writer = await driver.writer(`/${blobName}`);
        await pipeline(patternStream(STREAM_BYTES, 1), writer.writable());
        await writer.commit();
        return STREAM_BYTES;
      },
      readStream: async () => {
        const d = drain();
        await pipeline(await driver.reader(`/${blobName}`), d.sink);
        return d.bytes();
      },
    };
  }
  // The SDK through the same container client the driver builds (same TLS and retry settings).
  const blob = new AzureBackend(options(env)).container.getBlockBlobClient(blobName);
  return {
    writeStream: async () => {
      await blob.uploadStream(patternStream(STREAM_BYTES, 1), BLOCK, BLOCKS_IN_FLIGHT);
      return STREAM_BYTES;
    },
    readStream: async () => {
      const d = drain();
      await pipeline((await blob.download(0)).readableStreamBody, d.sink);
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
  const { start } = await import('../../../tooling/servers/azurite.mjs');
  const server = await start();
  try {
    const env = { ...process.env, BENCH_ENDPOINT: server.endpoint, BENCH_ACCOUNT: server.accountName, BENCH_KEY: server.accountKey };
    await new AzureBackend(options(env)).container.create();
    const rows = runSideBySide({
      script: here, subjects: SUBJECTS, operations: OPERATIONS, baseline: 'azure-sdk', env,
      onOperationDone: (operation) => process.stderr.write(`done: ${operation}\n`),
    });
    console.log(formatTable(rows));
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
