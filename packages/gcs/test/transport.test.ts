/**
 * Aborts, cut connections and lost answers, each placed at one exact point through the testsuite's
 * FaultProxy (the seeded campaign is test/fault-campaign.test.ts): what the driver promises when
 * the network misbehaves.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { StorageDriverError, type StorageDriver } from '@storagedriver/core';
import { FaultProxy, patternBytes, type ProxiedRequest, verifyPatternStream } from '@storagedriver/testsuite';

import { createBucket, endpoint, newDriver, rawBucket } from './support/server.js';

const MiB = 1024 * 1024;
const CHUNK = 5 * 256 * 1024;
let bucket: string;
let proxy: FaultProxy;
/** The proxy's log from where the running test began. */
let firstRequest = 0;
const exchanges = (): ProxiedRequest[] => proxy.log.slice(firstRequest);

beforeAll(async () => {
  bucket = await createBucket('transport');
  proxy = await FaultProxy.start({ upstream: endpoint() });
});

beforeEach(() => {
  firstRequest = proxy.requests;
});

afterAll(async () => {
  await proxy.close();
});

afterEach(() => {
  proxy.clearInjections();
});

function proxied(extra: Parameters<typeof newDriver>[1] = {}): StorageDriver {
  return newDriver(bucket, { apiEndpoint: proxy.endpoint, ...extra });
}

type Request = { method: string; url: string };
const isMedia = ({ method, url }: Request): boolean => method === 'GET' && url.includes('alt=media');
const isCompose = ({ method, url }: Request): boolean => method === 'POST' && url.includes('/compose');
const isUpload = ({ method, url }: Request): boolean => method === 'POST' && url.includes('/upload/');
/** Resets the connection as the request arrives: nothing reaches the server. */
const RESET = { kind: 'reset-request', afterBytes: 0 } as const;
/** Relays the status, headers and `afterBytes` of the body, then resets. */
const cutBody = (afterBytes: number) => ({ kind: 'reset-response', afterBytes }) as const;
/** The faults applied so far in this test, by kind. */
const applied = (kind: string): ProxiedRequest[] => exchanges().filter((exchange) => exchange.fault.kind === kind);

/** Aborts after `afterMs`; resolves to the caller's reason, what the operation rejected with, and how long after the abort. */
/** Aborts `operation` after `after` ms, or once `after()` holds (polled, at most 10 s: mid-transfer however slow the machine is). */
async function abortAfter(after: number | (() => boolean), operation: (signal: AbortSignal) => Promise<unknown>): Promise<{ reason: Error; error: unknown; lagMs: number }> {
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const outcome = operation(controller.signal).then(
    () => ({ error: undefined, at: Date.now() }),
    (error: unknown) => ({ error, at: Date.now() }),
  );
  if (typeof after === 'number') await sleep(after);
  else for (const deadline = Date.now() + 10_000; !after() && Date.now() < deadline; ) await sleep(5);
  const abortedAt = Date.now();
  controller.abort(reason);
  const { error, at } = await outcome;
  return { reason, error, lagMs: at - abortedAt };
}

