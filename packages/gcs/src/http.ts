/**
 * The driver's requests — uploads, media downloads, listings, metadata, deletes, compose, rewrite —
 * sent with the caller's AbortSignal and core's bound on an answer's start. The SDK's own requests
 * have neither (its `timeout` option is lost on the way to its fetch): its HTTP layer takes no
 * signal, its promise API hides the request, and destroying its upload stream does not stop the
 * request: the object still appears after the abort. Here an abort ends the connection, so a cut upload never becomes an object. Endpoint and
 * credentials are the SDK Storage's, so a Storage passed as `client` is honoured.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import type { Bucket, FileMetadata } from '@google-cloud/storage';
import { fetchWithinAnswerBound, HttpClient, readResponse, type ContentHeaders, type HttpResponse } from '@storagedriver/core';

export const CONTENT_TYPE = 'application/octet-stream';

/** A non-2xx answer; `code` is the HTTP status, as on the SDK's ApiError, so one status check fits both. */
export class GcsHttpError extends Error {
  override readonly name = 'GcsHttpError';
  readonly code: number;

  constructor(status: number, message: string) {
    super(message);
    this.code = status;
  }
}

type Query = Record<string, string | undefined>;

/** What an upload or compose stores with the object besides its bytes (the JSON API's fields). */
export interface ObjectResource extends ContentHeaders {
  metadata: Record<string, string>;
}

/**
 * Generation preconditions, checked by the service where the object is published: `0` = only if
 * nothing is there. The metageneration pins the metadata too (what the JSON API's etag covers).
 */
export interface Preconditions {
  ifGenerationMatch?: string;
  ifMetagenerationMatch?: string;
}

/** The JSON API's object resource, the fields the driver reads. */
export interface ObjectJson extends ContentHeaders {
  name: string;
  generation?: string;
  metadata?: Record<string, string>;
}

/** One page of objects.list, with only the fields a listing page reads. */
export interface ListJson {
  items?: Array<{ name: string; size?: string; updated?: string; etag?: string }>;
  prefixes?: string[];
  nextPageToken?: string;
}

/** objects.list's partial response: the SDK's getFiles asks for every field and builds a File per item. */
const LIST_FIELDS = 'items(name,size,updated,etag),prefixes,nextPageToken';

/** A range that starts beyond the object (416), with the object's size from `Content-Range: bytes *\/size`. */
export class RangeNotSatisfiableError extends GcsHttpError {
  readonly size: number | undefined;

  constructor(message: string, size: number | undefined) {
    super(416, message);
    this.size = size;
  }
}

export interface MediaResponse {
  stream: Readable;
  /** The object generation the body belongs to (`x-goog-generation`). */
  generation: string | undefined;
  /** The whole object's size, when the response says it. */
  size: number | undefined;
}

/** Where requests go: the Storage's `apiEndpoint`, parsed. */
interface Endpoint {
  apiEndpoint: string;
  origin: string;
  /** The endpoint's own path, without a trailing slash (usually empty). */
  basePath: string;
  http: HttpClient;
}

export class GcsRequests {
  readonly #bucket: Bucket;
  readonly #userAgent: string | undefined;
  readonly #answerTimeoutMs: number | undefined;
  #parsedEndpoint: Endpoint | undefined;

  constructor(bucket: Bucket, { userAgent, answerTimeoutMs }: { userAgent?: string; answerTimeoutMs?: number } = {}) {
    this.#bucket = bucket;
    this.#userAgent = userAgent;
    this.#answerTimeoutMs = answerTimeoutMs;
  }

