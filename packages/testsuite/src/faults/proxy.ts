/**
 * A fault-injecting HTTP(S) proxy between a driver and its server. The driver is configured with the
 * proxy's endpoint; each request is forwarded unchanged (method, path, query and headers, `Host`
 * included, so signatures made for the proxy's address stay valid) unless a rule, the schedule or an
 * outage says otherwise. Listens on 127.0.0.1 only.
 */
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, Agent as HttpAgent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Fault, FaultSchedule, type ScheduleOptions } from './schedule.js';

/** What the service itself answers for a 500 or 503: its own error document, so the driver parses a real answer. */
export interface ServiceErrorResponse {
  /** The answer's headers, e.g. its content type. */
  headers?: Record<string, string>;
  /** The answer's body: the service's error document. */
  body: string;
}

/** Makes the service's own answer for an injected 500 or 503 to `request`. */
export type ErrorResponder = (status: 500 | 503, request: IncomingMessage) => ServiceErrorResponse;

/** Options of `FaultProxy.start`. */
export interface FaultProxyOptions {
  /** The server the driver would talk to. Only its origin is used; request paths pass through unchanged. */
  upstream: URL | string;
  /** Certificates to trust on an HTTPS upstream (a test server's self-signed one). */
  upstreamCA?: string | Buffer;
  /** Serve HTTPS with this certificate (the driver must trust it; see `selfSignedCertificate`); plain HTTP without. */
  tls?: {
    /** The certificate, PEM. */
    cert: string | Buffer;
    /** Its private key, PEM. */
    key: string | Buffer;
  };
  /** The seeded schedule; without one only rules and outages apply. */
  schedule?: FaultSchedule | ScheduleOptions;
  /** The body and headers of a 500/503 answer. Default: a plain-text body. See `serviceErrors`. */
  errorResponse?: ErrorResponder;
}

/** What the proxy does to one request: a fault the schedule draws, or one only a test asks for. */
export type FaultAction =
  | Fault
  /** Forwards nothing; reads and drops the request body until the client gives up (a stuck network). */
  | {
      /** Stall the request. */
      kind: 'stall-request';
    }
  /** Forwards; relays the answer's status and headers announcing a body that never comes, then resets. */
  | {
      /** Cut after the headers. */
      kind: 'cut-after-headers';
    }
  /** Forwards; the server applies the request and answers in full, the client gets nothing: the connection is closed. */
  | {
      /** Drop the answer. */
      kind: 'drop-response';
    }
  /** Answers without forwarding (once the request body is read). */
  | {
      /** Answer in the proxy's stead. */
      kind: 'answer';
      /** The HTTP status to answer with. */
      status: number;
      /** The answer's headers. */
      headers?: Record<string, string>;
      /** The answer's body. Default: empty. */
      body?: string;
    }
  /** Forwards, relaying the answer's body at about this rate (a twentieth of a second's worth at a time). */
  | {
      /** Slow the answer down. */
      kind: 'throttle';
      /** The rate, in bytes per second. */
      bytesPerSecond: number;
    };

/** One request the proxy saw, and what became of it. */
export interface ProxiedRequest {
  /** Arrival order, from 0; the schedule's input. */
  index: number;
  /** The HTTP method. */
  method: string;
  /** The request target: path and query. */
  url: string;
  /** The action applied to it; `outage` when it arrived during an outage. */
  fault:
    | FaultAction
    | {
        /** It arrived during an outage (its connection was closed unanswered). */
        kind: 'outage';
      };
  /** The status relayed to the client; absent when no answer reached it. */
  status?: number;
  /** Request body bytes received from the client. */
  requestBytes: number;
  /** Response body bytes relayed to the client. */
  responseBytes: number;
  /** The client closed the connection before the answer ended (the proxy's own cuts do not count). */
  clientClosedEarly: boolean;
  /** A rule's `before` step failed: the connection was cut instead. */
  beforeError?: unknown;
}

/** What a rule's match sees: the request, and once the answer arrives its status and declared length too. */
export interface RequestView {
  /** Arrival order, from 0. */
  index: number;
  /** The HTTP method. */
  method: string;
  /** The request target: path and query. */
  url: string;
  /** The request's headers. */
  headers: IncomingHttpHeaders;
  /** The answer's status, once it arrived. */
  status?: number;
  /** The answer's declared body length, when it declares one. */
  length?: number;
}

/** Options of `FaultProxy.inject`. */
export interface InjectOptions {
  /** How many matching requests get the fault. Default 1; `Infinity` until cleared. */
  times?: number;
  /**
   * A step of the test run where the fault strikes — just before the cut, drop, hold or canned answer;
   * before forwarding for a request passed through (`none`) or throttled — to change the world meanwhile.
   */
  before?: (request: ProxiedRequest) => Promise<void>;
}

