import { spawnSync } from 'node:child_process';
import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { patternBytes } from '../src/data.js';
import { FaultProxy } from '../src/faults/proxy.js';
import { FaultSchedule } from '../src/faults/schedule.js';
import { serviceErrors } from '../src/faults/service-errors.js';

const BODY = patternBytes(200_000, 7);

/** An upstream that records each request body it received (whole or cut) and answers with BODY. */
let upstream: Server;
let received: Promise<Buffer>[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    received.push(new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('error', () => undefined); // a cut request is what the tests make
      req.on('close', () => resolve(Buffer.concat(chunks)));
    }));
    req.on('end', () => {
      res.writeHead(200, { 'content-length': BODY.length, location: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/session/1` });
      res.end(BODY);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => {
  received = [];
});

/** The body of the first request the upstream saw; the proxy may cut the client before the upstream's handler runs. */
async function firstReceived(): Promise<Buffer> {
  for (let waited = 0; received.length === 0 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return received[0]!;
}

const upstreamURL = () => `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

interface Answer {
  status?: number;
  headers?: IncomingMessage['headers'];
  body: Buffer;
  error?: Error;
}

/** Sends `body` and collects what comes back, including a cut: never rejects. */
function send(endpoint: string, method: string, body?: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const answer: Answer = { body: Buffer.alloc(0) };
    const finish = (error?: Error) => resolve({ ...answer, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
    const req = request(`${endpoint}/object`, { method, agent: false, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      answer.status = res.statusCode;
      answer.headers = res.headers;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish());
      res.on('error', finish);
    });
    req.on('error', finish);
    req.end(body);
  });
}

async function withProxy(options: Partial<Parameters<typeof FaultProxy.start>[0]>, body: (proxy: FaultProxy) => Promise<void>) {
  const proxy = await FaultProxy.start({ upstream: upstreamURL(), ...options });
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

describe('fault proxy', () => {
  test('forwards a request and its answer unchanged, and leads Location back through the proxy', () => withProxy({}, async (proxy) => {
    const answer = await send(proxy.endpoint, 'PUT', BODY);
    expect(answer.error).toBeUndefined();
    expect(answer.body.equals(BODY)).toBe(true);
    expect((await firstReceived()).equals(BODY)).toBe(true);
    expect(answer.headers?.location).toBe(`${proxy.endpoint}/session/1`);
  }));

  test('a reset after N bytes of the request body: the server receives exactly those N bytes', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'reset-request', afterBytes: 12_345 });
    const answer = await send(proxy.endpoint, 'PUT', BODY);
    expect(answer.error).toBeDefined();
    expect(answer.status).toBeUndefined();
    const got = await firstReceived();
    expect(got.length).toBe(12_345);
    expect(got.equals(BODY.subarray(0, 12_345))).toBe(true);
  }));

  test('a reset after N bytes of the response body: the client receives exactly those N bytes, then an error', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'reset-response', afterBytes: 54_321 });
    const answer = await send(proxy.endpoint, 'GET');
    expect(answer.status).toBe(200);
    expect(answer.error).toBeDefined();
    expect(answer.body.length).toBe(54_321);
    expect(answer.body.equals(BODY.subarray(0, 54_321))).toBe(true);
  }));

  test('a response fault waits for an answer its match accepts', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'reset-response', afterBytes: 10 }, (view) => view.method === 'GET' && (view.length ?? 0) > 1_000_000);
    expect((await send(proxy.endpoint, 'GET')).error).toBeUndefined();
    expect(proxy.clearInjections()).toBe(1);
  }));

  test('a 503 carries the service body and headers given, and never reaches the server', () => withProxy({ errorResponse: serviceErrors.azure }, async (proxy) => {
    proxy.inject({ kind: 'error', status: 503 });
    const answer = await send(proxy.endpoint, 'PUT', BODY);
    expect(answer.status).toBe(503);
    expect(answer.headers?.['x-ms-error-code']).toBe('ServerBusy');
    expect(answer.body.toString()).toContain('<Error><Code>ServerBusy</Code>');
    expect(received).toHaveLength(0);
    // The connection's next request goes through.
    expect((await send(proxy.endpoint, 'GET')).status).toBe(200);
  }));

  test('a stall delays the answer and then delivers all of it', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'stall', ms: 300, afterBytes: 1000 });
    const started = performance.now();
    const answer = await send(proxy.endpoint, 'GET');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.body.equals(BODY)).toBe(true);
  }));

  test('an outage fails every request until it ends', () => withProxy({}, async (proxy) => {
    proxy.startOutage();
    expect((await send(proxy.endpoint, 'GET')).error).toBeDefined();
    expect((await send(proxy.endpoint, 'PUT', BODY)).error).toBeDefined();
    proxy.endOutage();
    expect((await send(proxy.endpoint, 'GET')).status).toBe(200);
  }));

  test('a rule applies to as many matching requests as it is given, counts them, and logs each request', () => withProxy({}, async (proxy) => {
    const rule = proxy.inject({ kind: 'reset-request', afterBytes: 0 }, (view) => view.method === 'PUT', { times: 2 });
    expect((await send(proxy.endpoint, 'GET')).status).toBe(200);
    expect((await send(proxy.endpoint, 'PUT', BODY)).error).toBeDefined();
    expect((await send(proxy.endpoint, 'PUT', BODY)).error).toBeDefined();
    expect((await send(proxy.endpoint, 'PUT', BODY)).status).toBe(200);
    expect(rule.hits).toBe(2);
    expect(received).toHaveLength(2); // the GET and the last PUT: a reset on arrival reaches nothing
    expect(proxy.log.map(({ method, fault, status, responseBytes }) => [method, fault.kind, status, responseBytes])).toEqual([
      ['GET', 'none', 200, BODY.length],
      ['PUT', 'reset-request', undefined, 0],
      ['PUT', 'reset-request', undefined, 0],
      ['PUT', 'none', 200, BODY.length],
    ]);
    expect(proxy.log[3]!.requestBytes).toBe(BODY.length);
    expect(proxy.clearInjections()).toBe(0);
  }));

  test('a canned answer is sent without forwarding; a drop loses the answer of a request the server received whole', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'answer', status: 404, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>NoSuchUpload</Code></Error>' });
    const canned = await send(proxy.endpoint, 'POST', BODY);
    expect([canned.status, canned.headers?.['content-type'], canned.body.toString()]).toEqual([404, 'application/xml', '<Error><Code>NoSuchUpload</Code></Error>']);
    expect(received).toHaveLength(0);
    proxy.inject({ kind: 'drop-response' });
    const dropped = await send(proxy.endpoint, 'PUT', BODY);
    expect(dropped.error).toBeDefined();
    expect(dropped.status).toBeUndefined();
    expect((await firstReceived()).equals(BODY)).toBe(true);
    expect(proxy.log[1]!.clientClosedEarly).toBe(false); // the proxy's cut, not the client's
  }));

  test('a cut after the headers: the client gets the status and none of the body', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'cut-after-headers' });
    const answer = await send(proxy.endpoint, 'GET');
    expect(answer.status).toBe(200);
    expect(answer.error).toBeDefined();
    expect(answer.body.length).toBe(0);
  }));

  test('a stalled request never reaches the server; the client giving up is seen', () => withProxy({}, async (proxy) => {
    const rule = proxy.inject({ kind: 'stall-request' });
    const req = request(`${proxy.endpoint}/object`, { method: 'PUT', agent: false, headers: { 'content-length': BODY.length } });
    req.on('error', () => undefined); // the test destroys it
    req.end(BODY);
    const entry = await rule.hit;
    req.destroy();
    expect(await rule.clientGone).toBe(entry);
    expect(entry.clientClosedEarly).toBe(true);
    expect(received).toHaveLength(0);
  }));

  test('a stall without a duration holds the body after N bytes until the client gives up', () => withProxy({}, async (proxy) => {
    const rule = proxy.inject({ kind: 'stall', afterBytes: 30_000 });
    let got = 0;
    const req = request(`${proxy.endpoint}/object`, { agent: false }, (res) => res.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= 30_000) setTimeout(() => req.destroy(), 200);
    }));
    req.on('error', () => undefined); // the test destroys it
    req.end();
    const entry = await rule.clientGone;
    expect(got).toBe(30_000);
    expect(entry.responseBytes).toBe(30_000);
  }));

  test('a throttle paces the body', () => withProxy({}, async (proxy) => {
    proxy.inject({ kind: 'throttle', bytesPerSecond: 500_000 });
    const started = performance.now();
    expect((await send(proxy.endpoint, 'GET')).body.equals(BODY)).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(350); // 200 kB at 500 kB/s, the first slice free
  }));

  test('a throttle paces inside a chunk: the client never gets far ahead of the rate', () => withProxy({}, async (proxy) => {
    // The upstream writes its 200 kB answer at once; relayed a chunk at a time, tens of kB would arrive at once.
    const rule = proxy.inject({ kind: 'throttle', bytesPerSecond: 20_000 });
    let got = 0;
    const req = request(`${proxy.endpoint}/object`, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => void (got += chunk.length));
      setTimeout(() => req.destroy(), 300);
    });
    req.on('error', () => undefined); // the test destroys it
    req.end();
    await rule.clientGone;
    // 300 ms at 20 kB/s, plus the slice sent before each pause.
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(10_000);
  }));

  test('a throttled answer whose client went away holds nothing open: the process can exit', () => {
    // In a process of its own (the built proxy), so "exits" is observable: the pause after the first
    // chunk (10 s at this rate), left armed when the client went away, kept it alive that long.
    const script = `
      import { createServer, request } from 'node:http';
      import { FaultProxy } from ${JSON.stringify(pathToFileURL(join(__dirname, '../dist/esm/faults/proxy.js')).href)};
      const upstream = createServer((req, res) => res.end(Buffer.alloc(10000)));
      await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const proxy = await FaultProxy.start({ upstream: 'http://127.0.0.1:' + upstream.address().port });
      proxy.inject({ kind: 'throttle', bytesPerSecond: 1000 });
      const req = request(proxy.endpoint + '/object', { agent: false }, (res) => res.once('data', () => setTimeout(() => req.destroy(), 100)));
      req.on('error', () => undefined);
      req.end();
      while (proxy.log[0]?.clientClosedEarly !== true) await new Promise((resolve) => setTimeout(resolve, 10));
      await proxy.close();
      await new Promise((resolve) => upstream.close(resolve));
      console.log('closed');
    `;
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(child.stdout.trim()).toBe('closed');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 20_000);

  test('a rule\'s step runs before forwarding, or just before the cut', () => withProxy({}, async (proxy) => {
    const order: string[] = [];
    proxy.inject({ kind: 'none' }, () => true, { before: async () => void order.push(`before forwarding, ${received.length} received`) });
    await send(proxy.endpoint, 'PUT', BODY);
    proxy.inject({ kind: 'reset-response', afterBytes: 100 }, () => true, {
      before: async (entry) => void order.push(`before the cut, ${entry.responseBytes} relayed`),
    });
    const cut = await send(proxy.endpoint, 'GET');
    expect(cut.body.length).toBe(100);
    expect(order).toEqual(['before forwarding, 0 received', 'before the cut, 100 relayed']);
  }));

  test('the schedule is a function of the seed and the request index', async () => {
    const a = new FaultSchedule({ seed: 42 });
    const b = new FaultSchedule({ seed: 42 });
    const other = new FaultSchedule({ seed: 43 });
    const indices = Array.from({ length: 2000 }, (_, i) => i);
    expect(indices.map((i) => a.decide(i))).toEqual(indices.map((i) => b.decide(i)));
    expect(indices.map((i) => a.decide(i))).not.toEqual(indices.map((i) => other.decide(i)));
    // Any order of asking gives the same decisions (concurrent requests may arrive in another order).
    expect([...indices].reverse().map((i) => a.decide(i)).reverse()).toEqual(indices.map((i) => b.decide(i)));
    const faulted = indices.filter((i) => a.decide(i).kind !== 'none').length;
    expect(faulted / indices.length).toBeGreaterThan(0.15);
    expect(faulted / indices.length).toBeLessThan(0.25);

    // And two proxies with one seed fault the same requests of the same sequence.
    const runs: string[][] = [];
    for (let run = 0; run < 2; run++) {
      await withProxy({ schedule: { seed: 42, rate: 0.3, stallMs: 10 } }, async (proxy) => {
        for (let i = 0; i < 30; i++) await send(proxy.endpoint, i % 2 ? 'GET' : 'PUT', BODY.subarray(0, 5000));
        runs.push(proxy.log.map((entry) => JSON.stringify(entry.fault)));
      });
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.filter((f) => f !== '{"kind":"none"}').length).toBeGreaterThan(0);
  });
});
