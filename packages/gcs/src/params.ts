/** Upstream's gcs parameters (upstream-model.md §7.5) plus an API endpoint and upload concurrency, parsed strictly. */
import { readFileSync } from 'node:fs';

import type { Bucket, Storage } from '@google-cloud/storage';
import { DEFAULT_ANSWER_TIMEOUT_MS, ParameterReader, checkOptions, millisecondsOption, type AnswerTimeoutOption, type DriverParameters } from '@storagedriver/core';

const KiB = 1024;
export const CHUNK_QUANTUM = 256 * KiB;

/** The parts of a service-account key the driver uses (the whole key goes to the SDK). */
export interface ServiceAccountKey {
  /** The service account's e-mail; signs URLs with `private_key`. */
  client_email: string;
  /** The PEM private key. */
  private_key: string;
  [field: string]: unknown;
}

/** The GCS driver's options, as `parseGcsParameters` makes them from upstream's parameters (given to `new GcsDriver`). */
export interface GcsOptions extends AnswerTimeoutOption {
  /** The bucket; required. */
  bucket: string;
  /** An object name prefix every path lives under; empty (the default) for the bucket's root. */
  rootDirectory?: string;
  /** Bytes per staged chunk object: ≥ 256 KiB and a multiple of it. Default 16 MiB. */
  chunkSize?: number;
  /** Chunks uploading at once per writer; writer memory ≤ chunkSize × (uploadConcurrency + 1). Default 4. */
  uploadConcurrency?: number;
  /** Service-account key (from `keyfile` or `credentials`); without one the SDK's default credentials are used and URLs are not signed. */
  credentials?: ServiceAccountKey;
  /** The User-Agent the SDK sends. */
  userAgent?: string;
  /** Requests in flight per driver (core's limiter). Default 50. */
  maxConcurrency?: number;
  /**
   * JSON API base URL for emulators and private endpoints, e.g. `http://127.0.0.1:4443`. Without it,
   * STORAGE_EMULATOR_HOST when set (an emulator: no credentials are sent).
   */
  apiEndpoint?: string;
  /** Use this Storage or Bucket instead of building one (endpoint, credentials and retries are then yours). */
  client?: Storage | Bucket;
  /**
   * Claim `ifNoneMatch` / `ifMatch` (generation preconditions on uploads and compose). Default: on
   * GCS itself (no `apiEndpoint`), off with an `apiEndpoint`: fake-gcs-server v1.56.1 ignores a
   * compose's preconditions, so concurrent conditional commits would not be atomic there.
   */
  conditionalWrites?: boolean;
}

export const PARAMETER_NAMES = [
  'bucket', 'rootdirectory', 'chunksize', 'keyfile', 'credentials', 'useragent', 'maxconcurrency', 'apiendpoint', 'uploadconcurrency',
  'answertimeout',
] as const;

/**
 * GcsOptions from upstream's `gcs` parameters (lower-case names; `keyfile` is read here, at creation).
 * Throws InvalidParameterError for an unknown name or an unaccepted value (no `bucket`, an unreadable `keyfile`, both `keyfile` and `credentials`).
 */
export function parseGcsParameters(params: DriverParameters | undefined, driverName = 'gcs'): GcsOptions {
  const p = new ParameterReader(driverName, params, PARAMETER_NAMES);
  return {
    bucket: p.requiredString('bucket'),
    rootDirectory: p.string('rootdirectory', ''),
    chunkSize: p.size('chunksize', 16 * 1024 * KiB, { min: CHUNK_QUANTUM, multipleOf: CHUNK_QUANTUM }),
    uploadConcurrency: p.integer('uploadconcurrency', 4, { min: 1, max: 256 }),
    credentials: readCredentials(p),
    userAgent: p.string('useragent', '') || undefined,
    maxConcurrency: p.concurrencyLimit('maxconcurrency', 50, 25),
    apiEndpoint: p.endpoint('apiendpoint'),
    answerTimeoutMs: p.duration('answertimeout', DEFAULT_ANSWER_TIMEOUT_MS, { min: 1 }),
  };
}

/**
 * The endpoint STORAGE_EMULATOR_HOST names, read as Google's SDKs read it (Go's, which upstream
 * uses): `host:port` or a URL, plain HTTP when no scheme is given, any path replaced by the JSON
 * API's. Undefined when the variable is unset or empty; a malformed value is an InvalidParameterError
 * naming the variable.
 */
export function emulatorEndpoint(driverName = 'gcs', environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = 'STORAGE_EMULATOR_HOST';
  const value = environment[name];
  if (value === undefined || value.trim() === '') return undefined;
  const url = new ParameterReader(driverName, { [name]: value }, [name]).endpoint(name, { defaultScheme: 'http', allowPath: true });
  return url === undefined ? undefined : new URL(url).origin;
}

function readCredentials(p: ParameterReader): ServiceAccountKey | undefined {
  const keyfile = p.string('keyfile', '');
  const map = p.map('credentials');
  if (keyfile !== '' && map !== undefined) throw p.invalid('credentials', 'either keyfile or credentials, not both');
  let key: unknown = map;
  if (keyfile !== '') {
    try {
      key = JSON.parse(readFileSync(keyfile, 'utf8'));
    } catch (error) {
      throw p.invalid('keyfile', `a readable JSON service-account key file (${(error as Error).message})`);
    }
  }
  if (key === undefined) return undefined;
  const { client_email: email, private_key: privateKey } = key as Record<string, unknown>;
  if (typeof email !== 'string' || typeof privateKey !== 'string') {
    throw p.invalid(keyfile !== '' ? 'keyfile' : 'credentials', 'a service-account key with client_email and private_key', keyfile || '(mapping)');
  }
  return key as ServiceAccountKey;
}

/** `new GcsDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkGcsOptions(options: GcsOptions): GcsOptions {
  return checkOptions('gcs', options, {
    bucket: 'bucket', rootDirectory: 'rootdirectory', chunkSize: 'chunksize', uploadConcurrency: 'uploadconcurrency', credentials: 'credentials',
    userAgent: 'useragent', maxConcurrency: 'maxconcurrency', apiEndpoint: 'apiendpoint', answerTimeoutMs: millisecondsOption('answertimeout'),
    client: null, conditionalWrites: null,
  }, parseGcsParameters);
}