describe('an abort stops the I/O, not only the promise', () => {
  test('putContent aborted mid-upload rejects with the reason at once and no object appears', async () => {
    const driver = proxied();
    const chunkStarted = (): boolean => exchanges().some((exchange) => exchange.method === 'POST' && exchange.requestBytes > 0);
    const { reason, error, lagMs } = await abortAfter(chunkStarted, (signal) => driver.putContent('/abort/put', patternBytes(32 * MiB, 1), { signal }));
    expect(error).toBe(reason);
    expect(lagMs).toBeLessThan(200);
    // Long enough for an upload that kept going to land (the emulator takes ~1 s for 32 MiB).
    await sleep(2000);
    await expect(driver.stat('/abort/put')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    // Above a chunk the put uploads chunks and composes them: the abort cut the chunks in flight,
    // and the compose that would have made the object was never sent.
    const sent = exchanges();
    expect(sent.some((exchange) => exchange.method === 'POST' && exchange.clientClosedEarly)).toBe(true);
    expect(sent.some((exchange) => exchange.url.includes('/compose'))).toBe(false);
  });

  test('getContent aborted mid-body rejects with the reason at once and closes the connection', async () => {
    const size = 8 * MiB;
    await newDriver(bucket).putContent('/abort/get', patternBytes(size, 2));
    proxy.inject({ kind: 'throttle', bytesPerSecond: 4 * MiB }, isMedia, { times: Infinity });
    const driver = proxied();
    const { reason, error, lagMs } = await abortAfter(150, (signal) => driver.getContent('/abort/get', { signal }));
    expect(error).toBe(reason);
    expect(lagMs).toBeLessThan(200);
    await sleep(300);
    const download = exchanges().filter(isMedia).at(-1)!;
    expect(download.clientClosedEarly).toBe(true);
    expect(download.responseBytes).toBeLessThan(size);
  });

  test('a 16 MiB writer write aborted mid-flight rejects with the reason at once and its chunk uploads stop', async () => {
    // No chunk upload is ever answered: the write (which waits for room, one chunk done) is mid-flight
    // when the abort comes however fast the machine; a fixed delay once let it finish first.
    proxy.inject({ kind: 'stall-request' }, isUpload, { times: Infinity });
    const driver = proxied({ chunkSize: 4 * MiB, uploadConcurrency: 2 });
    const writer = await driver.writer('/abort/write');
    const bothUploading = (): boolean => exchanges().filter((exchange) => isUpload(exchange) && exchange.requestBytes > 0).length === 2;
    const { reason, error, lagMs } = await abortAfter(bothUploading, (signal) => writer.write(patternBytes(16 * MiB, 3), { signal }));
    expect(error).toBe(reason);
    expect(lagMs).toBeLessThan(200);
    await sleep(300);
    const uploads = exchanges().filter((exchange) => exchange.method === 'POST');
    expect(uploads.some((exchange) => exchange.clientClosedEarly)).toBe(true);
    // No chunk upload starts after the abort.
    const started = proxy.requests;
    await sleep(500);
    expect(proxy.requests).toBe(started);
    await writer.cancel();
  });

  test('a walk aborted while its listing page arrives rejects with the reason at once and closes the connection', async () => {
    const seed = newDriver(bucket);
    for (let i = 0; i < 200; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => seed.putContent(`/abort/walk/${i + j}`, 'x')));
    const isListing = ({ method, url }: Request): boolean => method === 'GET' && /\/o\?/.test(url) && url.includes('abort%2Fwalk');
    proxy.inject({ kind: 'throttle', bytesPerSecond: 4096 }, isListing, { times: Infinity });
    const driver = proxied();
    // Mid-page however slow the machine: the page (~20 kB at 4 kB/s) has begun to arrive.
    const pageArriving = (): boolean => exchanges().some((exchange) => isListing(exchange) && exchange.responseBytes > 0);
    const { reason, error, lagMs } = await abortAfter(pageArriving, (signal) => driver.walk('/abort/walk', () => undefined, { signal }));
    expect(error).toBe(reason);
    expect(lagMs).toBeLessThan(200);
    const page = exchanges().find(isListing)!;
    // The proxy sees the close once the socket's end reaches it; the page alone would take seconds more.
    for (const deadline = Date.now() + 2000; !page.clientClosedEarly && Date.now() < deadline; ) await sleep(20);
    expect(page.clientClosedEarly).toBe(true);
    expect(page.responseBytes).toBeLessThan(12_000);
  });
});

describe('reads resume after a cut body, pinned to the generation', () => {
  test('reader and getContent deliver every byte when the body is cut once mid-way', async () => {
    const size = 3 * MiB + 5;
    await newDriver(bucket).putContent('/resume/object', patternBytes(size, 4));
    const driver = proxied();
    proxy.inject(cutBody(MiB + 3), isMedia);
    await verifyPatternStream(await driver.reader('/resume/object', 0), size, 4);
    proxy.inject(cutBody(2 * MiB), isMedia);
    await verifyPatternStream(await driver.reader('/resume/object', 1000), size - 1000, 4, 1000);
    proxy.inject(cutBody(100_000), isMedia);
    expect((await driver.getContent('/resume/object')).equals(patternBytes(size, 4))).toBe(true);
    // Each read was cut once and resumed with a ranged request.
    expect(applied('reset-response')).toHaveLength(3);
    expect(exchanges().filter(isMedia)).toHaveLength(6);
  });

  test('an object replaced between the cut and the resume fails the read with PreconditionFailedError', async () => {
    const size = 2 * MiB;
    await newDriver(bucket).putContent('/resume/replaced', patternBytes(size, 5));
    const driver = proxied();
    const replace = async (): Promise<void> => {
      await rawBucket(bucket).file('resume/replaced').save(patternBytes(size, 6), { resumable: false });
    };
    proxy.inject(cutBody(MiB), isMedia, { before: replace });
    await expect(verifyPatternStream(await driver.reader('/resume/replaced'), size, 5)).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', driverName: 'gcs' });
    proxy.inject(cutBody(MiB), isMedia, { before: replace });
    await expect(driver.getContent('/resume/replaced')).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });
});

