/**
 * Upstream's rados parameters (`poolname`, `username`, `chunksize`: upstream-model / seed-drivers
 * §2.4) plus what upstream left to librados defaults, parsed strictly.
 */
import { ParameterReader, checkOptions, millisecondsOption, type DriverParameters } from '@storagedriver/core';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Below Ceph's `osd_max_write_size` (90 MB by default): every chunk is written in one request. */
export const MAX_CHUNK_SIZE = 64 * MiB;
export const MIN_CHUNK_SIZE = 64 * KiB;

/** The RADOS driver's options, as `parseRadosParameters` makes them from upstream's parameters (given to `new RadosDriver`). */
export interface RadosOptions {
  /** The pool every object of the driver lives in. */
  poolName: string;
  /** The cephx id without `client.` (upstream's meaning). Default `admin`. */
  userName?: string;
  /** Bytes per chunk object. Default 4 MiB (upstream's). */
  chunkSize?: number;
  /** Ceph config file; default librados' search (`$CEPH_CONF`, `/etc/ceph/ceph.conf`, `~/.ceph/config`, `./ceph.conf`). */
  configFile?: string;
  /** Keyring file of the user (librados' `keyring` option). */
  keyring?: string;
  /** Monitor addresses (librados' `mon_host`), e.g. `10.0.0.1:6789,10.0.0.2:6789` or `[v2:…,v1:…]`. */
  monHost?: string;
  /** The user's cephx secret (base64, librados' `key` option), instead of a keyring. */
  key?: string;
  /** Object-name prefix below which this driver's tree lives (this driver's own addition). */
  rootDirectory?: string;
  /** Chunks written at once per writer; writer memory ≤ chunkSize × (uploadConcurrency + 1). Default 4. */
  uploadConcurrency?: number;
  /** librados' `rados_osd_op_timeout` and `rados_mon_op_timeout` in ms: an unreachable cluster fails an operation instead of hanging. 0: wait forever. Default 30 s. */
  opTimeoutMs?: number;
  /** Backend calls in flight per driver (core's limiter). Default 128. */
  maxConcurrency?: number;
}

export const PARAMETER_NAMES = [
  'poolname', 'username', 'chunksize', 'conffile', 'keyring', 'monhost', 'key', 'rootdirectory', 'uploadconcurrency', 'optimeout', 'maxconcurrency',
] as const;

/**
 * RadosOptions from upstream's `rados` parameters (lower-case names), with upstream's defaults.
 * Throws InvalidParameterError for an unknown name or an unaccepted value (no `poolname`; a `username` with `client.`).
 */
export function parseRadosParameters(params: DriverParameters | undefined, driverName = 'rados'): RadosOptions {
  const p = new ParameterReader(driverName, params, PARAMETER_NAMES);
  const userName = p.string('username', 'admin');
  if (userName === '' || userName.startsWith('client.') || /\s/.test(userName)) {
    throw p.invalid('username', 'a cephx id without the "client." prefix, such as "admin" or "registry"');
  }
  const monHost = p.string('monhost', '').trim();
  return {
    poolName: p.requiredString('poolname'),
    userName,
    chunkSize: p.size('chunksize', 4 * MiB, { min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    configFile: p.string('conffile', '') || undefined,
    keyring: p.string('keyring', '') || undefined,
    monHost: monHost === '' ? undefined : monHost,
    key: p.string('key', '') || undefined,
    rootDirectory: p.string('rootdirectory', ''),
    uploadConcurrency: p.integer('uploadconcurrency', 4, { min: 1, max: 64 }),
    opTimeoutMs: p.duration('optimeout', 30_000, { min: 0 }),
    maxConcurrency: p.concurrencyLimit('maxconcurrency', 128, 1),
  };
}

/** `new RadosDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkRadosOptions(options: RadosOptions): RadosOptions {
  return checkOptions('rados', options, {
    poolName: 'poolname', userName: 'username', chunkSize: 'chunksize', configFile: 'conffile', keyring: 'keyring', monHost: 'monhost',
    key: 'key', rootDirectory: 'rootdirectory', uploadConcurrency: 'uploadconcurrency', maxConcurrency: 'maxconcurrency',
    opTimeoutMs: millisecondsOption('optimeout'),
  }, parseRadosParameters);
}
