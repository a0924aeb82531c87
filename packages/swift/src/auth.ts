/**
 * Authentication: auth v1 (tempauth, swauth, Ceph RGW), Keystone v2.0 and Keystone v3 (password,
 * or trust), each giving a token and the storage URL — v1 in headers, Keystone from the catalog's
 * `object-store` endpoint chosen by region and interface, as ncw/swift (upstream's client) does.
 */
import { SwiftHttpError } from './errors.js';
import type { SwiftOptions } from './params.js';

export interface Credentials {
  token: string;
  /** `https://host/v1/AUTH_account`: every container and object URL starts with it. */
  storageUrl: string;
  /** When the service says the token expires. */
  expiresAt?: Date;
  /** When the client got it (set by the client: renewal is due past half a short token's life). */
  obtainedAt?: number;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The auth version of `options`: the parameter, else `v3`/`v2` in the URL, else 1. */
export function authVersion(options: Pick<SwiftOptions, 'authVersion' | 'authUrl'>): 1 | 2 | 3 {
  if (options.authVersion !== undefined) return options.authVersion;
  if (options.authUrl.includes('v3')) return 3;
  if (options.authUrl.includes('v2')) return 2;
  return 1;
}

export async function authenticate(options: SwiftOptions, fetcher: Fetch, signal?: AbortSignal): Promise<Credentials> {
  switch (authVersion(options)) {
    case 1:
      return authV1(options, fetcher, signal);
    case 2:
      return authV2(options, fetcher, signal);
    case 3:
      return authV3(options, fetcher, signal);
  }
}

async function refused(response: Response, what: string): Promise<SwiftHttpError> {
  const text = await response.text().catch(() => '');
  return new SwiftHttpError(response.status, `${what}: ${response.status} ${text.trim().slice(0, 300) || response.statusText}`.trim(), { auth: true });
}

function expiry(seconds: string | null): Date | undefined {
  return seconds !== null && /^\d+$/.test(seconds) ? new Date(Date.now() + Number(seconds) * 1000) : undefined;
}

async function authV1(options: SwiftOptions, fetcher: Fetch, signal?: AbortSignal): Promise<Credentials> {
  const response = await fetcher(options.authUrl, { method: 'GET', headers: { 'x-auth-user': options.username, 'x-auth-key': options.password }, signal });
  if (!response.ok) throw await refused(response, `auth v1 at ${options.authUrl}`);
  await response.arrayBuffer();
  const token = response.headers.get('x-auth-token');
  const storageUrl = response.headers.get('x-storage-url');
  if (!token || !storageUrl) throw new SwiftHttpError(502, `auth v1 at ${options.authUrl}: the answer has no X-Auth-Token or X-Storage-Url`, { auth: true });
  return { token, storageUrl: storageUrl.replace(/\/+$/, ''), expiresAt: expiry(response.headers.get('x-auth-token-expires')) };
}

async function postJson(fetcher: Fetch, url: string, body: unknown, what: string, signal?: AbortSignal): Promise<{ response: Response; json: unknown }> {
  const response = await fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), signal });
  if (!response.ok) throw await refused(response, what);
  return { response, json: await response.json() };
}

interface V2Catalog {
  access?: {
    token?: { id?: string; expires?: string };
    serviceCatalog?: Array<{ type?: string; endpoints?: Array<Record<string, string | undefined>> }>;
  };
}

async function authV2(options: SwiftOptions, fetcher: Fetch, signal?: AbortSignal): Promise<Credentials> {
  const url = `${options.authUrl.replace(/\/+$/, '')}/tokens`;
  const auth: Record<string, unknown> = { passwordCredentials: { username: options.username, password: options.password } };
  if (options.tenant !== undefined) auth.tenantName = options.tenant;
  if (options.tenantId !== undefined) auth.tenantId = options.tenantId;
  const { json } = await postJson(fetcher, url, { auth }, `Keystone v2 auth at ${url}`, signal);
  const access = (json as V2Catalog).access;
  const token = access?.token?.id;
  const service = access?.serviceCatalog?.find((entry) => entry.type === 'object-store');
  const field = `${options.endpointType ?? 'public'}URL`;
  const endpoint = service?.endpoints?.find((e) => (options.region === undefined || e.region === options.region) && e[field] !== undefined);
  const storageUrl = endpoint?.[field];
  if (token === undefined) throw new SwiftHttpError(502, `Keystone v2 auth at ${url}: the answer has no token`, { auth: true });
  if (storageUrl === undefined) throw noEndpoint(options);
  return { token, storageUrl: storageUrl.replace(/\/+$/, ''), expiresAt: access?.token?.expires === undefined ? undefined : new Date(access.token.expires) };
}

interface V3Token {
  token?: {
    expires_at?: string;
    catalog?: Array<{ type?: string; endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }> }>;
  };
}

/** Keystone v3's request body: password identity, scoped to a trust, a project or a domain. */
export function v3Request(options: SwiftOptions): unknown {
  const userDomain = options.domainId !== undefined ? { id: options.domainId } : options.domain !== undefined ? { name: options.domain } : { id: 'default' };
  const identity = { methods: ['password'], password: { user: { name: options.username, password: options.password, domain: userDomain } } };
  let scope: unknown;
  if (options.trustId !== undefined) {
    scope = { 'OS-TRUST:trust': { id: options.trustId } };
  } else if (options.tenantId !== undefined) {
    scope = { project: { id: options.tenantId } };
  } else if (options.tenant !== undefined) {
    const projectDomain = options.tenantDomainId !== undefined ? { id: options.tenantDomainId } : options.tenantDomain !== undefined ? { name: options.tenantDomain } : userDomain;
    scope = { project: { name: options.tenant, domain: projectDomain } };
  } else if (options.domainId !== undefined || options.domain !== undefined) {
    scope = { domain: userDomain };
  }
  return { auth: scope === undefined ? { identity } : { identity, scope } };
}

async function authV3(options: SwiftOptions, fetcher: Fetch, signal?: AbortSignal): Promise<Credentials> {
  const base = options.authUrl.replace(/\/+$/, '');
  const url = base.endsWith('/auth/tokens') ? base : `${base}/auth/tokens`;
  const { response, json } = await postJson(fetcher, url, v3Request(options), `Keystone v3 auth at ${url}`, signal);
  const token = response.headers.get('x-subject-token');
  if (!token) throw new SwiftHttpError(502, `Keystone v3 auth at ${url}: the answer has no X-Subject-Token`, { auth: true });
  const body = (json as V3Token).token;
  const wanted = options.endpointType ?? 'public';
  const endpoint = body?.catalog
    ?.filter((entry) => entry.type === 'object-store')
    .flatMap((entry) => entry.endpoints ?? [])
    .find((e) => e.interface === wanted && e.url !== undefined && (options.region === undefined || e.region === options.region || e.region_id === options.region));
  if (endpoint?.url === undefined) throw noEndpoint(options);
  return { token, storageUrl: endpoint.url.replace(/\/+$/, ''), expiresAt: body?.expires_at === undefined ? undefined : new Date(body.expires_at) };
}

function noEndpoint(options: SwiftOptions): SwiftHttpError {
  const region = options.region === undefined ? '' : ` in region ${options.region}`;
  return new SwiftHttpError(404, `the catalog has no ${options.endpointType ?? 'public'} object-store endpoint${region}`, { auth: true });
}
