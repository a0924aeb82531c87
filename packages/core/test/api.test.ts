/** The API beyond the Go model, as core provides it: capabilities, refusals, ranges, pages, copy, exists, streams. */
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';

import {
  BaseDriver,
  DriverError,
  InvalidOffsetError,
  InvalidParameterError,
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  PreconditionFailedError,
  UnsupportedMethodError,
  applyMiddleware,
  decodeCursor,
  type BackendPutOptions,
  type BackendWriter,
  type Capabilities,
  type FileInfo,
  type ListPage,
  type ListPageRequest,
  type SignedURL,
  type WriteConditions,
  type WriteMetadata,
} from '../src/index.js';
import { MapBackend } from './fixtures.js';

/** MapBackend with every claim and the optional members, recording what reaches it. */
class ClaimingBackend extends MapBackend {
  readonly capabilities: Partial<Capabilities> = {
    signedURL: ['GET', 'PUT'],
    signedURLMaxExpiresIn: 3600,
    writeIfNoneMatch: true,
    metadata: ['contentType', 'metadata'],
    copy: true,
    rangedRead: true,
  };
  puts: (BackendPutOptions | undefined)[] = [];
  writerMetadata: (WriteMetadata | undefined)[] = [];
  commits: (WriteConditions | undefined)[] = [];
  readerLengths: (number | undefined)[] = [];

  override async putContent(path: string, content: Buffer, _signal?: AbortSignal, options?: BackendPutOptions): Promise<void> {
    this.puts.push(options);
    if (options?.ifNoneMatch === '*' && this.files.has(path)) throw new PreconditionFailedError(path, 'exists');
    await super.putContent(path, content);
  }
  override async writer(path: string, _append?: boolean, _signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
    this.writerMetadata.push(metadata);
    const inner = await super.writer(path);
    return {
      get size() {
        return inner.size;
      },
      write: (chunk) => inner.write(chunk),
      close: () => inner.close(),
      commit: async (_signal, conditions) => {
        this.commits.push(conditions);
        if (conditions?.ifNoneMatch === '*' && this.files.has(path)) throw new PreconditionFailedError(path, 'exists');
        await inner.commit();
      },
      cancel: () => inner.cancel(),
    };
  }
  override async reader(path: string, offset: number, _signal?: AbortSignal, length?: number): Promise<Readable> {
    this.readerLengths.push(length);
    // The base rule only: the end of the range is left to core's check of the stream.
    if (offset > (await this.getContent(path)).length) throw new InvalidOffsetError(path, offset);
    return super.reader(path, offset);
  }
  async copy(source: string, dest: string): Promise<void> {
    const data = this.files.get(source);
    if (!data) throw new PathNotFoundError(source);
    this.files.set(dest, data);
  }
  async signedURL(path: string, request: { method: 'GET' | 'HEAD' | 'PUT'; expiresIn: number; contentType: string | undefined }): Promise<SignedURL> {
    return { url: `https://example.test${path}?e=${request.expiresIn}`, method: request.method, headers: request.contentType ? { 'content-type': request.contentType } : {}, expiresAt: new Date(Date.now() + request.expiresIn * 1000) };
  }
}

describe('capabilities', () => {
  test('a backend that claims nothing gets every flag false, redirect from its method', () => {
    const driver = new BaseDriver(new MapBackend());
    expect(driver.capabilities).toEqual({
      redirectURL: false, signedURL: [], signedURLMaxExpiresIn: 0, writeIfNoneMatch: false, writeIfMatch: false,
      metadata: [], etag: false, copy: false, appendToCommitted: false, rangedRead: false, listPage: false, uploads: false,
    });
    expect(Object.isFrozen(driver.capabilities)).toBe(true);
  });

  test('a claim without the method behind it is not a claim', () => {
    const backend = Object.assign(new MapBackend(), { capabilities: { copy: true, listPage: true, signedURL: ['GET' as const], signedURLMaxExpiresIn: 60 } });
    const caps = new BaseDriver(backend).capabilities;
    expect([caps.copy, caps.listPage, caps.signedURL, caps.signedURLMaxExpiresIn]).toEqual([false, false, [], 0]);
  });

  test('redirectURL gives nothing when the backend does not claim it', async () => {
    const backend = Object.assign(new MapBackend(['/a']), { capabilities: {}, redirectURL: async () => 'https://example.test/a' });
    expect(await new BaseDriver(backend).redirectURL('/a', { method: 'GET' })).toBeUndefined();
  });

  test('the redirect middleware adds redirectURL, the rest passes through', async () => {
    const driver = await applyMiddleware(new BaseDriver(new ClaimingBackend()), [{ name: 'redirect', options: { baseurl: 'https://cdn.example' } }]);
    expect(driver.capabilities.redirectURL).toBe(true);
    expect(driver.capabilities.copy).toBe(true);
  });
});

