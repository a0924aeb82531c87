/**
 * A fault-injecting HTTP(S) proxy between a driver and its server. The driver is configured with the
 * proxy's endpoint; each request is forwarded unchanged (method, path, query and headers, `Host`
 * included, so signatures made for the proxy's address stay valid) unless the schedule, an injected
 * fault or an outage says otherwise. Listens on 127.0.0.1 only.
 */
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, Agent as HttpAgent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { type Fault, FaultSchedule, type ScheduleOptions } from './schedule.js';

/** What the service itself answers for a 500 or 503: its own error document, so the driver parses a real answer. */
export interface ServiceErrorResponse {
  headers?: Record<string, string>;
  body: string;
}

export type ErrorResponder = (status: 500 | 503, request: IncomingMessage) => ServiceErrorResponse;

export interface FaultProxyOptions {
  /** The server the driver would talk to. Only its origin is used; request paths pass through unchanged. */
  upstream: URL | string;
  /** Certificates to trust on an HTTPS upstream (a test server's self-signed one). */
  upstreamCA?: string | Buffer;
  /** Serve HTTPS with this certificate (the driver must trust it); plain HTTP without. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The seeded schedule; without one only injected faults and outages apply. */
  schedule?: FaultSchedule | ScheduleOptions;
  /** The body and headers of a 500/503 answer. Default: a plain-text body. See `serviceErrors`. */
  errorResponse?: ErrorResponder;
}

export interface ProxiedRequest {
  /** Arrival order, from 0; the schedule's input. */
  index: number;
  method: string;
  url: string;
  fault: Fault | { kind: 'outage' };
}

/** What an injection's match sees: the request, and for response faults the answer's status and length too. */
export interface RequestView {
  index: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  status?: number;
  /** The answer's declared body length, when it declares one. */
  length?: number;
}

interface Injection {
  fault: Fault;
  match: (view: RequestView) => boolean;
}

/** Faults applied to the answer: an injected one is matched once the answer's status and length are known. */
const onResponse = (fault: Fault) => fault.kind === 'reset-response' || fault.kind === 'stall';

/** Headers that describe one connection, not the message: never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Where a cut point is drawn when a body's length is unknown (chunked). */
const UNKNOWN_LENGTH_SPAN = 64 * 1024;
const NO_FAULT: Fault = { kind: 'none' };

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

function cutPoint(fault: { afterBytes?: number; fraction?: number }, length: number | undefined): number {
  return fault.afterBytes ?? Math.floor((fault.fraction ?? 0) * (length ?? UNKNOWN_LENGTH_SPAN));
}

function declaredLength(headers: IncomingHttpHeaders): number | undefined {
  const value = Number(headers['content-length']);
  return headers['content-length'] !== undefined && Number.isSafeInteger(value) ? value : undefined;
}

const plainError: ErrorResponder = (status) => ({ headers: { 'content-type': 'text/plain' }, body: `injected ${status}` });

export class FaultProxy {
  /** Every request seen, in arrival order, with what was done to it. */
  readonly log: ProxiedRequest[] = [];
  readonly #upstream: URL;
  readonly #server: ReturnType<typeof createHttpServer>;
  readonly #agent: HttpAgent;
  readonly #schedule: FaultSchedule | undefined;
  readonly #errorResponse: ErrorResponder;
  readonly #sockets = new Set<Socket>();
  readonly #injections: Injection[] = [];
  #outage = false;
  #refused = 0;
  #next = 0;
  #origin = '';

