/**
 * The gallery's signed-URL service: an HTTP server on 127.0.0.1 over an ObjectStore, serving GET,
 * HEAD and PUT to URLs a backend signs with an HMAC of method, key, expiry and content type — so
 * the suite's signed-URL cases run against a plain HTTP client here too.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { readAll } from '@storagedriver/core';

import type { ObjectStore } from './backend.js';

export interface SignedRequest {
  method: string;
  key: string;
  expires: number;
  contentType: string | undefined;
}

export class SignedURLServer {
  readonly #secret = randomBytes(32);
  readonly #server: http.Server;
  #base = '';

  constructor(readonly store: ObjectStore) {
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** What a signature covers (a mutant leaves something out, on signing and checking alike). */
  signedParts = (request: SignedRequest): string[] => [request.method, request.key, String(request.expires), request.contentType ?? ''];

  signature(request: SignedRequest): string {
    return createHmac('sha256', this.#secret).update(this.signedParts(request).join('\n')).digest('hex');
  }

  url(key: string, expires: number, signature: string): string {
    return `${this.#base}/${key}?expires=${expires}&signature=${signature}`;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#base);
    const key = decodeURIComponent(url.pathname.slice(1));
    const expires = Number(url.searchParams.get('expires'));
    const given = Buffer.from(url.searchParams.get('signature') ?? '', 'utf8');
    const contentType = req.method === 'PUT' ? req.headers['content-type'] : undefined;
    const expected = Buffer.from(this.signature({ method: req.method ?? '', key, expires, contentType }), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || !(expires * 1000 > Date.now())) {
      res.statusCode = 403;
      res.end('signature does not match');
      return;
    }
    if (req.method === 'PUT') {
      const data = await readAll(req);
      this.store.objects.set(key, {
        data,
        modTime: new Date(),
        metadata: contentType === undefined ? {} : { contentType },
        etag: `"${this.store.nextEtag++}"`,
        md5: createHash('md5').update(data).digest('base64'),
      });
      res.statusCode = 200;
      res.end();
      return;
    }
    const object = this.store.objects.get(key);
    if (object === undefined) {
      res.statusCode = 404;
      res.end('no such key');
      return;
    }
    const { contentType: type, cacheControl, contentDisposition, contentEncoding } = object.metadata ?? {};
    res.setHeader('content-length', object.data.length);
    for (const [name, value] of [['content-type', type], ['cache-control', cacheControl], ['content-disposition', contentDisposition], ['content-encoding', contentEncoding]] as const) {
      if (value !== undefined) res.setHeader(name, value);
    }
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : object.data);
  }
}
