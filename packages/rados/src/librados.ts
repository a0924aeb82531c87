/**
 * Every C declaration of librados the driver uses, in one place (test/librados.test.ts checks each
 * against the `rados` command-line tool: a wrong signature crashes the process instead of failing a
 * test). Signatures follow librados.h of Ceph Pacific (16.2), Debian's `librados2`.
 *
 * Data-path calls are `rados_aio_*`, whose completions src/completions.ts brings back to the JS
 * thread, so no I/O blocks the event loop. Two more traps, handled here:
 * - librados writes into read buffers and op-builder outputs (`prval`, `pmore`, iterators) during
 *   the operation, after the builder call returned: they are Buffers kept referenced by the pending
 *   operation, and decoded only after its completion;
 * - the library is loaded on first use, so importing the package works without librados.
 */
import koffi, { type LibraryHandle } from 'koffi';

import { CompletionReaper, type AioResult } from './completions.js';

export type { AioResult } from './completions.js';

/** A negative librados return code as an Error: `rc` (e.g. -2), `code` (e.g. `ENOENT`). */
export class RadosError extends Error {
  readonly rc: number;
  readonly code: string;
  readonly operation: string;

  constructor(rc: number, operation: string) {
    const code = ERRNO_NAMES[-rc] ?? `errno ${-rc}`;
    super(`${operation}: ${code} (${rc})`);
    this.rc = rc;
    this.code = code;
    this.operation = operation;
  }

  override get name(): string {
    return 'RadosError';
  }
}

export const ENOENT = -2;
export const EEXIST = -17;
export const ERANGE = -34;
export const ETIMEDOUT = -110;
/** An `omap_cmp` assertion that did not hold. */
export const ECANCELED = -125;
/** `rados_write_op_assert_version` on an object whose version differs. */
export const EOVERFLOW = -75;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST',
  22: 'EINVAL', 27: 'EFBIG', 28: 'ENOSPC', 34: 'ERANGE', 36: 'ENAMETOOLONG', 75: 'EOVERFLOW', 90: 'EMSGSIZE',
  95: 'EOPNOTSUPP', 103: 'ECONNABORTED', 104: 'ECONNRESET', 107: 'ENOTCONN', 108: 'ESHUTDOWN', 110: 'ETIMEDOUT',
  111: 'ECONNREFUSED', 122: 'EDQUOT', 125: 'ECANCELED',
};

export const CMPXATTR_OP_EQ = 1;
export const CMPXATTR_OP_GT = 3;
export const CREATE_IDEMPOTENT = 0;

/** Opaque handles: koffi external pointers. */
export type Pointer = unknown;

/** A named koffi type, declared once per process (koffi's names are process-wide; this module may be loaded twice, as ESM and CommonJS). */
function named(name: string, make: () => unknown): unknown {
  try {
    return koffi.type(name);
  } catch {
    return make();
  }
}

