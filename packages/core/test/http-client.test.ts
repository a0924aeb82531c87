import { execFile, execFileSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { HTTP_REQUEST_CHANNEL, HttpClient, isTransientError, readResponse, type HttpRequestStart, type HttpResponse } from '../src/index.js';

interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Which connection (counted from 1) carried it. */
  connection: number;
}

/**
 * A server speaking raw bytes: it parses each request (Content-Length bodies only) and lets the test
 * write the answer, byte for byte, on the socket.
 */
let server: Server;
let port: number;
let answer: (request: Received, socket: Socket) => void;
let received: Received[];
let connections: number;
const sockets = new Set<Socket>();
const send = { connectTimeoutMs: 5000, driverName: 'test' };
const get = (path = '/x') => ({ method: 'GET', path, headers: {} });
const client = () => new HttpClient(`http://127.0.0.1:${port}`);

beforeAll(async () => {
  server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [line, ...lines] = buffer.toString('latin1', 0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const header of lines) headers[header.slice(0, header.indexOf(':')).toLowerCase()] = header.slice(header.indexOf(':') + 1).trim();
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const [method, path] = line!.split(' ');
        const request = { method: method!, path: path!, headers, body: buffer.subarray(end + 4, end + 4 + length), connection };
        buffer = buffer.subarray(end + 4 + length);
        received.push(request);
        answer(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
// The clients' idle connections stay open (as a pool's do): each test starts with none.
afterEach(() => {
  for (const socket of sockets) socket.destroy();
});
beforeEach(() => {
  received = [];
  connections = 0;
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
});

/** Writes `bytes` one byte per write, each on a later turn: every parser state meets a boundary. */
async function dribble(socket: Socket, bytes: string | Buffer): Promise<void> {
  for (const byte of Buffer.from(bytes)) {
    socket.write(Buffer.of(byte));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const text = async (response: HttpResponse) => (await readResponse(response)).toString('latin1');

test('a request carries its headers, host and body length; kept-alive answers reuse one connection', async () => {
  const http = client();
  answer = (request, socket) => socket.write(`HTTP/1.1 201 Created\r\nX-Echo: ${request.body.toString()}\r\nx-echo: again\r\ncontent-length: 4\r\n\r\ndone`);
  const first = await http.request({ method: 'PUT', path: '/a?b=c', headers: { 'x-custom': 'v' }, body: [Buffer.from('ab'), Buffer.from('cd')] }, send);
  expect(first.statusCode).toBe(201);
  expect(first.statusMessage).toBe('Created');
  expect(first.headers['x-echo']).toBe('abcd, again');
  expect(await text(first)).toBe('done');
  expect(await text(await http.request(get(), send))).toBe('done');
  expect(received.map((r) => [r.method, r.path, r.connection])).toEqual([['PUT', '/a?b=c', 1], ['GET', '/x', 1]]);
  expect(received[0]!.headers).toMatchObject({ host: `127.0.0.1:${port}`, 'content-length': '4', 'x-custom': 'v' });
  expect(received[1]!.headers['content-length']).toBeUndefined();
});

test('a chunked body split at every byte is decoded (extensions and trailers skipped), and its connection reused', async () => {
  const http = client();
  answer = (_request, socket) => void dribble(socket, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n');
  expect(await text(await http.request(get(), send))).toBe('hello 0123456789');
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  expect(await text(await http.request(get(), send))).toBe('ok');
  expect(received.map((r) => r.connection)).toEqual([1, 1]);
});

test('HEAD, 204 and 304 answers have no body whatever their headers say; the connection goes on', async () => {
  const http = client();
  answer = (request, socket) => socket.write(`HTTP/1.1 ${request.path === '/204' ? '204 No Content' : request.path === '/304' ? '304 Not Modified' : '200 OK'}\r\ncontent-length: 1000\r\n\r\n`);
  const head = await http.request({ method: 'HEAD', path: '/x', headers: {} }, send);
  expect(head.headers['content-length']).toBe('1000');
  expect(await text(head)).toBe('');
  expect(await text(await http.request(get('/204'), send))).toBe('');
  answer = (request, socket) => socket.write(`HTTP/1.1 304 Not Modified\r\n\r\n`);
  expect(await text(await http.request(get('/304'), send))).toBe('');
  expect(received.map((r) => r.connection)).toEqual([1, 1, 1]);
});

test('informational answers (100, 103) before the real one are skipped', async () => {
  answer = (_request, socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nyes');
  const response = await client().request(get(), send);
  expect(response.statusCode).toBe(200);
  expect(response.headers.link).toBeUndefined();
  expect(await text(response)).toBe('yes');
});

test('a body delimited by the connection\'s end is read whole, and that connection is not reused', async () => {
  const http = client();
  answer = (_request, socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
  expect(await text(await http.request(get(), send))).toBe('until the end');
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok');
  expect(await text(await http.request(get(), send))).toBe('ok');
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  expect(await text(await http.request(get(), send))).toBe('ok');
  // The first closed at its end, the second was told to close.
  expect(received.map((r) => r.connection)).toEqual([1, 2, 3]);
});

test('a connection the server closed while idle is not used again', async () => {
  const http = client();
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', () => setTimeout(() => socket.end(), 5));
  expect(await text(await http.request(get(), send))).toBe('ok');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await text(await http.request(get(), send))).toBe('ok');
  expect(received.map((r) => r.connection)).toEqual([1, 2]);
});

test('a server\'s Keep-Alive timeout hint, less a second, bounds reuse', async () => {
  const http = client();
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\ncontent-length: 2\r\n\r\nok');
  expect(await text(await http.request(get(), send))).toBe('ok');
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await text(await http.request(get(), send))).toBe('ok');
  expect(received.map((r) => r.connection)).toEqual([1, 2]);
});

test('a response destroyed before its end takes its connection with it; the next request gets a new one', async () => {
  const http = client();
  let closed!: Promise<void>;
  answer = (_request, socket) => {
    closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
  };
  const response = await http.request(get(), send);
  response.destroy();
  await closed;
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  expect(await text(await http.request(get(), send))).toBe('ok');
  expect(received.map((r) => r.connection)).toEqual([1, 2]);
});

test('a body cut before its length, and a connection closed before any answer, fail as transient resets', async () => {
  answer = (_request, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
  const cut = await readResponse(await client().request(get(), send)).catch((error: unknown) => error);
  expect(cut).toMatchObject({ code: 'ECONNRESET' });
  expect(isTransientError(cut)).toBe(true);

  answer = (_request, socket) => socket.end();
  const hangUp = await client().request(get(), send).catch((error: unknown) => error);
  expect(hangUp).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
  expect(isTransientError(hangUp)).toBe(true);
});

test('answers that are not HTTP/1.x, or with a bad length, fail the request', async () => {
  answer = (_request, socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n');
  await expect(client().request(get(), send)).rejects.toThrow(/not an HTTP\/1.x status line/);
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n');
  await expect(client().request(get(), send)).rejects.toThrow(/invalid Content-Length/);
  answer = (_request, socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  await expect(readResponse(await client().request(get(), send))).rejects.toThrow(/invalid chunk size/);
});

test('a header value or path that would split the request is refused before anything is sent', async () => {
  const http = client();
  await expect(http.request({ method: 'GET', path: '/x', headers: { 'x-meta': 'a\r\nx-injected: 1' } }, send)).rejects.toThrow(TypeError);
  await expect(http.request({ method: 'GET', path: '/x HTTP/1.1\r\nx: y', headers: {} }, send)).rejects.toThrow(TypeError);
  await expect(http.request({ method: 'GET', path: '/x', headers: { 'bad name': 'v' } }, send)).rejects.toThrow(TypeError);
  expect(connections).toBe(0);
});

test('a large body arrives whole through a slow reader, the socket paused meanwhile (bounded buffering)', async () => {
  const size = 16 * 1024 * 1024;
  const payload = Buffer.alloc(size, 'abcdefgh');
  answer = (_request, socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`);
    socket.write(payload);
  };
  const response = await client().request(get(), send);
  const hash = createHash('sha256');
  let bytes = 0;
  let mostBuffered = 0;
  for await (const chunk of response) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    mostBuffered = Math.max(mostBuffered, response.readableLength);
    if (bytes % (1024 * 1024) < 65536) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(bytes).toBe(size);
  expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  // The stream's high-water mark is 64 KiB; one socket read more may land before the pause.
  expect(mostBuffered).toBeLessThan(512 * 1024);
});

test('an abort before the answer rejects with the reason and ends the connection', async () => {
  let closed!: Promise<void>;
  answer = (_request, socket) => void (closed = new Promise((resolve) => socket.once('close', () => resolve())));
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const pending = client().request(get(), { ...send, signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort(reason);
  await expect(pending).rejects.toBe(reason);
  await closed;
});

test('https: a certificate outside the trust store is refused unless verification is off; one trusted (NODE_EXTRA_CA_CERTS) is checked against the origin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-core-cert-'));
  const tls = createHttpsServer((_req, res) => res.end('secure'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls.setSecureContext({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const origin = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    await expect(new HttpClient(origin).request(get(), send)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const insecure = new HttpClient(origin, { rejectUnauthorized: false });
    expect(await text(await insecure.request(get(), send))).toBe('secure');
    expect(await text(await insecure.request(get(), send))).toBe('secure');
    insecure.close();
    // Trusted the way a deployment trusts a private CA: a process started with NODE_EXTRA_CA_CERTS (the built package).
    const script = `import { HttpClient, readResponse } from ${JSON.stringify(join(__dirname, '..', 'dist', 'esm', 'index.js'))};
      const answer = await new HttpClient(process.argv[1]).request({ method: 'GET', path: '/', headers: {} }, { connectTimeoutMs: 5000, driverName: 'test' }).catch((error) => error);
      console.log(answer instanceof Error ? answer.code : (await readResponse(answer)).toString());`;
    const run = (url: string) => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, url], { env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } });
    expect((await run(origin)).stdout.trim()).toBe('secure');
    // The certificate names 127.0.0.1 only.
    expect((await run(origin.replace('127.0.0.1', 'localhost'))).stdout.trim()).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    tls.closeAllConnections();
    await new Promise((resolve) => tls.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each request is published on HTTP_REQUEST_CHANNEL as it is sent', async () => {
  const seen: HttpRequestStart[] = [];
  const onStart = (message: unknown) => void seen.push(message as HttpRequestStart);
  subscribe(HTTP_REQUEST_CHANNEL, onStart);
  try {
    await readResponse(await client().request({ method: 'PUT', path: '/p?q=1', headers: { range: 'bytes=0-0' }, body: Buffer.from('x') }, send));
  } finally {
    unsubscribe(HTTP_REQUEST_CHANNEL, onStart);
  }
  expect(seen).toEqual([{ method: 'PUT', host: `127.0.0.1:${port}`, path: '/p?q=1', headers: { range: 'bytes=0-0' } }]);
});

test('an aborted upload is reset, not closed: the server never receives the body whole, even what was already sent', async () => {
  const size = 1024 * 1024; // small enough to sit whole in the loopback buffers of both ends
  let outcome!: Promise<{ bytes: number; error: string | undefined }>;
  const paused = createServer((socket) => {
    socket.pause(); // reads nothing until the client gave up
    outcome = new Promise((resolve) => {
      let bytes = 0;
      let error: string | undefined;
      socket.on('data', (data: Buffer) => void (bytes += data.length));
      socket.on('error', (e: NodeJS.ErrnoException) => void (error = e.code));
      socket.on('close', () => resolve({ bytes, error }));
      setTimeout(() => socket.resume(), 200);
    });
  });
  await new Promise<void>((resolve) => paused.listen(0, '127.0.0.1', resolve));
  try {
    const controller = new AbortController();
    const http = new HttpClient(`http://127.0.0.1:${(paused.address() as AddressInfo).port}`);
    const pending = http.request({ method: 'PUT', path: '/big', headers: {}, body: Buffer.alloc(size, 1) }, { ...send, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
    const { bytes, error } = await outcome;
    expect(error).toBe('ECONNRESET');
    expect(bytes).toBeLessThan(size);
  } finally {
    await new Promise((resolve) => paused.close(resolve));
  }
});
