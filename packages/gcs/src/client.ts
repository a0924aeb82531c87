/** Builds the Bucket from options. */
import { Bucket, Storage } from '@google-cloud/storage';
import { JWT } from 'google-auth-library';

import type { GcsOptions } from './params.js';

const SCOPES = ['https://www.googleapis.com/auth/devstorage.read_write'];

export function createBucket(options: GcsOptions): Bucket {
  if (options.client instanceof Bucket) return options.client;
  const storage = options.client ?? new Storage({
    apiEndpoint: options.apiEndpoint,
    ...(options.credentials === undefined ? {} : { authClient: new JWT({ email: options.credentials.client_email, key: options.credentials.private_key, scopes: SCOPES }) }),
    userAgent: options.userAgent,
    // An emulator on plain HTTP takes no token; a private HTTPS endpoint does.
    useAuthWithCustomEndpoint: options.apiEndpoint?.startsWith('https:') ?? false,
    // The driver retries each request itself (core's `retry`: bounded, abortable, and around the
    // whole response, so a body cut after the headers is retried too); SDK retries on top would
    // multiply the tries and wait up to 32 s between them, deaf to the caller's abort.
    retryOptions: { autoRetry: false },
  });
  return storage.bucket(options.bucket);
}
