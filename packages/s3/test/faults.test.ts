/**
 * Transport faults against the real gateway, injected by a proxy in front of it: failed and lost
 * commits stay resumable and idempotent, cut reads resume on the same version, resets surface as
 * retryable typed errors, aborts stop the transfer.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { PreconditionFailedError, StorageDriverError, type StorageDriver } from '@storagedriver/core';
import { FaultProxy, type Injection, patternBytes, type RequestView, verifyPatternStream } from '@storagedriver/testsuite';

import { connection, createBucket, newDriver, rawClient } from './support/server.js';

const MiB = 1024 * 1024;
/** What AWS answers a Complete of an upload it no longer knows. */
const NO_SUCH_UPLOAD = {
  kind: 'answer',
  status: 404,
  headers: { 'content-type': 'application/xml' },
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message></Message></Error>',
} as const;
let bucket: string;
let proxy: FaultProxy;
const raw = rawClient();

beforeAll(async () => {
  bucket = await createBucket('faults');
  proxy = await FaultProxy.start({ upstream: connection().endpoint });
});

afterAll(async () => {
  await proxy.close();
});

afterEach(() => {
  proxy.clearInjections();
});

/** The request completes a multipart upload (POST ?uploadId=…). */
const isComplete = ({ method, url }: RequestView): boolean => method === 'POST' && /[?&]uploadId=/.test(url);
/** The request uploads a part (PUT ?partNumber=…&uploadId=…). */
const isUploadPart = ({ method, url }: RequestView): boolean => method === 'PUT' && /[?&]partNumber=/.test(url);
/** A GET of the object whose key ends with `keySuffix`. */
const isGetOf = (keySuffix: string) => ({ method, url }: RequestView): boolean => method === 'GET' && url.split('?')[0]!.endsWith(`/${keySuffix}`);
/** Resets the connection as the request arrives: nothing reaches the gateway. */
const RESET = { kind: 'reset-request', afterBytes: 0 } as const;

/** A driver whose every request goes through the proxy. */
function viaProxy(): StorageDriver {
  return newDriver(bucket, { regionEndpoint: proxy.endpoint });
}

async function uploadsInProgress(prefix: string): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