  /**
   * Uploads `data` as one object in one multipart request (atomic), with the MD5 the service checks
   * and the preconditions it checks where the object is published (412 when they fail).
   */
  async upload(name: string, data: Buffer, md5Hash: string, resource: ObjectResource, preconditions: Preconditions = {}, signal?: AbortSignal): Promise<void> {
    const boundary = randomUUID();
    const contentType = resource.contentType ?? CONTENT_TYPE;
    const json = JSON.stringify({ ...resource, name, contentType, md5Hash });
    // The media part's type too: fake-gcs-server takes the object's content type from it.
    const head = Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${json}\r\n--${boundary}\r\nContent-Type: ${contentType}\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const response = await this.#sendRaw('POST', `/upload/storage/v1/b/${this.#bucketName}/o`, { uploadType: 'multipart', name, ...preconditions }, {
      'content-type': `multipart/related; boundary=${boundary}`,
      'content-length': String(head.length + data.length + tail.length),
    }, signal, [head, data, tail]);
    // The answer is the object's resource, which no caller needs: read to its end, not parsed.
    await readResponse(response);
  }

  /**
   * The stored bytes from `offset` (up to `end`, exclusive, when given), of `generation` when given
   * (a generation that is gone is a 404). Through core's HttpClient, not fetch: fetch decodes a body sent
   * with `Content-Encoding: gzip` (or br, deflate), and an object stored with that encoding must be
   * read back byte for byte. `Accept-Encoding: gzip` keeps the service from decompressing it
   * (GCS's decompressive transcoding), so the body is always the stored bytes.
   */
  async download(name: string, offset: number, generation: string | undefined, signal?: AbortSignal, end?: number): Promise<MediaResponse> {
    const ranged = offset > 0 || end !== undefined;
    const range = `bytes=${offset}-${end === undefined ? '' : end - 1}`;
    const response = await this.#sendRaw('GET', this.#objectPath(name), { alt: 'media', generation }, {
      'accept-encoding': 'gzip',
      ...(ranged ? { range } : {}),
    }, signal);
    const total = /\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1];
    if (ranged && response.statusCode !== 206) {
      response.destroy();
      throw new GcsHttpError(response.statusCode, `a ranged read of ${range} was answered with status ${response.statusCode}`);
    }
    const length = response.headers['content-length'];
    const size = total !== undefined ? Number(total) : length !== undefined ? offset + Number(length) : undefined;
    return { stream: response, generation: response.headers['x-goog-generation'], size };
  }

  /** One page of the bucket's listing (objects.list); `startOffset` is inclusive. */
  async list(request: { prefix: string; maxResults: number; pageToken: string | undefined; delimiter: string | undefined; startOffset: string | undefined }, signal?: AbortSignal): Promise<ListJson> {
    const { prefix, maxResults, pageToken, delimiter, startOffset } = request;
    const response = await this.#sendRaw('GET', `/storage/v1/b/${this.#bucketName}/o`, { prefix, maxResults: String(maxResults), pageToken, delimiter, startOffset, fields: LIST_FIELDS }, {}, signal);
    return JSON.parse((await readResponse(response)).toString('utf8')) as ListJson;
  }

  /** The object's resource (every field, as the SDK's getMetadata gives it), or undefined when there is none. */
  async metadata(name: string, signal?: AbortSignal): Promise<FileMetadata | undefined> {
    try {
      const response = await this.#sendRaw('GET', this.#objectPath(name), {}, {}, signal);
      return JSON.parse((await readResponse(response)).toString('utf8')) as FileMetadata;
    } catch (error) {
      if (error instanceof GcsHttpError && error.code === 404) return undefined;
      throw error;
    }
  }

  /** Deletes the object; a 404 is a GcsHttpError for the caller to judge. */
  async delete(name: string, signal?: AbortSignal): Promise<void> {
    await readResponse(await this.#sendRaw('DELETE', this.#objectPath(name), {}, {}, signal));
  }

  /** One page of the objects under `prefix`, each with every field (custom metadata, creation time). */
  async listResources(prefix: string, pageToken: string | undefined, maxResults: number, signal?: AbortSignal): Promise<{ items: FileMetadata[]; nextPageToken?: string }> {
    const response = await this.#sendRaw('GET', `/storage/v1/b/${this.#bucketName}/o`, { prefix, pageToken, maxResults: String(maxResults) }, {}, signal);
    const page = JSON.parse((await readResponse(response)).toString('utf8')) as { items?: FileMetadata[]; nextPageToken?: string };
    return { items: page.items ?? [], ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }) };
  }

  #objectPath(name: string): string {
    return `/storage/v1/b/${this.#bucketName}/o/${encodeURIComponent(name)}`;
  }

  /**
   * One compose call with the destination's resource (content headers and custom metadata arrive
   * in the same atomic step as the content) and its preconditions. Sent by hand because the SDK's
   * `combine` cannot set custom metadata on the destination.
   */
  async compose(destination: string, sources: string[], resource: ObjectResource, preconditions: Preconditions = {}, signal?: AbortSignal): Promise<ObjectJson> {
    const response = await this.#send('POST', `/storage/v1/b/${this.#bucketName}/o/${encodeURIComponent(destination)}/compose`, { ...preconditions }, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ destination: { ...resource, contentType: resource.contentType ?? CONTENT_TYPE }, sourceObjects: sources.map((source) => ({ name: source })) }),
      signal,
    });
    return (await response.json()) as ObjectJson;
  }

  /**
   * A server-side copy (the JSON API's rewrite), following the rewrite token until it is done: a
   * large object or one crossing locations or storage classes takes several calls on GCS. The
   * source's content headers and metadata are kept unless `resource` replaces them. Repeating it
   * gives the same destination.
   */
  async rewrite(source: string, destination: string, resource: Partial<ObjectResource> | undefined, signal?: AbortSignal): Promise<void> {
    const path = `/storage/v1/b/${this.#bucketName}/o/${encodeURIComponent(source)}/rewriteTo/b/${this.#bucketName}/o/${encodeURIComponent(destination)}`;
    let token: string | undefined;
    for (let calls = 0; ; calls++) {
      const response = await this.#send('POST', path, { rewriteToken: token }, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(resource ?? {}),
        signal,
      });
      const answer = (await response.json()) as { done?: boolean; rewriteToken?: string };
      if (answer.done === true) return;
      if (!answer.rewriteToken || calls >= MAX_REWRITE_CALLS) throw new GcsHttpError(500, `rewrite of ${source} to ${destination} was not done after ${calls + 1} calls`);
      token = answer.rewriteToken;
    }
  }

  get #bucketName(): string {
    return encodeURIComponent(this.#bucket.name);
  }

  /**
   * The Storage's endpoint, parsed once (again only if the Storage's changes): a URL object and its
   * query serialisation per request cost a small request more client CPU than its headers.
   */
  #endpoint(): Endpoint {
    const apiEndpoint = this.#bucket.storage.apiEndpoint;
    if (this.#parsedEndpoint?.apiEndpoint !== apiEndpoint) {
      const url = new URL(apiEndpoint);
      this.#parsedEndpoint = {
        apiEndpoint,
        origin: url.origin,
        basePath: url.pathname.replace(/\/$/, ''),
        http: new HttpClient(url, { answerTimeoutMs: this.#answerTimeoutMs }),
      };
    }
    return this.#parsedEndpoint;
  }

  /** Lower-case header names; the token only where the SDK would send one (an emulator endpoint gets none unless asked to). */
  async #headers(url: string, init: Record<string, string>): Promise<Record<string, string>> {
    const storage = this.#bucket.storage;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init)) headers[name.toLowerCase()] = value;
    if (this.#userAgent !== undefined) headers['user-agent'] = this.#userAgent;
    if (!storage.customEndpoint || storage.useAuthWithCustomEndpoint) {
      // Headers from google-auth-library ≥ 10, a plain record from older ones (a `client` of another version).
      new Headers(await storage.authClient.getRequestHeaders(url)).forEach((value, name) => (headers[name] = value));
    }
    return headers;
  }

  async #send(method: string, path: string, query: Query, init: { headers: Record<string, string>; body: string; signal?: AbortSignal }): Promise<Response> {
    const { origin, basePath } = this.#endpoint();
    const pathAndQuery = `${basePath}${path}${queryString(query)}`;
    const url = `${origin}${pathAndQuery}`;
    const response = await fetchWithinAnswerBound(fetch, url, { ...init, method, headers: await this.#headers(url, init.headers) }, { bodyBytes: Buffer.byteLength(init.body), driverName: 'gcs', answerTimeoutMs: this.#answerTimeoutMs });
    if (response.ok) return response;
    throw failure(method, pathAndQuery, response.status, response.statusText, await response.text().catch(() => ''));
  }

  /**
   * A request through core's HttpClient, answered as a Node stream of the body's bytes exactly as sent (no
   * content decoding). `body`'s buffers are written as they are: no copy, and none of fetch's web
   * stream plumbing, which cost a small upload more client CPU than the request itself.
   */
  async #sendRaw(method: string, path: string, query: Query, init: Record<string, string>, signal?: AbortSignal, body: Buffer[] = []): Promise<HttpResponse> {
    const { origin, basePath, http } = this.#endpoint();
    const pathAndQuery = `${basePath}${path}${queryString(query)}`;
    const headers = await this.#headers(`${origin}${pathAndQuery}`, init);
    const response = await http.request({ method, path: pathAndQuery, headers, body }, { signal, connectTimeoutMs: CONNECT_TIMEOUT_MS, driverName: 'gcs' });
    const status = response.statusCode;
    if (status >= 200 && status < 300) return response;
    const error = failure(method, pathAndQuery, status, response.statusMessage, (await readResponse(response)).toString('utf8'));
    if (status === 416) {
      const size = /\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1];
      throw new RangeNotSatisfiableError(error.message, size === undefined ? undefined : Number(size));
    }
    throw error;
  }
}

const MAX_REWRITE_CALLS = 10_000;
/** A connection not made within this fails as transient (and is retried), as on the s3 driver's direct path. */
const CONNECT_TIMEOUT_MS = 10_000;

/** `?a=1&b=2` of the defined values (empty when there are none), each name and value percent-encoded. */
function queryString(query: Query): string {
  let text = '';
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) text += `${text === '' ? '?' : '&'}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  }
  return text;
}

/** `path`: the request's path, without its query (which may carry a token). */
function failure(method: string, path: string, status: number, statusText: string, text: string): GcsHttpError {
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON: the text is the message
  }
  return new GcsHttpError(status, `${method} ${path.replace(/\?.*$/, '')}: ${status} ${message.trim() || statusText}`.trim());
}