/** A rule added by `inject`. */
export interface Injection {
  /** Matching requests it was applied to so far. */
  readonly hits: number;
  /** Resolves with the first request it is applied to. */
  readonly hit: Promise<ProxiedRequest>;
  /** Resolves with the first request it was applied to whose client closed the connection before the answer ended. */
  readonly clientGone: Promise<ProxiedRequest>;
  /** Applies it to no further request. */
  disarm(): void;
}

interface Rule {
  fault: FaultAction;
  match: (view: RequestView) => boolean;
  before?: InjectOptions['before'];
  left: number;
  hits: number;
  onHit: (request: ProxiedRequest) => void;
  onClientGone: (request: ProxiedRequest) => void;
}

/** Actions on the answer: a rule with one that did not match a request on arrival is tried again on its answer. */
const ON_ANSWER = new Set<FaultAction['kind']>(['reset-response', 'stall', 'cut-after-headers', 'drop-response', 'throttle']);

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

/** One request in flight: its log entry, the rule applied to it, and how to cut it. */
interface Exchange {
  entry: ProxiedRequest;
  view: RequestView;
  rule: Rule | undefined;
  req: IncomingMessage;
  res: ServerResponse;
  /** Set when the proxy itself ends the connection, so the close is not the client's doing. */
  cutByProxy: boolean;
  /** Resolves when the client's connection closes: nothing waits on a client that is gone. */
  closed: Promise<void>;
  isClosed: boolean;
}

/**
 * A fault-injecting HTTP(S) proxy on 127.0.0.1: requests pass through unchanged (`Host` included) unless a rule, the
 * schedule or an outage says otherwise. Create it with `FaultProxy.start`, point the driver at `endpoint`, `close` it after.
 */
export class FaultProxy {
  /** Every request seen, in arrival order, with what was done to it. */
  readonly log: ProxiedRequest[] = [];
  readonly #upstream: URL;
  readonly #server: ReturnType<typeof createHttpServer>;
  readonly #agent: HttpAgent;
  readonly #schedule: FaultSchedule | undefined;
  readonly #errorResponse: ErrorResponder;
  readonly #sockets = new Set<Socket>();
  /** Rules with hits left, in the order added: the first that matches a request applies. */
  #rules: Rule[] = [];
  #outage = false;
  #refused = 0;
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

