/**
 * Storage middleware: wrappers applied by name after `create`, each around the previous (upstream's
 * `middleware.storage` list). Built in: `redirect` (serve redirects from a fixed base URL) and
 * `rewrite` (adjust the scheme, host or path of the driver's own redirect URLs).
 */
import type { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

import type {
  Capabilities,
  Content,
  Existence,
  FileInfo,
  FilePage,
  FileWriter,
  GetContentOptions,
  ListPageOptions,
  OperationOptions,
  PendingUpload,
  PutOptions,
  ReadOptions,
  RedirectOptions,
  SignedURL,
  SignedURLOptions,
  StorageDriver,
  WalkFn,
  WalkOptions,
  WriterOptions,
} from './driver.js';
import { InvalidParameterError } from './errors.js';

/** Builds a middleware: wraps `driver` according to `options` (the entry's `options`, or `{}`). */
export type MiddlewareInit = (driver: StorageDriver, options: Record<string, unknown>) => StorageDriver | Promise<StorageDriver>;

/** One middleware to apply: a registered (or built-in) name and its options. */
export interface MiddlewareEntry {
  /** The middleware's name: `redirect`, `rewrite` or one given to `registerMiddleware`. */
  name: string;
  /** Passed to the middleware's init; its own parameters. */
  options?: Record<string, unknown>;
}

/** Forwards every operation to `inner`; middleware extends it and overrides what it changes. */
export class DriverDelegate implements StorageDriver {
  /** @param inner The driver every call is forwarded to. */
  constructor(protected readonly inner: StorageDriver) {}
  get name(): string {
    return this.inner.name;
  }
  get capabilities(): Capabilities {
    return this.inner.capabilities;
  }
  getContent(path: string, options?: GetContentOptions): Promise<Buffer> {
    return this.inner.getContent(path, options);
  }
  putContent(path: string, content: Content, options?: PutOptions): Promise<void> {
    return this.inner.putContent(path, content, options);
  }
  put(path: string, content: Content, options?: PutOptions): Promise<void> {
    return this.inner.put(path, content, options);
  }
  reader(path: string, offset?: number, options?: ReadOptions): Promise<Readable> {
    return this.inner.reader(path, offset, options);
  }
  webReader(path: string, offset?: number, options?: ReadOptions): Promise<ReadableStream<Uint8Array>> {
    return this.inner.webReader(path, offset, options);
  }
  exists(path: string, options?: OperationOptions): Promise<Existence> {
    return this.inner.exists(path, options);
  }
  listPage(path: string, options?: ListPageOptions): Promise<FilePage> {
    return this.inner.listPage(path, options);
  }
  copy(sourcePath: string, destPath: string, options?: OperationOptions): Promise<void> {
    return this.inner.copy(sourcePath, destPath, options);
  }
  signedURL(path: string, options: SignedURLOptions): Promise<SignedURL> {
    return this.inner.signedURL(path, options);
  }
  writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    return this.inner.writer(path, options);
  }
  stat(path: string, options?: OperationOptions): Promise<FileInfo> {
    return this.inner.stat(path, options);
  }
  list(path: string, options?: OperationOptions): Promise<string[]> {
    return this.inner.list(path, options);
  }
  move(sourcePath: string, destPath: string, options?: OperationOptions): Promise<void> {
    return this.inner.move(sourcePath, destPath, options);
  }
  delete(path: string, options?: OperationOptions): Promise<void> {
    return this.inner.delete(path, options);
  }
  redirectURL(path: string, options: RedirectOptions): Promise<string | undefined> {
    return this.inner.redirectURL(path, options);
  }
  walk(path: string, fn: WalkFn, options?: WalkOptions): Promise<void> {
    return this.inner.walk(path, fn, options);
  }
  uploads(path: string, options?: OperationOptions): AsyncIterable<PendingUpload> {
    return this.inner.uploads(path, options);
  }
  abortUpload(path: string, id: string, options?: OperationOptions): Promise<void> {
    return this.inner.abortUpload(path, id, options);
  }
}

function stringOption(middleware: string, options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidParameterError(key, value, 'a string', { driverName: `${middleware} middleware` });
  return value;
}

