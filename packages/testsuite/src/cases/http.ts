/** A plain HTTP client, as a browser or curl would use a redirect or signed URL (no SDK, no signing). */
import http from 'node:http';
import https from 'node:https';

import { readAll } from '@storagedriver/core';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  headers?: Readonly<Record<string, string>>;
  body?: Uint8Array;
}

/** One request; `insecureTLS` accepts a test server's self-signed certificate. Bodies are not decoded. */
export function httpRequest(url: string, request: HttpRequest, insecureTLS: boolean): Promise<HttpResponse> {
  const client = url.startsWith('https:') ? https : http;
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(request.body.length);
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: request.method, headers, rejectUnauthorized: !insecureTLS, agent: false }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${request.method} ${url}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(request.body === undefined ? undefined : Buffer.from(request.body));
  });
}

/** What a failed request answered, for assertion messages. */
export function describeResponse(response: HttpResponse): string {
  const text = response.body.subarray(0, 300).toString('latin1');
  return `${response.status} ${/^[\x20-\x7e\r\n\t]*$/.test(text) ? text : `(${response.body.length} bytes of content)`}`;
}