  /** Starts a proxy listening on 127.0.0.1 on a free port; rejects when it cannot listen. */
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
    return this.log.length;
  }

  /**
   * Applies `fault`, instead of the schedule, to the next `times` requests `match` accepts (every
   * request by default). Rules are tried in the order added, on a request's arrival; a rule acting on
   * the answer (reset-response, stall, cut-after-headers, drop-response, throttle) that did not match
   * then is tried again when the answer arrives, so `match` can ask for its status or length.
   */
  inject(fault: FaultAction, match: (view: RequestView) => boolean = () => true, options: InjectOptions = {}): Injection {
    let onHit!: (request: ProxiedRequest) => void;
    let onClientGone!: (request: ProxiedRequest) => void;
    const hit = new Promise<ProxiedRequest>((resolve) => (onHit = resolve));
    const clientGone = new Promise<ProxiedRequest>((resolve) => (onClientGone = resolve));
    const rule: Rule = { fault, match, before: options.before, left: options.times ?? 1, hits: 0, onHit, onClientGone };
    if (rule.left > 0) this.#rules.push(rule);
    return {
      get hits() {
        return rule.hits;
      },
      hit,
      clientGone,
      disarm: () => this.#remove(rule),
    };
  }

  /** Drops the rules with hits left; returns how many there were. */
  clearInjections(): number {
    const left = this.#rules.length;
    this.#rules = [];
    return left;
  }

  /** Every request fails (connection closed, no answer) until `endOutage`; connections open now are cut. */
  startOutage(): void {
    this.#outage = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Ends the outage `startOutage` began: requests are forwarded again. */
  endOutage(): void {
    this.#outage = false;
  }

  /** Whether an outage is on. */
  get inOutage(): boolean {
    return this.#outage;
  }

  /** Stops listening, cuts open connections and resolves once the server is closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await closed;
  }

  #claim(view: RequestView, onAnswer: boolean): Rule | undefined {
    const rule = this.#rules.find((candidate) => (!onAnswer || ON_ANSWER.has(candidate.fault.kind)) && candidate.match(view));
    if (rule === undefined) return undefined;
    rule.hits++;
    if (--rule.left <= 0) this.#remove(rule);
    return rule;
  }

  #remove(rule: Rule): void {
    rule.left = 0;
    this.#rules = this.#rules.filter((other) => other !== rule);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: ProxiedRequest = { index: this.log.length, method: req.method ?? 'GET', url: req.url ?? '/', fault: NO_FAULT, requestBytes: 0, responseBytes: 0, clientClosedEarly: false };
    this.log.push(entry);
    const view: RequestView = { index: entry.index, method: entry.method, url: entry.url, headers: req.headers };
    let onClosed!: () => void;
    const exchange: Exchange = { entry, view, rule: undefined, req, res, cutByProxy: false, closed: new Promise((resolve) => (onClosed = resolve)), isClosed: false };
    res.on('close', () => {
      exchange.isClosed = true;
      onClosed();
      if (res.writableFinished || exchange.cutByProxy) return;
      entry.clientClosedEarly = true;
      exchange.rule?.onClientGone(entry);
    });
    if (this.#outage) {
      entry.fault = { kind: 'outage' };
      return this.#cut(exchange);
    }
    exchange.rule = this.#claim(view, false);
    entry.fault = exchange.rule?.fault ?? this.#schedule?.decide(entry.index) ?? NO_FAULT;
    exchange.rule?.onHit(entry);
    req.on('data', (chunk: Buffer) => void (entry.requestBytes += chunk.length));
    req.pause(); // the listener above must not drain a body that is yet to be forwarded

    const fault = entry.fault as FaultAction;
    switch (fault.kind) {
      case 'error':
        return this.#answer(exchange, { status: fault.status, ...this.#errorResponse(fault.status, req) });
      case 'answer':
        return this.#answer(exchange, fault);
      case 'stall-request':
        // Read the body (a paused socket would never notice the client closing it), forward nothing.
        req.resume();
        return void this.#strike(exchange, () => undefined);
      case 'none':
      case 'throttle':
        return void this.#strike(exchange, () => this.#forward(exchange));
      default:
        return this.#forward(exchange);
    }
  }

  /** Runs the rule's `before` step, then `harm`; a failing step cuts the connection instead. */
  async #strike(exchange: Exchange, harm: () => void): Promise<void> {
    const before = exchange.rule?.before;
    if (before !== undefined) {
      try {
        await before(exchange.entry);
      } catch (error) {
        exchange.entry.beforeError = error;
        return this.#cut(exchange);
      }
    }
    harm();
  }

  /** Ends the client's connection without (the rest of) an answer. */
  #cut(exchange: Exchange): void {
    exchange.cutByProxy = true;
    exchange.req.socket.destroy();
  }

  #answer(exchange: Exchange, answer: { status: number; headers?: Record<string, string>; body?: string }): void {
    const { req, res } = exchange;
    const body = answer.body ?? '';
    // Answer once the request is read, as a server does: the connection stays usable.
    req.resume();
    req.once('end', () => void this.#strike(exchange, () => {
      exchange.entry.status = answer.status;
      exchange.entry.responseBytes = Buffer.byteLength(body);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }));
  }

  #forward(exchange: Exchange): void {
    const { req, res, entry } = exchange;
    const fault = entry.fault as FaultAction;
    const limit = fault.kind === 'reset-request' ? cutPoint(fault, declaredLength(req.headers)) : Infinity;
    if (limit <= 0) return void this.#strike(exchange, () => this.#cut(exchange)); // reset on arrival: nothing reaches the server

    const forwarded = (this.#upstream.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent: this.#agent,
    });
    const cut = () => {
      forwarded.destroy();
      this.#cut(exchange);
    };
    // The server failing, or the client going away, ends the other side too.
    forwarded.on('error', () => this.#cut(exchange));
    req.on('error', () => forwarded.destroy());
    res.on('close', () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    forwarded.on('response', (answer) => {
      if (exchange.rule === undefined) {
        const rule = this.#claim({ ...exchange.view, status: answer.statusCode, length: declaredLength(answer.headers) }, true);
        if (rule !== undefined) {
          exchange.rule = rule;
          entry.fault = rule.fault;
          rule.onHit(entry);
        }
      }
      answer.on('error', () => this.#cut(exchange));
      void this.#respond(exchange, answer);
    });

    if (limit === Infinity) return void req.pipe(forwarded);
    req.resume();
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (sent >= limit) return;
      const room = limit - sent;
      sent += Math.min(room, chunk.length);
      if (chunk.length < room) return void forwarded.write(chunk);
      req.pause();
      // Cut once the last allowed byte is on the wire: the server receives exactly `limit` bytes.
      forwarded.write(chunk.subarray(0, room), () => void this.#strike(exchange, cut));
    });
    // A body shorter than the cut point: the request is cut before it completes.
    req.on('end', () => {
      if (sent < limit) void this.#strike(exchange, cut);
    });
  }

  async #respond(exchange: Exchange, answer: IncomingMessage): Promise<void> {
    const { req, res, entry } = exchange;
    const fault = entry.fault as FaultAction;
    const status = answer.statusCode ?? 502;
    const headers = endToEnd(answer.headers);
    // Absolute URLs the server hands out (resumable session URIs) must lead back through the proxy.
    const upstreamOrigin = this.#upstream.origin;
    if (typeof headers.location === 'string' && headers.location.startsWith(upstreamOrigin)) {
      headers.location = this.#origin + headers.location.slice(upstreamOrigin.length);
    }
    const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
    const length = bodyless ? 0 : declaredLength(answer.headers);
    const cut = () => this.#strike(exchange, () => this.#cut(exchange));
    /** Until `ms` passed; false when the client went away meanwhile (its timer then goes too: it would hold the process). */
    const wait = async (ms: number) => {
      const timer = new AbortController();
      const elapsed = sleep(ms, true, { signal: timer.signal }).catch(() => false);
      try {
        return (await Promise.race([elapsed, exchange.closed.then(() => false)])) && !exchange.isClosed;
      } finally {
        timer.abort();
      }
    };
    /** Writes a piece of the body; resolves once it is on the wire (`flushed`) or more may follow, or the client is gone. */
    const send = (chunk: Buffer, flushed: boolean): Promise<unknown> => {
      entry.responseBytes += chunk.length;
      if (flushed) return Promise.race([new Promise<void>((resolve) => res.write(chunk, () => resolve())), exchange.closed]);
      return res.write(chunk) ? Promise.resolve() : Promise.race([new Promise((resolve) => res.once('drain', resolve)), exchange.closed]);
    };
    const writeHead = (announced = headers) => {
      entry.status = status;
      res.writeHead(status, announced);
    };

    switch (fault.kind) {
      case 'drop-response':
        // Read to its end, so the server has certainly applied the request; then lost.
        answer.resume();
        return void answer.once('end', () => void cut());
      case 'cut-after-headers': {
        answer.resume();
        // Without its length the answer announces a body (chunked) that never comes; a bodyless one is lost whole.
        const { 'content-length': _length, ...announced } = headers;
        writeHead(announced);
        await send(Buffer.alloc(0), true);
        return cut();
      }
      case 'reset-response':
        if (length === 0) return cut(); // the server acted; its answer is lost
        break;
      case 'stall':
        if (length === 0) {
          await this.#strike(exchange, () => undefined);
          if (fault.ms === undefined || !(await wait(fault.ms))) return; // held until the client gives up
        }
        break;
      default:
    }

    writeHead();
    let cutAt = (fault.kind === 'reset-response' || fault.kind === 'stall') && length !== 0 ? cutPoint(fault, length) : Infinity;
    const rate = fault.kind === 'throttle' ? fault.bytesPerSecond : undefined;
    try {
      for await (const chunk of answer as AsyncIterable<Buffer>) {
        if (exchange.isClosed) return;
        const room = cutAt - entry.responseBytes;
        if (chunk.length < room) {
          if (rate === undefined) {
            await send(chunk, false);
            continue;
          }
          // Slices of a twentieth of a second's worth: a chunk relayed whole, then waited for, would
          // put a server's whole answer (one chunk, often) at the client at once.
          const slice = Math.max(1, Math.ceil(rate / 20));
          for (let at = 0; at < chunk.length; at += slice) {
            const piece = chunk.subarray(at, at + slice);
            await send(piece, false);
            if (!(await wait((1000 * piece.length) / rate))) return;
          }
          continue;
        }
        // The cut point: once its last byte is on the wire, reset, or hold the rest.
        await send(chunk.subarray(0, room), true);
        if (fault.kind === 'reset-response') return await cut();
        await this.#strike(exchange, () => undefined);
        if (fault.kind !== 'stall' || fault.ms === undefined) return await exchange.closed; // held until the client gives up
        if (!(await wait(fault.ms))) return;
        cutAt = Infinity;
        await send(chunk.subarray(room), false);
      }
    } catch {
      return this.#cut(exchange); // the server's answer broke off, or the client went away: nothing left to relay
    }
    // The body ended before the cut point: a reset still loses its end, a stall has nothing left to hold.
    if (fault.kind === 'reset-response' && cutAt !== Infinity) return cut();
    res.end();
  }
}
