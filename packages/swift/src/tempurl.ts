/**
 * Temp URLs (redirectURL): HMAC-SHA1 over `METHOD\n<expires>\n<storage path>/<container>/<object>`,
 * the form both Ceph and Swift accept (Swift also takes SHA-256, Ceph does not). HEAD is signed as
 * GET, which both serve.
 *
 * The key: `secretkey`, else a key already set on the container or the account, else a random one
 * that is set. Where it goes is the `tempurlcontainerkey` parameter's choice, or found by probing —
 * container first, then account — with a temp URL HEAD of an object that does not exist: 404 means
 * the signature was accepted, 401/403 that it was not. Never by comparing version strings: upstream
 * did, and `"16.2.15" < "2.3.0"` made it pick the account key on Ceph by accident (Ceph refuses
 * container keys).
 */
import { createHmac, randomBytes } from 'node:crypto';

import { SharedTask } from '@storagedriver/core';

import { encodeObjectName, type SwiftClient } from './client.js';
import type { SwiftOptions } from './params.js';

type Place = 'container' | 'account';
const HEADER: Record<Place, string> = { container: 'x-container-meta-temp-url-key', account: 'x-account-meta-temp-url-key' };

export interface TempURLRequest {
  storageUrl: string;
  container: string;
  object: string;
  method: string;
  expires: number;
  key: string;
  /** HP Cloud's `<tenantid>:<accesskey>:<signature>` form. */
  accessKey?: string;
  tenantId?: string;
}

export function tempURL(request: TempURLRequest): string {
  const url = new URL(request.storageUrl);
  const path = `${decodeURIComponent(url.pathname.replace(/\/+$/, ''))}/${request.container}/${request.object}`;
  const mac = createHmac('sha1', request.key).update(`${request.method}\n${request.expires}\n${path}`).digest('hex');
  const signature = request.accessKey === undefined ? mac : `${request.tenantId ?? ''}:${request.accessKey}:${mac}`;
  const objectUrl = `${request.storageUrl.replace(/\/+$/, '')}/${encodeURIComponent(request.container)}/${encodeObjectName(request.object)}`;
  return `${objectUrl}?temp_url_sig=${encodeURIComponent(signature)}&temp_url_expires=${request.expires}`;
}

export class TempURLKeys {
  readonly #client: SwiftClient;
  readonly #options: SwiftOptions;
  /** An object name that never exists, for the probe. */
  readonly #probeObject: string;
  readonly #key = new SharedTask((signal) => this.#find(signal));

  constructor(client: SwiftClient, options: SwiftOptions, probeObject: string) {
    this.#client = client;
    this.#options = options;
    this.#probeObject = probeObject;
  }

  /** The key temp URLs are signed with, or undefined when the cluster accepts none. Found once (a failure is not kept: the next redirect tries again). */
  key(signal?: AbortSignal): Promise<string | undefined> {
    return this.#key.run(signal);
  }

  async #find(signal: AbortSignal): Promise<string | undefined> {
    const { tempURLContainerKey, secretKey } = this.#options;
    const places: Place[] = tempURLContainerKey === undefined ? ['container', 'account'] : [tempURLContainerKey ? 'container' : 'account'];
    // The HP Cloud form is checked by its own middleware: the key is the caller's business.
    if (this.#options.accessKey !== undefined && secretKey !== undefined) return secretKey;
    for (const place of places) {
      const existing = await this.#existingKey(place, signal);
      if (secretKey === undefined && existing !== undefined && (await this.#accepted(existing, signal))) return existing;
      const key = secretKey ?? existing ?? randomBytes(16).toString('hex');
      if (existing !== key) await this.#client.call({ method: 'POST', container: place === 'container' ? this.#options.container : undefined, headers: { [HEADER[place]]: key }, signal });
      if (await this.#accepted(key, signal)) return key;
    }
    return undefined;
  }

  async #existingKey(place: Place, signal: AbortSignal): Promise<string | undefined> {
    const response = await this.#client.call({ method: 'HEAD', container: place === 'container' ? this.#options.container : undefined, signal });
    return response.headers.get(HEADER[place]) ?? undefined;
  }

  /** Whether a temp URL signed with `key` passes the cluster's check (a 404 of the missing probe object). */
  async #accepted(key: string, signal: AbortSignal): Promise<boolean> {
    const { storageUrl } = await this.#client.credentials(signal);
    const url = tempURL({ storageUrl, container: this.#options.container, object: this.#probeObject, method: 'GET', expires: Math.floor(Date.now() / 1000) + 60, key });
    const response = await this.#client.getPublic(url, signal, 'HEAD');
    return response.status === 404 || response.ok;
  }
}