describe('idempotent requests are retried when the answer is cut', () => {
  test('a listing page cut after its headers is requested again', async () => {
    const driver = proxied();
    await Promise.all(['/listed/a', '/listed/b/c', '/listed/d'].map((path) => newDriver(bucket).putContent(path, path)));
    const isListing = ({ method, url }: Request): boolean => method === 'GET' && /\/o\?/.test(url) && !url.includes('alt=media');
    proxy.inject(cutBody(20), isListing);
    expect((await driver.list('/listed')).sort()).toEqual(['/listed/a', '/listed/b', '/listed/d']);
    proxy.inject(cutBody(20), isListing);
    const walked: string[] = [];
    await driver.walk('/listed', (info) => void walked.push(info.path));
    expect(walked.sort()).toEqual(['/listed/a', '/listed/b', '/listed/b/c', '/listed/d']);
    expect(applied('reset-response')).toHaveLength(2);
  });

  test('a chunk upload whose answer is cut after the headers is sent again and the content is exact', async () => {
    const driver = proxied({ chunkSize: CHUNK });
    const size = 3 * CHUNK + 11;
    proxy.inject(cutBody(10), isUpload, { times: 2 });
    const writer = await driver.writer('/retried/chunks');
    await writer.write(patternBytes(size, 7));
    await writer.commit();
    await verifyPatternStream(await driver.reader('/retried/chunks'), size, 7);
    expect(applied('reset-response')).toHaveLength(2);
  });
});

describe('commit is idempotent', () => {
  test('a compose whose answer was lost is recognised as done, then commit() again succeeds, and append continues it exactly', async () => {
    const size = 2 * CHUNK + 9;
    const driver = proxied({ chunkSize: CHUNK });
    const writer = await driver.writer('/idempotent/a');
    await writer.write(patternBytes(size, 8));
    // The server applies the compose; its answer and every request after it are lost.
    let composed = false;
    proxy.inject({ kind: 'drop-response' }, (exchange) => !composed && isCompose(exchange) && (composed = true));
    proxy.inject(RESET, () => composed, { times: Infinity });
    await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
    proxy.clearInjections();
    // Meanwhile the chunks were removed as leftovers of the committed upload (as the next writer
    // at this path does when it finds the object tagged with this upload).
    const [chunks] = await rawBucket(bucket).getFiles({ prefix: '~uploads/idempotent/a~/' });
    expect(chunks.length).toBe(3);
    await Promise.all(chunks.map((chunk) => chunk.delete()));
    await writer.commit();
    await verifyPatternStream(await driver.reader('/idempotent/a'), size, 8);

    const append = await proxied({ chunkSize: CHUNK }).writer('/idempotent/a', { append: true });
    expect(append.size).toBe(size);
    await append.write(patternBytes(CHUNK + 1, 8, size));
    await append.commit();
    await verifyPatternStream(await driver.reader('/idempotent/a'), size + CHUNK + 1, 8);
    expect((await rawBucket(bucket).getFiles({ prefix: '~uploads/idempotent/' }))[0]).toEqual([]);
  });

  test('a compose whose answer was lost is sent again and succeeds with the chunks still there', async () => {
    const size = 33 * CHUNK + 3; // 34 chunks: two compose rounds
    const driver = proxied({ chunkSize: CHUNK, uploadConcurrency: 8 });
    const writer = await driver.writer('/idempotent/b');
    await writer.write(patternBytes(size, 9));
    proxy.inject({ kind: 'drop-response' }, isCompose, { times: 2 });
    await writer.commit();
    await verifyPatternStream(await driver.reader('/idempotent/b'), size, 9);
    expect(applied('drop-response')).toHaveLength(2);
  });
});

