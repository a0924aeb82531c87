/**
 * OpenTelemetry spans per operation, with upstream's span names and attribute keys. Through
 * `@opentelemetry/api` alone this is a no-op tracer until an application installs an SDK.
 */
import { type Attributes, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@storagedriver/core');

export const ATTRIBUTES = {
  driverName: 'io.cncf.distribution.storage.driver.name',
  path: 'io.cncf.distribution.storage.path',
  contentLength: 'io.cncf.distribution.storage.content.length',
  offset: 'io.cncf.distribution.storage.offset',
  append: 'io.cncf.distribution.storage.append',
  sourcePath: 'io.cncf.distribution.storage.source.path',
  destPath: 'io.cncf.distribution.storage.dest.path',
} as const;

export async function traced<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
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
  });
}
