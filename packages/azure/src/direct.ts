/**
 * The small-object and listing path: Put Blob, Get Blob and List Blobs as single SharedKey-signed
 * requests on core's HttpClient, without the SDK's pipeline (a dozen policies, serialisers, tracing),
 * which cost most of the client CPU of a 4 KiB request, and whose XML model deserialiser cost most
 * of a listing's. Only on the container client the driver built itself (a caller's `client` keeps
 * its pipeline: its policies, HTTP client and TLS settings), with an account key (shared_key
 * credentials, or a connection string holding one), without a proxy in the environment (the SDK
 * honours HTTPS_PROXY, HTTP_PROXY and ALL_PROXY), and for writes without custom metadata: Azure sorts
 * `x-ms-meta-*` names by its own collation when it checks a signature, and the SDK's copy of that
 * rule is not public. Everything else stays on the SDK.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import type { Readable } from 'node:stream';

import { StorageSharedKeyCredential, type BlobHTTPHeaders, type ContainerClient } from '@azure/storage-blob';
import { HttpClient, readResponse, retry, type HttpResponse, type ListPage, type ListPageRequest } from '@storagedriver/core';

import { parseBlobList } from './listing.js';

/** As the SDK's own HTTP client gives up on a connection. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Tries per Put Blob, the first included, as the driver's SDK pipeline makes. */
const ATTEMPTS = 5;

/** An error answer shaped like the SDK's RestError (statusCode, code), so one error mapping serves both paths. */
export class AzureResponseError extends Error {
  override readonly name = 'RestError';
  readonly statusCode: number;
  readonly code: string | undefined;

