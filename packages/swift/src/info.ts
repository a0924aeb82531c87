/**
 * The cluster's capabilities from `/info`. Upstream's client looked only at `<storage URL>/../../info`,
 * which is `/info`: Ceph serves it under its API prefix (`/swift/info`), so the candidates walk up the
 * storage URL's path and the first JSON answer wins. An unreachable `/info` means no bulk delete and
 * temp URLs only with the `tempurlmethods` parameter, as upstream.
 */
import { retry } from '@storagedriver/core';

import type { SwiftClient } from './client.js';

export interface ClusterInfo {
  /** Names per bulk delete request; undefined when the cluster has no bulk delete. */
  bulkDeleteMax?: number;
  /** Segments one SLO manifest may list. */
  sloMaxSegments: number;
  /** Methods temp URLs may be signed for; undefined when `/info` does not say. */
  tempURLMethods?: string[];
  /** The most entries one listing page may hold (`container_listing_limit`); undefined when `/info` does not say. */
  listingLimit?: number;
}

/** Swift's default `max_manifest_segments`, and the page of names Ceph accepts per bulk delete. */
const DEFAULT_SLO_SEGMENTS = 1000;
const DEFAULT_BULK_DELETE = 1000;
/** Swift's default `container_listing_limit`, and the page Ceph answers a listing without `limit` with. */
export const DEFAULT_LISTING_LIMIT = 10_000;

/** `/info` URLs to try for a storage URL: `/v1/AUTH_x` → `/info`, `/v1/info`; `/swift/v1` → `/info`, `/swift/info`. */
export function infoCandidates(storageUrl: string): string[] {
  const url = new URL(storageUrl);
  const parts = url.pathname.split('/').filter(Boolean);
  const candidates: string[] = [];
  for (let keep = Math.max(0, parts.length - 2); keep < parts.length; keep++) {
    candidates.push(`${url.origin}/${[...parts.slice(0, keep), 'info'].join('/')}`);
  }
  candidates.push(`${url.origin}/info`);
  return [...new Set(candidates)];
}

export function parseInfo(json: Record<string, unknown>): ClusterInfo {
  const section = (name: string): Record<string, unknown> | undefined => {
    const value = json[name];
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  };
  const bulk = section('bulk_delete');
  const slo = section('slo');
  const tempurl = section('tempurl');
  const swift = section('swift');
  const positive = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined);
  return {
    bulkDeleteMax: bulk === undefined ? undefined : (positive(bulk.max_deletes_per_request) ?? DEFAULT_BULK_DELETE),
    sloMaxSegments: positive(slo?.max_manifest_segments) ?? DEFAULT_SLO_SEGMENTS,
    tempURLMethods: Array.isArray(tempurl?.methods) ? tempurl.methods.filter((m): m is string => typeof m === 'string') : undefined,
    listingLimit: positive(swift?.container_listing_limit),
  };
}

/** The cluster's info; rejects when a candidate keeps failing transiently (the caller then uses defaults without keeping them). */
export async function discoverInfo(client: SwiftClient, signal: AbortSignal): Promise<ClusterInfo> {
  const { storageUrl } = await client.credentials(signal);
  for (const url of infoCandidates(storageUrl)) {
    const json = await retry(async () => {
      const response = await client.getPublic(url, signal);
      if (response.status >= 500) throw Object.assign(new Error(`GET ${url}: ${response.status}`), { status: response.status });
      const text = await response.text();
      if (!response.ok) return undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
      } catch {
        return undefined; // not the info document (a web server's page): try the next URL
      }
    }, { signal });
    if (json !== undefined) return parseInfo(json);
  }
  return DEFAULT_INFO;
}

export const DEFAULT_INFO: ClusterInfo = { sloMaxSegments: DEFAULT_SLO_SEGMENTS };
