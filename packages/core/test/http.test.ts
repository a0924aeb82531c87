import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import { fetchWithinAnswerBound, HttpClient, isTransientError, knownBodyBytes, readResponse } from '../src/index.js';

let server: Server;
let port: number;
let handler: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const options = (method: string) => ({ method, path: '/x', headers: {} });
const client = () => new HttpClient(`http://127.0.0.1:${port}`);
const send = { connectTimeoutMs: 5000, driverName: 'test' };

test('the buffers of a body arrive in order, and readResponse gives the whole answer', async () => {
  handler = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(Buffer.concat(chunks).toString('utf8').toUpperCase()));
  };
  const response = await client().request({ ...options('PUT'), body: [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')] }, send);
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
  const response = await client().request(options('GET'), { ...send, signal: controller.signal });
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
  await expect(client().request(options('GET'), { ...send, signal: controller.signal })).rejects.toBe(reason);
  expect(received).toBe(0);
});

test('a body cut before its end fails readResponse', async () => {
  handler = (req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial', () => req.socket.destroy());
  };
  const response = await client().request(options('GET'), send);
  await expect(readResponse(response)).rejects.toThrow();
});

/** Answers six bytes a quarter of a second apart: longer in all than the tests' 600 ms bound, never stalled for it. */
function trickle(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-length': '6', 'x-kind': 'slow' });
  let sent = 0;
  const next = setInterval(() => {
    res.write('x');
    if (++sent === 6) {
      clearInterval(next);
      res.end();
    }
  }, 250);
}

test('a body that stops after its head and some bytes fails readResponse as a transient timeout after the answer bound, and a slow one that keeps coming does not', async () => {
  let stalled!: ServerResponse;
  handler = (_req, res) => {
    stalled = res;
    res.writeHead(500, { 'content-length': '100', 'content-type': 'application/xml' });
    res.write('<Error><Code>Internal');
  };
  const bounded = new HttpClient(`http://127.0.0.1:${port}`, { answerTimeoutMs: 600 });
  const started = Date.now();
  const error = await readResponse(await bounded.request(options('PUT'), send)).catch((caught: unknown) => caught);
  const took = Date.now() - started;
  expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
  expect(isTransientError(error)).toBe(true);
  // Counted in checks a quarter of a second apart: one more than the bound holds.
  expect(took).toBeGreaterThanOrEqual(600);
  expect(took).toBeLessThan(1500);
  stalled.destroy();
  handler = trickle;
  expect((await readResponse(await bounded.request(options('GET'), send))).toString()).toBe('xxxxxx');
});

test('fetchWithinAnswerBound: a body that stops while read fails as a transient timeout after the answer bound; a slow one that keeps coming, and one read late, do not', async () => {
  const stalled: ServerResponse[] = [];
  handler = (_req, res) => {
    stalled.push(res);
    res.writeHead(500, { 'content-length': '100', 'content-type': 'application/json' });
    res.write('{"error":');
  };
  const url = `http://127.0.0.1:${port}/x`;
  const bound = { bodyBytes: 0, driverName: 'test', answerTimeoutMs: 600 };
  const started = Date.now();
  const error = await fetchWithinAnswerBound(fetch, url, { method: 'GET' }, bound).then((response) => response.text()).catch((caught: unknown) => caught);
  const took = Date.now() - started;
  expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', message: `test: an answer's body from 127.0.0.1:${port} brought no byte for 600 ms` });
  expect(isTransientError(error)).toBe(true);
  expect(took).toBeGreaterThanOrEqual(600);
  expect(took).toBeLessThan(1500);

  handler = trickle;
  const slow = await fetchWithinAnswerBound(fetch, url, { method: 'GET' }, bound);
  expect([slow.status, slow.headers.get('x-kind')]).toEqual([200, 'slow']);
  expect(await slow.text()).toBe('xxxxxx');

  handler = (_req, res) => res.end('all of it');
  const late = await fetchWithinAnswerBound(fetch, url, { method: 'GET' }, bound);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  expect(await late.text()).toBe('all of it');
  for (const res of stalled) res.destroy();
});

test('a refused connection rejects with the transport error', async () => {
  await expect(new HttpClient('http://127.0.0.1:1').request(options('GET'), send)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

test('knownBodyBytes: none is 0, a declared length wins, strings count as UTF-8, bytes and lists of bytes by size, a stream is unknown', () => {
  expect(knownBodyBytes(undefined)).toBe(0);
  expect(knownBodyBytes(null, '99')).toBe(0);
  expect(knownBodyBytes('é€')).toBe(5);
  expect(knownBodyBytes(Buffer.alloc(5))).toBe(5);
  expect(knownBodyBytes([Buffer.alloc(3), new Uint8Array(4)])).toBe(7);
  expect(knownBodyBytes(Readable.from(['abc']))).toBeUndefined();
  expect(knownBodyBytes(Readable.from(['abc']), '12')).toBe(12);
  expect(knownBodyBytes(Readable.from(['abc']), 7)).toBe(7);
  expect(knownBodyBytes('abc', 'not a length')).toBe(3);
});

describe('the bound on an answer', () => {
  const MiB = 1024 * 1024;
  /** Only timers are faked: the sockets and the server run in real time. */
  const fakeTimers = () => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date', 'performance', 'hrtime'] });
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let held: ServerResponse[];
  // The bound's one interval stops at its first check with nothing to watch: past it (a quarter
  // second), each test's first request starts an interval on the timers that test runs on.
  beforeEach(async () => {
    held = [];
    await new Promise((resolve) => setTimeout(resolve, 300));
  });
  afterEach(() => {
    jest.advanceTimersByTime(1000);
    jest.useRealTimers();
    for (const res of held) res.destroy();
  });

  /** The server takes every request and never answers it; `arrival()` resolves once the next request's body is in. */
  function neverAnswer(): { arrival: () => Promise<void> } {
    let arrived: () => void = () => undefined;
    handler = (req, res) => {
      held.push(res);
      req.resume();
      req.on('end', () => arrived());
    };
    return { arrival: () => new Promise<void>((resolve) => (arrived = resolve)) };
  }

  /** `start`s a request that is never answered: still pending 1 ms before `boundMs`, a transient TimeoutError within half a second past it. */
  async function givenUpAt(start: () => Promise<unknown>, arrival: Promise<void>, boundMs: number): Promise<void> {
    let outcome: unknown;
    const settled = start().then(
      (response) => (outcome = response),
      (error: unknown) => (outcome = error),
    );
    await arrival;
    jest.advanceTimersByTime(boundMs - 1);
    await turn();
    expect(outcome).toBeUndefined();
    jest.advanceTimersByTime(500);
    await settled;
    expect(outcome).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', message: `test: no answer from 127.0.0.1:${port} within ${boundMs} ms` });
    expect(isTransientError(outcome)).toBe(true);
  }

  test('an answer not begun within 30 s, and a second per MiB of body, fails as a transient TimeoutError naming the host', async () => {
    const server = neverAnswer();
    fakeTimers();
    await givenUpAt(() => client().request(options('GET'), send), server.arrival(), 30_000);
    await givenUpAt(() => client().request({ ...options('PUT'), body: [Buffer.alloc(MiB), Buffer.alloc(3 * MiB)] }, send), server.arrival(), 34_000);
  });

  test('answerTimeoutMs sets the base of the bound: the option of an HttpClient, and of fetchWithinAnswerBound', async () => {
    const server = neverAnswer();
    fakeTimers();
    const quick = new HttpClient(`http://127.0.0.1:${port}`, { answerTimeoutMs: 2000 });
    await givenUpAt(() => quick.request(options('GET'), send), server.arrival(), 2000);
    await givenUpAt(() => quick.request({ ...options('PUT'), body: [Buffer.alloc(MiB)] }, send), server.arrival(), 3000);
    const slow = new HttpClient(`http://127.0.0.1:${port}`, { answerTimeoutMs: 90_000 });
    await givenUpAt(() => slow.request(options('GET'), send), server.arrival(), 90_000);
    const url = `http://127.0.0.1:${port}/x`;
    await givenUpAt(() => fetchWithinAnswerBound(fetch, url, { method: 'GET' }, { bodyBytes: 0, driverName: 'test', answerTimeoutMs: 5000 }), server.arrival(), 5000);
  });

  test('a request started while another awaits its answer (the check\'s period begun) is not given up before its bound either', async () => {
    const server = neverAnswer();
    fakeTimers();
    const first = client().request(options('GET'), send).catch((error: unknown) => error);
    await server.arrival();
    jest.advanceTimersByTime(100);
    await givenUpAt(() => client().request(options('GET'), send), server.arrival(), 30_000);
    expect(await first).toMatchObject({ name: 'TimeoutError' });
  });

  test('fetchWithinAnswerBound: the same bound on a fetch, the caller\'s signal still aborting it', async () => {
    const server = neverAnswer();
    fakeTimers();
    const url = `http://127.0.0.1:${port}/x`;
    await givenUpAt(() => fetchWithinAnswerBound(fetch, url, { method: 'PUT', body: 'x'.repeat(2 * MiB) }, { bodyBytes: 2 * MiB, driverName: 'test' }), server.arrival(), 32_000);

    const arrival = server.arrival();
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const aborted = fetchWithinAnswerBound(fetch, url, { method: 'GET', signal: controller.signal }, { bodyBytes: 0, driverName: 'test' });
    await arrival;
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
  });

  test('an answer begun in time is not cut later, however long its body takes', async () => {
    handler = (_req, res) => {
      held.push(res);
      res.writeHead(200, { 'content-length': '10' });
      res.write('hello');
    };
    fakeTimers();
    const response = await client().request(options('GET'), send);
    jest.advanceTimersByTime(120_000);
    await turn();
    expect(response.destroyed).toBe(false);
    const body = readResponse(response);
    held[0]!.end('world');
    expect((await body).toString()).toBe('helloworld');
  });
});
