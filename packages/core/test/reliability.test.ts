import { Readable } from 'node:stream';

import {
  BaseDriver,
  DriverError,
  InvalidParameterError,
  ParameterReader,
  PathNotFoundError,
  PreconditionFailedError,
  SharedTask,
  StorageDriverError,
  contiguousParts,
  isAbortError,
  isTransientError,
  pollUntil,
  readAll,
  resumableContent,
  resumableReader,
  retry,
  walkSortedKeys,
  type FileInfo,
  type OpenRange,
  type RetryOptions,
  type StorageBackend,
  type WalkFn,
} from '../src/index.js';
import { MapBackend } from './fixtures.js';

/** Bytes whose value depends on their position, so a resume at the wrong offset shows. */
function patterned(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
  return data;
}

function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

describe('move', () => {
  test('between two paths reaches the backend, which moves the object', async () => {
    const backend = new MapBackend(['/a/b']);
    await new BaseDriver(backend).move('/a/b', '/c');
    expect(backend.calls).toContain('move /a/b /c');
    expect([...backend.files.keys()]).toEqual(['/c']);
  });
});

describe('move onto itself', () => {
  test('leaves the object as it is, without calling the backend move', async () => {
    const backend = new MapBackend(['/a/b']);
    backend.move = async () => {
      throw new Error('backend move must not run');
    };
    const driver = new BaseDriver(backend);
    await driver.move('/a/b', '/a/b');
    expect((await driver.getContent('/a/b')).toString()).toBe('/a/b');
  });

  test('a missing path is PathNotFound and a directory is an error', async () => {
    const driver = new BaseDriver(new MapBackend(['/a/b']));
    await expect(driver.move('/nope', '/nope')).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.move('/a', '/a')).rejects.toThrow('map: cannot move /a: it is a directory');
  });
});

