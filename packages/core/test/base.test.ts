
import { pipeline } from 'node:stream/promises';

import {
  BaseDriver,
  ConcurrencyLimiter,
  DriverError,
  DriverNotRegisteredError,
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  PartUploader,
  applyMiddleware,
  create,
  register,
  registeredDrivers,
  unregister,
  walkEntries,
} from '../src/index.js';
import { MapBackend } from './fixtures.js';

describe('BaseDriver', () => {
  test('invalid arguments are rejected before the backend runs', async () => {
    const backend = new MapBackend();
    const driver = new BaseDriver(backend);
    await expect(driver.putContent('/a/../b', 'x')).rejects.toBeInstanceOf(InvalidPathError);
    await expect(driver.reader('bad path', -1)).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.delete('/')).rejects.toBeInstanceOf(InvalidPathError);
    expect(backend.calls).toEqual([]);
  });

  test('typed errors gain the driver name; unknown errors become DriverError with cause; aborts pass through', async () => {
    const backend = new MapBackend();
    const driver = new BaseDriver(backend);
    const missing = await driver.getContent('/nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PathNotFoundError);
    expect((missing as PathNotFoundError).message).toBe('map: Path not found: /nope');
    const cause = new Error('ECONNRESET');
    backend.stat = async () => Promise.reject(cause);
    const wrapped = await driver.stat('/x').catch((e: unknown) => e);
    expect(wrapped).toBeInstanceOf(DriverError);
    expect((wrapped as DriverError).cause).toBe(cause);
    expect((wrapped as DriverError).message).toBe('map: ECONNRESET');
    const aborted = await driver.stat('/x', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((aborted as Error).name).toBe('AbortError');
  });

  test('a writer that opens after its caller aborted is cancelled, not left staged', async () => {
    const backend = new MapBackend();
    let opened!: () => void;
    const cancelled: string[] = [];
    const open = backend.writer.bind(backend);
    backend.writer = async (path) => {
      await new Promise<void>((resolve) => (opened = resolve));
      const writer = await open(path);
      return { ...writer, size: 0, cancel: async () => void cancelled.push(path) };
    };
    const driver = new BaseDriver(backend);
    const controller = new AbortController();
    const writer = driver.writer('/staged', { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('gone'));
    await expect(writer).rejects.toThrow('gone');
    expect(cancelled).toEqual([]);
    opened();
    for (let i = 0; i < 10 && cancelled.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(cancelled).toEqual(['/staged']);
  });

  test('the concurrency limit holds backend calls to the configured number', async () => {
    const backend = new MapBackend(['/a']);
    let active = 0;
    let peak = 0;
    backend.getContent = async () => {
      peak = Math.max(peak, ++active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return Buffer.from('a');
    };
    const driver = new BaseDriver(backend, { maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 20 }, () => driver.getContent('/a')));
    expect(peak).toBe(3);
  });

  test('redirectURL is undefined for backends without it and for methods other than GET and HEAD', async () => {
    const driver = new BaseDriver(new MapBackend(['/a']));
    expect(await driver.redirectURL('/a', { method: 'GET' })).toBeUndefined();
  });

  test('a writer is usable as a Writable in stream.pipeline; commit happens once', async () => {
    const backend = new MapBackend();
    const driver = new BaseDriver(backend);
    const writer = await driver.writer('/w');
    await pipeline(
      (async function* () {
        yield Buffer.from('hello ');
        yield Buffer.from('world');
      })(),
      writer.writable(),
    );
    expect(writer.size).toBe(11);
    await writer.commit();
    expect(backend.files.get('/w')?.toString()).toBe('hello world');
    await expect(writer.commit()).resolves.toBeUndefined(); // idempotent
  });

  test('walkEntries stops the walk when the loop is left', async () => {
    const backend = new MapBackend(['/a/1', '/a/2', '/b/1', '/c/1']);
    const seen: string[] = [];
    for await (const info of walkEntries(new BaseDriver(backend), '/')) {
      seen.push(info.path);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['/a', '/a/1']);
    expect(backend.calls.filter((c) => c.startsWith('list'))).toEqual(['list /', 'list /a']);
  });
});

describe('factory', () => {
  afterEach(() => {
    unregister('test-a');
  });

  test('register, list and create; create wraps a bare backend in BaseDriver', async () => {
    register('test-a', () => new MapBackend(['/x']), { owner: 'tests' });
    expect(registeredDrivers()).toContain('test-a');
    const driver = await create('test-a');
    expect(driver).toBeInstanceOf(BaseDriver);
    await expect(driver.getContent('../x')).rejects.toBeInstanceOf(InvalidPathError);
  });

  test('empty names and names taken by another owner are errors; the same owner may register again', () => {
    expect(() => register('', () => new MapBackend())).toThrow(/non-empty name/);
    register('test-a', () => new MapBackend(), { owner: 'one' });
    expect(() => register('test-a', () => new MapBackend(), { owner: 'two' })).toThrow('a storage driver named "test-a" is already registered by one');
    expect(() => register('test-a', () => new MapBackend(), { owner: 'one' })).not.toThrow();
  });

  test('an unknown name is DriverNotRegisteredError naming the registered drivers', async () => {
    register('test-a', () => new MapBackend(), { owner: 'tests' });
    const error = await create('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverNotRegisteredError);
    expect((error as Error).message).toMatch(/StorageDriver not registered: nope \(registered: .*test-a/);
  });
});

describe('middleware', () => {
  const driver = new BaseDriver(new MapBackend(['/a']));

  test.each([
    ['https://example.com:5443', '/rick/data', 'https://example.com:5443/rick/data'],
    ['http://example.com', '/morty/data', 'http://example.com/morty/data'],
    ['https://example.com/path/', '/morty/data', 'https://example.com/path/morty/data'],
  ])('redirect with baseurl %s maps %s to %s', async (baseurl, path, expected) => {
    const wrapped = await applyMiddleware(driver, [{ name: 'redirect', options: { baseurl } }]);
    expect(await wrapped.redirectURL(path, { method: 'GET' })).toBe(expected);
    expect(await wrapped.redirectURL(path, { method: 'PUT' })).toBeUndefined();
  });

  test('redirect requires a baseurl with a scheme and host', async () => {
    await expect(applyMiddleware(driver, [{ name: 'redirect', options: {} }])).rejects.toThrow(/baseurl/);
    await expect(applyMiddleware(driver, [{ name: 'redirect', options: { baseurl: 'example.com' } }])).rejects.toThrow(/scheme and host/);
  });

  test('rewrite changes scheme, host and path prefix, and keeps "no redirect" as no redirect', async () => {
    const inner = new BaseDriver(new MapBackend(['/a']));
    const signing = await applyMiddleware(inner, [{ name: 'redirect', options: { baseurl: 'http://some.host/some/path' } }]);
    const rewritten = await applyMiddleware(signing, [{ name: 'rewrite', options: { scheme: 'https', host: 'example.com', trimpathprefix: '/some/path' } }]);
    expect(await rewritten.redirectURL('/file', { method: 'GET' })).toBe('https://example.com/file');
    const plain = await applyMiddleware(inner, [{ name: 'rewrite', options: { host: 'example.com' } }]);
    expect(await plain.redirectURL('/a', { method: 'GET' })).toBeUndefined();
    await expect(applyMiddleware(inner, [{ name: 'rewrite', options: { host: 5 } }])).rejects.toThrow(/"host": got 5, expected a string/);
    await expect(applyMiddleware(inner, [{ name: 'nope' }])).rejects.toThrow('no storage middleware registered with name: nope');
  });
});

describe('ConcurrencyLimiter', () => {
  test('upstream regulator test: 50 waiters all get through after release, and slots return', async () => {
    const limiter = new ConcurrencyLimiter(500);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = Array.from({ length: 500 }, () => limiter.run(() => gate));
    const waiting = Array.from({ length: 50 }, () => limiter.run(async () => 1));
    expect(limiter.waiting).toBe(50);
    release();
    await Promise.all([...held, ...waiting]);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  test('an aborted waiter leaves the queue', async () => {
    const limiter = new ConcurrencyLimiter(1);
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const second = limiter.run(async () => 'ran', controller.signal);
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(limiter.waiting).toBe(0);
    release();
    await first;
  });
});

describe('PartUploader', () => {
  test('cuts any write pattern into equal parts, keeps at most `concurrency` in flight, and orders indices', async () => {
    const parts = new Map<number, Buffer>();
    let inFlight = 0;
    let peak = 0;
    const uploader = new PartUploader({
      partSize: 1000,
      concurrency: 2,
      upload: async (index, data) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        parts.set(index, Buffer.from(data));
        inFlight--;
      },
    });
    const data = Buffer.from(Array.from({ length: 7777 }, (_, i) => i % 251));
    for (let at = 0; at < data.length; at += 333) await uploader.write(data.subarray(at, at + 333));
    await uploader.flush();
    expect([...parts.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...parts.values()].slice(0, 7).every((p) => p.length === 1000)).toBe(true);
    expect(Buffer.concat([...parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p)).equals(data)).toBe(true);
    expect(peak).toBe(2);
    expect(uploader.uploadedBytes).toBe(7777);
  });

  test('a write\'s signal stops the parts it starts while pending, not once the write has resolved', async () => {
    const seen: Array<AbortSignal | undefined> = [];
    const uploader = new PartUploader({ partSize: 4, concurrency: 2, upload: async (_index, _data, signal) => void seen.push(signal) });
    const controller = new AbortController();
    await uploader.write(Buffer.alloc(8), controller.signal);
    controller.abort(new Error('later'));
    expect(seen).toHaveLength(2);
    expect(seen.every((signal) => signal !== undefined && !signal.aborted)).toBe(true);

    const pending = new AbortController();
    const reason = new Error('while pending');
    let release!: () => void;
    const blocked = new PartUploader({
      partSize: 4,
      concurrency: 1,
      upload: (_index, _data, signal) =>
        new Promise<void>((resolve, reject) => {
          release = resolve;
          signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        }),
    });
    const writing = blocked.write(Buffer.alloc(8), pending.signal);
    await new Promise((resolve) => setImmediate(resolve));
    pending.abort(reason);
    await expect(writing).rejects.toBe(reason);
    release();
  });

  test('the first failed upload fails later writes and the flush', async () => {
    const uploader = new PartUploader({ partSize: 10, concurrency: 1, upload: async (index) => { if (index === 1) throw new Error('part 1 failed'); } });
    await uploader.write(Buffer.alloc(25));
    await expect(uploader.flush()).rejects.toThrow('part 1 failed');
    await expect(uploader.write(Buffer.alloc(1))).rejects.toThrow('part 1 failed');
  });

  test('a part that failed is sent again by the next flush, so a retried commit loses no byte', async () => {
    const stored = new Map<number, Buffer>();
    let failures = 0;
    const uploader = new PartUploader({
      partSize: 10,
      concurrency: 2,
      upload: async (index, data) => {
        if (index === 3 && failures++ === 0) throw new Error('reset once');
        stored.set(index, Buffer.from(data));
      },
    });
    const data = Buffer.from(Array.from({ length: 35 }, (_, i) => i));
    await uploader.write(data);
    // The tail (part 3) fails in the first flush, as in a commit whose last part was cut.
    await expect(uploader.flush()).rejects.toThrow('reset once');
    await uploader.flush();
    expect([...stored.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(Buffer.concat([0, 1, 2, 3].map((i) => stored.get(i)!)).equals(data)).toBe(true);
    expect(uploader.uploadedBytes).toBe(35);
  });

  test('a part buffer is filled again only after its upload succeeded: at most concurrency + 1 exist', async () => {
    const buffers = new Set<ArrayBufferLike>();
    const stored = new Map<number, Buffer>();
    const uploader = new PartUploader({
      partSize: 8192,
      concurrency: 3,
      upload: async (index, data) => {
        buffers.add(data.buffer);
        const atStart = Buffer.from(data);
        await new Promise((r) => setTimeout(r, 1 + (index % 3)));
        // Nothing wrote into the part while its upload was pending.
        expect(data.equals(atStart)).toBe(true);
        stored.set(index, atStart);
      },
    });
    const data = Buffer.from(Array.from({ length: 8192 * 20 + 100 }, (_, i) => (i * 7) % 253));
    for (let at = 0; at < data.length; at += 5000) await uploader.write(data.subarray(at, at + 5000));
    await uploader.flush();
    expect(stored.size).toBe(21);
    expect(Buffer.concat([...stored.keys()].sort((a, b) => a - b).map((i) => stored.get(i)!)).equals(data)).toBe(true);
    expect(buffers.size).toBeLessThanOrEqual(4);
  });

  test('flush without the tail hands it back', async () => {
    const uploader = new PartUploader({ partSize: 10, concurrency: 1, upload: async () => undefined });
    await uploader.write(Buffer.from('0123456789abc'));
    expect((await uploader.flush(undefined, false)).toString()).toBe('abc');
  });
});

