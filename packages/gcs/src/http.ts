/**
 * The requests that carry data — uploads, media downloads, compose — sent with `fetch` and the
 * caller's AbortSignal. The SDK's HTTP layer takes no signal, its promise API hides the request,
 * and destroying its upload stream does not stop the request: the object still appears after the
 * abort. Here an abort ends the connection, so a cut upload never becomes an object. Endpoint and
 * credentials are the SDK Storage's, so a Storage passed as `client` is honoured.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { Bucket } from '@google-cloud/storage';

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

export interface MediaResponse {
  stream: Readable;
  /** The object generation the body belongs to (`x-goog-generation`). */
  generation: string | undefined;
  /** The whole object's size, when the response says it. */
  size: number | undefined;
}

export class GcsRequests {
  readonly #bucket: Bucket;
  readonly #userAgent: string | undefined;

  constructor(bucket: Bucket, userAgent?: string) {
    this.#bucket = bucket;
    this.#userAgent = userAgent;
  }

  /** Uploads `data` as one object in one multipart request (atomic), with the MD5 the service checks. */
  async upload(name: string, data: Buffer, md5Hash: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const boundary = randomUUID();
    const resource = JSON.stringify({ name, contentType: CONTENT_TYPE, md5Hash, metadata });
    const head = Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${resource}\r\n--${boundary}\r\nContent-Type: ${CONTENT_TYPE}\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const response = await this.#send('POST', `/upload/storage/v1/b/${this.#bucketName}/o`, { uploadType: 'multipart', name }, {
      headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(head.length + data.length + tail.length) },
      // A stream, not one concatenated buffer: the content is not copied. A web stream, because
      // Deno's fetch refuses a Node stream (and Bun's sends a Blob of Buffers empty).
      body: Readable.toWeb(Readable.from([head, data, tail], { objectMode: false })) as ReadableStream<Uint8Array>,
      duplex: 'half',
      signal,
    });
    await response.arrayBuffer();
  }

  /** The object's bytes from `offset`, of `generation` when given (a generation that is gone is a 404). */
  async download(name: string, offset: number, generation: string | undefined, signal?: AbortSignal): Promise<MediaResponse> {
    const response = await this.#send('GET', `/storage/v1/b/${this.#bucketName}/o/${encodeURIComponent(name)}`, { alt: 'media', generation }, {
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      signal,
    });
    if (offset > 0 && response.status !== 206) {
      await response.body?.cancel();
      throw new GcsHttpError(response.status, `a ranged read from byte ${offset} was answered with status ${response.status}`);
    }
    const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
    const length = response.headers.get('content-length');
    // A transcoded (decompressed) body has no size to compare with.
    const identity = response.headers.get('content-encoding') === null;
    const size = total !== undefined ? Number(total) : length !== null && identity ? offset + Number(length) : undefined;
    const stream = response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    return { stream, generation: response.headers.get('x-goog-generation') ?? undefined, size };
  }

  /**
   * One compose call. Sent by hand because the SDK's `combine` cannot set custom metadata on the
   * destination, and the upload marker must arrive in the same atomic step as the content.
   */
  async compose(destination: string, sources: string[], metadata: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const response = await this.#send('POST', `/storage/v1/b/${this.#bucketName}/o/${encodeURIComponent(destination)}/compose`, {}, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ destination: { contentType: CONTENT_TYPE, metadata }, sourceObjects: sources.map((source) => ({ name: source })) }),
      signal,
    });
    await response.arrayBuffer();
  }

  get #bucketName(): string {
    return encodeURIComponent(this.#bucket.name);
  }

  async #send(method: string, path: string, query: Query, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    const storage = this.#bucket.storage;
    const url = new URL(`${storage.apiEndpoint}${path}`);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    const headers = new Headers(init.headers);
    if (this.#userAgent !== undefined) headers.set('user-agent', this.#userAgent);
    // The SDK's rule: an emulator endpoint gets no token unless asked to.
    if (!storage.customEndpoint || storage.useAuthWithCustomEndpoint) {
      // Headers from google-auth-library ≥ 10, a plain record from older ones (a `client` of another version).
      new Headers(await storage.authClient.getRequestHeaders(url.href)).forEach((value, name) => headers.set(name, value));
    }
    const response = await fetch(url, { ...init, method, headers });
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON: the text is the message
    }
    throw new GcsHttpError(response.status, `${method} ${url.pathname}: ${response.status} ${message.trim() || response.statusText}`.trim());
  }
}
