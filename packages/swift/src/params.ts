/**
 * Upstream's swift parameters (upstream-model.md, seed-drivers.md §1.6), same names and meaning,
 * parsed strictly, plus the upload concurrency and request limit every cloud driver here has.
 */
import { DEFAULT_ANSWER_TIMEOUT_MS, ParameterReader, checkOptions, millisecondsOption, type AnswerTimeoutOption, type DriverParameters } from '@storagedriver/core';

const MiB = 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 20 * MiB;
/** Upstream's minimum. */
export const MIN_CHUNK_SIZE = 1 * MiB;
/** Swift's largest single object (a segment is one). */
export const MAX_CHUNK_SIZE = 5 * 1024 * MiB;

export type EndpointType = 'public' | 'internal' | 'admin';
export type TempURLMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
const TEMP_URL_METHODS: readonly TempURLMethod[] = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'];

/** The Swift driver's options, as `parseSwiftParameters` makes them from upstream's parameters (given to `new SwiftDriver`). */
export interface SwiftOptions extends AnswerTimeoutOption {
  /** The user name (auth v1: the account user); required. */
  username: string;
  /** The password (auth v1: the key); required. */
  password: string;
  /** Auth v1 URL (`…/auth/v1.0`), or Keystone's (`…/v2.0`, `…/v3`). */
  authUrl: string;
  /** The container; created at the first write when missing. Required. */
  container: string;
  /** Keystone: the region whose object-store endpoint is used; the first one when absent. */
  region?: string;
  /** Keystone: the project (tenant) name to scope to. */
  tenant?: string;
  /** Keystone: the project (tenant) id to scope to; wins over `tenant`. */
  tenantId?: string;
  /** Keystone v3: the user's domain name (default: the `default` domain). */
  domain?: string;
  /** Keystone v3: the user's domain id; wins over `domain`. */
  domainId?: string;
  /** Keystone v3: the domain name of `tenant` (default: the user's domain). */
  tenantDomain?: string;
  /** Keystone v3: the domain id of `tenant`; wins over `tenantDomain`. */
  tenantDomainId?: string;
  /** Keystone v3: scope the token to this trust; wins over the project. */
  trustId?: string;
  /** 1, 2 or 3; detected from the auth URL when absent (`v3` → 3, `v2` → 2, else 1). */
  authVersion?: 1 | 2 | 3;
  /** The catalog endpoint interface (Keystone). Default public. */
  endpointType?: EndpointType;
  /** Accept any TLS certificate (test servers only). Default false. */
  insecureSkipVerify?: boolean;
  /** Key prefix of everything the driver stores (upstream's `prefix`; `rootdirectory` is an alias). */
  prefix?: string;
  /** Bytes per segment. Default 20 MiB (upstream's code), at least 1 MiB. */
  chunkSize?: number;
  /** Temp URL key; without one a random key is set at the first redirect. */
  secretKey?: string;
  /** HP Cloud's temp URL form `<tenantid>:<accesskey>:<signature>`. */
  accessKey?: string;
  /** Store the temp URL key on the container (true) or the account (false); absent: probe, container first. */
  tempURLContainerKey?: boolean;
  /** Methods the cluster signs temp URLs for, used when `/info` does not say. */
  tempURLMethods?: TempURLMethod[];
  /** Segments uploading at once per writer; writer memory ≤ chunkSize × (uploadConcurrency + 1). Default 4. */
  uploadConcurrency?: number;
  /** Requests in flight per driver (core's limiter). Default 50. */
  maxConcurrency?: number;
}

export const PARAMETER_NAMES = [
  'username', 'password', 'authurl', 'container', 'region', 'tenant', 'tenantid', 'domain', 'domainid', 'tenantdomain',
  'tenantdomainid', 'trustid', 'authversion', 'endpointtype', 'insecureskipverify', 'prefix', 'rootdirectory', 'chunksize',
  'secretkey', 'accesskey', 'tempurlcontainerkey', 'tempurlmethods', 'uploadconcurrency', 'maxconcurrency', 'answertimeout',
] as const;

/**
 * SwiftOptions from upstream's `swift` parameters (lower-case names), with upstream's defaults.
 * Throws InvalidParameterError for an unknown name or an unaccepted value (no `username`, `password`, `authurl` or `container`, say).
 */
