/**
 * OpenTelemetry spans per operation, with upstream's span names and attribute keys. Through
 * `@opentelemetry/api` alone this is a no-op tracer until an application installs an SDK.
 */
import { type Attributes, type Span, SpanStatusCode, context, isSpanContextValid, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@storagedriver/core');

/** The OpenTelemetry span attribute keys core sets on each operation's span (upstream's keys). */
export const ATTRIBUTES = {
  /** The driver's name. */
  driverName: 'io.cncf.distribution.storage.driver.name',
  /** The operation's path. */
  path: 'io.cncf.distribution.storage.path',
  /** Bytes written by putContent. */
  contentLength: 'io.cncf.distribution.storage.content.length',
  /** A reader's start offset, in bytes. */
  offset: 'io.cncf.distribution.storage.offset',
  /** Whether a writer continues an upload. */
  append: 'io.cncf.distribution.storage.append',
  /** The source of a move or copy. */
  sourcePath: 'io.cncf.distribution.storage.source.path',
  /** The destination of a move or copy. */
  destPath: 'io.cncf.distribution.storage.dest.path',
} as const;

export async function traced<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, { attributes });
  // Without an OpenTelemetry SDK the span is an invalid no-op: making it the active context would
  // only copy a context per operation. A span an SDK sampled out is valid and still activated, so
  // what the operation starts inherits the decision.
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return fn();
  return context.with(trace.setSpan(context.active(), span), () => ended(span, fn));
}

async function ended<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (span.isRecording()) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    throw error;
  } finally {
    span.end();
  }
}