describe('refusals outside the claims', () => {
  const plain = () => new BaseDriver(new MapBackend(['/a']));
  test.each([
    ['copy', (d: BaseDriver) => d.copy('/a', '/b')],
    ['signedURL GET', (d: BaseDriver) => d.signedURL('/a', { method: 'GET' })],
    ['putContent with ifNoneMatch', (d: BaseDriver) => d.putContent('/b', 'x', { ifNoneMatch: '*' })],
    ['putContent with ifMatch', (d: BaseDriver) => d.putContent('/b', 'x', { ifMatch: '"e"' })],
    ['putContent with contentType', (d: BaseDriver) => d.putContent('/b', 'x', { contentType: 'text/plain' })],
    ['writer with metadata', (d: BaseDriver) => d.writer('/b', { metadata: { k: 'v' } })],
    ['put with ifNoneMatch', (d: BaseDriver) => d.put('/b', 'x', { ifNoneMatch: '*' })],
  ])('%s is UnsupportedMethod and writes nothing', async (method, call) => {
    const driver = plain();
    await expect(call(driver)).rejects.toMatchObject({ constructor: UnsupportedMethodError, method, driverName: 'map' });
    expect((driver.backend as MapBackend).files.has('/b')).toBe(false);
  });

  test('a commit with a condition not claimed is refused, and the writer can still commit without it', async () => {
    const driver = plain();
    const writer = await driver.writer('/w');
    await writer.write('data');
    await expect(writer.commit({ ifMatch: '"x"' })).rejects.toBeInstanceOf(UnsupportedMethodError);
    await writer.commit();
    expect((await driver.getContent('/w')).toString()).toBe('data');
  });
});

