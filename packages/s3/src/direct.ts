/**
 * The small-object path: GetObject, PutObject and HeadObject as single SigV4-signed requests on
 * core's `HttpClient` with the SDK client's credentials provider, but without its middleware stack,
 * schema serialisers, per-request endpoint rules, generic signer and HTTP handler.
 * Those cost most of the client CPU of a 4 KiB request (see the README's profiles). Listing pages
 * (ListObjectsV2) go the same way, read by a reader of just the fields a listing needs. The bucket's
 * base URL and signing scope still come from the SDK's endpoint rules, resolved once. Multipart
 * uploads stay on the SDK.
 */
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

import type { S3Client } from '@aws-sdk/client-s3';
import { HttpClient, readResponse, retry, type HttpResponse, type ListPage, type ListPageRequest, xmlElementText } from '@storagedriver/core';

import { CONNECTION_TIMEOUT_MS, endpointUrl } from './client.js';
import { describeS3Error } from './errors.js';
import { parseObjectList } from './listing.js';
import { contentHeaders, headFromHeaders, type ContentFields, type ObjectHead } from './metadata.js';
import type { S3Options } from './params.js';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Headers SigV4 leaves unsigned (the SDK signer's list: hop-by-hop, or changed by proxies). */
const UNSIGNED = new Set(['authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id']);

const EMPTY_SHA256 = hash('sha256', '', 'hex');

/**
 * AWS Signature V4 in the Authorization header, for requests whose header names are lower-case and
 * whose query (if any) is already canonical (all the direct path sends). One SHA-256 of the canonical request and one HMAC per
 * request: the signing key (four HMACs) is derived once per day, region, service and secret.
 */
class Signer {
  readonly #credentials: () => Promise<Credentials>;
  readonly #region: string;
  readonly #service: string;
  readonly #clockOffset: () => number;
  #key: { day: string; secret: string; key: KeyObject } | undefined;
  /** The signing time of the current second (a Date and its ISO string per request showed in profiles). */
  #clock: { second: number; day: string; time: string } | undefined;
  /** The provider's last credentials (see #constant). */
  #cached: Credentials | undefined;

  constructor(credentials: () => Promise<Credentials>, region: string, service: string, clockOffset: () => number) {
    this.#credentials = credentials;
    this.#region = region;
    this.#service = service;
    this.#clockOffset = clockOffset;
  }

  /** Adds x-amz-date, x-amz-content-sha256, the session token and Authorization to `headers`. */
  async sign(method: string, path: string, query: string, headers: Record<string, string>, payloadHash: string): Promise<void> {
    const credentials = this.#constant() ?? (this.#cached = await this.#credentials());
    const { day, time } = this.#now();
    headers['x-amz-date'] = time;
    headers['x-amz-content-sha256'] = payloadHash;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers)
      .filter((name) => !UNSIGNED.has(name))
      .sort();
    let canonical = `${method}\n${path}\n${query}\n`;
    for (const name of names) canonical += `${name}:${canonicalValue(headers[name]!)}\n`;
    const signedHeaders = names.join(';');
    canonical += `\n${signedHeaders}\n${payloadHash}`;
    const scope = `${day}/${this.#region}/${this.#service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${time}\n${scope}\n${hash('sha256', canonical, 'hex')}`;
    const signature = createHmac('sha256', this.#signingKey(day, credentials.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  /**
   * Credentials without an expiry, once the provider gave them: the SDK's provider keeps those for
   * good. Expiring ones are asked of it for every request, so it decides when they are renewed.
   */
  #constant(): Credentials | undefined {
    return this.#cached?.expiration === undefined ? this.#cached : undefined;
  }

  /** The request's signing day and time, by the SDK's estimate of the server's clock (corrected after a RequestTimeTooSkewed answer). */
  #now(): { day: string; time: string } {
    const second = Math.floor((Date.now() + this.#clockOffset()) / 1000);
    if (this.#clock?.second !== second) {
      const iso = new Date(second * 1000).toISOString();
      const day = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
      this.#clock = { second, day, time: `${day}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z` };
    }
    return this.#clock;
  }

  #signingKey(day: string, secret: string): KeyObject {
    const cached = this.#key;
    if (cached !== undefined && cached.day === day && cached.secret === secret) return cached.key;
    let key = createHmac('sha256', `AWS4${secret}`).update(day).digest();
    for (const part of [this.#region, this.#service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    // A KeyObject: each request's HMAC then skips preparing the key from bytes.
    this.#key = { day, secret, key: createSecretKey(key) };
    return this.#key.key;
  }
}

/** A header value as SigV4 canonicalises it: runs of spaces and tabs as one space, none at the ends. */
function canonicalValue(value: string): string {
  return /[\t\r\n]| {2}|^ | $/.test(value) ? value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim() : value;
}

/**
 * An S3 error answer shaped like the SDK's (name = S3 error code, `$metadata.httpStatusCode`), so one
 * error mapping serves both paths; `toError` gives it the message every S3 error has here.
 */
export class S3ResponseError extends Error {
  readonly code: string;
  readonly $metadata: { httpStatusCode: number };
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
    this.$metadata = { httpStatusCode: status };
  }
}

interface Response {
  status: number;
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/** A GET answer whose body is still on the wire. */
export interface StreamedResponse {
  headers: Readonly<Record<string, string | undefined>>;
  body: Readable;
}

/** RFC 3986 encoding, as SigV4 wants it: every character but the unreserved ones, percent-encoded once. */
function encodeStrict(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 key encoding: every character but unreserved ones and `/`, percent-encoded once. */
function encodeKey(key: string): string {
  // Most keys (every path of the driver's grammar) need no encoding.
  if (/^[A-Za-z0-9._~/-]*$/.test(key)) return key;
  return encodeStrict(key).replace(/%2F/g, '/');
}

/** A canonical SigV4 query string (names and values encoded, sorted by name): also what is sent. */
function canonicalQuery(parameters: Record<string, string | undefined>): string {
  // Sorted by encoded name, not by the joined pair: `a-b=` sorts before `a=`, but name `a` before `a-b`.
  return Object.entries(parameters)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => [encodeStrict(name), encodeStrict(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Tries per request, the first included (the SDK's standard strategy makes 5 too). */
const ATTEMPTS = 5;

export class DirectRequests {
  readonly #client: S3Client;
  readonly #o: S3Options;
  readonly #headers: Record<string, string>;
  readonly #checksum: boolean;
  #target: Promise<Target | undefined> | undefined;

  constructor(client: S3Client, options: S3Options, objectFields: Record<string, unknown>) {
    this.#client = client;
    this.#o = options;
    // As the SDK does: a CRC32 of the body where S3 supports it (AWS), nothing extra for S3-compatible servers.
    this.#checksum = (options.requestChecksums ?? (options.regionEndpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED')) === 'WHEN_SUPPORTED';
    const fields = objectFields as { ACL?: string; StorageClass?: string; ServerSideEncryption?: string; SSEKMSKeyId?: string };
    this.#headers = {
      ...(fields.ACL === undefined ? {} : { 'x-amz-acl': fields.ACL }),
      ...(fields.StorageClass === undefined ? {} : { 'x-amz-storage-class': fields.StorageClass }),
      ...(fields.ServerSideEncryption === undefined ? {} : { 'x-amz-server-side-encryption': fields.ServerSideEncryption }),
      ...(fields.SSEKMSKeyId === undefined ? {} : { 'x-amz-server-side-encryption-aws-kms-key-id': fields.SSEKMSKeyId }),
    };
  }

  /** False when the bucket's endpoint needs something other than plain SigV4 (S3 Express, SigV4a): the SDK path is used then. */
  async available(): Promise<boolean> {
    return (await this.#resolve()) !== undefined;
  }

  /**
   * GET from `offset` (to `end` inclusive when given), pinned to `ifMatch` when given; the body is
   * streamed. One try: the caller (core's resumableReader) retries, and resumes a cut body.
   */
  async open(key: string, offset: number, end: number | undefined, ifMatch: string | undefined, signal?: AbortSignal): Promise<StreamedResponse> {
    const headers: Record<string, string> = {};
    if (offset > 0 || end !== undefined) headers.range = `bytes=${offset}-${end ?? ''}`;
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    const response = await this.#request('GET', key, headers, undefined, signal);
    if (response.statusCode >= 300) throw toError(await readResponse(response), response.statusCode, 'GET', this.#o.bucket, key);
    return { headers: response.headers, body: response };
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectHead> {
    const { headers } = await this.#send('HEAD', key, undefined, {}, signal);
    return headFromHeaders(headers);
  }

  /** PutObject with the object's content fields. */
  async put(key: string, body: Buffer, fields: ContentFields, signal?: AbortSignal): Promise<void> {
    await this.#send('PUT', key, body, contentHeaders(fields), signal);
  }

  /** One ListObjectsV2 page. One try: core's ObjectStoreTree retries a page. */
  async list(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    const query = canonicalQuery({
      'list-type': '2',
      prefix: request.prefix,
      delimiter: request.delimited ? '/' : undefined,
      'max-keys': String(request.limit),
      'continuation-token': request.token,
      'start-after': request.startAfter,
    });
    const response = await this.#request('GET', '', {}, undefined, signal, query);
    const body = await readResponse(response);
    if (response.statusCode >= 300) throw toError(body, response.statusCode, 'LIST', this.#o.bucket, undefined);
    return parseObjectList(body.toString('utf8'));
  }

  #resolve(): Promise<Target | undefined> {
    this.#target ??= (async () => {
      const config = this.#client.config;
      const region = await config.region();
      const endpoint = config.endpointProvider({
        Bucket: this.#o.bucket,
        Region: region,
        UseFIPS: this.#o.useFipsEndpoint ?? false,
        UseDualStack: this.#o.useDualStack ?? false,
        Accelerate: this.#o.accelerate ?? false,
        ForcePathStyle: this.#o.forcePathStyle ?? false,
        Endpoint: endpointUrl(this.#o),
      });
      const scheme = (endpoint.properties?.authSchemes as { name?: string; signingRegion?: string; signingName?: string }[] | undefined)?.[0];
      if (scheme !== undefined && scheme.name !== 'sigv4') return undefined;
      const resolved = config as unknown as { credentials: () => Promise<Credentials>; systemClockOffset?: number };
      const signer = new Signer(() => resolved.credentials(), scheme?.signingRegion ?? region, scheme?.signingName ?? 's3', () => resolved.systemClockOffset ?? 0);
      const url = new URL(endpoint.url.href.replace(/\/?$/, '/'));
      const https = url.protocol === 'https:';
      return {
        signer,
        basePath: url.pathname,
        host: url.host,
        // Over TLS the payload is protected in transit; over plain HTTP it is signed, as the SDK does.
        signPayload: !https,
        http: new HttpClient(url, {
          rejectUnauthorized: !this.#o.skipVerify,
          lookup: this.#o.lookup,
          maxIdleConnections: Math.max(this.#o.maxConcurrency ?? 128, 16),
          answerTimeoutMs: this.#o.answerTimeoutMs,
        }),
      };
    })();
    return this.#target;
  }

  /** A whole request and answer, retried on transport failures, throttling and 5xx. */
  async #send(method: 'HEAD' | 'PUT', key: string, body: Buffer | undefined, extra: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return retry(
      async () => {
        const response = await this.#request(method, key, extra, body, signal);
        const result: Response = { status: response.statusCode, headers: response.headers, body: await readResponse(response) };
        if (result.status >= 300) throw toError(result.body, result.status, method, this.#o.bucket, key);
        return result;
      },
      { attempts: ATTEMPTS, baseDelayMs: 100, signal },
    );
  }

  /** One signed request; the answer's body is left unread (the signal stays on it until it ends: an abort destroys the socket). */
  async #request(method: 'GET' | 'HEAD' | 'PUT', key: string, extra: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal, query = ''): Promise<HttpResponse> {
    const target = (await this.#resolve())!;
    const headers: Record<string, string> = { host: target.host };
    if (body !== undefined) {
      Object.assign(headers, this.#headers);
      headers['content-length'] = String(body.length);
      if (this.#checksum) {
        const checksum = Buffer.alloc(4);
        checksum.writeUInt32BE(crc32(body));
        headers['x-amz-checksum-crc32'] = checksum.toString('base64');
      }
    }
    Object.assign(headers, extra);
    const path = `${target.basePath}${encodeKey(key)}`;
    const payload = !target.signPayload ? 'UNSIGNED-PAYLOAD' : body === undefined || body.length === 0 ? EMPTY_SHA256 : hash('sha256', body, 'hex');
    await target.signer.sign(method, path, query, headers, payload);
    return target.http.request({ method, path: query === '' ? path : `${path}?${query}`, headers, body }, { signal, connectTimeoutMs: CONNECTION_TIMEOUT_MS, driverName: 's3' });
  }
}

/** Where and how the direct path sends: resolved once from the SDK's endpoint rules. */
interface Target {
  signer: Signer;
  basePath: string;
  host: string;
  signPayload: boolean;
  http: HttpClient;
}

const OPERATIONS: Record<string, string> = { GET: 'GetObject', HEAD: 'HeadObject', PUT: 'PutObject', LIST: 'ListObjectsV2' };

/** The error of an answer: the body's code, or for a body-less answer what the SDK makes of it (`NotFound` for HEAD's 404). */
function toError(body: Buffer, status: number, method: string, bucket: string, key: string | undefined): S3ResponseError {
  const text = body.toString('utf8');
  const code = xmlElementText(text, 'Code') || (status === 404 && method === 'HEAD' ? 'NotFound' : `HTTP${status}`);
  const error = new S3ResponseError(status, code, xmlElementText(text, 'Message') ?? '');
  return describeS3Error(error, { operation: OPERATIONS[method] ?? method, bucket, key }) as S3ResponseError;
}
