import {
  KeyMapper,
  ObjectStoreTree,
  PathNotFoundError,
  type ListPage,
  type ListPageRequest,
  type ObjectStoreRequests,
} from '../src/index.js';

/** A sorted in-memory key space answering like an object store, with faults to inject. */
class FakeStore implements ObjectStoreRequests {
  readonly keys = new Set<string>();
  listCalls = 0;
  deleteCalls: string[][] = [];
  /** Page requests (counted from 1) that fail with a reset. */
  failing = new Set<number>();
  /** Repeat the last prefix of a page at the start of the next one, as some services do. */
  repeatPrefixes = false;

  constructor(keys: string[]) {
    for (const key of keys) this.keys.add(key);
  }

  /** Page requests (counted from 1) that fail for good. */
  broken = new Set<number>();
  /** The signal of each page request, in order. */
  signals: Array<AbortSignal | undefined> = [];

  async listPage(request: ListPageRequest, signal?: AbortSignal): Promise<ListPage> {
    this.signals.push(signal);
    if (this.failing.has(++this.listCalls)) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    if (this.broken.has(this.listCalls)) throw new Error(`page request ${this.listCalls} refused`);
    const sorted = [...this.keys].filter((key) => key.startsWith(request.prefix)).sort();
    // Entries of a delimited listing: keys and common prefixes, in key order.
    const entries: string[] = [];
    for (const key of sorted) {
      const slash = request.delimited ? key.indexOf('/', request.prefix.length) : -1;
      const entry = slash === -1 ? key : key.slice(0, slash + 1);
      if (entries.at(-1) !== entry) entries.push(entry);
    }
    let start = request.token === undefined ? 0 : Number(request.token);
    if (request.token === undefined && request.startAfter !== undefined) start = entries.findIndex((entry) => entry > request.startAfter!);
    if (start < 0) start = entries.length;
    if (this.repeatPrefixes && start > 0 && entries[start - 1]!.endsWith('/')) start--;
    const slice = entries.slice(start, start + request.limit);
    const end = entries.indexOf(slice.at(-1)!) + 1;
    return {
      objects: slice.filter((entry) => !entry.endsWith('/') || this.keys.has(entry)).map((key) => ({ key, size: key.length, modTime: new Date(0) })),
      prefixes: slice.filter((entry) => entry.endsWith('/') && !this.keys.has(entry)),
      next: end < entries.length ? String(end) : undefined,
    };
  }

  async deleteKeys(keys: string[]): Promise<void> {
    this.deleteCalls.push(keys);
    for (const key of keys) this.keys.delete(key);
  }
}

function tree(store: FakeStore, root = '', pageSize = 2): ObjectStoreTree {
  return new ObjectStoreTree(store, new KeyMapper(root), { pageSize, deleteBatchSize: 2 });
}

describe('ObjectStoreTree', () => {
  test('list gives visible direct children across pages, each once, never hidden keys', async () => {
    const store = new FakeStore(['r/a/1', 'r/a/2', 'r/b', 'r/c/x/y', 'r/d', 'r/inner~uploads/u/000000', 'r~uploads/t']);
    store.repeatPrefixes = true;
    expect((await tree(store, 'r').list('/')).sort()).toEqual(['/a', '/b', '/c', '/d']);
    expect((await tree(store, 'r').list('/c')).sort()).toEqual(['/c/x']);
    await expect(tree(store, 'r').list('/b')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('a directory is something visible below dir/: not a sibling sharing the prefix, not hidden keys alone', async () => {
    const store = new FakeStore(['ab', 'hid/den~uploads/1', 'hid/den~uploads/2', 'hid/den~uploads/3', 'real/x']);
    const t = tree(store);
    expect(await t.isDirectory('/a')).toBe(false);
    expect(await t.isDirectory('/hid')).toBe(false);
    expect(await t.isDirectory('/real')).toBe(true);
    await expect(t.statDirectory('/hid')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('a page cut by a reset is requested again', async () => {
    const store = new FakeStore(['a', 'b', 'c', 'd', 'e']);
    store.failing = new Set([1, 3]);
    expect((await tree(store).list('/')).sort()).toEqual(['/a', '/b', '/c', '/d', '/e']);
  });

  test('the next page is requested while the caller handles the current one; a walk that stops cancels it', async () => {
    const store = new FakeStore(['a', 'b', 'c', 'd', 'e']);
    const requestsWhenCalled: number[] = [];
    await tree(store).walk('/', () => {
      requestsWhenCalled.push(store.listCalls);
      return 'stop';
    }, undefined);
    // The second page was asked for before the first page's first entry reached the callback.
    expect(requestsWhenCalled).toEqual([2]);
    expect(store.listCalls).toBe(2);
    expect(store.signals[1]?.aborted).toBe(true);
  });

  test('a page asked for ahead fails the walk only when it is reached, and not at all when the walk stopped before it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = new FakeStore(['a', 'b', 'c', 'd', 'e']);
      store.broken.add(2);
      const seen: string[] = [];
      await expect(tree(store).walk('/', (info) => void seen.push(info.path), undefined)).rejects.toThrow('page request 2 refused');
      expect(seen).toEqual(['/a', '/b']);

      const stopped = new FakeStore(['a', 'b', 'c', 'd', 'e']);
      stopped.broken.add(2);
      await tree(stopped).walk('/', () => 'stop', undefined);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a caller\'s abort reaches the page request in flight with the caller\'s reason', async () => {
    const store = new FakeStore(['a', 'b', 'c']);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const walking = tree(store).walk('/', () => void controller.abort(reason), undefined, controller.signal);
    await expect(walking).rejects.toBe(reason);
    expect(store.signals[1]?.aborted).toBe(true);
    expect(store.signals[1]?.reason).toBe(reason);
  });

  test('walk infers directories from a flat listing, skips hidden keys and honours startAfter', async () => {
    const store = new FakeStore(['a-b', 'a/x', 'a/y/z', 'b/inner~uploads/1', 'c', '~uploads/t']);
    const seen: string[] = [];
    await tree(store).walk('/', (info) => void seen.push(`${info.path}${info.isDir ? '/' : ''}`), undefined);
    expect(seen).toEqual(['/a-b', '/a/', '/a/x', '/a/y/', '/a/y/z', '/c']);
    const after: string[] = [];
    await tree(store).walk('/', (info) => void after.push(info.path), '/a/x');
    expect(after).toEqual(['/a/y', '/a/y/z', '/c']);
    await expect(tree(store).walk('/b', () => undefined, undefined)).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('delete removes the object and everything below path/, never a sibling sharing the prefix, in batches', async () => {
    const store = new FakeStore(['d', 'd/1', 'd/2', 'd/3/4', 'd-sibling', 'dd']);
    await tree(store).delete('/d');
    expect([...store.keys].sort()).toEqual(['d-sibling', 'dd']);
    expect(store.deleteCalls.every((batch) => batch.length <= 2)).toBe(true);
    await expect(tree(store).delete('/d')).rejects.toBeInstanceOf(PathNotFoundError);
  });
});
