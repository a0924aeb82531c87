/**
 * MD5 of the parts a writer sends with their digest (Swift segments, GCS chunks, Azure blocks). The
 * service checks it, so the digest must be known before the part's request starts, and a part of
 * many MiB costs the event loop ~1.6 ms per MiB here: time in which it sends nothing. Parts from
 * 1 MiB up are hashed on one worker thread instead, which holds the process open only while it has
 * work. A part goes there as a copy handed over (a fifth of hashing it): parts in shared memory
 * would need no copy, but a SharedArrayBuffer does not count towards the collector's memory pressure,
 * so dropped parts piled up (3.2 GiB after 40 writers of 80 MiB, against 350 MiB with copies).
 *
 * A writer that also stores the MD5 of the whole content (Azure's Content-MD5) hashes its parts
 * through a `ContentMd5`: the worker feeds the copy it already has to the content's hash too, so the
 * whole content costs the event loop no hashing either (0.38 s of a 256 MiB write here).
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Smaller parts are hashed in place: the round trip to the worker would cost more than it saves. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;

// Messages: a part ({id, data, content?}: its digest, and `data` fed to that content), a content's
// bytes alone ({data, content}), a content's digest ({id, finish}) or a content given up ({forget}).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const contents = new Map();
const contentHash = (content) => {
  let hash = contents.get(content);
  if (hash === undefined) contents.set(content, (hash = createHash('md5')));
  return hash;
};
parentPort.on('message', ({ id, data, content, finish, forget }) => {
  if (forget !== undefined) return void contents.delete(forget);
  if (finish !== undefined) {
    const digest = contentHash(finish).digest();
    contents.delete(finish);
    return parentPort.postMessage({ id, digest });
  }
  if (content !== undefined) contentHash(content).update(data);
  if (id !== undefined) parentPort.postMessage({ id, digest: createHash('md5').update(data).digest() });
});
`;

interface Pending {
  /** A part's bytes, hashed in place should the worker fail; absent for a content's digest, which is then lost. */
  data?: Uint8Array;
  resolve: (digest: Buffer | undefined) => void;
}

let worker: Worker | undefined;
/** Set once the worker failed: every hash is then computed in place. */
let workerFailed = false;
let nextId = 0;
const pending = new Map<number, Pending>();

/** One-shot: 4 KiB hashed between other work (caches cold) took 32–39 µs through a Hash object, 23–28 µs this way. */
function inPlace(data: Uint8Array): Buffer {
  return hash('md5', data, 'buffer');
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
  started.on('error', failWorker);
  // It only exits by failing: contents it held are lost, and nothing may be sent to it again.
  started.on('exit', failWorker);
  started.unref();
  return started;
}

function failWorker(): void {
  workerFailed = true;
  // One that still runs (a post failed for want of memory) must neither hold the process nor hash on.
  worker?.unref();
  void worker?.terminate();
  worker = undefined;
  for (const waiting of pending.values()) waiting.resolve(waiting.data === undefined ? undefined : inPlace(waiting.data));
  pending.clear();
}

/** The worker, started on first use; undefined once it failed. */
function usableWorker(): Worker | undefined {
  if (workerFailed) return undefined;
  try {
    worker ??= startWorker();
  } catch {
    workerFailed = true;
  }
  return worker;
}

/**
 * Posts `message` with `data` copied and handed over (a message would clone the whole buffer under
 * a view), awaiting an answer under `id` when there is one. False when it could not be sent: the
 * copy or the post failed (memory exhausted), and the worker is not used again.
 */
function post(message: { id?: number; content?: number }, data: Uint8Array, waiting?: Pending): boolean {
  try {
    const copy = new Uint8Array(data);
    worker!.postMessage({ ...message, data: copy }, [copy.buffer]);
  } catch {
    failWorker();
    return false;
  }
  if (message.id !== undefined) {
    pending.set(message.id, waiting!);
    worker!.ref();
  }
  return true;
}

/** A part's digest, its bytes also fed to the worker-held content `content` when given. */
function hashPart(data: Uint8Array, content?: number): Promise<Buffer> {
  if (data.byteLength < OFF_THREAD_MIN_BYTES || usableWorker() === undefined) {
    if (content !== undefined && !workerFailed) post({ content }, data);
    return Promise.resolve(inPlace(data));
  }
  return new Promise((resolve) => {
    const id = nextId++;
    if (!post({ id, content }, data, { data, resolve: resolve as (digest: Buffer | undefined) => void })) resolve(inPlace(data));
  });
}

/** The MD5 of `data` (16 bytes). `data` must not change until the promise settles. */
export function md5(data: Uint8Array): Promise<Buffer> {
  return hashPart(data);
}

let nextContentId = 0;
/** Contents dropped unfinished (a writer cancelled or abandoned): the worker forgets their state. */
const dropped = new FinalizationRegistry<number>((id) => worker?.postMessage({ forget: id }));

/**
 * The MD5 of a whole content sent in parts that each need their own MD5 too: `part` gives a part's,
 * `digest` the content's. Its state lives in the worker when there is one, so neither costs the
 * event loop any hashing; the digest is then undefined should the worker fail before it (the
 * caller does without, as for a content it did not see whole).
 */
export class ContentMd5 {
  readonly #id = nextContentId++;
  /** In place when no worker could be had for the first part; the worker holds the state otherwise. */
  #hash: Hash | undefined;
  #started = false;
  #digest: Promise<Buffer | undefined> | undefined;

  /** The MD5 of `data` alone, as `md5` gives it; `data` is also the content's next bytes (each part once, in order). */
  part(data: Uint8Array): Promise<Buffer> {
    if (this.#digest !== undefined) throw new Error('ContentMd5: a part after the digest');
    if (!this.#started) {
      this.#started = true;
      if (usableWorker() === undefined) this.#hash = createHash('md5');
      else dropped.register(this, this.#id, this);
    }
    if (this.#hash === undefined) return hashPart(data, this.#id);
    this.#hash.update(data);
    return md5(data);
  }

  /** The MD5 of every part given (of none: the empty content's); the same promise on every call. */
  digest(): Promise<Buffer | undefined> {
    this.#digest ??= this.#finish();
    return this.#digest;
  }

  #finish(): Promise<Buffer | undefined> {
    if (!this.#started || this.#hash !== undefined) return Promise.resolve((this.#hash ?? createHash('md5')).digest());
    dropped.unregister(this);
    if (workerFailed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = nextId++;
      try {
        worker!.postMessage({ id, finish: this.#id });
      } catch {
        failWorker();
        return resolve(undefined);
      }
      pending.set(id, { resolve });
      worker!.ref();
    });
  }
}