describe('an answer whose body stops is given up after the answer bound and sent again', () => {
  test('a compose, and a move\'s rewrite, whose answers stop after 64 bytes of their body', async () => {
    const driver = proxied({ chunkSize: CHUNK, answerTimeoutMs: 1000 });
    const writer = await driver.writer('/stalled/a');
    await writer.write(patternBytes(CHUNK + 5, 13));
    const isRewrite = ({ method, url }: Request): boolean => method === 'POST' && url.includes('/rewriteTo/');
    proxy.inject({ kind: 'stall', afterBytes: 64 }, isCompose);
    proxy.inject({ kind: 'stall', afterBytes: 64 }, isRewrite);
    const started = Date.now();
    await writer.commit();
    await driver.move('/stalled/a', '/stalled/b');
    // Each: the bound (a second, checked four times a second) and a retry's back-off; the test's own limit otherwise.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(applied('stall').map((exchange) => [isCompose(exchange), isRewrite(exchange)])).toEqual([[true, false], [false, true]]);
    expect([exchanges().filter(isCompose).length, exchanges().filter(isRewrite).length]).toEqual([2, 2]);
    await verifyPatternStream(await driver.reader('/stalled/b'), CHUNK + 5, 13);
    await expect(driver.stat('/stalled/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });
});

describe('conditional writes are idempotent', () => {
  test('a create-only putContent whose answer was lost is tried again, answered 412, and recognised as its own: it succeeds', async () => {
    const driver = proxied({ conditionalWrites: true });
    proxy.inject({ kind: 'drop-response' }, isUpload);
    await driver.putContent('/conditional/put', 'mine', { ifNoneMatch: '*' });
    expect(applied('drop-response')).toHaveLength(1);
    expect((await driver.getContent('/conditional/put')).toString()).toBe('mine');
    expect(await driver.stat('/conditional/put')).toMatchObject({ metadata: {} });
    // Another writer's object is still refused.
    await expect(driver.putContent('/conditional/put', 'other', { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  test('a create-only commit whose answer was lost, then commit again, succeeds with its own content', async () => {
    const driver = proxied({ chunkSize: CHUNK, conditionalWrites: true });
    const writer = await driver.writer('/conditional/commit');
    await writer.write(patternBytes(CHUNK + 11, 12));
    let composed = false;
    proxy.inject({ kind: 'drop-response' }, (exchange) => !composed && isCompose(exchange) && (composed = true));
    proxy.inject(RESET, () => composed, { times: Infinity });
    await expect(writer.commit({ ifNoneMatch: '*' })).rejects.toMatchObject({ retryable: true });
    proxy.clearInjections();
    await writer.commit({ ifNoneMatch: '*' });
    await verifyPatternStream(await driver.reader('/conditional/commit'), CHUNK + 11, 12);
    expect((await rawBucket(bucket).getFiles({ prefix: '~uploads/conditional/' }))[0]).toEqual([]);
  });
});

test('transport failures reach the caller typed and retryable once the retries are spent', async () => {
  await newDriver(bucket).putContent('/reset/object', 'content');
  const driver = proxied({ chunkSize: CHUNK });
  const writer = await driver.writer('/reset/written');
  await writer.write(patternBytes(1000, 10));
  proxy.inject(RESET, () => true, { times: Infinity });
  const started = Date.now();
  for (const operation of [
    () => driver.putContent('/reset/put', 'content'),
    () => writer.commit(),
    () => driver.getContent('/reset/object'),
  ]) {
    const error = await operation().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageDriverError);
    expect(error).toMatchObject({ retryable: true, driverName: 'gcs', code: 'DRIVER_ERROR' });
  }
  // Each was tried more than once before it surfaced, with bounded backoff (not the SDK's, up to 32 s a wait).
  expect(exchanges().length).toBeGreaterThanOrEqual(3 * 3);
  expect(Date.now() - started).toBeLessThan(20_000);
});