function declare(lib: LibraryHandle) {
  for (const name of ['rados_t', 'rados_ioctx_t', 'rados_write_op_t', 'rados_read_op_t', 'rados_omap_iter_t', 'rados_completion_t']) {
    named(name, () => koffi.pointer(name, koffi.opaque()));
  }
  named('rados_callback_t', () => koffi.proto('void rados_callback_t(rados_completion_t c, void *arg)'));
  const f = (definition: string) => lib.func(definition);
  return {
    // Setup and teardown (koffi's `.async` where they block: connect, ioctx creation, shutdown).
    create2: f('int rados_create2(_Out_ rados_t *cluster, const char *clustername, const char *name, uint64_t flags)'),
    confReadFile: f('int rados_conf_read_file(rados_t cluster, const char *path)'),
    confSet: f('int rados_conf_set(rados_t cluster, const char *option, const char *value)'),
    confParseEnv: f('int rados_conf_parse_env(rados_t cluster, const char *var)'),
    connect: f('int rados_connect(rados_t cluster)'),
    shutdown: f('void rados_shutdown(rados_t cluster)'),
    ioctxCreate: f('int rados_ioctx_create(rados_t cluster, const char *pool, _Out_ rados_ioctx_t *io)'),
    ioctxDestroy: f('void rados_ioctx_destroy(rados_ioctx_t io)'),
    // Completions (created without a callback: src/completions.ts says why).
    createCompletion2: f('int rados_aio_create_completion2(void *arg, rados_callback_t *cb, _Out_ rados_completion_t *pc)'),
    isComplete: f('int rados_aio_is_complete(rados_completion_t c)'),
    waitForComplete: f('int rados_aio_wait_for_complete(rados_completion_t c)'),
    getReturnValue: f('int rados_aio_get_return_value(rados_completion_t c)'),
    getVersion: f('uint64_t rados_aio_get_version(rados_completion_t c)'),
    release: f('void rados_aio_release(rados_completion_t c)'),
    // Whole-object data path.
    aioWriteFull: f('int rados_aio_write_full(rados_ioctx_t io, const char *oid, rados_completion_t c, const void *buf, size_t len)'),
    aioRead: f('int rados_aio_read(rados_ioctx_t io, const char *oid, rados_completion_t c, void *buf, size_t len, uint64_t off)'),
    aioRemove: f('int rados_aio_remove(rados_ioctx_t io, const char *oid, rados_completion_t c)'),
    // Write ops: omap changes (atomic per object) with assertions.
    createWriteOp: f('rados_write_op_t rados_create_write_op()'),
    releaseWriteOp: f('void rados_release_write_op(rados_write_op_t op)'),
    writeOpCreate: f('void rados_write_op_create(rados_write_op_t op, int exclusive, const char *category)'),
    writeOpRemove: f('void rados_write_op_remove(rados_write_op_t op)'),
    writeOpAssertVersion: f('void rados_write_op_assert_version(rados_write_op_t op, uint64_t ver)'),
    writeOpOmapCmp: f('void rados_write_op_omap_cmp(rados_write_op_t op, const char *key, uint8_t op_type, const void *val, size_t val_len, void *prval)'),
    writeOpOmapSet: f('void rados_write_op_omap_set(rados_write_op_t op, const char **keys, const char **vals, const size_t *lens, size_t num)'),
    writeOpExec: f('void rados_write_op_exec(rados_write_op_t op, const char *cls, const char *method, const void *in_buf, size_t in_len, void *prval)'),
    writeOpOmapRmKeys: f('void rados_write_op_omap_rm_keys(rados_write_op_t op, const char **keys, size_t num)'),
    aioWriteOpOperate: f('int rados_aio_write_op_operate(rados_write_op_t op, rados_ioctx_t io, rados_completion_t c, const char *oid, void *mtime, int flags)'),
    // Read ops: omap reads; outputs filled during the operation.
    createReadOp: f('rados_read_op_t rados_create_read_op()'),
    releaseReadOp: f('void rados_release_read_op(rados_read_op_t op)'),
    readOpOmapGetVals2: f('void rados_read_op_omap_get_vals2(rados_read_op_t op, const char *start_after, const char *filter_prefix, uint64_t max, void *iter, void *pmore, void *prval)'),
    readOpOmapGetValsByKeys2: f('void rados_read_op_omap_get_vals_by_keys2(rados_read_op_t op, const char **keys, size_t num, const size_t *key_lens, void *iter, void *prval)'),
    aioReadOpOperate: f('int rados_aio_read_op_operate(rados_read_op_t op, rados_ioctx_t io, rados_completion_t c, const char *oid, int flags)'),
    omapGetNext2: f('int rados_omap_get_next2(rados_omap_iter_t it, _Out_ void **key, _Out_ void **val, _Out_ size_t *klen, _Out_ size_t *vlen)'),
    omapGetEnd: f('void rados_omap_get_end(rados_omap_iter_t it)'),
  };
}

export type Librados = ReturnType<typeof declare>;

let loaded: Librados | undefined;

/** librados, loaded on first use. */
export function librados(): Librados {
  if (loaded !== undefined) return loaded;
  let lib: LibraryHandle;
  try {
    lib = koffi.load('librados.so.2');
  } catch (error) {
    throw new Error(`cannot load librados.so.2 (install Debian's librados2, or ceph-common): ${(error as Error).message}`, { cause: error });
  }
  loaded = declare(lib);
  return loaded;
}

/** Runs a blocking librados call on koffi's worker pool. */
export function callAsync<T>(fn: ReturnType<LibraryHandle['func']>, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    (fn as unknown as { async: (...a: unknown[]) => void }).async(...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
  });
}

let reaper: CompletionReaper<Pointer> | undefined;

function completions(lib: Librados): CompletionReaper<Pointer> {
  reaper ??= new CompletionReaper<Pointer>({
    isComplete: (c) => (lib.isComplete(c) as number) !== 0,
    waitForComplete: (c, done) => (lib.waitForComplete as unknown as { async: (c: Pointer, cb: (error: unknown) => void) => void }).async(c, done),
    result: (c) => ({ rc: lib.getReturnValue(c) as number, version: BigInt(lib.getVersion(c) as number | bigint) }),
    release: (c) => lib.release(c),
  });
  return reaper;
}