describe('validation of the new options', () => {
  const driver = () => new BaseDriver(new ClaimingBackend(['/a']));
  test.each([
    [{ metadata: { Upper: 'v' } }],
    [{ metadata: { 'under_score': 'v' } }],
    [{ metadata: { k: ' padded' } }],
    [{ metadata: { k: 'caf\u00e9' } }],
    [{ metadata: { k: 'x'.repeat(2048) } }],
    [{ metadata: 'k=v' as unknown as Record<string, string> }],
    [{ contentType: '' }],
    [{ contentType: 'text/plain\r\nx: y' }],
    [{ ifNoneMatch: 'etag' as '*' }],
  ])('putContent %j is InvalidParameter', async (options) => {
    await expect(driver().putContent('/b', 'x', options)).rejects.toBeInstanceOf(InvalidParameterError);
  });

  test('listPage limit and cursor, signedURL method and expiry, reader length', async () => {
    const d = driver();
    await expect(d.listPage('/', { limit: 0 })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.listPage('/', { limit: 1001 })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.listPage('/', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.signedURL('/a', { method: 'DELETE' as 'GET' })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.signedURL('/a', { method: 'HEAD' })).rejects.toBeInstanceOf(UnsupportedMethodError);
    await expect(d.signedURL('/a', { method: 'GET', expiresIn: 3601 })).rejects.toMatchObject({ constructor: InvalidParameterError, parameter: 'expiresIn' });
    await expect(d.signedURL('/a', { method: 'GET', expiresIn: 1.5 })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.signedURL('/a', { method: 'GET', contentType: 'text/plain' })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(d.reader('/a', 0, { length: -1 })).rejects.toBeInstanceOf(InvalidParameterError);
  });

  test('signedURL defaults to 900 s (or the maximum when lower) and hands the backend what it validated', async () => {
    const signed = await driver().signedURL('/a', { method: 'PUT', contentType: 'image/png' });
    expect(signed.url).toBe('https://example.test/a?e=900');
    expect(signed.headers).toEqual({ 'content-type': 'image/png' });
  });
});

describe('metadata and conditions reach the backend only when set', () => {
  test('putContent passes nothing extra without options, exactly the set fields with them', async () => {
    const backend = new ClaimingBackend();
    const driver = new BaseDriver(backend);
    await driver.putContent('/a', 'x');
    await driver.putContent('/b', 'x', { contentType: 'text/plain', metadata: { owner: 'me' }, ifNoneMatch: '*', cacheControl: undefined });
    expect(backend.puts).toEqual([undefined, { contentType: 'text/plain', metadata: { owner: 'me' }, ifNoneMatch: '*' }]);
    await expect(driver.putContent('/b', 'y', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await driver.getContent('/b')).toString()).toBe('x');
  });

  test('writer metadata at open, conditions at commit; a failed conditional commit can be retried without', async () => {
    const backend = new ClaimingBackend(['/taken']);
    const driver = new BaseDriver(backend);
    const writer = await driver.writer('/taken', { contentType: 'text/plain' });
    await writer.write('new');
    await expect(writer.commit({ ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await writer.commit();
    expect(backend.writerMetadata).toEqual([{ contentType: 'text/plain' }]);
    expect(backend.commits).toEqual([{ ifNoneMatch: '*' }, undefined]);
  });
});

describe('ranged reads', () => {
  const content = Buffer.from('0123456789');
  for (const claims of [true, false]) {
    const make = () => {
      const backend = claims ? new ClaimingBackend() : new MapBackend();
      backend.files.set('/f', content);
      return { backend, driver: new BaseDriver(backend) };
    };
    test(`exact bytes, end rules (${claims ? 'native' : 'generic'})`, async () => {
      const { driver, backend } = make();
      expect((await driver.getContent('/f', { offset: 2, length: 3 })).toString()).toBe('234');
      expect((await driver.getContent('/f', { offset: 7 })).toString()).toBe('789');
      expect((await driver.getContent('/f', { offset: 10, length: 0 })).toString()).toBe('');
      expect((await driver.getContent('/f', { offset: 0, length: 10 })).toString()).toBe('0123456789');
      await expect(driver.getContent('/f', { offset: 8, length: 3 })).rejects.toBeInstanceOf(InvalidOffsetError);
      await expect(driver.getContent('/f', { offset: 11, length: 0 })).rejects.toBeInstanceOf(InvalidOffsetError);
      const web = await driver.webReader('/f', 1, { length: 4 });
      const parts: Buffer[] = [];
      for await (const chunk of web) parts.push(Buffer.from(chunk));
      expect(Buffer.concat(parts).toString()).toBe('1234');
      if (backend instanceof ClaimingBackend) expect(backend.readerLengths).toContain(3);
    });
  }

  test('a native range that ends short fails the stream instead of ending it', async () => {
    const backend = new ClaimingBackend();
    backend.files.set('/f', content);
    // Claims a native range but ignores the length and the end rule: core still refuses a short read.
    const driver = new BaseDriver(backend);
    await expect(driver.getContent('/f', { offset: 8, length: 5 })).rejects.toBeInstanceOf(InvalidOffsetError);
  });
});

describe('copy and exists', () => {
  test('copy copies, refuses a directory source, keeps p onto p, and a missing source is PathNotFound', async () => {
    const backend = new ClaimingBackend(['/a', '/dir/x']);
    const driver = new BaseDriver(backend);
    await driver.copy('/a', '/b');
    expect((await driver.getContent('/b')).toString()).toBe('/a');
    await driver.copy('/a', '/a');
    expect((await driver.getContent('/a')).toString()).toBe('/a');
    await expect(driver.copy('/dir', '/c')).rejects.toThrow(/cannot copy \/dir: it is a directory/);
    await expect(driver.copy('/dir', '/dir')).rejects.toBeInstanceOf(DriverError);
    await expect(driver.copy('/missing', '/c')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(backend.files.has('/c')).toBe(false);
  });

  test('exists answers file, directory or false', async () => {
    const driver = new BaseDriver(new MapBackend(['/a/b', '/ab']));
    expect(await driver.exists('/a/b')).toBe('file');
    expect(await driver.exists('/a')).toBe('directory');
    expect(await driver.exists('/')).toBe('directory');
    expect(await driver.exists('/nope')).toBe(false);
  });
});

describe('streamed content', () => {
  const sources = {
    'a Node Readable': () => Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
    'a WHATWG ReadableStream': () => ReadableStream.from([new TextEncoder().encode('ab'), new TextEncoder().encode('cd')]),
    'an async iterable': () => (async function* () { yield 'ab'; yield new TextEncoder().encode('cd'); })(),
  };
  for (const [name, source] of Object.entries(sources)) {
    test(`putContent, put and writer.write take ${name}`, async () => {
      const driver = new BaseDriver(new ClaimingBackend());
      await driver.putContent('/p', source());
      await driver.put('/q', source(), { contentType: 'text/plain' });
      const writer = await driver.writer('/w');
      await writer.write('>');
      await writer.write(source());
      await writer.commit();
      expect((await driver.getContent('/p')).toString()).toBe('abcd');
      expect((await driver.getContent('/q')).toString()).toBe('abcd');
      expect((await driver.getContent('/w')).toString()).toBe('>abcd');
    });
  }

  test('a source that fails cancels the put and nothing is committed', async () => {
    const driver = new BaseDriver(new ClaimingBackend());
    const failing = (async function* () {
      yield 'partial';
      throw new Error('source broke');
    })();
    await expect(driver.put('/p', failing)).rejects.toThrow('source broke');
    expect(await driver.exists('/p')).toBe(false);
  });
});

/** Keys and listing pages as an object store answers them; tokens are the last key of a page. */
class PagedStore {
  readonly keys: string[];
  requests: ListPageRequest[] = [];
  constructor(keys: string[]) {
    this.keys = [...keys].sort();
  }
  async listPage(request: ListPageRequest): Promise<ListPage> {
    this.requests.push(request);
    const entries: string[] = [];
    for (const key of this.keys.filter((k) => k.startsWith(request.prefix))) {
      const slash = request.delimited ? key.indexOf('/', request.prefix.length) : -1;
      const entry = slash === -1 ? key : key.slice(0, slash + 1);
      if (entries.at(-1) !== entry) entries.push(entry);
    }
    const after = request.token ?? request.startAfter;
    const rest = after === undefined ? entries : entries.filter((e) => e > after);
    const slice = rest.slice(0, request.limit);
    return {
      objects: slice.filter((e) => !request.delimited || !e.endsWith('/')).map((key) => ({ key, size: key.length, modTime: new Date(0), etag: `"${key}"` })),
      prefixes: slice.filter((e) => request.delimited && e.endsWith('/')),
      next: slice.length < rest.length ? slice.at(-1) : undefined,
    };
  }
  async deleteKeys(): Promise<void> {}
}

describe('ObjectStoreTree.page', () => {
  const keys = [
    ...Array.from({ length: 25 }, (_, i) => `r/d/f${String(i).padStart(2, '0')}`),
    'r/d/sub/x', 'r/d/sub/y', 'r/d/hidden~uploads/u', 'r/d/zz/', 'r/d~uploads/t', 'r/e',
  ];
  const tree = (store: PagedStore) => new ObjectStoreTree(store, new KeyMapper('r'), { pageSize: 10, deleteBatchSize: 10 });

  async function all(store: PagedStore, recursive: boolean, limit: number): Promise<FileInfo[]> {
    const seen: FileInfo[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      // A new tree per page: the cursor alone carries the position.
      const page = await tree(store).page('/d', { limit, cursor, recursive });
      seen.push(...page.entries);
      cursor = page.cursor;
      if (cursor === undefined) return seen;
    }
    throw new Error('no last page');
  }

  test('children pages: files and directories once each, hidden keys and markers never, etags kept', async () => {
    const store = new PagedStore(keys);
    const seen = await all(store, false, 7);
    const expected = [...Array.from({ length: 25 }, (_, i) => `/d/f${String(i).padStart(2, '0')}`), '/d/sub', '/d/zz'];
    expect(seen.map((e) => e.path)).toEqual(expected);
    expect(seen.find((e) => e.path === '/d/sub')).toMatchObject({ isDir: true, size: 0 });
    expect(seen[0]).toMatchObject({ isDir: false, size: 'r/d/f00'.length, etag: '"r/d/f00"' });
    // Every request after the first continues with the service's token, not a relisting.
    expect(store.requests.slice(1).every((r) => r.token !== undefined)).toBe(true);
  });

  test('recursive pages: every file below, no directories, in key order', async () => {
    const seen = await all(new PagedStore(keys), true, 10);
    expect(seen.map((e) => e.path)).toEqual([...Array.from({ length: 25 }, (_, i) => `/d/f${String(i).padStart(2, '0')}`), '/d/sub/x', '/d/sub/y']);
    expect(seen.every((e) => !e.isDir)).toBe(true);
  });

  test('prefixes a service repeats on every page (fake-gcs-server does) are listed once, and no object is lost', async () => {
    class RepeatingStore extends PagedStore {
      override async listPage(request: ListPageRequest): Promise<ListPage> {
        const page = await super.listPage(request);
        if (!request.delimited) return page;
        const all = await super.listPage({ ...request, token: undefined, startAfter: undefined, limit: 10_000 });
        return { ...page, prefixes: all.prefixes };
      }
    }
    const store = new RepeatingStore(['r/d/f0', 'r/d/f1', 'r/d/f2', 'r/d/f3', 'r/d/f2x/one']);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await new ObjectStoreTree(store, new KeyMapper('r'), { pageSize: 2, deleteBatchSize: 2 }).page('/d', { limit: 2, cursor, recursive: false });
      seen.push(...page.entries.map((e) => e.path));
      cursor = page.cursor;
      if (cursor === undefined) break;
    }
    expect(seen.sort()).toEqual(['/d/f0', '/d/f1', '/d/f2', '/d/f2x', '/d/f3']);
  });

  test('a cursor is resumable and a missing directory or a file is PathNotFound', async () => {
    const store = new PagedStore(keys);
    const first = await tree(store).page('/d', { limit: 3, cursor: undefined, recursive: false });
    expect(decodeCursor(first.cursor!).after).toBe('r/d/f02');
    await expect(tree(store).page('/nope', { limit: 3, cursor: undefined, recursive: false })).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(tree(store).page('/e', { limit: 3, cursor: undefined, recursive: false })).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await tree(store).page('/', { limit: 1000, cursor: undefined, recursive: false })).toMatchObject({ cursor: undefined });
  });
});

describe('generic listPage (list and stat)', () => {
  const paths = [...Array.from({ length: 12 }, (_, i) => `/d/f${String(i).padStart(2, '0')}`), '/d/sub/x', '/d/sub/y/z'];
  test('children and recursive pages resume from the cursor in a new driver, each entry once', async () => {
    for (const recursive of [false, true]) {
      const backend = new MapBackend(paths);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await new BaseDriver(backend).listPage('/d', { limit: 5, cursor, recursive });
        seen.push(...page.entries.map((e) => `${e.path}${e.isDir ? '/' : ''}`));
        cursor = page.cursor;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      const files = paths.filter((p) => recursive || p.split('/').length === 3);
      expect(seen.sort()).toEqual(recursive ? files.sort() : [...files, '/d/sub/'].sort());
    }
  });
});