function isRedirectMethod(options: RedirectOptions): boolean {
  const method = options?.method?.toUpperCase();
  return method === 'GET' || method === 'HEAD';
}

/** `redirect`: URLs are `baseurl` + the path, for every GET or HEAD (existence is not checked, as upstream). */
class RedirectMiddleware extends DriverDelegate {
  readonly #base: URL;
  constructor(inner: StorageDriver, options: Record<string, unknown>) {
    super(inner);
    const fail = (accepted: string, value: unknown = options.baseurl): never => {
      throw new InvalidParameterError('baseurl', value, accepted, { driverName: 'redirect middleware' });
    };
    const baseurl = stringOption('redirect', options, 'baseurl') ?? fail('a URL with a scheme and host (required)');
    const url = URL.parse(baseurl);
    if (url === null || url.host === '') fail('an absolute URL with a scheme and host, such as https://cdn.example.com/prefix');
    this.#base = url!;
  }
  override get capabilities(): Capabilities {
    return { ...this.inner.capabilities, redirectURL: true };
  }
  override async redirectURL(path: string, options: RedirectOptions): Promise<string | undefined> {
    if (!isRedirectMethod(options)) return undefined;
    const url = new URL(this.#base.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    url.search = '';
    url.hash = '';
    return url.href;
  }
}

/** `rewrite`: replaces the scheme and host of the driver's redirect URL and trims a path prefix. No URL stays no URL. */
class RewriteMiddleware extends DriverDelegate {
  readonly #scheme: string | undefined;
  readonly #host: string | undefined;
  readonly #trimPathPrefix: string | undefined;
  constructor(inner: StorageDriver, options: Record<string, unknown>) {
    super(inner);
    this.#scheme = stringOption('rewrite', options, 'scheme');
    this.#host = stringOption('rewrite', options, 'host');
    this.#trimPathPrefix = stringOption('rewrite', options, 'trimpathprefix');
  }
  override async redirectURL(path: string, options: RedirectOptions): Promise<string | undefined> {
    const original = await this.inner.redirectURL(path, options);
    if (original === undefined) return undefined;
    const url = new URL(original);
    if (this.#scheme) url.protocol = `${this.#scheme}:`;
    if (this.#host) url.host = this.#host;
    if (this.#trimPathPrefix && url.pathname.startsWith(this.#trimPathPrefix)) {
      url.pathname = url.pathname.slice(this.#trimPathPrefix.length);
    }
    return url.href;
  }
}

const BUILT_IN: ReadonlyMap<string, MiddlewareInit> = new Map<string, MiddlewareInit>([
  ['redirect', (driver, options) => new RedirectMiddleware(driver, options)],
  ['rewrite', (driver, options) => new RewriteMiddleware(driver, options)],
]);

const REGISTRY_KEY = Symbol.for('@storagedriver/core:middleware-registry');
const globals = globalThis as Record<symbol, unknown>;
const registry = (globals[REGISTRY_KEY] ??= new Map<string, MiddlewareInit>()) as Map<string, MiddlewareInit>;

/** Registers a middleware; a name already taken (built-in names included) is an error. */
export function registerMiddleware(name: string, init: MiddlewareInit): void {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a storage middleware needs a non-empty name');
  if (BUILT_IN.has(name) || registry.has(name)) throw new Error(`a storage middleware named "${name}" is already registered`);
  registry.set(name, init);
}

/** The names `applyMiddleware` accepts (built-in and registered), sorted. */
export function registeredMiddleware(): string[] {
  return [...new Set([...BUILT_IN.keys(), ...registry.keys()])].sort();
}

/** Wraps `driver` in each middleware in turn, in the order given. */
export async function applyMiddleware(driver: StorageDriver, entries: readonly MiddlewareEntry[]): Promise<StorageDriver> {
  let wrapped = driver;
  for (const { name, options = {} } of entries) {
    const init = BUILT_IN.get(name) ?? registry.get(name);
    if (init === undefined) {
      throw new Error(`no storage middleware registered with name: ${name} (registered: ${registeredMiddleware().join(', ')})`);
    }
    wrapped = await init(wrapped, options);
  }
  return wrapped;
}
