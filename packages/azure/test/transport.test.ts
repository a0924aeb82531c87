/**
 * Transport failures, through a fault-injecting proxy in front of Azurite: what surfaces (typed,
 * retryable DriverErrors of `azure`), what is retried (listings, Put Block, cut reads resumed and
 * pinned to the ETag) and how often, commit idempotence after a lost answer, and prompt aborts.
 */
import type { Readable } from 'node:stream';

import { DriverError, PreconditionFailedError, StorageDriverError, readAll } from '@storagedriver/core';
import { FaultProxy, type Injection, patternBytes, patternStream, type RequestView, selfSignedCertificate, verifyPatternStream } from '@storagedriver/testsuite';
import { pipeline } from 'node:stream/promises';

import { AzureBackend, type AzureDriver } from '../src/index.js';

import { connection, createContainer, driverOptions, newDriver, rawContainer } from './support/server.js';

const MiB = 1024 * 1024;
/** The SDK's tries per request (client.ts). */
const SDK_TRIES = 5;
/** resumableReader's and retry's default attempts (core). */
const CORE_ATTEMPTS = 4;

/** Requests on one blob: `blob` is its name in the container. */
const on = {
  download: (blob: string) => (r: RequestView) => r.method === 'GET' && blobOf(r) === blob && !r.url.includes('comp='),
  putBlob: (blob: string) => (r: RequestView) => r.method === 'PUT' && blobOf(r) === blob && !r.url.includes('comp='),
  stageBlock: (blob: string) => (r: RequestView) => r.method === 'PUT' && blobOf(r) === blob && r.url.includes('comp=block&'),
  commit: (blob: string) => (r: RequestView) => r.method === 'PUT' && blobOf(r) === blob && r.url.includes('comp=blocklist'),
  listing: () => (r: RequestView) => r.method === 'GET' && r.url.includes('comp=list'),
  properties: (blob: string) => (r: RequestView) => r.method === 'HEAD' && blobOf(r) === blob,
};

function blobOf(r: RequestView): string {
  // /<account>/<container>/<blob>?query
  return decodeURIComponent(new URL(r.url, 'https://proxy').pathname.split('/').slice(3).join('/'));
}

/** Resets the connection as the request arrives: it never reaches Azurite. */
const RESET = { kind: 'reset-request', afterBytes: 0 } as const;
/** Relays the headers and `afterBytes` of the body, then resets. */
const cutBody = (afterBytes: number) => ({ kind: 'reset-response', afterBytes }) as const;

let container: string;
let proxy: FaultProxy;
/** A driver whose every request goes through the proxy. */
let faulty: AzureDriver;
/** A driver straight to Azurite, to check what the service holds. */
let direct: AzureDriver;

beforeAll(async () => {
  container = await createContainer('transport');
  // HTTPS with a certificate of its own (the driver runs with skipverify, as it does against Azurite).
  proxy = await FaultProxy.start({ upstream: connection().endpoint, upstreamCA: connection().ca, tls: selfSignedCertificate() });
  faulty = newDriver(container, { serviceUrl: proxy.endpoint, blockSize: MiB });
  direct = newDriver(container);
});
afterEach(() => void proxy.clearInjections());
afterAll(() => proxy.close());

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

function expectRetryableAzureError(error: unknown): void {
  expect(error).toBeInstanceOf(StorageDriverError);
  expect(error).toBeInstanceOf(DriverError);
  expect(error).toMatchObject({ retryable: true, driverName: 'azure' });
}