/** Operations submitted (on the pool context `io`, when given) and not yet completed, for tests and `close()`. */
export function pendingCompletions(io?: Pointer): number {
  if (reaper === undefined) return 0;
  return io === undefined ? reaper.pending : reaper.pendingOf(io);
}

/**
 * Starts one aio operation on `io`: `start(completion)` submits it and returns librados' immediate code.
 * Resolves with the operation's return code (negative codes are not thrown: callers decide what
 * ENOENT or ECANCELED mean) once it completed; `keep` stays referenced until then.
 */
export async function aio(io: Pointer, start: (completion: Pointer) => number, keep: unknown[] = []): Promise<AioResult> {
  const lib = librados();
  const out: Pointer[] = [null];
  const rcCreate = lib.createCompletion2(null, null, out) as number;
  if (rcCreate < 0) throw new RadosError(rcCreate, 'rados_aio_create_completion2');
  let rc: number;
  try {
    rc = start(out[0]);
  } catch (error) {
    lib.release(out[0]);
    throw error;
  }
  if (rc < 0) {
    // Not submitted: it will never complete.
    lib.release(out[0]);
    return { rc, version: 0n };
  }
  return completions(lib).track(out[0], io, keep);
}

/** One omap entry; values are the driver's own UTF-8 text. */
export interface OmapEntry {
  key: string;
  value: string;
}

/** UTF-8 text at a pointer librados owns (copied out before the iterator is freed). */
function text(pointer: Pointer, length: number): string {
  return length === 0 ? '' : Buffer.from(koffi.view(pointer, length)).toString('utf8');
}

/** Reads every entry of an iterator librados filled, then frees it. */
function drainIterator(lib: Librados, iterBuffer: Buffer): OmapEntry[] {
  const iter = koffi.decode(iterBuffer, 'rados_omap_iter_t');
  const entries: OmapEntry[] = [];
  try {
    for (;;) {
      const key: Pointer[] = [null];
      const value: Pointer[] = [null];
      const keyLength = [0];
      const valueLength = [0];
      const rc = lib.omapGetNext2(iter, key, value, keyLength, valueLength) as number;
      if (rc < 0) throw new RadosError(rc, 'rados_omap_get_next2');
      if (key[0] === null) break;
      entries.push({ key: text(key[0], keyLength[0]!), value: text(value[0], valueLength[0]!) });
    }
  } finally {
    lib.omapGetEnd(iter);
  }
  return entries;
}

/** The omap operations of one object, built and submitted in one atomic write op. */
export interface WriteOpSpec {
  /** Create the object if missing (so assertions on keys of a missing object compare with nothing). */
  create?: boolean;
  /** Fail with EOVERFLOW/ERANGE unless the object is at this version. */
  assertVersion?: bigint;
  /** Fail with ECANCELED unless each key holds this value (`''`: the key is absent). */
  compare?: Array<[key: string, value: string]>;
  /** Fail with ECANCELED unless each key is present (compared greater than `''`: stored values are never empty). */
  present?: string[];
  set?: Array<[key: string, value: string]>;
  remove?: string[];
  /** Delete the whole object. */
  removeObject?: boolean;
  /** Call an object-class method (`cls`.`method`) with `input`, as part of the op. */
  exec?: { cls: string; method: string; input: Buffer };
}

/** Submits one write op on `oid`; resolves with its return code (ECANCELED when a comparison failed). */
export async function writeOp(io: Pointer, oid: string, spec: WriteOpSpec): Promise<AioResult> {
  const lib = librados();
  const op = lib.createWriteOp();
  const keep: unknown[] = [];
  try {
    if (spec.create) lib.writeOpCreate(op, CREATE_IDEMPOTENT, null);
    if (spec.assertVersion !== undefined) lib.writeOpAssertVersion(op, spec.assertVersion);
    for (const [key, value] of spec.compare ?? []) {
      const expected = Buffer.from(value);
      const prval = Buffer.alloc(4);
      keep.push(prval);
      lib.writeOpOmapCmp(op, key, CMPXATTR_OP_EQ, expected, expected.length, prval);
    }
    for (const key of spec.present ?? []) {
      const prval = Buffer.alloc(4);
      keep.push(prval);
      lib.writeOpOmapCmp(op, key, CMPXATTR_OP_GT, Buffer.alloc(0), 0, prval);
    }
    if (spec.set !== undefined && spec.set.length > 0) {
      lib.writeOpOmapSet(op, spec.set.map(([k]) => k), spec.set.map(([, v]) => v), spec.set.map(([, v]) => Buffer.byteLength(v)), spec.set.length);
    }
    if (spec.remove !== undefined && spec.remove.length > 0) lib.writeOpOmapRmKeys(op, spec.remove, spec.remove.length);
    if (spec.removeObject) lib.writeOpRemove(op);
    if (spec.exec !== undefined) {
      const prval = Buffer.alloc(4);
      keep.push(spec.exec.input, prval);
      lib.writeOpExec(op, spec.exec.cls, spec.exec.method, spec.exec.input, spec.exec.input.length, prval);
    }
    return await aio(io, (c) => lib.aioWriteOpOperate(op, io, c, oid, null, 0) as number, keep);
  } finally {
    lib.releaseWriteOp(op);
  }
}

