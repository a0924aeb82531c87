/**
 * Transport faults against the real gateway, injected by a proxy in front of it: failed and lost
 * commits stay resumable and idempotent, cut reads resume on the same version, resets surface as
 * retryable typed errors, aborts stop the transfer.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { PreconditionFailedError, StorageDriverError, type StorageDriver } from '@storagedriver/core';
import { patternBytes, verifyPatternStream } from '@storagedriver/testsuite';

import { FaultProxy, isComplete, isGetOf, isUploadPart } from './support/fault-proxy.js';
import { connection, createBucket, newDriver, rawClient } from './support/server.js';

const MiB = 1024 * 1024;
const NO_SUCH_UPLOAD = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message></Message></Error>';
let bucket: string;
let proxy: FaultProxy;
const raw = rawClient();

beforeAll(async () => {
  bucket = await createBucket('faults');
  proxy = await FaultProxy.start(connection().endpoint);
});

afterAll(async () => {
  await proxy.close();
});

afterEach(() => {
  proxy.clear();
});

/** A driver whose every request goes through the proxy. */
function viaProxy(): StorageDriver {
  return newDriver(bucket, { regionEndpoint: proxy.url });
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
    proxy.add((req) => isUploadPart(req) && /[?&]partNumber=3(&|$)/.test(req.url!), { kind: 'reset' }, 100);
    await writer.write(patternBytes(size, 21)); // parts 1 and 2 go while writing; 2 MiB + 3 wait for commit
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', retryable: true });
    expect(await uploadsInProgress(path.slice(1))).toEqual([path.slice(1)]);
    proxy.clear();
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
    proxy.add(isComplete, { kind: 'reset' }, 100);
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', retryable: true });
    proxy.clear();
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

describe('a commit whose answer was lost', () => {
  /** The server applies CompleteMultipartUpload but the client never hears it; the SDK's own retries are reset. */
  function loseCompleteAnswers(): void {
    proxy.add(isComplete, { kind: 'lose-answer' }, 1);
    proxy.add(isComplete, { kind: 'reset' }, 100);
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
      loseCompleteAnswers();
      await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
      expect(proxy.applied.get('lose-answer')).toBe(1);
      proxy.clear();
      proxy.add(isComplete, { kind: 'answer', status: 404, body: NO_SUCH_UPLOAD }, 1);
      await writer.commit();
      expect(proxy.applied.get('answer')).toBe(1);
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
    proxy.clear();
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
    proxy.add(isComplete, { kind: 'answer', status: 404, body: NO_SUCH_UPLOAD }, 1);
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR', message: 's3: NoSuchUpload (HTTP 404)', cause: { name: 'NoSuchUpload' } });
    expect((await newDriver(bucket).getContent(path)).toString()).toBe('someone else');
    await writer.cancel();
  });
});

describe('reads cut mid-body', () => {
  const size = 3 * MiB + 17;

  test('resume from the last byte delivered: reader (SDK), reader from an offset, getContent (direct path)', async () => {
    const path = '/cut/blob';
    await newDriver(bucket).putContent(path, patternBytes(size, 40));
    proxy.add(isGetOf('cut/blob'), { kind: 'cut-body', after: MiB + 5 }, 1);
    await verifyPatternStream(await viaProxy().reader(path), size, 40);
    proxy.add(isGetOf('cut/blob'), { kind: 'cut-body', after: 70_001 }, 1);
    expect((await readAll(viaProxy(), path, MiB)).equals(patternBytes(size, 40).subarray(MiB))).toBe(true);
    proxy.add(isGetOf('cut/blob'), { kind: 'cut-body', after: 2 * MiB }, 1);
    expect((await viaProxy().getContent(path)).equals(patternBytes(size, 40))).toBe(true);
    expect(proxy.applied.get('cut-body')).toBe(3);
  });

  test.each(['reader', 'getContent'] as const)('%s: an object replaced between the cut and the resume is PreconditionFailedError', async (how) => {
    const path = `/cut/replaced-${how}`;
    await newDriver(bucket).putContent(path, patternBytes(size, 41));
    proxy.add(isGetOf(path.slice(1)), { kind: 'cut-body', after: MiB }, 1);
    proxy.add(isGetOf(path.slice(1)), { kind: 'before', run: () => newDriver(bucket).putContent(path, patternBytes(size, 42)) }, 1);
    const driver = viaProxy();
    const read = how === 'reader' ? readAll(driver, path) : driver.getContent(path);
    await expect(read).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(read).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', driverName: 's3', path });
    expect(proxy.applied.get('before')).toBe(1);
  });
});

test('reset connections reach putContent and commit callers as retryable StorageDriverErrors of s3', async () => {
  proxy.add(() => true, { kind: 'reset' }, 1000);
  const driver = viaProxy();
  const writer = await driver.writer('/reset/blob');
  await writer.write(patternBytes(1000, 50));
  for (const attempt of [driver.putContent('/reset/file', 'x'), writer.commit()]) {
    const error = await attempt.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageDriverError);
    expect(error).toMatchObject({ retryable: true, driverName: 's3' });
  }
});

test('getContent aborted mid-body rejects with the reason at once and the transfer stops', async () => {
  const path = '/abort/large';
  const writer = await newDriver(bucket).writer(path);
  await writer.write(patternBytes(16 * MiB, 60));
  await writer.commit();
  proxy.add(isGetOf('abort/large'), { kind: 'stall-body', after: MiB }, 1);
  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  const read = viaProxy().getContent(path, { signal: controller.signal });
  read.catch(() => undefined);
  for (let tries = 0; proxy.stallClosed(0) === undefined; tries++) {
    if (tries > 500) throw new Error('the body never started');
    await sleep(10);
  }
  await sleep(50); // the first MiB is on its way
  const abortedAt = Date.now();
  controller.abort(reason);
  await expect(read).rejects.toBe(reason);
  expect(Date.now() - abortedAt).toBeLessThan(200);
  // The signal reached the HTTP request: its connection is closed, not left to drain.
  const closedAt = await proxy.stallClosed(0)!;
  expect(closedAt - abortedAt).toBeLessThan(1000);
});