describe('SharedTask', () => {
  /** Work that settles when the test says, and records the signal it was given. */
  function controlled(): { task: SharedTask<string>; runs: AbortSignal[]; finish: (value: string) => void; fail: (error: Error) => void } {
    const runs: AbortSignal[] = [];
    const handle = {
      runs,
      finish: (_value: string): void => undefined,
      fail: (_error: Error): void => undefined,
      task: new SharedTask<string>(
        (signal) =>
          new Promise<string>((resolve, reject) => {
            runs.push(signal);
            handle.finish = resolve;
            handle.fail = reject;
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          }),
      ),
    };
    return handle;
  }

  test('runs once for concurrent callers; one caller\'s abort rejects that caller only and leaves the work running', async () => {
    const work = controlled();
    const controller = new AbortController();
    const reason = new Error('gone');
    const aborted = work.task.run(controller.signal);
    const waiting = work.task.run(new AbortController().signal);
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(work.runs[0]!.aborted).toBe(false);
    work.finish('done');
    await expect(waiting).resolves.toBe('done');
    await expect(work.task.run()).resolves.toBe('done');
    expect(work.runs).toHaveLength(1);
    await expect(work.task.run(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  test('the work stops when every caller has stopped waiting, and the next call starts it afresh; a failure is not kept', async () => {
    const work = controlled();
    const first = new AbortController();
    const second = new AbortController();
    const a = work.task.run(first.signal);
    const b = work.task.run(second.signal);
    first.abort(new Error('first gone'));
    expect(work.runs[0]!.aborted).toBe(false);
    second.abort(new Error('second gone'));
    await Promise.allSettled([a, b]);
    expect(work.runs[0]!.aborted).toBe(true);
    const again = work.task.run();
    expect(work.runs).toHaveLength(2);
    work.fail(new Error('unreachable'));
    await expect(again).rejects.toThrow('unreachable');
    const third = work.task.run();
    expect(work.runs).toHaveLength(3);
    work.finish('reached');
    await expect(third).resolves.toBe('reached');
  });

  test('a caller without a signal keeps the work running whoever else leaves', async () => {
    const work = controlled();
    const controller = new AbortController();
    const patient = work.task.run();
    const leaving = work.task.run(controller.signal);
    controller.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    expect(work.runs[0]!.aborted).toBe(false);
    work.finish('done');
    await expect(patient).resolves.toBe('done');
  });
});

describe('caller aborts and transport failures', () => {
  test('an SDK error named TimeoutError or AbortError without the caller aborting is a retryable DriverError', async () => {
    const backend = new MapBackend(['/a']);
    const driver = new BaseDriver(backend);
    for (const name of ['TimeoutError', 'AbortError']) {
      const cut = Object.assign(new Error('socket hang up'), { name });
      backend.getContent = async () => Promise.reject(cut);
      const error = await driver.getContent('/a', { signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DriverError);
      expect(error).toMatchObject({ driverName: 'map', retryable: true, cause: cut });
    }
  });

  test('a permanent failure is not retryable, and its message is never empty', async () => {
    const backend = new MapBackend(['/a']);
    backend.stat = async () => Promise.reject(Object.assign(new Error(''), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }));
    const error = (await new BaseDriver(backend).stat('/a').catch((e: unknown) => e)) as DriverError;
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('map: NoSuchBucket, HTTP 404');
  });

  test('an abort in flight rejects with the caller\'s own reason at once, even when the backend ignores the signal', async () => {
    const backend = new MapBackend(['/a']);
    backend.getContent = () => new Promise((resolve) => setTimeout(() => resolve(Buffer.from('late')), 1000).unref());
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = new BaseDriver(backend).getContent('/a', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    const started = performance.now();
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('a reader stream aborted while consumed errors with the reason; its other errors are typed', async () => {
    const backend = new MapBackend(['/a']);
    const source = new Readable({ read() {} });
    backend.reader = async () => source;
    const controller = new AbortController();
    const reason = new Error('stop reading');
    const stream = await new BaseDriver(backend).reader('/a', 0, { signal: controller.signal });
    source.push(Buffer.from('x'));
    const failure = readAll(stream).catch((e: unknown) => e);
    controller.abort(reason);
    expect(await failure).toBe(reason);
    expect(source.destroyed).toBe(true);

    const other = new Readable({ read() {} });
    backend.reader = async () => other;
    const second = await new BaseDriver(backend).reader('/a');
    const typed = readAll(second).catch((e: unknown) => e);
    other.destroy(resetError());
    expect(await typed).toMatchObject({ code: 'DRIVER_ERROR', driverName: 'map', retryable: true });
  });

  test('isAbortError is true only when the caller\'s signal is aborted', () => {
    const named = Object.assign(new Error('x'), { name: 'AbortError' });
    expect(isAbortError(named, undefined)).toBe(false);
    expect(isAbortError(named, new AbortController().signal)).toBe(false);
    expect(isAbortError(named, AbortSignal.abort())).toBe(true);
  });

  test('isTransientError knows resets, 5xx and throttling, and follows causes', () => {
    expect(isTransientError(resetError())).toBe(true);
    expect(isTransientError(new Error('outer', { cause: { code: 'UND_ERR_SOCKET' } }))).toBe(true);
    expect(isTransientError({ statusCode: 503 })).toBe(true);
    expect(isTransientError({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isTransientError({ statusCode: 404 })).toBe(false);
    expect(isTransientError(new PathNotFoundError('/a'))).toBe(false);
    expect(isTransientError(new DriverError('cut', { retryable: true }))).toBe(true);
    // Each sign on its own: the name of an abort that was not the caller's, a transport message.
    expect(isTransientError(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isTransientError(new Error('socket hang up'))).toBe(true);
    expect(isTransientError(new Error('x'))).toBe(false);
  });
});

describe('commit', () => {
  test('a failed commit can be tried again, and the second try runs the backend commit', async () => {
    const backend = new MapBackend();
    const driver = new BaseDriver(backend);
    let commits = 0;
    const inner = await backend.writer('/a');
    backend.writer = async () => ({
      ...inner,
      get size() {
        return inner.size;
      },
      write: inner.write,
      commit: async () => {
        if (++commits === 1) throw resetError();
        await inner.commit();
      },
    });
    const writer = await driver.writer('/a');
    await writer.write('hello');
    await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
    await writer.commit();
    await writer.commit();
    expect(commits).toBe(2);
    expect((await driver.getContent('/a')).toString()).toBe('hello');
    await expect(writer.write('more')).rejects.toThrow('already committed');
  });

  test('a write after a failed commit is refused: the content a retried commit makes is fixed', async () => {
    const backend = new MapBackend();
    const inner = await backend.writer('/a');
    backend.writer = async () => ({ ...inner, size: 0, commit: async () => Promise.reject(resetError()) });
    const writer = await new BaseDriver(backend).writer('/a');
    await writer.write('hello');
    await expect(writer.commit()).rejects.toMatchObject({ retryable: true });
    await expect(writer.write('more')).rejects.toThrow('cannot write: a commit was already tried');
  });

  test('a writer opened without options starts a new upload: it does not append', async () => {
    const backend = new MapBackend(['/a']);
    let append: boolean | undefined;
    const open = backend.writer.bind(backend);
    backend.writer = async (path: string, appendFlag?: boolean) => ((append = appendFlag), open(path));
    await new BaseDriver(backend).writer('/a');
    expect(append).toBe(false);
  });
});

describe('retry', () => {
  test('retries transient failures up to the attempts, never permanent ones', async () => {
    let calls = 0;
    await expect(retry(async () => { calls++; throw resetError(); }, { attempts: 3, baseDelayMs: 1 })).rejects.toThrow('ECONNRESET');
    expect(calls).toBe(3);
    calls = 0;
    await expect(retry(async () => { calls++; throw new PathNotFoundError('/a'); }, { baseDelayMs: 1 })).rejects.toBeInstanceOf(PathNotFoundError);
    expect(calls).toBe(1);
    calls = 0;
    expect(await retry(async () => (++calls < 3 ? Promise.reject(resetError()) : 'ok'), { baseDelayMs: 1 })).toBe('ok');
  });
});

describe('pollUntil', () => {
  test('answers true as soon as the check does, false once the deadline passed with a last check after it, and stops on an abort', async () => {
    let calls = 0;
    expect(await pollUntil(async () => ++calls === 3, Date.now() + 5_000)).toBe(true);
    expect(calls).toBe(3);

    const deadline = Date.now() + 150;
    let lastCall = 0;
    calls = 0;
    expect(await pollUntil(async () => ((lastCall = Date.now()), calls++, false), deadline)).toBe(false);
    expect(lastCall).toBeGreaterThanOrEqual(deadline);
    expect(calls).toBeGreaterThan(2);
    expect(calls).toBeLessThan(12);

    calls = 0;
    expect(await pollUntil(async () => (calls++, false), Date.now() - 1)).toBe(false);
    expect(calls).toBe(1);

    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 30);
    await expect(pollUntil(async () => false, Date.now() + 5_000, controller.signal)).rejects.toBe(reason);
  });
});

describe('resumableReader', () => {
  const data = patterned(100_000);

  /** Serves `data` from an offset, cutting the body after `cutAfter` bytes the first `cuts` times. */
  function server(options: { cuts: number; cutAfter: number; version?: () => string; short?: boolean }) {
    const opened: Array<{ offset: number; version: string | undefined }> = [];
    const open = async (offset: number, version: string | undefined) => {
      opened.push({ offset, version });
      const current = options.version?.() ?? 'v1';
      if (version !== undefined && version !== current) throw new PreconditionFailedError('/a', 'changed');
      const rest = data.subarray(offset);
      const cut = opened.length <= options.cuts;
      const chunks = cut ? [rest.subarray(0, options.cutAfter)] : [rest.subarray(0, 30_000), rest.subarray(30_000)];
      const stream = new Readable({
        read() {
          const next = chunks.shift();
          if (next !== undefined) this.push(next);
          else if (cut && !options.short) this.destroy(resetError());
          else this.push(null);
        },
      });
      return { stream, version: current, size: data.length };
    };
    return { open, opened };
  }

  /** The whole object through a resumable reader, or through resumableContent (which gathers without a stream). */
  const readers = {
    resumableReader: async (open: OpenRange, options: RetryOptions) => readAll(await resumableReader(0, open, options)),
    resumableContent: (open: OpenRange, options: RetryOptions) => resumableContent(open, options),
  };
  const bothReaders = Object.entries(readers);

  test('a body cut mid-way resumes from the last byte delivered, pinned to the first version', async () => {
    const { open, opened } = server({ cuts: 2, cutAfter: 12_345 });
    const stream = await resumableReader(500, open, { baseDelayMs: 1 });
    expect((await readAll(stream)).equals(data.subarray(500))).toBe(true);
    expect(opened).toEqual([
      { offset: 500, version: undefined },
      { offset: 500 + 12_345, version: 'v1' },
      { offset: 500 + 2 * 12_345, version: 'v1' },
    ]);
  });


  test('an object replaced between the cut and the resume fails the stream with PreconditionFailed', async () => {
    let version = 'v1';
    const { open } = server({ cuts: 1, cutAfter: 1000, version: () => version });
    const stream = await resumableReader(0, open, { baseDelayMs: 1 });
    version = 'v2';
    await expect(readAll(stream)).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  test('resumableContent reads a whole object, continuing a cut body from the byte where it stopped', async () => {
    const { open, opened } = server({ cuts: 1, cutAfter: 4321 });
    expect((await resumableContent(open, { baseDelayMs: 1 })).equals(data)).toBe(true);
    expect(opened).toEqual([{ offset: 0, version: undefined }, { offset: 4321, version: 'v1' }]);
    const whole = server({ cuts: 0, cutAfter: 0 });
    expect((await resumableContent(whole.open)).equals(data)).toBe(true);
    expect(whole.opened).toHaveLength(1);
  });

  test.each(bothReaders)('%s: a body that ends before the announced size is resumed, not taken as the end', async (_, read) => {
    const { open, opened } = server({ cuts: 1, cutAfter: 777, short: true });
    expect((await read(open, { baseDelayMs: 1 })).equals(data)).toBe(true);
    expect(opened).toEqual([{ offset: 0, version: undefined }, { offset: 777, version: 'v1' }]);
  });

  test.each(bothReaders)('%s: a body closed before its end without an error is a cut, resumed where it stopped', async (_, read) => {
    const opened: number[] = [];
    const open = async (offset: number) => {
      opened.push(offset);
      const stream = new Readable({ read() {} });
      stream.push(data.subarray(offset, opened.length === 1 ? 5000 : undefined));
      if (opened.length === 1) setImmediate(() => stream.destroy());
      else stream.push(null);
      return { stream, version: 'v1', size: data.length };
    };
    expect((await read(open, { baseDelayMs: 1 })).equals(data)).toBe(true);
    expect(opened).toEqual([0, 5000]);
  });

  test.each(bothReaders)('%s: cuts that keep delivering are resumed to the end: the attempts count cuts in a row without progress', async (_, read) => {
    const { open, opened } = server({ cuts: 20, cutAfter: 1000 });
    expect((await read(open, { attempts: 3, baseDelayMs: 1 })).equals(data)).toBe(true);
    expect(opened).toHaveLength(21);
  });

  test.each(bothReaders)('%s: a failure mid-body that is not transient fails at once, without a resume', async (_, read) => {
    let opens = 0;
    const open = async () => {
      opens++;
      const stream = new Readable({ read() {} });
      stream.push(data.subarray(0, 100));
      setImmediate(() => stream.destroy(new PathNotFoundError('/a')));
      return { stream, version: 'v1', size: data.length };
    };
    await expect(read(open, { baseDelayMs: 1 })).rejects.toBeInstanceOf(PathNotFoundError);
    expect(opens).toBe(1);
  });

  test.each(bothReaders)('%s: cuts without progress beyond the attempts fail with a retryable typed error, never a short end', async (_, read) => {
    const { open, opened } = server({ cuts: 100, cutAfter: 0 });
    const failure = (await read(open, { attempts: 3, baseDelayMs: 1 }).catch((e: unknown) => e)) as StorageDriverError;
    // The first request and two resumes: three tries in all, as asked.
    expect(opened).toHaveLength(3);
    expect(failure).toBeInstanceOf(StorageDriverError);
    expect(failure.retryable).toBe(true);
  });

  test.each(bothReaders)('%s: the caller\'s abort while the body arrives rejects with its reason, without a resume', async (_, read) => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    let opens = 0;
    const open = async (_offset: number, _version: string | undefined, signal?: AbortSignal) => {
      opens++;
      const stream = new Readable({ read() {} });
      stream.push(data.subarray(0, 100));
      // As a transport does: the abort destroys the body with the signal's reason.
      signal?.addEventListener('abort', () => stream.destroy(signal.reason as Error));
      setImmediate(() => controller.abort(reason));
      return { stream, version: 'v1', size: data.length };
    };
    await expect(read(open, { baseDelayMs: 1, signal: controller.signal })).rejects.toBe(reason);
    expect(opens).toBe(1);
  });

  test.each(bothReaders)('%s: a body that stops sending while the reader waits is cut after stallTimeoutMs and resumed where it stopped', async (_, read) => {
    const opened: number[] = [];
    let stalled: Readable | undefined;
    const open = async (offset: number) => {
      opened.push(offset);
      const stream = new Readable({ read() {} });
      stream.push(data.subarray(offset, opened.length === 1 ? 5000 : undefined));
      if (opened.length === 1) stalled = stream;
      else stream.push(null);
      return { stream, version: 'v1', size: data.length };
    };
    const started = performance.now();
    expect((await read(open, { baseDelayMs: 1, stallTimeoutMs: 200 })).equals(data)).toBe(true);
    expect(opened).toEqual([0, 5000]);
    expect(stalled?.destroyed).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  test.each(bothReaders)('%s: an open whose answer never comes is given up after stallTimeoutMs, its request aborted, and tried again', async (_, read) => {
    const signals: Array<AbortSignal | undefined> = [];
    const open = async (offset: number, _version: string | undefined, signal?: AbortSignal) => {
      signals.push(signal);
      if (signals.length === 1) return new Promise<never>(() => undefined);
      return { stream: Readable.from([data.subarray(offset)]), version: 'v1', size: data.length };
    };
    expect((await read(open, { baseDelayMs: 1, stallTimeoutMs: 200 })).equals(data)).toBe(true);
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(DriverError);
    expect((signals[0]?.reason as DriverError).retryable).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
  });

  test('a reader its consumer holds back is not cut: only time spent waiting for bytes counts', async () => {
    const big = patterned(4 * 1024 * 1024);
    let opens = 0;
    const open = async (offset: number) => {
      opens++;
      let at = offset;
      const stream = new Readable({
        read() {
          this.push(at < big.length ? big.subarray(at, (at += 64 * 1024)) : null);
        },
      });
      return { stream, version: 'v1', size: big.length };
    };
    const reader = await resumableReader(0, open, { baseDelayMs: 1, stallTimeoutMs: 200 });
    const chunks: Buffer[] = [];
    for await (const chunk of reader) {
      chunks.push(chunk as Buffer);
      // The first chunk taken, the consumer stops reading for three times the limit.
      if (chunks.length === 1) await new Promise((resolve) => setTimeout(resolve, 600));
    }
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    expect(opens).toBe(1);
  });
});

describe('endpoint parameters', () => {
  const read = (value: unknown, options = {}) => new ParameterReader('x', { endpoint: value }, ['endpoint']).endpoint('endpoint', options);

  test('well-formed endpoints are accepted and normalised', () => {
    expect(read('http://127.0.0.1:9000/')).toBe('http://127.0.0.1:9000');
    expect(read('https://s3.eu-west-1.amazonaws.com')).toBe('https://s3.eu-west-1.amazonaws.com');
    expect(read('localhost:9000', { defaultScheme: 'http' })).toBe('http://localhost:9000');
    expect(read('http://127.0.0.1:10000/devstoreaccount1', { allowPath: true })).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(read('')).toBeUndefined();
  });

  test.each(['ht!tp://bad host', 'http://', '127.0.0.1:notaport', 'http://bad host', 'http://h:99999', 'http://h:0', 'ftp://h', 'http://h/path', 'http://u:p@h', 'http://h?x=1'])(
    '%j is an InvalidParameterError naming the parameter and the value',
    (value) => {
      let error: unknown;
      try {
        read(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParameterError);
      expect(error).toMatchObject({ parameter: 'endpoint', value });
      expect((error as Error).message).toContain('expected an http(s) URL');
    },
  );
});

describe('hidden state in flat listings', () => {
  test('keys outside the path grammar never surface, not even as a directory', async () => {
    const entry = (path: string): FileInfo => ({ path, size: 1, modTime: new Date(0), isDir: false });
    async function* pages() {
      yield [entry('/a/x'), entry('/inner~uploads/1/000000'), entry('/b/~uploads/t')];
      yield [entry('/c')];
    }
    const seen: string[] = [];
    await walkSortedKeys('/', pages(), (info) => void seen.push(info.path));
    expect(seen).toEqual(['/a', '/a/x', '/c']);
  });
});

test('contiguousParts counts the parts from the first index up to the first gap', () => {
  expect(contiguousParts(new Map([[0, 5], [1, 5], [3, 2]]))).toEqual({ count: 2, bytes: 10 });
  expect(contiguousParts(new Map([[1, 5], [2, 1]]), 1)).toEqual({ count: 2, bytes: 6 });
  expect(contiguousParts(new Map([[2, 5]]), 1)).toEqual({ count: 0, bytes: 0 });
});

describe('walk guards', () => {
  test('the generic walk visits children in byte order whatever order the backend lists them in', async () => {
    const backend = new MapBackend(['/b/2', '/a', '/b/1', '/a-b']);
    const list = backend.list.bind(backend);
    backend.list = async (path: string) => (await list(path)).sort().reverse();
    const seen: string[] = [];
    await new BaseDriver(backend).walk('/', (info) => void seen.push(info.path));
    expect(seen).toEqual(['/a', '/a-b', '/b', '/b/1', '/b/2']);
  });

  test('a native walk that ignores stop and skipDir still calls the caller back for nothing after stop and nothing below a skipped directory', async () => {
    const backend: MapBackend & Pick<StorageBackend, 'walk'> = new MapBackend();
    const entries = ['/a', '/a/1', '/a/2', '/b', '/b/1', '/c', '/d'];
    backend.walk = async (_path: string, fn: WalkFn) => {
      for (const path of entries) await fn({ path, size: 0, modTime: new Date(0), isDir: !path.slice(1).includes('/') && path !== '/c' && path !== '/d' });
    };
    const seen: string[] = [];
    await new BaseDriver(backend).walk('/', (info) => {
      seen.push(info.path);
      if (info.path === '/a') return 'skipDir';
      if (info.path === '/c') return 'stop';
      return undefined;
    });
    expect(seen).toEqual(['/a', '/b', '/b/1', '/c']);
  });
});

test('a reader delivers every byte in order through its guard, with a slow consumer', async () => {
  const backend = new MapBackend(['/a']);
  const chunks = Array.from({ length: 200 }, (_, i) => patterned(10_000 + i));
  backend.reader = async () => Readable.from(chunks, { objectMode: false });
  const stream = await new BaseDriver(backend).reader('/a');
  const received: Buffer[] = [];
  for await (const chunk of stream) {
    received.push(chunk as Buffer);
    if (received.length % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(Buffer.concat(received).equals(Buffer.concat(chunks))).toBe(true);
});
