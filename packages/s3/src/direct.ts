/**
 * The small-object path: GetObject, PutObject and HeadObject as single SigV4-signed requests, sent
 * with the SDK's own signer and HTTP handler (same keep-alive pool, same credentials provider) but
 * without its middleware stack, schema serialisers and per-request endpoint rules. Those cost about
 * two thirds of the client CPU of a 4 KiB request (see the README's profile); without them the
 * driver makes small requests 1.5–2× faster. The bucket's base URL and signing scope still come from
 * the SDK's endpoint rules, resolved once. Streams, multipart and listings stay on the SDK.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { retry } from '@storagedriver/core';

import { endpointUrl } from './client.js';
import { describeS3Error } from './errors.js';
import { contentHeaders, headFromHeaders, type ContentFields, type ObjectHead } from './metadata.js';
import type { S3Options } from './params.js';

/** SHA-256 / HMAC-SHA256 in the shape the signer expects. */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
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
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** A GET answer whose body is still on the wire. */
export interface StreamedResponse {
  headers: Record<string, string | undefined>;
  body: Readable;
}

/** S3 key encoding: every character but unreserved ones and `/`, percent-encoded once. */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Tries per request, the first included (the SDK's standard strategy makes 5 too). */
const ATTEMPTS = 5;

export class DirectRequests {
  readonly #client: S3Client;
  readonly #o: S3Options;
  readonly #headers: Record<string, string>;
  #target: Promise<{ url: URL; signer: SignatureV4 } | undefined> | undefined;

  constructor(client: S3Client, options: S3Options, objectFields: Record<string, unknown>) {
    this.#client = client;
    this.#o = options;
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
    if (response.statusCode >= 300) throw toError(await readAll(response.body), response.statusCode, 'GET', this.#o.bucket, key);
    return { headers: response.headers, body: response.body as Readable };
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectHead> {
    const { headers } = await this.#send('HEAD', key, undefined, {}, signal);
    return headFromHeaders(headers);
  }

  /** PutObject with the object's content fields. */
  async put(key: string, body: Buffer, fields: ContentFields, signal?: AbortSignal): Promise<void> {
    await this.#send('PUT', key, body, contentHeaders(fields), signal);
  }

  #resolve(): Promise<{ url: URL; signer: SignatureV4 } | undefined> {
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
      const signer = new SignatureV4({
        credentials: config.credentials,
        region: scheme?.signingRegion ?? region,
        service: scheme?.signingName ?? 's3',
        sha256: Sha256,
        uriEscapePath: false, // S3 keys are encoded once, not twice
        applyChecksum: true,
      });
      return { url: new URL(endpoint.url.href.replace(/\/?$/, '/')), signer };
    })();
    return this.#target;
  }

  /** A whole request and answer, retried on transport failures, throttling and 5xx. */
  async #send(method: 'HEAD' | 'PUT', key: string, body: Buffer | undefined, extra: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return retry(
      async () => {
        const response = await this.#request(method, key, extra, body, signal);
        const result: Response = { status: response.statusCode, headers: response.headers, body: await readAll(response.body) };
        if (result.status >= 300) throw toError(result.body, result.status, method, this.#o.bucket, key);
        return result;
      },
      { attempts: ATTEMPTS, baseDelayMs: 100, signal },
    );
  }

  /** One signed request; the answer's body is left unread. */
  async #request(method: 'GET' | 'HEAD' | 'PUT', key: string, extra: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const { url, signer } = (await this.#resolve())!;
    const headers: Record<string, string> = { host: url.host };
    if (body !== undefined) {
      Object.assign(headers, this.#headers, { 'content-length': String(body.length) });
      // As the SDK does: a CRC32 of the body where S3 supports it (AWS), nothing extra for S3-compatible servers.
      if ((this.#o.requestChecksums ?? (this.#o.regionEndpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED')) === 'WHEN_SUPPORTED') {
        const checksum = Buffer.alloc(4);
        checksum.writeUInt32BE(crc32(body));
        headers['x-amz-checksum-crc32'] = checksum.toString('base64');
      }
    }
    Object.assign(headers, extra);
    // Over TLS the payload is protected in transit; over plain HTTP it is signed, as the SDK does.
    headers['x-amz-content-sha256'] = url.protocol === 'https:' ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(body ?? '').digest('hex');
    const request = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${encodeKey(key)}`,
      query: {},
      headers,
      body,
    };
    const signed = await signer.sign(request);
    // The signal stays attached until the answer's body is read: an abort destroys the socket.
    const { response } = await this.#client.config.requestHandler.handle(signed as never, { abortSignal: signal });
    return response as HttpResponse;
  }
}

interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: AsyncIterable<Buffer> | undefined;
}

async function readAll(body: AsyncIterable<Buffer> | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (body !== undefined) for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const OPERATIONS: Record<string, string> = { GET: 'GetObject', HEAD: 'HeadObject', PUT: 'PutObject' };

/** The error of an answer: the body's code, or for a body-less answer what the SDK makes of it (`NotFound` for HEAD's 404). */
function toError(body: Buffer, status: number, method: string, bucket: string, key: string): S3ResponseError {
  const text = body.toString('utf8');
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? (status === 404 && method === 'HEAD' ? 'NotFound' : `HTTP${status}`);
  const error = new S3ResponseError(status, code, /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '');
  return describeS3Error(error, { operation: OPERATIONS[method] ?? method, bucket, key }) as S3ResponseError;
}
