/** librados return codes → the contract's typed errors. */
import { DriverError, StorageDriverError } from '@storagedriver/core';

import { RadosError } from './librados.js';

/** Codes of a cluster that is unreachable, overloaded or restarting: the same call may succeed later. */
const TRANSIENT = new Set(['ETIMEDOUT', 'EAGAIN', 'EINTR', 'EIO', 'ENOTCONN', 'ESHUTDOWN', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EBUSY']);

/**
 * A RadosError (or a failure with one as `cause`) becomes a DriverError naming the librados code,
 * retryable when transient. ENOENT is mapped to PathNotFound where a path applies, by the caller,
 * before it gets here. Typed errors pass unchanged.
 */
export function shapeRadosError(error: unknown): unknown {
  if (error instanceof StorageDriverError) return error;
  if (error instanceof RadosError) return new DriverError(error.message, { cause: error, retryable: TRANSIENT.has(error.code) });
  return error;
}
