/**
 * Our retries of idempotent requests, on top of the SDK's retry policy: only for the transport
 * failures that policy leaves alone (a body cut after the headers, a gateway status), so the tries of
 * the two never multiply: at most the SDK's 5 per attempt of ours, and ours only when the SDK's did
 * not run.
 */
import { DriverError, retry, type RetryOptions } from '@storagedriver/core';

import { isCutResponse, isTransportError, retriedBySdk } from './errors.js';

export function retryOptions(signal: AbortSignal | undefined): RetryOptions {
  return { signal, isRetryable: (error) => isTransportError(error) && !retriedBySdk(error) };
}

/** `request` until it succeeds or fails for good; a cut response that outlived the retries says it is retryable. */
export async function retried<T>(request: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  try {
    return await retry(request, retryOptions(signal));
  } catch (error) {
    if (!isCutResponse(error)) throw error;
    throw new DriverError(`the connection was cut while the response was read: ${(error as Error).message}`, { cause: error, retryable: true });
  }
}
