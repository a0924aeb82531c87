/**
 * Container-level requests shared by the backend and the writer: listing pages (paged with
 * `marker` until an empty page — Ceph caps a page at 1000 entries without saying so, whatever
 * `limit` asked for), HEAD, and deleting many objects with bulk delete where the cluster offers it.
 */
import { DriverError, retry } from '@storagedriver/core';

import { encodeObjectName, type SwiftClient } from './client.js';
import { isNotFound } from './errors.js';
import type { ClusterInfo } from './info.js';

/** One entry of a JSON container listing. */
export interface ListingEntry {
  name?: string;
  subdir?: string;
  bytes?: number;
  hash?: string;
  content_type?: string;
  last_modified?: string;
  /** Real Swift marks SLO manifests with it (and lists their full size); Ceph does neither. */
  slo_etag?: string;
}

/** Content-Type parameter naming the upload a manifest publishes: its segments are `<segments>/<id>/…`. */
export const UPLOAD_PARAMETER = 'storagedriver-upload';
export const CONTENT_TYPE = 'application/octet-stream';
const DELETE_CONCURRENCY = 16;

export function manifestContentType(uploadId: string): string {
  return `${CONTENT_TYPE};${UPLOAD_PARAMETER}=${uploadId}`;
}

/** The upload id in a manifest's Content-Type, if it is one of ours. */
export function uploadOf(contentType: string | null | undefined): string | undefined {
  return new RegExp(`;\\s*${UPLOAD_PARAMETER}=([A-Za-z0-9]+)`).exec(contentType ?? '')?.[1];
}

/** Swift's `last_modified` (UTC, up to microseconds, Ceph with `Z`, Swift without). */
export function parseListingTime(value: string | undefined): Date {
  if (value === undefined) return new Date(0);
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*Z?$/.exec(value);
  return match === null ? new Date(value) : new Date(`${match[1]}${match[2] ?? ''}Z`);
}

/** A HEAD's modification time: X-Timestamp (sub-second) when present, else Last-Modified. */
export function headTime(headers: Headers): Date {
  const timestamp = Number(headers.get('x-timestamp'));
  if (Number.isFinite(timestamp) && timestamp > 0) return new Date(Math.floor(timestamp * 1000));
  const modified = headers.get('last-modified');
  return modified === null ? new Date(0) : new Date(modified);
}

export class Container {
  readonly client: SwiftClient;
  readonly name: string;
  readonly #info: (signal?: AbortSignal) => Promise<ClusterInfo>;

  constructor(client: SwiftClient, name: string, info: (signal?: AbortSignal) => Promise<ClusterInfo>) {
    this.client = client;
    this.name = name;
    this.#info = info;
  }

  /** One listing page (not retried: callers retry it whole). A container not created yet lists as empty. */
  async listPage(request: { prefix: string; delimiter?: boolean; limit: number; marker?: string }, signal?: AbortSignal): Promise<ListingEntry[]> {
    let response: Response;
    try {
      response = await this.client.send({
        method: 'GET',
        container: this.name,
        query: { format: 'json', prefix: request.prefix, delimiter: request.delimiter ? '/' : undefined, limit: String(request.limit), marker: request.marker },
        headers: { accept: 'application/json' },
        signal,
      });
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const text = await response.text();
    return text.trim() === '' ? [] : (JSON.parse(text) as ListingEntry[]);
  }

  /** Every entry under `prefix`, page after page until an empty one. */
  async listAll(prefix: string, signal?: AbortSignal): Promise<ListingEntry[]> {
    const entries: ListingEntry[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await retry(() => this.listPage({ prefix, limit: 1000, marker }, signal), { signal });
      if (page.length === 0) return entries;
      entries.push(...page);
      marker = page.at(-1)!.name ?? page.at(-1)!.subdir;
    }
  }

  /** The object's headers, or undefined when there is none. */
  async head(name: string, signal?: AbortSignal): Promise<Headers | undefined> {
    try {
      return (await retry(() => this.client.call({ method: 'HEAD', container: this.name, object: name, signal }), { signal })).headers;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** PUT of a whole object, with its MD5 for the service to check. Retried: the same bytes under the same name. */
  async put(name: string, data: Buffer, etag: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<void> {
    await retry(() => this.client.call({ method: 'PUT', container: this.name, object: name, body: data, headers: { 'content-type': CONTENT_TYPE, etag, ...headers }, signal }), { signal });
  }

  /** Deletes these objects (one bulk delete per batch where offered, else one DELETE each); gone already is fine. */
  async deleteMany(names: string[], signal?: AbortSignal): Promise<void> {
    if (names.length === 0) return;
    const { bulkDeleteMax } = await this.#info(signal);
    if (bulkDeleteMax === undefined) return this.#deleteEach(names, signal);
    for (let i = 0; i < names.length; i += bulkDeleteMax) {
      const batch = names.slice(i, i + bulkDeleteMax);
      await retry(() => this.#bulkDelete(batch, signal), { signal });
    }
  }

  /** Deletes every object under `prefix`. */
  async deletePrefix(prefix: string, signal?: AbortSignal): Promise<void> {
    const names = (await this.listAll(prefix, signal)).flatMap((entry) => (entry.name === undefined ? [] : [entry.name]));
    await this.deleteMany(names, signal);
  }

  async #bulkDelete(names: string[], signal?: AbortSignal): Promise<void> {
    const body = names.map((name) => `/${encodeURIComponent(this.name)}/${encodeObjectName(name)}`).join('\n');
    const response = await this.client.send({
      method: 'POST',
      query: { 'bulk-delete': '' },
      headers: { 'content-type': 'text/plain', accept: 'application/json' },
      body,
      signal,
    });
    // The HTTP status is 200 whatever happened to each name: the verdict is in the body.
    const result = JSON.parse(await response.text()) as { 'Response Status'?: string; Errors?: Array<[string, string]>; 'Response Body'?: string };
    const status = Number(/^\d+/.exec(result['Response Status'] ?? '200')?.[0] ?? 200);
    const errors = (result.Errors ?? []).filter(([, reason]) => !/^404/.test(reason));
    if (status >= 300 || errors.length > 0) {
      const detail = errors.slice(0, 5).map(([name, reason]) => `${name}: ${reason}`).join(', ');
      throw new DriverError(`bulk delete: ${result['Response Status']} ${detail || result['Response Body'] || ''}`.trim(), { retryable: status >= 500 });
    }
  }

  async #deleteEach(names: string[], signal?: AbortSignal): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await this.deleteOne(name, signal);
      }
    }));
  }

  /** DELETE of one object; already gone is what was asked for (a repeat after a lost answer, a concurrent delete). */
  async deleteOne(name: string, signal?: AbortSignal, query?: Record<string, string>): Promise<void> {
    try {
      await retry(() => this.client.call({ method: 'DELETE', container: this.name, object: name, query, signal }), { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
