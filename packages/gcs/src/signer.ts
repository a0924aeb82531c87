/**
 * V4 signed URLs (GOOG4-RSA-SHA256), made offline from a service-account key. The SDK's signer
 * only signs GET/PUT/DELETE/POST; redirects need HEAD too, and the algorithm is short.
 * https://cloud.google.com/storage/docs/access-control/signing-urls-manually
 */
import { createHash, createSign } from 'node:crypto';

import type { ServiceAccountKey } from './params.js';

const DEFAULT_HOST = 'https://storage.googleapis.com';

/** RFC 3986 encoding, keeping `/` when `keepSlash` (object paths). */
function encode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

export interface SignRequest {
  method: 'GET' | 'HEAD' | 'PUT';
  bucket: string;
  object: string;
  expiresSeconds: number;
  /** Base URL of the service (an emulator or private endpoint); default storage.googleapis.com. */
  endpoint?: string;
  /** Headers the request must carry, signed with it (lowercase names; `host` is always signed). */
  headers?: Record<string, string>;
  now?: Date;
}

export function signedUrl(key: ServiceAccountKey, request: SignRequest): string {
  const base = new URL(request.endpoint ?? DEFAULT_HOST);
  const now = request.now ?? new Date();
  const datetime = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // YYYYMMDDTHHMMSSZ
  const scope = `${datetime.slice(0, 8)}/auto/storage/goog4_request`;
  const path = `/${encode(request.bucket)}/${encode(request.object, true)}`;
  const headers = new Map<string, string>(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value.trim()]));
  headers.set('host', base.host);
  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(';');
  const query = new Map<string, string>([
    ['X-Goog-Algorithm', 'GOOG4-RSA-SHA256'],
    ['X-Goog-Credential', `${key.client_email}/${scope}`],
    ['X-Goog-Date', datetime],
    ['X-Goog-Expires', String(request.expiresSeconds)],
    ['X-Goog-SignedHeaders', signedHeaders],
  ]);
  const canonicalQuery = [...query].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  const canonicalHeaders = names.map((name) => `${name}:${headers.get(name)}\n`).join('');
  const canonicalRequest = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['GOOG4-RSA-SHA256', datetime, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = createSign('RSA-SHA256').update(stringToSign).sign(key.private_key, 'hex');
  return `${base.protocol}//${base.host}${path}?${canonicalQuery}&X-Goog-Signature=${signature}`;
}
