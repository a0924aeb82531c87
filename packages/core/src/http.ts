/**
 * One request on node:http or node:https, for drivers' direct paths (small objects, media reads),
 * where a cloud SDK's middleware would cost more client CPU than the request itself.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';

import { gather } from './stream.js';

/** `http.request` or `https.request`. */
export type RequestFunction = (options: RequestOptions, callback: (response: IncomingMessage) => void) => ClientRequest;

/** How `sendRequest` is bounded and who it names in its errors. */
export interface SendOptions {
  /** Ends the connection until the answer's body has ended or failed, not only until the request is sent. */
  signal?: AbortSignal;
  /** A connection not made within this fails as a transient `TimeoutError` (a kept-alive socket is not timed). */
  connectTimeoutMs: number;
  /** Names the driver in the timeout's message. */
  driverName: string;
}

/**
 * Sends `body` (its buffers written as they are: no copy) and resolves with the answer, whose body
 * is left unread. Transport failures reject; the status is the caller's to check.
 */
export function sendRequest(send: RequestFunction, options: RequestOptions, body: Buffer | readonly Buffer[] | undefined, { signal, connectTimeoutMs, driverName }: SendOptions): Promise<IncomingMessage> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const request = send(options, resolve);
    // Kept for the request's life: a socket error after the answer arrived reaches the body's reader, not an unhandled event.
    request.on('error', reject);
    if (signal !== undefined) {
      const onAbort = (): void => void request.destroy(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      request.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    request.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        const host = `${options.hostname ?? options.host ?? 'localhost'}${options.port === undefined || options.port === null ? '' : `:${options.port}`}`;
        request.destroy(Object.assign(new Error(`${driverName}: no connection to ${host} within ${connectTimeoutMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
      }, connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    if (Array.isArray(body)) {
      for (const part of body as readonly Buffer[]) request.write(part);
      request.end();
    } else {
      request.end(body as Buffer | undefined);
    }
  });
}

/** A whole (small) answer body; a body closed before its end fails (an abort, a cut connection). */
export async function readResponse(response: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const { error } = await gather(response, chunks);
  if (error !== undefined) throw error;
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
