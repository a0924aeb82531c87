/**
 * One librados cluster handle and pool context per driver: connected on first use (on koffi's worker
 * pool, since `rados_connect` blocks), shut down by `close()`.
 */
import { DriverError } from '@storagedriver/core';

import { RadosError, callAsync, librados, pendingCompletions, type Pointer } from './librados.js';
import type { RadosOptions } from './params.js';

interface Handles {
  cluster: Pointer;
  io: Pointer;
}

export class Cluster {
  readonly #o: RadosOptions;
  #handles: Promise<Handles> | undefined;
  #closed = false;
  /** Operations started through `io()` and not yet finished, so `close()` can wait for them. */
  #active = 0;
  #idle: Array<() => void> = [];

  constructor(options: RadosOptions) {
    this.#o = options;
  }

  /** Runs `fn` with the pool context, connecting first if needed. */
  async use<T>(fn: (io: Pointer) => Promise<T>): Promise<T> {
    if (this.#closed) throw new DriverError('the driver was closed');
    this.#active++;
    try {
      const { io } = await this.#connect();
      return await fn(io);
    } finally {
      if (--this.#active === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  #connect(): Promise<Handles> {
    this.#handles ??= open(this.#o).catch((error: unknown) => {
      // The next operation tries again (the cluster may come back).
      this.#handles = undefined;
      throw error;
    });
    return this.#handles;
  }

  /** Waits for the operations in flight, then releases the pool context and the cluster handle. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const handles = await this.#handles?.catch(() => undefined);
    this.#handles = undefined;
    if (handles === undefined) return;
    // Reads nobody waits for any more (a new file's look-up beside its publish, a destroyed reader's
    // read-ahead) may still be pending on this context; other drivers' operations are not waited for.
    for (let i = 0; i < 600 && pendingCompletions(handles.io) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const lib = librados();
    lib.ioctxDestroy(handles.io);
    await callAsync(lib.shutdown, handles.cluster);
  }
}

function check(rc: number, what: string): void {
  if (rc < 0) throw new RadosError(rc, what);
}

async function open(o: RadosOptions): Promise<Handles> {
  const lib = librados();
  const out: Pointer[] = [null];
  check(lib.create2(out, 'ceph', `client.${o.userName ?? 'admin'}`, 0) as number, 'rados_create2');
  const cluster = out[0];
  try {
    // Without a file, librados' default search; finding none is fine when mon_host is given.
    const read = lib.confReadFile(cluster, o.configFile ?? null) as number;
    if (read < 0 && (o.configFile !== undefined || o.monHost === undefined)) {
      throw new DriverError(`cannot read the Ceph config file ${o.configFile ?? '(default search: $CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/config, ./ceph.conf)'}`, { cause: new RadosError(read, 'rados_conf_read_file') });
    }
    check(lib.confParseEnv(cluster, null) as number, 'rados_conf_parse_env');
    const set = (option: string, value: string | undefined): void => {
      if (value !== undefined) check(lib.confSet(cluster, option, value) as number, `rados_conf_set ${option}`);
    };
    set('keyring', o.keyring);
    set('mon_host', o.monHost);
    set('key', o.key);
    const timeout = o.opTimeoutMs ?? 30_000;
    if (timeout > 0) {
      const seconds = String(Math.max(1, Math.ceil(timeout / 1000)));
      set('rados_osd_op_timeout', seconds);
      set('rados_mon_op_timeout', seconds);
      set('client_mount_timeout', seconds);
    }
    check(await callAsync<number>(lib.connect, cluster), 'rados_connect');
    const io: Pointer[] = [null];
    const rc = await callAsync<number>(lib.ioctxCreate, cluster, o.poolName, io);
    if (rc < 0) throw new DriverError(`cannot open pool ${o.poolName}${rc === -2 ? ': no such pool' : ''}`, { cause: new RadosError(rc, 'rados_ioctx_create') });
    return { cluster, io: io[0] };
  } catch (error) {
    await callAsync(lib.shutdown, cluster);
    throw error;
  }
}
