import { AsyncLocalStorage } from 'node:async_hooks';

import { type Context, type ContextManager, type Span, type SpanContext, type SpanOptions, type SpanStatus, ROOT_CONTEXT, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';

import { BaseDriver, PathNotFoundError, TRACE_ATTRIBUTES as ATTRIBUTES } from '../src/index.js';
import { MapBackend } from './fixtures.js';

/** A context manager on AsyncLocalStorage (what an OpenTelemetry SDK installs in Node). */
class StorageContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

/** A span that keeps what it was told; `sampled` false makes it valid but not recording (an SDK's sampled-out span). */
class RecordedSpan implements Span {
  attributes: Record<string, unknown> = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  exceptions: unknown[] = [];
  ended = false;
  constructor(
    readonly name: string,
    options: SpanOptions,
    readonly sampled: boolean,
  ) {
    Object.assign(this.attributes, options.attributes);
  }
  spanContext(): SpanContext {
    return { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: this.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE };
  }
  setAttribute(key: string, value: unknown): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Record<string, unknown>): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    this.ended = true;
  }
  isRecording(): boolean {
    return this.sampled && !this.ended;
  }
  recordException(exception: unknown): void {
    this.exceptions.push(exception);
  }
}

const spans: RecordedSpan[] = [];
let sampled = true;

beforeAll(() => {
  context.setGlobalContextManager(new StorageContextManager());
  trace.setGlobalTracerProvider({
    getTracer: () => ({
      startSpan: (name: string, options: SpanOptions = {}) => {
        const span = new RecordedSpan(name, options, sampled);
        spans.push(span);
        return span;
      },
      startActiveSpan: (name: string, ...rest: unknown[]) => {
        const fn = rest.at(-1) as (span: Span) => unknown;
        const options = (rest.length > 1 ? rest[0] : {}) as SpanOptions;
        const span = new RecordedSpan(name, options, sampled);
        spans.push(span);
        return context.with(trace.setSpan(context.active(), span), fn, undefined, span);
      },
    }),
  });
});
afterAll(() => {
  trace.disable();
  context.disable();
});
beforeEach(() => {
  spans.length = 0;
  sampled = true;
});

/** A backend that notes the span active while it runs. */
class ObservedBackend extends MapBackend {
  active: Span | undefined;
  override async getContent(path: string): Promise<Buffer> {
    this.active = trace.getActiveSpan();
    return super.getContent(path);
  }
}

test('each operation has a span with upstream\'s attributes, active while the backend runs, and ended', async () => {
  const backend = new ObservedBackend(['/a']);
  const driver = new BaseDriver(backend);
  expect((await driver.getContent('/a')).toString()).toBe('/a');
  expect(spans).toHaveLength(1);
  const [span] = spans;
  expect(span!.name).toBe('GetContent');
  expect(span!.attributes).toEqual({ [ATTRIBUTES.path]: '/a', [ATTRIBUTES.driverName]: 'map' });
  expect(backend.active).toBe(span);
  expect(span!.ended).toBe(true);
  expect(span!.status.code).toBe(SpanStatusCode.UNSET);
});

test('a failed operation records its error on the span and sets the error status', async () => {
  const driver = new BaseDriver(new ObservedBackend());
  await expect(driver.getContent('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
  const [span] = spans;
  expect(span!.exceptions).toHaveLength(1);
  expect(span!.exceptions[0]).toBeInstanceOf(PathNotFoundError);
  expect(span!.status.code).toBe(SpanStatusCode.ERROR);
  expect(span!.ended).toBe(true);
});

test('a span the SDK sampled out is still the active one, so what the operation starts inherits the decision', async () => {
  sampled = false;
  const backend = new ObservedBackend(['/a']);
  await new BaseDriver(backend).getContent('/a');
  expect(backend.active).toBe(spans[0]);
  expect(spans[0]!.ended).toBe(true);
});
