/** Builds the Bucket from options: its endpoint, credentials and retries. */
import { Bucket, Storage } from '@google-cloud/storage';
import { DEFAULT_ANSWER_TIMEOUT_MS, DriverError, isTransientError } from '@storagedriver/core';
import { GoogleAuth, JWT } from 'google-auth-library';

import type { GcsOptions } from './params.js';

const SCOPES = ['https://www.googleapis.com/auth/devstorage.read_write'];
/** How long a request may wait for Application Default Credentials before it fails. */
export const DEFAULT_CREDENTIALS_TIMEOUT_MS = 10_000;
const WHERE = 'the driver has no keyfile or credentials parameter, and Application Default Credentials '
  + '(GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, the metadata server of a Google Cloud machine) gave none';

/**
 * Application Default Credentials within a bound. Off Google Cloud, the library's search waits on a
 * metadata server that may never answer (the CLI hung for over a minute); here a request fails after
 * DEFAULT_CREDENTIALS_TIMEOUT_MS, and every failure to find credentials says what was looked for.
 */
class DefaultCredentials extends GoogleAuth {
  override getRequestHeaders(url?: string | URL): Promise<Headers> {
    return withinBound(super.getRequestHeaders(url));
  }

  override authorizeRequest(...args: Parameters<GoogleAuth['authorizeRequest']>): ReturnType<GoogleAuth['authorizeRequest']> {
    return withinBound(super.authorizeRequest(...args));
  }
}

async function withinBound<T>(request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DriverError(`no credentials after ${DEFAULT_CREDENTIALS_TIMEOUT_MS / 1000} s: ${WHERE} in that time; for an emulator set apiendpoint or STORAGE_EMULATOR_HOST`)), DEFAULT_CREDENTIALS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([request, timeout]);
  } catch (error) {
    if (error instanceof DriverError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    // Not the library's "Could not load the default credentials": on those words the SDK sends the
    // request unauthenticated; a driver without credentials fails instead (the cause keeps them).
    const detail = reason.includes('Could not load the default credentials') ? '' : ` (${reason})`;
    throw new DriverError(`no credentials: ${WHERE}${detail}; for an emulator set apiendpoint or STORAGE_EMULATOR_HOST`, { cause: error, retryable: isTransientError(error) });
  } finally {
    clearTimeout(timer);
  }
}

/** `emulator`: the endpoint came from STORAGE_EMULATOR_HOST, which takes no credentials (as in Google's SDKs). */
export function createBucket(options: GcsOptions, emulator = false): Bucket {
  if (options.client instanceof Bucket) return options.client;
  if (options.client !== undefined) return options.client.bucket(options.bucket);
  const storage = new Storage({
    apiEndpoint: options.apiEndpoint,
    authClient: options.credentials === undefined
      ? new DefaultCredentials({ scopes: SCOPES })
      // Its token requests are bounded like the driver's own (gaxios waits forever by default).
      : new JWT({ email: options.credentials.client_email, key: options.credentials.private_key, scopes: SCOPES, transporterOptions: { timeout: options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS } }),
    userAgent: options.userAgent,
    // An emulator takes no token; a private HTTPS endpoint does.
    useAuthWithCustomEndpoint: !emulator && (options.apiEndpoint?.startsWith('https:') ?? false),
    // The driver retries each request itself (core's `retry`: bounded, abortable, and around the
    // whole response, so a body cut after the headers is retried too); SDK retries on top would
    // multiply the tries and wait up to 32 s between them, deaf to the caller's abort.
    retryOptions: { autoRetry: false },
  });
  // The SDK reads STORAGE_EMULATOR_HOST itself and takes it verbatim as its requests' base URL, even
  // beside an apiEndpoint (and without the API's path): the endpoint chosen by the driver wins.
  if (options.apiEndpoint !== undefined) storage.baseUrl = `${options.apiEndpoint}/storage/v1`;
  return storage.bucket(options.bucket);
}