/** Rejects when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('transport failures reach the caller as retryable DriverErrors of azure', () => {
  test('putContent whose connection is reset on every try: tried 5 times (the SDK pipeline’s number, on the direct path too), nothing more, and nothing is stored', async () => {
    const fault = proxy.inject(RESET, on.putBlob('reset/put'), { times: 100 });
    expectRetryableAzureError(await failure(faulty.putContent('/reset/put', patternBytes(100_000, 1))));
    expect(fault.hits).toBe(SDK_TRIES);
    await expect(direct.stat('/reset/put')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  test('a download cut mid-body on every try fails after a bounded number of resumes, reader and getContent alike', async () => {
    await direct.putContent('/reset/download', patternBytes(2 * MiB, 2));
    const fault = proxy.inject(cutBody(0), on.download('reset/download'), { times: 100 });
    expectRetryableAzureError(await failure(faulty.reader('/reset/download').then((stream) => readAll(stream))));
    expect(fault.hits).toBe(CORE_ATTEMPTS);
    expectRetryableAzureError(await failure(faulty.getContent('/reset/download')));
    expect(fault.hits).toBe(2 * CORE_ATTEMPTS);
  });
});

test('a Put Blob, a listing and (through the SDK) a Get Blob Properties never answered are given up after 30 s and tried again: each then succeeds', async () => {
  await direct.putContent('/unanswered/listed/a', 'a');
  const put = proxy.inject({ kind: 'stall-request' }, on.putBlob('unanswered/put'));
  const listing = proxy.inject({ kind: 'stall-request' }, on.listing());
  const properties = proxy.inject({ kind: 'stall-request' }, on.properties('unanswered/listed/a'));
  const started = performance.now();
  const [, listed, info] = await Promise.all([
    faulty.putContent('/unanswered/put', patternBytes(5000, 8)),
    faulty.list('/unanswered/listed'),
    faulty.stat('/unanswered/listed/a'),
  ]);
  expect(performance.now() - started).toBeGreaterThanOrEqual(29_000);
  expect([put.hits, listing.hits, properties.hits]).toEqual([1, 1, 1]);
  expect(listed).toEqual(['/unanswered/listed/a']);
  expect(info.size).toBe(1);
  expect((await direct.getContent('/unanswered/put')).equals(patternBytes(5000, 8))).toBe(true);
}, 120_000);

describe('a read cut mid-body resumes, pinned to the version it started on', () => {
  const size = 3 * MiB + 17;

  test('reader and getContent deliver every byte after one cut', async () => {
    await direct.putContent('/resume/blob', patternBytes(size, 3));
    const readerCut = proxy.inject(cutBody(MiB), on.download('resume/blob'));
    await verifyPatternStream(await faulty.reader('/resume/blob', 12_345), size - 12_345, 3, 12_345);
    expect(readerCut.hits).toBe(1);
    const contentCut = proxy.inject(cutBody(2 * MiB), on.download('resume/blob'));
    expect((await faulty.getContent('/resume/blob')).equals(patternBytes(size, 3))).toBe(true);
    expect(contentCut.hits).toBe(1);
  });

  test('a reader or getContent whose download stops sending is resumed after 30 s of silence, and a download never answered is tried again', async () => {
    await direct.putContent('/resume/stalled', patternBytes(size, 6));
    // The proxy holds the rest of the body, and later the request itself, until the client gives up.
    const stalled = proxy.inject({ kind: 'stall', afterBytes: MiB }, on.download('resume/stalled'));
    let started = performance.now();
    await verifyPatternStream(await within(faulty.reader('/resume/stalled'), 5_000, 'the stalled reader opening'), size, 6);
    expect(stalled.hits).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29_000);
    const unanswered = proxy.inject({ kind: 'stall-request' }, on.download('resume/stalled'));
    started = performance.now();
    await verifyPatternStream(await faulty.reader('/resume/stalled', 100), size - 100, 6, 100);
    expect(unanswered.hits).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29_000);
    const stalledContent = proxy.inject({ kind: 'stall', afterBytes: MiB }, on.download('resume/stalled'));
    started = performance.now();
    expect((await faulty.getContent('/resume/stalled')).equals(patternBytes(size, 6))).toBe(true);
    expect(stalledContent.hits).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29_000);
  }, 180_000);

  test('a blob overwritten between the cut and the resume fails the stream with PreconditionFailedError', async () => {
    const overwrite = () => async (): Promise<void> => {
      await rawContainer(container).getBlockBlobClient('resume/changed').upload(patternBytes(size, 5), size);
    };
    await direct.putContent('/resume/changed', patternBytes(size, 4));
    proxy.inject(cutBody(MiB), on.download('resume/changed'));
    proxy.inject({ kind: 'none' }, on.download('resume/changed'), { before: overwrite() });
    const error = await failure(faulty.reader('/resume/changed').then((stream) => readAll(stream)));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', path: '/resume/changed', driverName: 'azure' });

    await direct.putContent('/resume/changed', patternBytes(size, 4));
    proxy.inject(cutBody(MiB), on.download('resume/changed'));
    proxy.inject({ kind: 'none' }, on.download('resume/changed'), { before: overwrite() });
    expect(await failure(faulty.getContent('/resume/changed'))).toBeInstanceOf(PreconditionFailedError);
  });
});

describe('listings and block uploads retry a response cut after its headers', () => {
  beforeAll(async () => {
    await Promise.all(['a', 'b/c', 'b/d', 'e'].map((name) => direct.putContent(`/listed/${name}`, name)));
  });

  test('list, stat of a directory and walk each survive one cut listing', async () => {
    const cut = (): void => void proxy.inject({ kind: 'cut-after-headers' }, on.listing());
    cut();
    expect((await faulty.list('/listed')).sort()).toEqual(['/listed/a', '/listed/b', '/listed/e']);
    cut();
    expect(await faulty.stat('/listed/b')).toMatchObject({ isDir: true });
    cut();
    const walked: string[] = [];
    await faulty.walk('/listed', (info) => void walked.push(info.path));
    expect(walked).toEqual(['/listed/a', '/listed/b', '/listed/b/c', '/listed/b/d', '/listed/e']);
  });

  test('a Put Block whose response is cut is retried under the same block id: the content is exact', async () => {
    const fault = proxy.inject({ kind: 'cut-after-headers' }, on.stageBlock('blocks/cut'), { times: 2 });
    const writer = await faulty.writer('/blocks/cut');
    await pipeline(patternStream(3 * MiB + 500, 6), writer.writable());
    await writer.commit();
    expect(fault.hits).toBe(2);
    await verifyPatternStream(await direct.reader('/blocks/cut'), 3 * MiB + 500, 6);
    const list = await rawContainer(container).getBlockBlobClient('blocks/cut').getBlockList('all');
    expect(list.committedBlocks?.length).toBe(4);
  });

  test('retries stay bounded: our retries only run where the SDK’s did not, so tries never multiply', async () => {
    // A caller's own container client keeps the SDK's pipeline, listings included.
    const throughSdk = newDriver(container, { client: new AzureBackend(driverOptions(container, { serviceUrl: proxy.endpoint })).container });
    const cut = proxy.inject({ kind: 'cut-after-headers' }, on.listing(), { times: 100 });
    expectRetryableAzureError(await failure(throughSdk.list('/listed')));
    expect(cut.hits).toBe(CORE_ATTEMPTS);
    cut.disarm();
    const reset = proxy.inject(RESET, on.listing(), { times: 100 });
    expectRetryableAzureError(await failure(throughSdk.list('/listed')));
    expect(reset.hits).toBe(SDK_TRIES);
  });

  test('on the direct path a listing is one request per try of ours: cut, reset or answered 503, it is tried 4 times, then fails retryable', async () => {
    const busy = { kind: 'answer', status: 503, body: '<?xml version="1.0"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>', headers: { 'x-ms-error-code': 'ServerBusy' } } as const;
    for (const fault of [{ kind: 'cut-after-headers' } as const, RESET, busy]) {
      const injected = proxy.inject(fault, on.listing(), { times: 100 });
      expectRetryableAzureError(await failure(faulty.list('/listed')));
      expect(injected.hits).toBe(CORE_ATTEMPTS);
      injected.disarm();
    }
    const once = proxy.inject(busy, on.listing(), { times: 1 });
    expect((await faulty.list('/listed')).sort()).toEqual(['/listed/a', '/listed/b', '/listed/e']);
    expect(once.hits).toBe(1);
  });
});

describe('the small-object path: Put Blob and Get Blob without the SDK pipeline (src/direct.ts)', () => {
  /** Records each request on `blob` (the SDK sends an x-ms-client-request-id with every request, the direct path does not); injects nothing. */
  function watch(blob: string): { method: string; query: string; sdk: boolean }[] {
    const seen: { method: string; query: string; sdk: boolean }[] = [];
    proxy.inject(RESET, (r) => {
      if (blobOf(r) === blob) seen.push({ method: r.method, query: new URL(r.url, 'https://proxy').search, sdk: r.headers['x-ms-client-request-id'] !== undefined });
      return false;
    }, { times: Infinity });
    return seen;
  }

  test('putContent and getContent are one signed request each, the stored bytes and content type exact; custom metadata goes through the SDK', async () => {
    const data = patternBytes(100_000, 7);
    const seen = watch('small/direct');
    await faulty.putContent('/small/direct', data, { contentType: 'text/plain', cacheControl: 'no-cache' });
    expect((await faulty.getContent('/small/direct')).equals(data)).toBe(true);
    expect((await faulty.getContent('/small/direct', { offset: 99_990, length: 10 })).equals(data.subarray(99_990))).toBe(true);
    expect(seen).toEqual([{ method: 'PUT', query: '', sdk: false }, { method: 'GET', query: '', sdk: false }, { method: 'GET', query: '', sdk: false }]);
    const properties = await rawContainer(container).getBlobClient('small/direct').getProperties();
    expect(properties).toMatchObject({ blobType: 'BlockBlob', contentLength: 100_000, contentType: 'text/plain', cacheControl: 'no-cache' });
    seen.length = 0;
    await faulty.putContent('/small/direct', data, { metadata: { owner: 'a' } });
    expect(seen).toEqual([{ method: 'PUT', query: '', sdk: true }]);
    expect((await direct.stat('/small/direct')).metadata).toEqual({ owner: 'a' });
  });

  test('a Put Blob answered 503 is sent again (the same bytes); 503 on every try fails retryable after the SDK’s number of tries', async () => {
    const busy = { kind: 'answer', status: 503, body: '<?xml version="1.0"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>', headers: { 'x-ms-error-code': 'ServerBusy' } } as const;
    const twice = proxy.inject(busy, on.putBlob('small/busy'), { times: 2 });
    await faulty.putContent('/small/busy', patternBytes(4096, 8));
    expect(twice.hits).toBe(2);
    expect((await direct.getContent('/small/busy')).equals(patternBytes(4096, 8))).toBe(true);
    const always = proxy.inject(busy, on.putBlob('small/busy'), { times: 100 });
    const error = await failure(faulty.putContent('/small/busy', patternBytes(4096, 9)));
    expectRetryableAzureError(error);
    expect((error as Error).message).toContain('busy');
    expect(always.hits).toBe(SDK_TRIES);
  });

  test('a Get Blob answered 503 is sent again by getContent and reader alike; 503 on every try fails retryable after core’s number of tries', async () => {
    const busy = { kind: 'answer', status: 503, body: '<?xml version="1.0"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>', headers: { 'x-ms-error-code': 'ServerBusy' } } as const;
    await direct.putContent('/small/busy-read', patternBytes(4096, 10));
    const content = proxy.inject(busy, on.download('small/busy-read'), { times: 1 });
    expect((await faulty.getContent('/small/busy-read')).equals(patternBytes(4096, 10))).toBe(true);
    expect(content.hits).toBe(1);
    const reader = proxy.inject(busy, on.download('small/busy-read'), { times: 1 });
    expect((await readAll(await faulty.reader('/small/busy-read'))).equals(patternBytes(4096, 10))).toBe(true);
    expect(reader.hits).toBe(1);
    const always = proxy.inject(busy, on.download('small/busy-read'), { times: 100 });
    expectRetryableAzureError(await failure(faulty.getContent('/small/busy-read')));
    expect(always.hits).toBe(CORE_ATTEMPTS);
  });

  test('listings are signed requests without the SDK, a page per request, each later page asking from the marker the one before gave', async () => {
    const names = ['a', 'b/c', 'b-d', 'b.e', 'b_f', 'B', 'g/h/i', 'g/j', '0'];
    await Promise.all(names.map((name, i) => direct.putContent(`/paged/${name}`, patternBytes(i + 1, i))));
    const seen: URLSearchParams[] = [];
    let sdk = 0;
    proxy.inject(RESET, (r) => {
      if (on.listing()(r)) seen.push(new URL(r.url, 'https://proxy').searchParams);
      if (on.listing()(r) && r.headers['x-ms-client-request-id'] !== undefined) sdk++;
      return false;
    }, { times: Infinity });
    const paged: Array<{ path: string; size: number }> = [];
    let cursor: string | undefined;
    do {
      const page = await faulty.listPage('/paged', { limit: 2, cursor, recursive: true });
      paged.push(...page.entries.filter((entry) => !entry.isDir).map((entry) => ({ path: entry.path, size: entry.size })));
      cursor = page.cursor;
    } while (cursor !== undefined);
    const files = names.map((name, i) => ({ path: `/paged/${name}`, size: i + 1 })).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
    expect(paged).toEqual(files);
    expect(sdk).toBe(0);
    expect(seen.length).toBeGreaterThanOrEqual(names.length / 2);
    expect(seen.every((query) => query.get('prefix') === 'paged/' && query.get('maxresults') === '2')).toBe(true);
    expect(seen[0]!.get('marker')).toBeNull();
    expect(seen.slice(1).every((query) => (query.get('marker') ?? '') !== '')).toBe(true);
  });

  test('a Get Blob of a missing blob is PathNotFound, a range past the end InvalidOffset', async () => {
    await expect(faulty.getContent('/small/missing')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND', path: '/small/missing' });
    await faulty.putContent('/small/range', patternBytes(10, 1));
    await expect(faulty.getContent('/small/range', { offset: 5, length: 6 })).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
  });
});

