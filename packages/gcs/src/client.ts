/** Builds the Bucket from options, with retries on 429 and 5xx for every request the driver makes. */
import { Bucket, IdempotencyStrategy, Storage } from '@google-cloud/storage';
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
    retryOptions: {
      autoRetry: true,
      maxRetries: 5,
      retryDelayMultiplier: 2,
      maxRetryDelay: 32,
      totalTimeout: 600,
      // Every request the driver sends is idempotent by construction (chunk objects named by upload
      // and index, whole-object puts, compose of fixed sources), so retrying writes is safe too.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  });
  return storage.bucket(options.bucket);
}