export interface OmapPage {
  rc: number;
  entries: OmapEntry[];
  /** More entries follow the last one. */
  more: boolean;
  version: bigint;
}

/** One page of an object's omap, keys after `startAfter`, at most `max` (librados caps a request near 1024). */
export async function omapPage(io: Pointer, oid: string, startAfter: string, max: number, filterPrefix = ''): Promise<OmapPage> {
  const lib = librados();
  const op = lib.createReadOp();
  const iter = Buffer.alloc(8);
  const more = Buffer.alloc(1);
  const prval = Buffer.alloc(4);
  try {
    lib.readOpOmapGetVals2(op, startAfter, filterPrefix, max, iter, more, prval);
    const { rc, version } = await aio(io, (c) => lib.aioReadOpOperate(op, io, c, oid, 0) as number, [iter, more, prval]);
    if (rc < 0) return { rc, entries: [], more: false, version };
    return { rc, entries: drainIterator(lib, iter), more: more[0] !== 0, version };
  } finally {
    lib.releaseReadOp(op);
  }
}

/** The values of these keys (absent keys are left out). */
export async function omapGet(io: Pointer, oid: string, keys: string[]): Promise<{ rc: number; entries: OmapEntry[]; version: bigint }> {
  const lib = librados();
  const op = lib.createReadOp();
  const iter = Buffer.alloc(8);
  const prval = Buffer.alloc(4);
  try {
    lib.readOpOmapGetValsByKeys2(op, keys, keys.length, keys.map((k) => Buffer.byteLength(k)), iter, prval);
    const { rc, version } = await aio(io, (c) => lib.aioReadOpOperate(op, io, c, oid, 0) as number, [iter, prval]);
    if (rc < 0) return { rc, entries: [], version };
    return { rc, entries: drainIterator(lib, iter), version };
  } finally {
    lib.releaseReadOp(op);
  }
}

/** Replaces the whole object with `data`. */
export function writeFull(io: Pointer, oid: string, data: Buffer): Promise<AioResult> {
  const lib = librados();
  return aio(io, (c) => lib.aioWriteFull(io, oid, c, data, data.length) as number, [data]);
}

/** Reads up to `into.length` bytes at `offset`; resolves with the byte count (or a negative code). */
export function readInto(io: Pointer, oid: string, into: Buffer, offset: number): Promise<AioResult> {
  const lib = librados();
  return aio(io, (c) => lib.aioRead(io, oid, c, into, into.length, offset) as number, [into]);
}

export function removeObject(io: Pointer, oid: string): Promise<AioResult> {
  const lib = librados();
  return aio(io, (c) => lib.aioRemove(io, oid, c) as number);
}

/**
 * The input of cls_refcount's `get` and `put` (`cls_refcount_get_op` / `cls_refcount_put_op`, both
 * Ceph-encoded as ENCODE_START(1, 1): u8 version, u8 compat, u32 length, then the string tag and the
 * bool `implicit_ref`). With `implicit_ref` an object without a refcount holds one reference, the
 * empty tag: the one its writer took by creating it.
 */
function refcountOp(tag: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(tag), Buffer.from([1])]);
  body.writeUInt32LE(Buffer.byteLength(tag), 0);
  const head = Buffer.from([1, 1, 0, 0, 0, 0]);
  head.writeUInt32LE(body.length, 2);
  return Buffer.concat([head, body]);
}

/**
 * Adds reference `tag` to `oid` (cls_refcount `get`, the object class RGW shares tail objects with):
 * ENOENT when the object is gone.
 */
export function refGet(io: Pointer, oid: string, tag: string): Promise<AioResult> {
  return writeOp(io, oid, { exec: { cls: 'refcount', method: 'get', input: refcountOp(tag) } });
}

/**
 * Drops reference `tag` (`''`: the writer's implicit one) from `oid`; the OSD removes the object
 * with its last reference, in the same op. Dropping a tag twice is a no-op (the class remembers it).
 */
export function refPut(io: Pointer, oid: string, tag: string): Promise<AioResult> {
  return writeOp(io, oid, { exec: { cls: 'refcount', method: 'put', input: refcountOp(tag) } });
}
