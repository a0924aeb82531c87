/**
 * MD5 of the parts a writer sends with their digest (Swift segments, GCS chunks, Azure blocks). The
 * service checks it, so the digest must be known before the part's request starts, and a part of
 * many MiB costs the event loop ~1.6 ms per MiB here: time in which it sends nothing. Parts from
 * 1 MiB up are hashed on one worker thread instead, which holds the process open only while it has
 * work. A part goes there as a copy handed over (a fifth of hashing it): parts in shared memory
 * would need no copy, but a SharedArrayBuffer does not count towards the collector's memory pressure,
 * so dropped parts piled up (3.2 GiB after 40 writers of 80 MiB, against 350 MiB with copies).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Smaller parts are hashed in place: the round trip to the worker would cost more than it saves. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, data }) => parentPort.postMessage({ id, digest: createHash('md5').update(data).digest() }));
`;

interface Pending {
  data: Uint8Array;
  resolve: (digest: Buffer) => void;
}

let worker: Worker | undefined;
/** Set once the worker failed: every hash is then computed in place. */
let workerFailed = false;
let nextId = 0;
const pending = new Map<number, Pending>();

function inPlace(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

function startWorker(): Worker {
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on('message', ({ id, digest }: { id: number; digest: Uint8Array }) => {
    const waiting = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) started.unref();
    waiting?.resolve(Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength));
  });
  // A worker that cannot run (a runtime without them, memory exhausted) costs speed, not results.
  const fail = (): void => {
    workerFailed = true;
    worker = undefined;
    for (const waiting of pending.values()) waiting.resolve(inPlace(waiting.data));
    pending.clear();
  };
  started.on('error', fail);
  started.on('exit', () => pending.size > 0 && fail());
  started.unref();
  return started;
}

/** The MD5 of `data` (16 bytes). `data` must not change until the promise settles. */
export function md5(data: Uint8Array): Promise<Buffer> {
  if (data.byteLength < OFF_THREAD_MIN_BYTES || workerFailed) return Promise.resolve(inPlace(data));
  try {
    worker ??= startWorker();
  } catch {
    workerFailed = true;
    return Promise.resolve(inPlace(data));
  }
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { data, resolve });
    worker!.ref();
    // The view's bytes alone (a message would clone the whole buffer under a view), handed over.
    const copy = new Uint8Array(data);
    worker!.postMessage({ id, data: copy }, [copy.buffer]);
  });
}
