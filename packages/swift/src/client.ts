/**
 * The HTTP side: a token shared by every request of a driver, renewed before it expires and after a
 * 401 — once for all the requests that need it at the same moment — and requests to the storage
 * URL with the caller's AbortSignal. Non-2xx answers become SwiftHttpError with the status.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { fetchWithinAnswerBound, HttpClient, knownBodyBytes, readResponse, retry, untilAborted } from '@storagedriver/core';

import { authenticate, type Credentials, type Fetch } from './auth.js';
import { SwiftHttpError } from './errors.js';
import type { SwiftOptions } from './params.js';

/** Renew this long before the service's expiry (at most half the token's life), so no request is sent with a token about to lapse. */
const RENEW_BEFORE_MS = 60_000;

function renewalDue(credentials: Credentials): boolean {
  if (credentials.expiresAt === undefined) return false;
  const expires = credentials.expiresAt.getTime();
  const margin = Math.min(RENEW_BEFORE_MS, (expires - (credentials.obtainedAt ?? expires)) / 2);
  return expires - Date.now() <= margin;
}

export interface SwiftRequest {
  method: string;
  /** Container (and object) below the storage URL; empty for the account. */
  container?: string;
  object?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** Bytes (re-sendable after a 401) or nothing. */
  body?: Uint8Array | string;
  signal?: AbortSignal;
}

/** An answer whose body is a Node stream of the bytes as stored (never decoded), still unread. */
export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Readable;
}

/** A connection not made within this fails as transient (and is retried), as on the other drivers' direct paths. */
const CONNECT_TIMEOUT_MS = 10_000;

/** `a/b c` → `a/b%20c`: each name component encoded, the slashes kept. */
export function encodeObjectName(name: string): string {
  // Most names (every path of the driver's grammar) need no encoding.
  if (/^[A-Za-z0-9._~/-]*$/.test(name)) return name;
  return name.split('/').map(encodeURIComponent).join('/');
}

/**
 * An HTTP client for the Swift API: authenticates (v1 or Keystone) when needed and renews the token on a 401; any
 * other non-2xx answer rejects with the status.
 */
export class SwiftClient {
  readonly #options: SwiftOptions;
  readonly #fetch: Fetch;
  /** Object puts, reads, HEADs and listings go on core's HttpClient; not with a caller's fetch, which then carries them. */
  readonly #direct: boolean;
  #credentials: Promise<Credentials> | undefined;
  /** What `#credentials` resolved to, once it has. */
  #settled: Credentials | undefined;
  /** The storage URL as node:http options, parsed once per storage URL. */
  #base: StorageBase | undefined;
  /** Counts authentications (for tests of renewal). */
  authentications = 0;

  constructor(options: SwiftOptions, fetcher?: Fetch) {
    this.#options = options;
    this.#fetch = answerBounded(fetcher ?? (options.insecureSkipVerify ? insecureFetch() : (url, init) => fetch(url, init)), options.answerTimeoutMs);
    this.#direct = fetcher === undefined;
  }

  /** The current credentials, authenticating when there are none or they are about to expire. */
  async credentials(signal?: AbortSignal): Promise<Credentials> {
    // Most calls: the current token, already obtained and not due for renewal.
    const known = this.#settled;
    if (known !== undefined && !renewalDue(known)) return known;
    const current = this.#credentials;
    if (current !== undefined) {
      const settled = await untilAborted(current.catch(() => undefined), signal);
      if (settled !== undefined && !renewalDue(settled)) return settled;
      // Renewed by another caller meanwhile: that renewal is fresh, whatever its lifetime.
      const newer = this.#credentials;
      if (newer !== undefined && newer !== current) return untilAborted(newer, signal);
    }
    return this.#renew(current, signal);
  }