export function parseSwiftParameters(params: DriverParameters | undefined, driverName = 'swift'): SwiftOptions {
  const p = new ParameterReader(driverName, params, PARAMETER_NAMES);
  const optional = (name: string): string | undefined => p.string(name, '') || undefined;
  return {
    username: p.requiredString('username'),
    password: p.requiredString('password'),
    authUrl: p.endpoint('authurl', { allowPath: true }) ?? (() => { throw p.invalid('authurl', 'an http(s) URL such as https://keystone:5000/v3 (required)'); })(),
    container: readContainer(p),
    region: optional('region'),
    tenant: optional('tenant'),
    tenantId: optional('tenantid'),
    domain: optional('domain'),
    domainId: optional('domainid'),
    tenantDomain: optional('tenantdomain'),
    tenantDomainId: optional('tenantdomainid'),
    trustId: optional('trustid'),
    authVersion: readAuthVersion(p),
    endpointType: p.oneOf('endpointtype', ['public', 'internal', 'admin'] as const, 'public'),
    insecureSkipVerify: p.boolean('insecureskipverify', false),
    prefix: readPrefix(p),
    chunkSize: p.size('chunksize', DEFAULT_CHUNK_SIZE, { min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }),
    secretKey: optional('secretkey'),
    accessKey: optional('accesskey'),
    tempURLContainerKey: p.has('tempurlcontainerkey') ? p.boolean('tempurlcontainerkey', false) : undefined,
    tempURLMethods: readMethods(p),
    uploadConcurrency: p.integer('uploadconcurrency', 4, { min: 1, max: 256 }),
    maxConcurrency: p.concurrencyLimit('maxconcurrency', 50, 25),
    answerTimeoutMs: p.duration('answertimeout', DEFAULT_ANSWER_TIMEOUT_MS, { min: 1 }),
  };
}

function readContainer(p: ParameterReader): string {
  const container = p.requiredString('container');
  // Swift: up to 256 bytes, no slash (it would address an object).
  if (container.includes('/') || Buffer.byteLength(container) > 256) throw p.invalid('container', 'a container name without "/", at most 256 bytes');
  return container;
}

function readAuthVersion(p: ParameterReader): 1 | 2 | 3 | undefined {
  if (!p.has('authversion')) return undefined;
  const version = p.integer('authversion', 0, { min: 0, max: 3 });
  // 0 is upstream's "detect from the URL".
  return version === 0 ? undefined : (version as 1 | 2 | 3);
}

/** `prefix`, or its alias `rootdirectory` (upstream's docs say one, its code the other); both only when equal. */
function readPrefix(p: ParameterReader): string {
  const prefix = p.string('prefix');
  const root = p.string('rootdirectory');
  if (prefix !== undefined && root !== undefined && prefix !== root) {
    throw p.invalid('rootdirectory', `the same value as prefix ("${prefix}"): rootdirectory is an alias of prefix`);
  }
  return prefix ?? root ?? '';
}

function readMethods(p: ParameterReader): TempURLMethod[] | undefined {
  const raw = p.raw('tempurlmethods');
  if (raw === undefined || raw === null) return undefined;
  const accepted = `a list of methods from ${TEMP_URL_METHODS.join(', ')} (a YAML list or a comma-separated string)`;
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : undefined;
  if (items === undefined) throw p.invalid('tempurlmethods', accepted);
  return items.map((item) => {
    const method = typeof item === 'string' ? TEMP_URL_METHODS.find((m) => m === item.toUpperCase()) : undefined;
    if (method === undefined) throw p.invalid('tempurlmethods', accepted);
    return method;
  });
}

/** `new SwiftDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkSwiftOptions(options: SwiftOptions): SwiftOptions {
  return checkOptions('swift', options, {
    username: 'username', password: 'password', authUrl: 'authurl', container: 'container', region: 'region', tenant: 'tenant',
    tenantId: 'tenantid', domain: 'domain', domainId: 'domainid', tenantDomain: 'tenantdomain', tenantDomainId: 'tenantdomainid',
    trustId: 'trustid', authVersion: 'authversion', endpointType: 'endpointtype', insecureSkipVerify: 'insecureskipverify',
    prefix: 'prefix', chunkSize: 'chunksize', secretKey: 'secretkey', accessKey: 'accesskey', tempURLContainerKey: 'tempurlcontainerkey',
    tempURLMethods: 'tempurlmethods', uploadConcurrency: 'uploadconcurrency', maxConcurrency: 'maxconcurrency',
    answerTimeoutMs: millisecondsOption('answertimeout'),
  }, parseSwiftParameters);
}
