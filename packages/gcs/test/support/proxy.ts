/**
 * A fault-injecting HTTP proxy in front of fake-gcs-server (plain HTTP), for transport failures a
 * real network has and the emulator never makes: a connection reset on arrival, a response body
 * cut mid-way, a response lost after the server applied the request, a slow body. It logs each
 * request, so a test can see whether the client really stopped (closed the connection early).
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type Fault =
  /** The connection is destroyed as the request arrives; nothing reaches the server. */
  | { kind: 'reset' }
  /** The server answers in full; the client gets the status, headers and `afterBytes` of the body, then the connection is destroyed (after `beforeCut`, if given). */
  | { kind: 'cut-body'; afterBytes: number; beforeCut?: () => Promise<void> }
  /** The server applies the request and answers; the client gets nothing: the connection is destroyed. */
  | { kind: 'drop-response' }
  /** The response body is relayed at about this rate. */
  | { kind: 'throttle'; bytesPerSecond: number };

export interface Rule {
  match: (request: { method: string; url: string }) => boolean;
  fault: Fault;
  /** How many matching requests it hits; unlimited when absent. */
  times?: number;
}

export interface Exchange {
  method: string;
  url: string;
  fault: Fault['kind'] | undefined;
  requestBytes: number;
  /** The client sent the whole request body. */
  requestComplete: boolean;
  responseBytes: number;
  /** The client's connection closed before the whole response was relayed. */
  clientClosedEarly: boolean;
}

export class FaultProxy {
  readonly log: Exchange[] = [];
  #rules: Rule[] = [];
  readonly #server: Server;
  readonly #target: URL;

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
  }

  static async start(target: string): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, new URL(target));
    server.on('request', (req: IncomingMessage, res) => proxy.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Adds a rule; the first rule that matches a request (and has hits left) applies. */
  add(rule: Rule): void {
    this.#rules.push({ ...rule });
  }

  /** Removes every rule and forgets the log. */
  clear(): void {
    this.#rules = [];
    this.log.length = 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #take(method: string, url: string): Fault | undefined {
    const rule = this.#rules.find((r) => (r.times ?? Infinity) > 0 && r.match({ method, url }));
    if (rule === undefined) return undefined;
    if (rule.times !== undefined) rule.times--;
    return rule.fault;
  }

  #handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const fault = this.#take(method, url);
    const exchange: Exchange = { method, url, fault: fault?.kind, requestBytes: 0, requestComplete: false, responseBytes: 0, clientClosedEarly: false };
    this.log.push(exchange);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    req.on('data', (chunk: Buffer) => void (exchange.requestBytes += chunk.length));
    req.on('end', () => void (exchange.requestComplete = true));
    const upstream = request({ host: this.#target.hostname, port: this.#target.port, method, path: url, headers: req.headers }, (answer) => {
      if (fault?.kind === 'drop-response') {
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (fault?.kind === 'cut-body') {
        this.#cut(answer, res, exchange, fault);
        return;
      }
      answer.on('data', (chunk: Buffer) => {
        exchange.responseBytes += chunk.length;
        const flushed = res.write(chunk);
        if (flushed && fault?.kind !== 'throttle') return;
        // Wait for the client to take the chunk, and for the throttle's pace.
        answer.pause();
        void Promise.all([
          flushed ? undefined : once(res, 'drain'),
          fault?.kind === 'throttle' ? sleep((1000 * chunk.length) / fault.bytesPerSecond) : undefined,
        ]).then(() => answer.resume(), () => answer.destroy());
      });
      answer.on('end', () => res.end());
    });
    upstream.on('error', () => res.destroy());
    // The client going away ends the exchange with the server too, as a cut connection would.
    res.on('close', () => {
      if (!res.writableFinished) {
        exchange.clientClosedEarly = true;
        upstream.destroy();
      }
    });
    req.pipe(upstream);
  }

  #cut(answer: IncomingMessage, res: import('node:http').ServerResponse, exchange: Exchange, fault: Extract<Fault, { kind: 'cut-body' }>): void {
    let cutting = false;
    answer.on('data', (chunk: Buffer) => {
      if (cutting) return;
      const part = chunk.subarray(0, fault.afterBytes - exchange.responseBytes);
      exchange.responseBytes += part.length;
      if (exchange.responseBytes < fault.afterBytes) {
        res.write(part);
        return;
      }
      cutting = true;
      answer.destroy();
      res.write(part, () => {
        void (fault.beforeCut ?? (async () => undefined))().finally(() => res.socket?.destroy());
      });
    });
    answer.on('end', () => {
      if (!cutting) res.end();
    });
  }
}