async function readAll(driver: StorageDriver, path: string, offset = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await driver.reader(path, offset)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('a failed commit leaves the upload resumable', () => {
  test.each(['the same writer', 'a new instance'])('the final part failing: %s completes the upload byte-exact', async (who) => {
    const path = `/failed-part/${who.replace(/ /g, '-')}`;
    const size = 12 * MiB + 3;
    const writer = await viaProxy().writer(path);
    proxy.inject(RESET, (req) => isUploadPart(req) && /[?&]partNumber=3(&|$)/.test(req.url), { times: 100 });
    await writer.write(patternBytes(size, 21)); // parts 1 and 2 go while writing; 2 MiB + 3 wait for commit
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', retryable: true });
    expect(await uploadsInProgress(path.slice(1))).toEqual([path.slice(1)]);
    proxy.clearInjections();
    if (who === 'the same writer') {
      await writer.commit(); // the final bytes were kept for it
    } else {
      const resumed = await newDriver(bucket).writer(path, { append: true });
      expect(resumed.size).toBe(10 * MiB); // the last whole part; the caller sends the rest again
      await resumed.write(patternBytes(2 * MiB + 3, 21, 10 * MiB));
      await resumed.commit();
    }
    await verifyPatternStream(await newDriver(bucket).reader(path), size, 21);
    expect(await uploadsInProgress(path.slice(1))).toEqual([]);
  });

  test.each(['the same writer', 'a new instance'])('CompleteMultipartUpload failing: %s completes it byte-exact', async (who) => {
    const path = `/failed-complete/${who.replace(/ /g, '-')}`;
    const size = 7 * MiB + 5;
    const writer = await viaProxy().writer(path);
    await writer.write(patternBytes(size, 22));
    proxy.inject(RESET, isComplete, { times: 100 });
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', retryable: true });
    proxy.clearInjections();
    expect(await uploadsInProgress('failed-complete/')).toHaveLength(1);
    if (who === 'the same writer') {
      await writer.commit();
    } else {
      // Every byte is in the upload, the last part short: it can be committed, not extended.
      const extending = await newDriver(bucket).writer(path, { append: true });
      expect(extending.size).toBe(size);
      await expect(extending.write('more')).rejects.toThrow(/short part/);
      const resumed = await newDriver(bucket).writer(path, { append: true });
      expect(resumed.size).toBe(size);
      await resumed.commit();
    }
    await verifyPatternStream(await newDriver(bucket).reader(path), size, 22);
    expect(await uploadsInProgress('failed-complete/')).toEqual([]);
  });
});

test('a CompleteMultipartUpload never answered (an SDK request) is given up after 30 s and sent again: the commit succeeds byte-exact', async () => {
  const path = '/unanswered/commit';
  const size = 6 * MiB + 7;
  const writer = await viaProxy().writer(path);
  await writer.write(patternBytes(size, 40));
  const held = proxy.inject({ kind: 'stall-request' }, isComplete);
  const started = performance.now();
  await writer.commit();
  expect(performance.now() - started).toBeGreaterThanOrEqual(29_000);
  expect(held.hits).toBe(1);
  await verifyPatternStream(await newDriver(bucket).reader(path), size, 40);
  expect(await uploadsInProgress('unanswered/')).toEqual([]);
}, 120_000);

test('a CompleteMultipartUpload and a DeleteObjects whose answers stop after 64 bytes of their body (SDK requests) are given up after the answer bound and sent again', async () => {
  // Not shorter: a bound a CreateMultipartUpload outlasts sends it again, leaving the first upload behind.
  const driver = newDriver(bucket, { regionEndpoint: proxy.endpoint, answerTimeoutMs: 2000 });
  const size = 6 * MiB + 7;
  const writer = await driver.writer('/stalled/commit');
  await writer.write(patternBytes(size, 41));
  const isDeleteObjects = ({ method, url }: RequestView): boolean => method === 'POST' && /[?&]delete(=|&|$)/.test(url);
  const stalledComplete = proxy.inject({ kind: 'stall', afterBytes: 64 }, isComplete);
  const started = performance.now();
  await writer.commit();
  await verifyPatternStream(await newDriver(bucket).reader('/stalled/commit'), size, 41);
  await Promise.all(['a', 'b'].map((name) => driver.putContent(`/stalled/${name}`, name)));
  const stalledDelete = proxy.inject({ kind: 'stall', afterBytes: 64 }, isDeleteObjects);
  await driver.delete('/stalled');
  // Each: the bound (two seconds, checked four times a second) and the SDK's back-off; the test's own limit otherwise.
  expect(performance.now() - started).toBeLessThan(30_000);
  expect([stalledComplete.hits, stalledDelete.hits]).toEqual([1, 1]);
  await expect(newDriver(bucket).list('/stalled')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
}, 60_000);

describe('a commit whose answer was lost', () => {
  /** The server applies CompleteMultipartUpload but the client never hears it; the SDK's own retries are reset. */
  function loseCompleteAnswers(): Injection {
    const lost = proxy.inject({ kind: 'drop-response' }, isComplete);
    proxy.inject(RESET, isComplete, { times: 100 });
    return lost;
  }

  test('succeeds when retried, for a writer that created the upload and for one that resumed it', async () => {
    // Ceph answers a repeated Complete with 200; AWS forgets a completed upload (NoSuchUpload), as the proxy answers here.
    for (const [i, resume] of [false, true].entries()) {
      const path = `/lost-answer/${resume ? 'resumed' : 'created'}`;
      let writer;
      if (resume) {
        const first = await newDriver(bucket).writer(path);
        await first.write(patternBytes(6 * MiB + 1, 30 + i));
        await first.close();
        writer = await viaProxy().writer(path, { append: true });
        await writer.write(patternBytes(MiB, 30 + i, 6 * MiB + 1));
      } else {
        writer = await viaProxy().writer(path);
        await writer.write(patternBytes(7 * MiB + 1, 30 + i));
      }
      const lost = loseCompleteAnswers();
      await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
      expect(lost.hits).toBe(1);
      proxy.clearInjections();
      const answered = proxy.inject(NO_SUCH_UPLOAD, isComplete);
      await writer.commit();
      expect(answered.hits).toBe(1);
      await verifyPatternStream(await newDriver(bucket).reader(path), 7 * MiB + 1, 30 + i);
    }
    expect(await uploadsInProgress('lost-answer/')).toEqual([]);
  });

  test('a new instance appending to the committed content continues it', async () => {
    const path = '/lost-answer/then-append';
    const writer = await viaProxy().writer(path);
    await writer.write(patternBytes(6 * MiB + 9, 32));
    loseCompleteAnswers();
    await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
    proxy.clearInjections();
    // The caller thinks the commit failed and commits again from a new instance, with nothing more to add.
    const again = await newDriver(bucket).writer(path, { append: true });
    expect(again.size).toBe(6 * MiB + 9);
    await again.commit();
    await verifyPatternStream(await newDriver(bucket).reader(path), 6 * MiB + 9, 32);
    const more = await newDriver(bucket).writer(path, { append: true });
    await more.write(patternBytes(MiB, 32, 6 * MiB + 9));
    await more.commit();
    await verifyPatternStream(await newDriver(bucket).reader(path), 7 * MiB + 9, 32);
  });

  test('NoSuchUpload with another object at the key is a failure, not a false success', async () => {
    const path = '/lost-answer/other-content';
    const writer = await viaProxy().writer(path);
    await writer.write(patternBytes(MiB, 33));
    await newDriver(bucket).putContent(path, 'someone else');
    proxy.inject(NO_SUCH_UPLOAD, isComplete);
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', message: expect.stringMatching(/^s3: CompleteMultipartUpload of lost-answer\/other-content in bucket \S+: NoSuchUpload \(HTTP 404\)/), cause: { name: 'NoSuchUpload' } });
    expect((await newDriver(bucket).getContent(path)).toString()).toBe('someone else');
    await writer.cancel();
  });
});

describe('reads cut mid-body', () => {
  const size = 3 * MiB + 17;

  test('resume from the last byte delivered: reader, reader from an offset, getContent', async () => {
    const path = '/cut/blob';
    await newDriver(bucket).putContent(path, patternBytes(size, 40));
    const cuts = [
      proxy.inject({ kind: 'reset-response', afterBytes: MiB + 5 }, isGetOf('cut/blob')),
    ];
    await verifyPatternStream(await viaProxy().reader(path), size, 40);
    cuts.push(proxy.inject({ kind: 'reset-response', afterBytes: 70_001 }, isGetOf('cut/blob')));
    expect((await readAll(viaProxy(), path, MiB)).equals(patternBytes(size, 40).subarray(MiB))).toBe(true);
    cuts.push(proxy.inject({ kind: 'reset-response', afterBytes: 2 * MiB }, isGetOf('cut/blob')));
    expect((await viaProxy().getContent(path)).equals(patternBytes(size, 40))).toBe(true);
    expect(cuts.map((cut) => cut.hits)).toEqual([1, 1, 1]);
  });

  test('a ranged read is one GET of exactly the range; cut, it resumes from the byte delivered to the same end', async () => {
    const path = '/cut/ranged';
    await newDriver(bucket).putContent(path, patternBytes(size, 43));
    const ranges: string[] = [];
    // Registered first and never claiming: sees every request.
    const record = (view: RequestView): boolean => {
      if (isGetOf('cut/ranged')(view)) ranges.push(String(view.headers.range));
      return false;
    };
    proxy.inject({ kind: 'none' }, record, { times: Infinity });
    const cut = proxy.inject({ kind: 'reset-response', afterBytes: MiB }, isGetOf('cut/ranged'));
    const [offset, length] = [100_003, 2 * MiB + 11];
    const chunks: Buffer[] = [];
    for await (const chunk of await viaProxy().reader(path, offset, { length })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(patternBytes(size, 43).subarray(offset, offset + length))).toBe(true);
    expect(cut.hits).toBe(1);
    const end = offset + length - 1;
    expect(ranges).toEqual([`bytes=${offset}-${end}`, expect.stringMatching(new RegExp(`^bytes=\\d+-${end}$`))]);
    expect(Number(/=(\d+)-/.exec(ranges[1]!)![1])).toBeGreaterThan(offset);
  });

  test.each(['reader', 'getContent'] as const)('%s: an object replaced between the cut and the resume is PreconditionFailedError', async (how) => {
    const path = `/cut/replaced-${how}`;
    await newDriver(bucket).putContent(path, patternBytes(size, 41));
    proxy.inject({ kind: 'reset-response', afterBytes: MiB }, isGetOf(path.slice(1)));
    const replaced = proxy.inject({ kind: 'none' }, isGetOf(path.slice(1)), { before: () => newDriver(bucket).putContent(path, patternBytes(size, 42)) });
    const driver = viaProxy();
    const read = how === 'reader' ? readAll(driver, path) : driver.getContent(path);
    await expect(read).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(read).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', driverName: 's3', path });
    expect(replaced.hits).toBe(1);
  });
});

test('reset connections reach putContent and commit callers as retryable StorageDriverErrors of s3', async () => {
  proxy.inject(RESET, () => true, { times: 1000 });
  const driver = viaProxy();
  const writer = await driver.writer('/reset/blob');
  await writer.write(patternBytes(1000, 50));
  for (const attempt of [driver.putContent('/reset/file', 'x'), writer.commit()]) {
    const error = await attempt.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageDriverError);
    expect(error).toMatchObject({ retryable: true, driverName: 's3' });
  }
});

test.each(['putContent', 'stat'] as const)('%s aborted while the gateway has not answered rejects with the reason at once and closes the connection', async (call) => {
  const path = `/abort/unanswered-${call}`;
  // The request is fully sent before the wait: the abort must still reach it, not only a request being written.
  const stall = proxy.inject({ kind: 'stall-request' }, ({ url }) => url.split('?')[0]!.endsWith(path));
  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  const driver = viaProxy();
  const pending = call === 'putContent' ? driver.putContent(path, patternBytes(4096, 61), { signal: controller.signal }) : driver.stat(path, { signal: controller.signal });
  pending.catch(() => undefined);
  await stall.hit;
  await sleep(50);
  const abortedAt = Date.now();
  controller.abort(reason);
  await expect(pending).rejects.toBe(reason);
  await stall.clientGone;
  expect(Date.now() - abortedAt).toBeLessThan(1000);
});

test('getContent aborted mid-body rejects with the reason at once and the transfer stops', async () => {
  const path = '/abort/large';
  const writer = await newDriver(bucket).writer(path);
  await writer.write(patternBytes(16 * MiB, 60));
  await writer.commit();
  const stall = proxy.inject({ kind: 'stall', afterBytes: MiB }, isGetOf('abort/large'));
  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  const read = viaProxy().getContent(path, { signal: controller.signal });
  read.catch(() => undefined);
  const stalled = await stall.hit;
  for (let tries = 0; stalled.responseBytes < MiB; tries++) {
    if (tries > 500) throw new Error('the body never started');
    await sleep(10);
  }
  await sleep(50); // the first MiB is on its way
  const abortedAt = Date.now();
  controller.abort(reason);
  await expect(read).rejects.toBe(reason);
  expect(Date.now() - abortedAt).toBeLessThan(200);
  // The signal reached the HTTP request: its connection is closed, not left to drain.
  await stall.clientGone;
  expect(Date.now() - abortedAt).toBeLessThan(1000);
});

describe('listing pages (ListObjectsV2 on the direct path)', () => {
  const isListing = ({ method, url }: RequestView): boolean => method === 'GET' && /[?&]list-type=2/.test(url) && url.includes('listed');

  test('a page cut mid-body is requested again, and the walk sees every entry once', async () => {
    const paths = Array.from({ length: 30 }, (_, i) => `/listed/d${i % 3}/f${i}`);
    await Promise.all(paths.map((path) => newDriver(bucket).putContent(path, path)));
    const cut = proxy.inject({ kind: 'reset-response', afterBytes: 500 }, isListing);
    const walked: string[] = [];
    await viaProxy().walk('/listed', (info) => void (info.isDir || walked.push(info.path)));
    expect((await cut.hit).responseBytes).toBe(500);
    expect(walked.sort()).toEqual([...paths].sort());
  });

  test('a walk aborted while its page arrives rejects with the reason at once and the listing\'s connection closes', async () => {
    const stall = proxy.inject({ kind: 'stall', afterBytes: 200 }, isListing);
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const walk = viaProxy().walk('/listed', () => undefined, { signal: controller.signal });
    walk.catch(() => undefined);
    await stall.hit;
    await sleep(50);
    const abortedAt = Date.now();
    controller.abort(reason);
    await expect(walk).rejects.toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(200);
    // The signal reached the page's request: the stalled answer is abandoned, not held open.
    const closed = await Promise.race([stall.clientGone.then(() => true), sleep(2000).then(() => false)]);
    expect(closed).toBe(true);
  });
});
