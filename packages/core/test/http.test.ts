import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { readResponse, sendRequest } from '../src/index.js';

let server: Server;
let port: number;
let handler: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const options = (method: string) => ({ hostname: '127.0.0.1', port, path: '/x', method });
const send = { connectTimeoutMs: 5000, driverName: 'test' };

test('the buffers of a body arrive in order, and readResponse gives the whole answer', async () => {
  handler = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(Buffer.concat(chunks).toString('utf8').toUpperCase()));
  };
  const response = await sendRequest(request, options('PUT'), [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')], send);
  expect(response.statusCode).toBe(200);
  expect((await readResponse(response)).toString()).toBe('ABCDEF');
});

test('an abort while the body streams ends the connection and fails the read', async () => {
  let closed!: Promise<void>;
  handler = (req, res) => {
    closed = new Promise((resolve) => res.on('close', resolve));
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000));
  };
  const controller = new AbortController();
  const response = await sendRequest(request, options('GET'), undefined, { ...send, signal: controller.signal });
  const reading = readResponse(response);
  controller.abort(new Error('caller gave up'));
  await expect(reading).rejects.toThrow();
  await closed; // the server saw the connection end
  expect(response.destroyed).toBe(true);
});

test('an already aborted signal sends nothing', async () => {
  let received = 0;
  handler = (_req, res) => {
    received++;
    res.end();
  };
  const controller = new AbortController();
  const reason = new Error('before');
  controller.abort(reason);
  await expect(sendRequest(request, options('GET'), undefined, { ...send, signal: controller.signal })).rejects.toBe(reason);
  expect(received).toBe(0);
});

test('a body cut before its end fails readResponse', async () => {
  handler = (req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial', () => req.socket.destroy());
  };
  const response = await sendRequest(request, options('GET'), undefined, send);
  await expect(readResponse(response)).rejects.toThrow();
});

test('a refused connection rejects with the transport error', async () => {
  await expect(sendRequest(request, { hostname: '127.0.0.1', port: 1, path: '/', method: 'GET' }, undefined, send)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
