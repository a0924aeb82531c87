/**
 * A fault-injecting HTTPS proxy in front of Azurite, for the transport failures the driver must
 * survive or report. It terminates TLS with a certificate of its own (the driver runs with
 * `skipverify`, as it does against Azurite), forwards every request to Azurite, and applies to a
 * request the first armed fault that matches it: a connection reset mid-body, an answer lost after
 * the server applied the request, a stall, or a step of the test run before the request goes on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connection } from './server.js';

export type FaultAction =
  /** Forward the headers and `after` bytes of the body, then reset the connection (or stall it). */
  | { kind: 'body'; after: number; then: 'reset' | 'stall' }
  /** Forward the headers, announcing a body that never comes, then reset the connection. */
  | { kind: 'cutAfterHeaders' }
  /** Forward the request; once Azurite has answered (it applied the request), reset instead of answering. */
  | { kind: 'dropResponse' }
  /** Reset the connection as soon as the request arrives (it never reaches Azurite). */
  | { kind: 'reset' }
  /** Forward nothing until the client gives up (a stalled network). */
  | { kind: 'stall' }
  /** Run a step of the test (change the blob behind the reader's back), then forward as usual. */
  | { kind: 'before'; run: () => Promise<void> };

export interface Fault {
  match: (request: IncomingMessage) => boolean;
  action: FaultAction;
  /** How many matching requests get the fault. Default 1. */
  times?: number;
}

export interface ArmedFault {
  /** Matching requests seen so far. */
  readonly hits: number;
  /** Resolves when the first matching request arrives. */
  readonly hit: Promise<void>;
  /** Resolves when the client closes the connection of a matching request before its answer ended. */
  readonly clientGone: Promise<void>;
  disarm(): void;
}

interface Armed extends ArmedFault {
  fault: Fault;
  left: number;
  hits: number;
  onHit(): void;
  onClientGone(): void;
}

export interface FaultProxy {
  /** The serviceurl that reaches Azurite through the proxy. */
  readonly serviceUrl: string;
  inject(fault: Fault): ArmedFault;
  /** Disarms every fault (between tests). */
  disarmAll(): void;
  close(): Promise<void>;
}

/** Requests on one blob: `path` is its name in the container. */
export const on = {
  download: (blob: string) => (r: IncomingMessage) => r.method === 'GET' && blobOf(r) === blob && !r.url!.includes('comp='),
  putBlob: (blob: string) => (r: IncomingMessage) => r.method === 'PUT' && blobOf(r) === blob && !r.url!.includes('comp='),
  stageBlock: (blob: string) => (r: IncomingMessage) => r.method === 'PUT' && blobOf(r) === blob && r.url!.includes('comp=block&'),
  commit: (blob: string) => (r: IncomingMessage) => r.method === 'PUT' && blobOf(r) === blob && r.url!.includes('comp=blocklist'),
  listing: () => (r: IncomingMessage) => r.method === 'GET' && r.url!.includes('comp=list'),
};

function blobOf(r: IncomingMessage): string {
  // /<account>/<container>/<blob>?query
  return decodeURIComponent(new URL(r.url!, 'https://proxy').pathname.split('/').slice(3).join('/'));
}

export async function startFaultProxy(): Promise<FaultProxy> {
  const target = new URL(connection().endpoint);
  const { key, cert } = certificate();
  const upstream = new Agent({ ca: connection().ca, keepAlive: true });
  const armed: Armed[] = [];

  const server = createServer({ key, cert }, (req, res) => {
    const fault = armed.find((candidate) => candidate.left > 0 && candidate.fault.match(req));
    if (fault !== undefined) {
      fault.left--;
      fault.hits++;
      fault.onHit();
      res.on('close', () => {
        if (!res.writableFinished) fault.onClientGone();
      });
    }
    void handle(req, res, fault?.fault.action).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse, action: FaultAction | undefined): Promise<void> {
    if (action?.kind === 'stall') {
      // Read and drop the body: a paused socket would never notice the client closing it.
      req.resume();
      return;
    }
    if (action?.kind === 'reset') {
      res.destroy();
      return;
    }
    if (action?.kind === 'before') await action.run();
    const forwarded = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: upstream });
    req.pipe(forwarded);
    forwarded.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    forwarded.on('response', (answer) => {
      const headers = answer.headers as OutgoingHttpHeaders;
      if (action?.kind === 'dropResponse') {
        answer.resume();
        res.destroy();
        return;
      }
      if (action?.kind === 'cutAfterHeaders') {
        answer.resume();
        const { 'content-length': _length, 'transfer-encoding': _encoding, ...rest } = headers;
        res.writeHead(answer.statusCode!, rest);
        res.flushHeaders();
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.writeHead(answer.statusCode!, headers);
      if (action?.kind !== 'body') {
        answer.pipe(res);
        return;
      }
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent + chunk.length <= action.after) {
          sent += chunk.length;
          res.write(chunk);
          return;
        }
        answer.pause();
        answer.removeAllListeners('data');
        const last = chunk.subarray(0, action.after - sent);
        sent = action.after;
        res.write(last, () => {
          if (action.then === 'reset') {
            answer.destroy();
            res.destroy();
          }
        });
      });
      answer.on('end', () => res.end());
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    serviceUrl: `https://127.0.0.1:${port}${target.pathname}`,
    inject(fault) {
      let onHit!: () => void;
      let onClientGone!: () => void;
      const entry: Armed = {
        fault,
        left: fault.times ?? 1,
        hits: 0,
        hit: new Promise<void>((resolve) => (onHit = resolve)),
        clientGone: new Promise<void>((resolve) => (onClientGone = resolve)),
        onHit: () => onHit(),
        onClientGone: () => onClientGone(),
        disarm: () => {
          entry.left = 0;
        },
      };
      armed.push(entry);
      return entry;
    },
    disarmAll() {
      for (const entry of armed) entry.disarm();
      armed.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.destroy();
    },
  };
}

/** A throwaway self-signed certificate for the proxy (openssl, as the Azurite setup uses). */
function certificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-azure-proxy-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