  /**
   * Starts one authentication unless another caller already replaced `stale`. The authentication
   * is shared, so no caller's abort cancels it; each caller stops waiting at its own abort.
   */
  #renew(stale: Promise<Credentials> | undefined, signal?: AbortSignal): Promise<Credentials> {
    let current = this.#credentials;
    // Unless another caller renewed already (a failed renewal is dropped: then this one tries anew).
    if (current === undefined || current === stale) {
      this.authentications++;
      // Authentication is idempotent: retried on transient failures like any request.
      const attempt = retry(() => authenticate(this.#options, this.#fetch)).then((credentials) => ({ ...credentials, obtainedAt: Date.now() }));
      this.#credentials = current = attempt;
      this.#settled = undefined;
      attempt.then(
        (credentials) => {
          if (this.#credentials === attempt) this.#settled = credentials;
        },
        () => {
          if (this.#credentials === attempt) this.#credentials = undefined;
        },
      );
    }
    return untilAborted(current, signal);
  }

  /** The URL of a container or object below the storage URL. */
  url(storageUrl: string, request: Pick<SwiftRequest, 'container' | 'object' | 'query'>): string {
    let url = storageUrl;
    if (request.container !== undefined) url += `/${encodeURIComponent(request.container)}`;
    if (request.object !== undefined) url += `/${encodeObjectName(request.object)}`;
    const query = Object.entries(request.query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined);
    if (query.length > 0) url += `?${query.map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')}`;
    return url;
  }

  /** Sends a request; a 401 renews the token and sends it once more. Rejects on any non-2xx answer. */
  send(request: SwiftRequest): Promise<Response> {
    return this.#sendWith(this.#fetch, request);
  }

  /**
   * `send` on node:http, for object puts, reads and HEADs and for listings: the body exactly as stored, even with
   * a Content-Encoding (fetch would decode it), with none of fetch's web-stream plumbing, which cost a
   * 4 KiB request more client CPU than the request itself. With a caller's fetch, through it.
   */
  sendRaw(request: SwiftRequest): Promise<RawResponse> {
    if (!this.#direct) {
      return this.#authorized(request, async (url, headers) => {
        const response = await this.#fetch(url, { method: request.method, headers, body: request.body, signal: request.signal });
        const body = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
        return { status: response.status, headers: Object.fromEntries(response.headers), body };
      }, (response) => readResponse(response.body as never).then(String, () => ''));
    }
    return this.#authorized(request, async (url, headers, storageUrl) => {
      const base = this.#baseOf(storageUrl);
      const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body === undefined ? undefined : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
      const path = base.path + url.slice(storageUrl.length) || '/';
      const response = await base.http.request({ method: request.method, path, headers, body }, { signal: request.signal, connectTimeoutMs: CONNECT_TIMEOUT_MS, driverName: 'swift' });
      return { status: response.statusCode, headers: response.headers, body: response };
    }, rawText);
  }

  #baseOf(storageUrl: string): StorageBase {
    if (this.#base?.storageUrl !== storageUrl) {
      const url = new URL(storageUrl);
      // A new storage URL (a renewed token may name another): the old one's idle connections go.
      this.#base?.http.close();
      this.#base = {
        storageUrl,
        http: new HttpClient(url, { rejectUnauthorized: !this.#options.insecureSkipVerify, answerTimeoutMs: this.#options.answerTimeoutMs }),
        // What follows the storage URL in a request's URL starts with `/` or `?`.
        path: url.pathname === '/' && !storageUrl.endsWith('/') ? '' : url.pathname,
      };
    }
    return this.#base;
  }

  /** A raw request whose answer body is not needed: sent, body drained. */
  async callRaw(request: SwiftRequest): Promise<RawResponse> {
    const response = await this.sendRaw(request);
    await readResponse(response.body);
    return response;
  }

  #sendWith(fetcher: Fetch, request: SwiftRequest): Promise<Response> {
    return this.#authorized(
      request,
      (url, headers) => fetcher(url, { method: request.method, headers, body: request.body, signal: request.signal }),
      (response) => response.text().then((text) => text.trim() || response.statusText, () => response.statusText),
    );
  }

  /**
   * Sends `request` with the token through `transport`; a 401 renews the token and sends it once
   * more. Rejects on any other non-2xx answer, with `text` (its body, or the status text) in the message.
   */
  async #authorized<T extends { status: number }>(request: SwiftRequest, transport: (url: string, headers: Record<string, string>, storageUrl: string) => Promise<T>, text: (response: T) => Promise<string>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const credentials = await this.credentials(request.signal);
      const used = this.#credentials;
      let response: T;
      try {
        response = await transport(this.url(credentials.storageUrl, request), { ...request.headers, 'x-auth-token': credentials.token }, credentials.storageUrl);
      } catch (error) {
        if (request.signal?.aborted) throw error;
        // fetch says only "fetch failed": name the request and the transport's reason (kept as cause).
        const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
        throw new Error(`${request.method} ${describeTarget(request)}: ${reason}`, { cause: error });
      }
      if (response.status >= 200 && response.status < 300) return response;
      const body = await text(response);
      if (response.status === 401 && attempt === 1) {
        // The token was revoked or expired early: renewed once for every request that saw it fail
        // (a request that finds it renewed by another already just uses the new one).
        if (this.#credentials === used) await this.#renew(used, request.signal);
        continue;
      }
      throw new SwiftHttpError(response.status, `${request.method} ${describeTarget(request)}: ${response.status} ${body.trim().slice(0, 300)}`.trim());
    }
  }

  /** A request whose answer body is not needed: sent, body drained. */
  async call(request: SwiftRequest): Promise<Response> {
    const response = await this.send(request);
    await response.arrayBuffer();
    return response;
  }

  /** A request without a token (`/info`, a temp URL probe); the body is left to the caller for GET. */
  async getPublic(url: string, signal?: AbortSignal, method = 'GET'): Promise<Response> {
    return this.#fetch(url, { method, signal });
  }
}

/** A storage URL: its connections and the path requests start with. */
interface StorageBase {
  storageUrl: string;
  http: HttpClient;
  path: string;
}

/** A raw answer's body as text, for an error message. */
function rawText(response: RawResponse): Promise<string> {
  return readResponse(response.body).then((body) => body.toString('utf8'), () => '');
}

function describeTarget(request: SwiftRequest): string {
  return request.object !== undefined ? `${request.container}/${request.object}` : (request.container ?? 'account');
}

/**
 * `fetcher` with core's bound on an answer's start, as the node:http path has it (sendRequest): an
 * answer not begun within `answerTimeoutMs` of the body's size and the option fails the request as a transient
 * TimeoutError, retried where the request is. Container HEADs and PUTs, deletes, authentication and
 * the rest would otherwise wait forever on a stuck connection. Not bounded: a server-side copy
 * (`X-Copy-From`), answered once the server has copied.
 */
function answerBounded(fetcher: Fetch, answerTimeoutMs: number | undefined): Fetch {
  return (url, init) => {
    const bodyBytes = knownBodyBytes(init.body);
    if (bodyBytes === undefined || new Headers(init.headers).has('x-copy-from')) return fetcher(url, init);
    return fetchWithinAnswerBound(fetcher, url, init, { bodyBytes, driverName: 'swift', answerTimeoutMs });
  };
}

/** fetch from the undici package with certificate checks off (insecureskipverify): loaded only when asked for. */
function insecureFetch(): Fetch {
  let loaded: Promise<Fetch> | undefined;
  return async (url, init) => {
    loaded ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
      return (u: string, i: RequestInit) => undiciFetch(u, { ...(i as object), dispatcher }) as unknown as Promise<Response>;
    });
    return (await loaded)(url, init);
  };
}
