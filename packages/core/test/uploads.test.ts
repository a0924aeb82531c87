/** Pending uploads as core provides them: claims, validation, filtering, error shaping, aborts and purgeUploads. */
import {
  BaseDriver,
  DriverError,
  InvalidParameterError,
  InvalidPathError,
  UnsupportedMethodError,
  applyMiddleware,
  purgeUploads,
  type Capabilities,
  type PendingUpload,
} from '../src/index.js';
import { MapBackend } from './fixtures.js';

const at = (iso: string): Date => new Date(iso);

/** A backend whose pending uploads are a fixed list; it lists by raw key prefix, as a naive object store would. */
class UploadsBackend extends MapBackend {
  readonly capabilities: Partial<Capabilities> = { uploads: true };
  pending: PendingUpload[] = [
    { path: '/a', id: '1', startedAt: at('2026-01-01T00:00:00Z'), size: 10 },
    { path: '/a/b', id: '2', startedAt: at('2026-01-02T00:00:00Z'), size: 20 },
    { path: '/ab', id: '3', startedAt: at('2026-01-03T00:00:00Z'), size: 30 },
    { path: '/bad//path', id: '4', startedAt: at('2026-01-04T00:00:00Z'), size: 40 },
  ];
  aborted: string[] = [];
  failAfter: number | undefined;

  async *uploads(path: string): AsyncGenerator<PendingUpload> {
    let yielded = 0;
    for (const upload of this.pending) {
      if (this.failAfter !== undefined && yielded === this.failAfter) throw Object.assign(new Error(''), { name: 'SocketError', code: 'ECONNRESET' });
      if (path === '/' || upload.path.startsWith(path)) {
        yielded++;
        yield upload;
      }
    }
  }

  async abortUpload(path: string, id: string): Promise<void> {
    this.aborted.push(`${path}#${id}`);
    this.pending = this.pending.filter((u) => !(u.path === path && u.id === id));
  }
}

async function collect(iterable: AsyncIterable<PendingUpload>): Promise<string[]> {
  const found: string[] = [];
  for await (const upload of iterable) found.push(`${upload.path}#${upload.id}`);
  return found;
}

describe('uploads and abortUpload', () => {
  test('lists the uploads at and below the path only: not a sibling sharing the prefix, not a key outside the grammar', async () => {
    const driver = new BaseDriver(new UploadsBackend());
    expect(driver.capabilities.uploads).toBe(true);
    expect(await collect(driver.uploads('/a'))).toEqual(['/a#1', '/a/b#2']);
    expect(await collect(driver.uploads('/'))).toEqual(['/a#1', '/a/b#2', '/ab#3']);
    expect(await collect(driver.uploads('/a/b'))).toEqual(['/a/b#2']);
  });

  test('bad paths and ids are InvalidParameter/InvalidPath before the backend runs', async () => {
    const backend = new UploadsBackend();
    const driver = new BaseDriver(backend);
    await expect(collect(driver.uploads('relative'))).rejects.toBeInstanceOf(InvalidPathError);
    await expect(driver.abortUpload('/a', '')).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(driver.abortUpload('/', '1')).rejects.toBeInstanceOf(InvalidPathError);
    expect(backend.aborted).toEqual([]);
  });

  test('without the claim (or without the methods) both are refused with UnsupportedMethodError', async () => {
    const unclaimed = Object.assign(new UploadsBackend(), { capabilities: {} });
    const driver = new BaseDriver(unclaimed);
    expect(driver.capabilities.uploads).toBe(false);
    await expect(collect(driver.uploads('/'))).rejects.toBeInstanceOf(UnsupportedMethodError);
    await expect(driver.abortUpload('/a', '1')).rejects.toBeInstanceOf(UnsupportedMethodError);
    expect(unclaimed.aborted).toEqual([]);
    const plain = new BaseDriver(Object.assign(new MapBackend(), { capabilities: { uploads: true } }));
    expect(plain.capabilities.uploads).toBe(false);
  });

  test('a backend failure mid-listing is a DriverError naming the driver, with the cause; the caller’s abort rejects with its reason', async () => {
    const backend = new UploadsBackend();
    backend.failAfter = 1;
    const driver = new BaseDriver(backend);
    const error = await collect(driver.uploads('/')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driverName: 'map', retryable: true });
    expect((error as Error).message).not.toBe('');

    const controller = new AbortController();
    const reason = new Error('stop listing');
    const seen: string[] = [];
    const listing = (async () => {
      for await (const upload of new BaseDriver(new UploadsBackend()).uploads('/', { signal: controller.signal })) {
        seen.push(upload.id);
        controller.abort(reason);
      }
    })();
    await expect(listing).rejects.toBe(reason);
    expect(seen).toEqual(['1']);
  });

  test('middleware forwards both', async () => {
    const backend = new UploadsBackend();
    const wrapped = await applyMiddleware(new BaseDriver(backend), [{ name: 'redirect', options: { baseurl: 'https://cdn.example.com' } }]);
    expect(await collect(wrapped.uploads('/a/b'))).toEqual(['/a/b#2']);
    await wrapped.abortUpload('/a/b', '2');
    expect(backend.aborted).toEqual(['/a/b#2']);
  });
});

describe('purgeUploads', () => {
  test('aborts only the uploads started before the cutoff, at or below the path; dryRun aborts nothing', async () => {
    const backend = new UploadsBackend();
    const driver = new BaseDriver(backend);
    const cutoff = at('2026-01-02T12:00:00Z');
    const dry = await purgeUploads(driver, { olderThan: cutoff, dryRun: true });
    expect(dry.map((u) => u.path)).toEqual(['/a', '/a/b']);
    expect(backend.aborted).toEqual([]);
    expect((await purgeUploads(driver, { path: '/a/b', olderThan: cutoff })).map((u) => u.id)).toEqual(['2']);
    expect(backend.aborted).toEqual(['/a/b#2']);
    expect((await purgeUploads(driver, { olderThan: at('2030-01-01T00:00:00Z') })).map((u) => u.id)).toEqual(['1', '3']);
    expect(await collect(driver.uploads('/'))).toEqual([]);
  });

  test('an olderThan that is not a valid Date is InvalidParameterError', async () => {
    const driver = new BaseDriver(new UploadsBackend());
    await expect(purgeUploads(driver, { olderThan: new Date('nope') })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(purgeUploads(driver, { olderThan: '7d' as unknown as Date })).rejects.toBeInstanceOf(InvalidParameterError);
  });
});