  constructor(statusCode: number, code: string | undefined, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** A Get Blob answer whose body is still on the wire. */
export interface BlobResponse {
  stream: Readable;
  etag: string | undefined;
  contentRange: string | undefined;
  contentLength: number | undefined;
}

/**
 * The credential's HMAC-SHA256 (base64) with its key prepared once: the SDK's `computeHMACSHA256`
 * hands `createHmac` the key's bytes, whose preparation costs about 13 µs of every request (16 vs
 * 3 µs per signature here). The key is a private field of the SDK's credential, so it is taken only
 * when it is a Buffer that signs exactly as the credential does; the SDK's method otherwise.
 */
function sharedKeyHmac(credential: StorageSharedKeyCredential): (toSign: string) => string {
  const bytes = (credential as unknown as { accountKey?: unknown }).accountKey;
  if (Buffer.isBuffer(bytes)) {
    const key = createSecretKey(bytes);
    const hmac = (toSign: string): string => createHmac('sha256', key).update(toSign, 'utf8').digest('base64');
    const probe = 'storagedriver key check';
    if (hmac(probe) === credential.computeHMACSHA256(probe)) return hmac;
  }
  return (toSign) => credential.computeHMACSHA256(toSign);
}

export class DirectBlobs {
  readonly #accountName: string;
  readonly #hmac: (toSign: string) => string;
  readonly #version: string;
  readonly #http: HttpClient;
  /** The container's path: `/container`, or `/account/container` on an emulator's path-style URL. */
  readonly #containerPath: string;

  /** The direct path for the container client the driver built, or undefined when it must not bypass the SDK (above). */
  static for(container: ContainerClient, skipVerify: boolean, answerTimeoutMs: number | undefined): DirectBlobs | undefined {
    const credential = container.credential;
    const version = (container as unknown as { storageClientContext?: { version?: unknown } }).storageClientContext?.version;
    if (!(credential instanceof StorageSharedKeyCredential) || typeof version !== 'string' || proxyConfigured()) return undefined;
    return new DirectBlobs(new URL(container.url), credential, version, new HttpClient(container.url, { rejectUnauthorized: !skipVerify, answerTimeoutMs }));
  }

  private constructor(url: URL, credential: StorageSharedKeyCredential, version: string, http: HttpClient) {
    this.#accountName = credential.accountName;
    this.#hmac = sharedKeyHmac(credential);
    this.#version = version;
    this.#http = http;
    this.#containerPath = url.pathname.replace(/\/$/, '');
  }

  /** Put Blob: replaces the blob atomically; the service computes its Content-MD5. Retried: the same bytes again. */
  async put(name: string, body: Buffer, headers: BlobHTTPHeaders, signal?: AbortSignal): Promise<void> {
    const extra: Record<string, string> = { 'x-ms-blob-type': 'BlockBlob', 'content-length': String(body.length) };
    for (const [header, value] of [
      ['x-ms-blob-content-type', headers.blobContentType],
      ['x-ms-blob-cache-control', headers.blobCacheControl],
      ['x-ms-blob-content-disposition', headers.blobContentDisposition],
      ['x-ms-blob-content-encoding', headers.blobContentEncoding],
    ] as const) {
      if (value !== undefined) extra[header] = value;
    }
    await retry(async () => {
      const response = await this.#request('PUT', name, extra, body, signal);
      if (response.statusCode !== 201) throw await failure(response);
      await readResponse(response);
    }, { attempts: ATTEMPTS, baseDelayMs: 200, signal });
  }

  /**
   * Get Blob from `offset` (to `end`, exclusive, when given), pinned to `ifMatch` when given; the body
   * is streamed. One try: the caller (core's resumableReader) retries, and resumes a cut body.
   */
  async open(name: string, offset: number, end: number | undefined, ifMatch: string | undefined, signal?: AbortSignal): Promise<BlobResponse> {
    const extra: Record<string, string> = {};
    if (offset > 0 || end !== undefined) extra['x-ms-range'] = `bytes=${offset}-${end === undefined ? '' : end - 1}`;
    if (ifMatch !== undefined) extra['if-match'] = ifMatch;
    const response = await this.#request('GET', name, extra, undefined, signal);
    if (response.statusCode !== 200 && response.statusCode !== 206) throw await failure(response);
    const length = response.headers['content-length'];
    return {
      stream: response,
      etag: response.headers.etag,
      contentRange: response.headers['content-range'],
      contentLength: length === undefined ? undefined : Number(length),
    };
  }

  /**
   * One page of List Blobs, flat or one level deep at `/`. One try: the listing's owner (core's
   * ObjectStoreTree) retries it.
   */
  async list(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    const query: Record<string, string> = { comp: 'list', restype: 'container', maxresults: String(request.limit) };
    if (request.prefix !== '') query.prefix = request.prefix;
    if (request.delimited) query.delimiter = '/';
    if (request.token !== undefined) query.marker = request.token;
    const response = await this.#request('GET', undefined, {}, undefined, signal, query);
    if (response.statusCode !== 200) throw await failure(response);
    return parseBlobList((await readResponse(response)).toString('utf8'));
  }

  /** A request on the blob `name`, or on the container itself when `name` is undefined. */
  async #request(method: 'GET' | 'PUT', name: string | undefined, extra: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal, query: Readonly<Record<string, string>> = {}): Promise<HttpResponse> {
    const resource = name === undefined ? this.#containerPath : `${this.#containerPath}/${name.split('/').map(encodeURIComponent).join('/')}`;
    const search = Object.entries(query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
    const headers: Record<string, string> = { 'x-ms-version': this.#version, 'x-ms-date': new Date().toUTCString(), ...extra };
    headers.authorization = `SharedKey ${this.#accountName}:${this.#hmac(this.#stringToSign(method, resource, query, headers))}`;
    const path = search === '' ? resource : `${resource}?${search}`;
    return this.#http.request({ method, path, headers, body }, { signal, connectTimeoutMs: CONNECT_TIMEOUT_MS, driverName: 'azure' });
  }

  /**
   * Shared Key's string to sign (version 2015-02-21 and later). The `x-ms-*` names this path sends
   * sort the same ordinally and by Azure's collation; its query names are lower case and each has
   * one value, given here unencoded, as the canonicalized resource wants it.
   */
  #stringToSign(method: string, resource: string, query: Readonly<Record<string, string>>, headers: Readonly<Record<string, string>>): string {
    const header = (name: string): string => headers[name] ?? '';
    const length = header('content-length');
    let toSign = `${method}\n${header('content-encoding')}\n${header('content-language')}\n${length === '0' ? '' : length}\n${header('content-md5')}\n${header('content-type')}\n`;
    toSign += `${header('date')}\n${header('if-modified-since')}\n${header('if-match')}\n${header('if-none-match')}\n${header('if-unmodified-since')}\n${header('range')}\n`;
    for (const name of Object.keys(headers).filter((key) => key.startsWith('x-ms-')).sort()) toSign += `${name}:${headers[name]!.trimStart()}\n`;
    toSign += `/${this.#accountName}${resource}`;
    for (const key of Object.keys(query).sort()) toSign += `\n${key}:${query[key]}`;
    return toSign;
  }
}

/** A proxy the SDK would send through (its proxy policy reads these names in either case). */
function proxyConfigured(): boolean {
  return ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY'].some((name) => Boolean(process.env[name] || process.env[name.toLowerCase()]));
}

/** The error of a non-2xx answer: the `x-ms-error-code` header and the body's message. */
async function failure(response: HttpResponse): Promise<AzureResponseError> {
  const status = response.statusCode;
  const text = (await readResponse(response).catch(() => Buffer.alloc(0))).toString('utf8');
  const code = response.headers['x-ms-error-code'];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `${status} ${response.statusMessage}`.trim();
  return new AzureResponseError(status, code, message);
}