  private constructor(options: FaultProxyOptions) {
    this.#upstream = new URL(options.upstream);
    const https = this.#upstream.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, ca: options.upstreamCA }) : new HttpAgent({ keepAlive: true });
    this.#schedule = options.schedule === undefined || options.schedule instanceof FaultSchedule ? options.schedule : new FaultSchedule(options.schedule);
    this.#errorResponse = options.errorResponse ?? plainError;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
    this.#server.on('connection', (socket: Socket) => {
      // A server that is down accepts nothing: a connection made during an outage is closed at once.
      if (this.#outage) {
        this.#refused++;
        return void socket.destroy();
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#origin = `${options.tls ? 'https' : 'http'}://127.0.0.1`;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.#origin += `:${(proxy.#server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** The URL to configure the driver with: the proxy's origin and the upstream's path (an Azure account, say). */
  get endpoint(): string {
    const path = this.#upstream.pathname === '/' ? '' : this.#upstream.pathname.replace(/\/$/, '');
    return this.#origin + path;
  }

  /** Connections closed unanswered because they were opened during an outage (requests arriving then are logged). */
  get refusedConnections(): number {
    return this.#refused;
  }

  /** Requests seen so far. */
  get requests(): number {
    return this.#next;
  }

  /**
   * Applies `fault` once, to the next request `match` accepts (every request by default), instead of
   * the schedule. A response fault (reset-response, stall) is matched when the answer arrives, so
   * `match` can ask for a body of some length.
   */
  inject(fault: Fault, match: (view: RequestView) => boolean = () => true): void {
    this.#injections.push({ fault, match });
  }

  /** Drops the injections not yet applied; returns how many there were. */
  clearInjections(): number {
    return this.#injections.splice(0).length;
  }

  /** Every request fails (connection closed, no answer) until `endOutage`; connections open now are cut. */
  startOutage(): void {
    this.#outage = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  endOutage(): void {
    this.#outage = false;
  }

  get inOutage(): boolean {
    return this.#outage;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await closed;
  }

  #take(view: RequestView, responseSide: boolean): Fault | undefined {
    const at = this.#injections.findIndex((injection) => onResponse(injection.fault) === responseSide && injection.match(view));
    return at < 0 ? undefined : this.#injections.splice(at, 1)[0]!.fault;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const index = this.#next++;
    const view: RequestView = { index, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    if (this.#outage) {
      this.log.push({ index, method: view.method, url: view.url, fault: { kind: 'outage' } });
      return void req.socket.destroy();
    }
    const entry: ProxiedRequest = { index, method: view.method, url: view.url, fault: this.#take(view, false) ?? this.#schedule?.decide(index) ?? NO_FAULT };
    this.log.push(entry);
    const fault = entry.fault as Fault;
    if (fault.kind === 'error') return this.#answerError(fault.status, req, res);

    const upstream = (this.#upstream.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent: this.#agent,
    });
    const cut = () => {
      upstream.destroy();
      req.socket.destroy();
    };
    // The server failing, or the client going away, ends the other side too.
    upstream.on('error', () => req.socket.destroy());
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('response', (answer) => {
      const injected = this.#take({ ...view, status: answer.statusCode, length: declaredLength(answer.headers) }, true);
      if (injected !== undefined) entry.fault = injected;
      this.#respond(entry.fault as Fault, req, res, answer);
    });

    if (fault.kind !== 'reset-request') return void req.pipe(upstream);
    const limit = cutPoint(fault, declaredLength(req.headers));
    if (limit <= 0) return cut();
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (sent >= limit) return;
      const room = limit - sent;
      sent += Math.min(room, chunk.length);
      if (chunk.length < room) return void upstream.write(chunk);
      req.pause();
      // Cut once the last allowed byte is on the wire: the server receives exactly `limit` bytes.
      upstream.write(chunk.subarray(0, room), cut);
    });
    // A body shorter than the cut point: the request is cut before it completes.
    req.on('end', () => {
      if (sent < limit) cut();
    });
  }

  #answerError(status: 500 | 503, req: IncomingMessage, res: ServerResponse): void {
    const { headers, body } = this.#errorResponse(status, req);
    // Answer once the request is read, as a server does: the connection stays usable.
    req.resume();
    req.once('end', () => {
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }

  #respond(fault: Fault, req: IncomingMessage, res: ServerResponse, answer: IncomingMessage): void {
    const status = answer.statusCode ?? 502;
    const headers = endToEnd(answer.headers);
    // Absolute URLs the server hands out (resumable session URIs) must lead back through the proxy.
    const upstreamOrigin = this.#upstream.origin;
    if (typeof headers.location === 'string' && headers.location.startsWith(upstreamOrigin)) {
      headers.location = this.#origin + headers.location.slice(upstreamOrigin.length);
    }
    answer.on('error', () => req.socket.destroy());
    const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
    const length = bodyless ? 0 : declaredLength(answer.headers);

    if (fault.kind !== 'reset-response' && fault.kind !== 'stall') {
      res.writeHead(status, headers);
      return void answer.pipe(res);
    }
    const at = cutPoint(fault, length);
    const drop = () => {
      answer.destroy();
      req.socket.destroy();
    };
    if (fault.kind === 'reset-response' && length === 0) return drop(); // the server acted; its answer is lost
    const proceed = () => {
      res.writeHead(status, headers);
      if (length === 0) return void answer.pipe(res);
      let sent = 0;
      const onData = (chunk: Buffer) => {
        const room = at - sent;
        if (chunk.length < room) {
          sent += chunk.length;
          return void res.write(chunk);
        }
        answer.off('data', onData);
        answer.pause();
        sent = at;
        const rest = chunk.subarray(room);
        res.write(chunk.subarray(0, room), () => {
          if (fault.kind === 'reset-response') return drop();
          setTimeout(() => {
            if (rest.length > 0) res.write(rest);
            answer.pipe(res);
          }, fault.ms);
        });
      };
      answer.on('data', onData);
      // The body ended before the cut point: a reset still loses its end, a stall has nothing left to hold.
      answer.once('end', () => {
        if (sent < at) {
          if (fault.kind === 'reset-response') drop();
          else res.end();
        }
      });
    };
    if (length === 0) setTimeout(proceed, fault.kind === 'stall' ? fault.ms : 0);
    else proceed();
  }
}
