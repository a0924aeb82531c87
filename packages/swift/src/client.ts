/**
 * The HTTP side: a token shared by every request of a driver, renewed before it expires and after a
 * 401 — once for all the requests that need it at the same moment — and requests to the storage
 * URL with the caller's AbortSignal. Non-2xx answers become SwiftHttpError with the status.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

import { retry, untilAborted } from '@storagedriver/core';

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

/** `a/b c` → `a/b%20c`: each name component encoded, the slashes kept. */
export function encodeObjectName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/**
 * An HTTP client for the Swift API: authenticates (v1 or Keystone) when needed and renews the token on a 401; any
 * other non-2xx answer rejects with the status.
 */
export class SwiftClient {
  readonly #options: SwiftOptions;
  readonly #fetch: Fetch;
  /** For object content: bodies as stored, never decoded. */
  readonly #rawFetch: Fetch;
  #credentials: Promise<Credentials> | undefined;
  /** Counts authentications (for tests of renewal). */
  authentications = 0;

  constructor(options: SwiftOptions, fetcher?: Fetch) {
    this.#options = options;
    this.#fetch = fetcher ?? (options.insecureSkipVerify ? insecureFetch() : (url, init) => fetch(url, init));
    this.#rawFetch = fetcher ?? undecodedFetch(options.insecureSkipVerify ?? false);
  }

  /** The current credentials, authenticating when there are none or they are about to expire. */
  async credentials(signal?: AbortSignal): Promise<Credentials> {
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
      attempt.catch(() => {
        if (this.#credentials === attempt) this.#credentials = undefined;
      });
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

  /** `send` for object content: the body exactly as stored, even with a Content-Encoding (fetch would decode it). */
  sendUndecoded(request: SwiftRequest): Promise<Response> {
    return this.#sendWith(this.#rawFetch, request);
  }

  async #sendWith(fetcher: Fetch, request: SwiftRequest): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const credentials = await this.credentials(request.signal);
      const used = this.#credentials;
      let response: Response;
      try {
        response = await fetcher(this.url(credentials.storageUrl, request), {
          method: request.method,
          headers: { ...request.headers, 'x-auth-token': credentials.token },
          body: request.body,
          signal: request.signal,
        });
      } catch (error) {
        if (request.signal?.aborted) throw error;
        // fetch says only "fetch failed": name the request and the transport's reason (kept as cause).
        const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
        throw new Error(`${request.method} ${describeTarget(request)}: ${reason}`, { cause: error });
      }
      if (response.ok) return response;
      const text = await response.text().catch(() => '');
      if (response.status === 401 && attempt === 1) {
        // The token was revoked or expired early: renewed once for every request that saw it fail
        // (a request that finds it renewed by another already just uses the new one).
        if (this.#credentials === used) await this.#renew(used, request.signal);
        continue;
      }
      throw new SwiftHttpError(response.status, `${request.method} ${describeTarget(request)}: ${response.status} ${text.trim().slice(0, 300) || response.statusText}`.trim());
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

function describeTarget(request: SwiftRequest): string {
  return request.object !== undefined ? `${request.container}/${request.object}` : (request.container ?? 'account');
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

/**
 * fetch's shape over node:http, which leaves bodies as sent: an object stored with
 * `Content-Encoding: br` (or gzip) must read back byte for byte, and fetch decodes such a body (so
 * does the undici package's `request` on Bun, where it is fetch underneath).
 */
function undecodedFetch(insecure: boolean): Fetch {
  return async (url, init) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const options = { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, signal: init.signal ?? undefined, ...(insecure ? { rejectUnauthorized: false } : {}) };
      send(target, options, resolve).on('error', reject).end(init.body as string | Uint8Array | undefined);
    });
    const status = answer.statusCode ?? 0;
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
    }
    const bodyless = init.method === 'HEAD' || [101, 204, 205, 304].includes(status);
    if (bodyless) answer.resume();
    return new Response(bodyless ? null : webStream(answer), { status, headers });
  };
}

/**
 * A web stream of a Node stream. Not `Readable.toWeb`: after a cancel it still enqueues the data
 * in flight into the closed stream and throws (uncaught) "Controller is already closed".
 */
function webStream(body: Readable): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        if (!open) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) body.pause();
      });
      body.on('end', () => {
        if (open) controller.close();
        open = false;
      });
      body.on('error', (error) => {
        if (open) controller.error(error);
        open = false;
      });
    },
    pull() {
      body.resume();
    },
    cancel() {
      open = false;
      body.destroy();
    },
  });
}