test('a commit whose answer was lost fails retryable; commit again succeeds with the exact content, and a new append continues it', async () => {
  const size = 2 * MiB + 99;
  const lost = proxy.inject({ kind: 'drop-response' }, on.commit('commit/lost'), { times: SDK_TRIES });
  const writer = await faulty.writer('/commit/lost');
  await writer.write(patternBytes(size, 7));
  expectRetryableAzureError(await failure(writer.commit()));
  // Every try reached Azurite and was applied; only the answers were lost.
  expect(lost.hits).toBe(SDK_TRIES);
  await writer.commit();
  await verifyPatternStream(await direct.reader('/commit/lost'), size, 7);

  const more = await newDriver(container, { blockSize: MiB }).writer('/commit/lost', { append: true });
  expect(more.size).toBe(size);
  await more.write(patternBytes(MiB + 1, 7, size));
  await more.commit();
  await verifyPatternStream(await direct.reader('/commit/lost'), size + MiB + 1, 7);
  expect((await rawContainer(container).getBlockBlobClient('commit/lost').getBlockList('uncommitted')).uncommittedBlocks).toEqual([]);
});

test('a create-only put or commit whose answer was lost recognises its own blob on the next try: success, not PreconditionFailed', async () => {
  // One answer lost: the SDK's next try meets the blob its first try made (409), whose block list is this upload's.
  const once = proxy.inject({ kind: 'drop-response' }, on.commit('conditional/put'), { times: 1 });
  const data = patternBytes(3000, 15);
  await faulty.putContent('/conditional/put', data, { ifNoneMatch: '*', contentType: 'text/plain' });
  expect(once.hits).toBe(1);
  expect((await direct.getContent('/conditional/put')).equals(data)).toBe(true);
  expect(await direct.stat('/conditional/put')).toMatchObject({ contentType: 'text/plain' });

  // Every answer lost: a retryable failure; the commit called again succeeds.
  const size = 2 * MiB + 3;
  const lost = proxy.inject({ kind: 'drop-response' }, on.commit('conditional/writer'), { times: SDK_TRIES });
  const writer = await faulty.writer('/conditional/writer', { metadata: { k: 'v' } });
  await writer.write(patternBytes(size, 16));
  expectRetryableAzureError(await failure(writer.commit({ ifNoneMatch: '*' })));
  expect(lost.hits).toBe(SDK_TRIES);
  await writer.commit({ ifNoneMatch: '*' });
  await verifyPatternStream(await direct.reader('/conditional/writer'), size, 16);
  expect((await direct.stat('/conditional/writer')).metadata).toEqual({ k: 'v' });
  // Anyone else's create-only write is still refused.
  await expect(faulty.putContent('/conditional/writer', 'x', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
});

describe('an abort rejects at once with the caller’s reason, stops the I/O and leaves nothing visible', () => {
  /** Aborts `start` once its request is stalled at the proxy; `path` (if given) must hold no object afterwards. */
  async function abortWhileStalled(path: string | undefined, fault: Injection, start: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const pending = start(controller.signal);
    pending.catch(() => undefined);
    await within(fault.hit, 10_000, 'the request reaching the proxy');
    const aborted = Date.now();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - aborted).toBeLessThan(200);
    // The SDK call had the signal: its connection closes.
    await within(fault.clientGone, 2000, 'the SDK closing the connection');
    if (path !== undefined) await expect(direct.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  }

  test('putContent', async () => {
    const fault = proxy.inject({ kind: 'stall-request' }, on.putBlob('abort/put'));
    await abortWhileStalled('/abort/put', fault, (signal) => faulty.putContent('/abort/put', patternBytes(200_000, 8), { signal }));
  });

  test('write', async () => {
    const driver = newDriver(container, { serviceUrl: proxy.endpoint, blockSize: MiB, uploadConcurrency: 1 });
    const fault = proxy.inject({ kind: 'stall-request' }, on.stageBlock('abort/write'));
    const writer = await driver.writer('/abort/write');
    // With one block in flight, the second block waits for the first: the write stays pending.
    await abortWhileStalled('/abort/write', fault, (signal) => writer.write(patternBytes(2 * MiB + 1, 9), { signal }));
    await writer.cancel();
  });

  test('commit, which then succeeds when called again', async () => {
    const size = 2 * MiB + 5;
    // Stall only the 5-byte tail block, which the commit stages.
    const fault = proxy.inject({ kind: 'stall-request' }, (r) => on.stageBlock('abort/commit')(r) && r.headers['content-length'] === '5');
    const writer = await faulty.writer('/abort/commit');
    await writer.write(patternBytes(size, 12));
    await abortWhileStalled('/abort/commit', fault, (signal) => writer.commit({ signal }));
    await writer.commit();
    await verifyPatternStream(await direct.reader('/abort/commit'), size, 12);
  });

  test('getContent', async () => {
    await direct.putContent('/abort/get', patternBytes(100_000, 10));
    const fault = proxy.inject({ kind: 'stall-request' }, on.download('abort/get'));
    await abortWhileStalled(undefined, fault, (signal) => faulty.getContent('/abort/get', { signal }));
  });

  test('reader mid-body', async () => {
    await direct.putContent('/abort/reader', patternBytes(2 * MiB, 11));
    const fault = proxy.inject({ kind: 'stall', afterBytes: 500_000 }, on.download('abort/reader'));
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const stream: Readable = await faulty.reader('/abort/reader', 0, { signal: controller.signal });
    let received = 0;
    let onData!: () => void;
    const halfway = new Promise<void>((resolve) => (onData = resolve));
    const consumed = (async () => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received >= 500_000) onData();
      }
    })();
    consumed.catch(() => undefined);
    await within(halfway, 10_000, 'the first 500 000 bytes');
    const aborted = Date.now();
    controller.abort(reason);
    await expect(consumed).rejects.toBe(reason);
    expect(Date.now() - aborted).toBeLessThan(200);
    expect(received).toBe(500_000);
    await within(fault.clientGone, 2000, 'the SDK closing the connection');
  });
});
