/**
 * An HTTP proxy on 127.0.0.1 in front of the test gateway that injects transport faults into the
 * requests a rule picks: a reset connection, an answer lost after the server applied the request,
 * a response body cut or stalled mid-way, a canned answer. Everything else is forwarded as is (the
 * Host header too, so SigV4 signatures stay valid). Each rule applies a bounded number of times.
 */
import { Agent, createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** The connection is dropped before anything is forwarded. */
  | { kind: 'reset' }
  /** Forwarded and applied by the server; its answer is read, then the connection is dropped. */
  | { kind: 'lose-answer' }
  /** Forwarded; the response body stops after `after` bytes and the connection is dropped. */
  | { kind: 'cut-body'; after: number }
  /** Forwarded; after `after` bytes of body nothing more is sent until the client goes away. */
  | { kind: 'stall-body'; after: number }
  /** Answered by the proxy, not forwarded. */
  | { kind: 'answer'; status: number; body: string }
  /** `run` first (to change the world meanwhile), then forwarded. */
  | { kind: 'before'; run: () => Promise<void> };

export interface Rule {
  match: (req: IncomingMessage) => boolean;
  fault: Fault;
  /** How many matching requests it still applies to. */
  times: number;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'expect', 'proxy-connection', 'upgrade'];

/** The request completes a multipart upload (POST ?uploadId=…). */
export const isComplete = (req: IncomingMessage): boolean => req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '');
/** The request uploads a part (PUT ?partNumber=…&uploadId=…). */
export const isUploadPart = (req: IncomingMessage): boolean => req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '');
/** A GET of the object whose key ends with `keySuffix`. */
export const isGetOf = (keySuffix: string) => (req: IncomingMessage): boolean =>
  req.method === 'GET' && (req.url ?? '').split('?')[0]!.endsWith(`/${keySuffix}`);

export class FaultProxy {
  readonly rules: Rule[] = [];
  /** Requests each fault kind was applied to. */
  readonly applied = new Map<Fault['kind'], number>();
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #sockets = new Set<Socket>();
  readonly #stallsClosed: Promise<number>[] = [];

  private constructor(upstream: string) {
    this.#upstream = new URL(upstream);
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(upstream: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(upstream);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  add(match: Rule['match'], fault: Fault, times = 1): void {
    this.rules.push({ match, fault, times });
  }

  /** Drops the rules and the counts of applied faults. */
  clear(): void {
    this.rules.length = 0;
    this.applied.clear();
  }

  /** For each stalled response, in order: resolves with the time (Date.now()) the client closed the connection. */
  stallClosed(index = 0): Promise<number> | undefined {
    return this.#stallsClosed[index];
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const rule = this.rules.find((r) => r.times > 0 && r.match(req));
    if (rule === undefined) return this.#forward(req, res);
    rule.times--;
    const fault = rule.fault;
    this.applied.set(fault.kind, (this.applied.get(fault.kind) ?? 0) + 1);
    switch (fault.kind) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'answer':
        req.resume();
        req.on('end', () => res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(fault.body) }).end(fault.body));
        return;
      case 'before':
        req.pause();
        fault.run().then(
          () => this.#forward(req, res),
          () => req.socket.destroy(),
        );
        return;
      default:
        this.#forward(req, res, fault);
    }
  }

  #forward(req: IncomingMessage, res: ServerResponse, fault?: Fault): void {
    const headers: OutgoingHttpHeaders = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const upstream = request({ host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers, agent: this.#agent });
    upstream.on('error', () => req.socket.destroy());
    upstream.on('response', (answer) => {
      res.on('close', () => {
        if (!answer.complete) answer.destroy();
      });
      if (fault?.kind === 'lose-answer') {
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      const answerHeaders: OutgoingHttpHeaders = { ...answer.headers };
      for (const name of HOP_BY_HOP) delete answerHeaders[name];
      res.writeHead(answer.statusCode ?? 502, answerHeaders);
      if (fault?.kind !== 'cut-body' && fault?.kind !== 'stall-body') {
        answer.pipe(res);
        return;
      }
      if (fault.kind === 'stall-body') {
        this.#stallsClosed.push(new Promise((resolve) => req.socket.once('close', () => resolve(Date.now()))));
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent >= fault.after) return;
        const part = chunk.subarray(0, fault.after - sent);
        sent += part.length;
        res.write(part);
        if (sent < fault.after) return;
        answer.destroy();
        // Cut: drop the connection once the bytes so far are on their way. Stall: send nothing more.
        if (fault.kind === 'cut-body') res.write('', () => req.socket.destroy());
      });
    });
    req.pipe(upstream);
  }
}
