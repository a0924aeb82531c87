/**
 * Whole reads of a segmented object of this driver, segment by segment, with the next segment's
 * request sent while the current one streams. On OpenStack Swift the proxy serves a Static Large
 * Object one segment after another through its SLO middleware, which read 256 MiB 1.35× slower
 * than these direct GETs of the same segments (README, Performance). The manifest comes from
 * `?multipart-manifest=get`, which answers a plain object with its content, so a read of a plain
 * object costs nothing more. Anything but a manifest of this driver's own (a DLO, a manifest
 * with ranges or nested manifests, Ceph's manifest-less answer) is read through the proxy.
 */
import { finished, Readable } from 'node:stream';

import { DriverError, PreconditionFailedError } from '@storagedriver/core';

/** One segment as the manifest lists it. */
export interface ManifestSegment {
  /** Object name in the container. */
  object: string;
  /** Its MD5, as the segment's ETag. */
  etag: string;
  bytes: number;
}

/**
 * The segments of `body` (an SLO manifest as `multipart-manifest=get` returns it), or undefined
 * unless every one is a whole object below `segmentPrefix` in `container`: only those are known
 * to be this upload's, immutable, and read whole by the service too.
 */
export function ownSegments(body: string, container: string, segmentPrefix: string): ManifestSegment[] | undefined {
  let entries: unknown;
  try {
    entries = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(entries) || entries.length === 0) return undefined;
  const prefix = `/${container}/${segmentPrefix}`;
  const segments: ManifestSegment[] = [];
  for (const entry of entries as Array<Record<string, unknown>>) {
    const { name, hash, bytes } = entry;
    if (typeof name !== 'string' || !name.startsWith(prefix) || typeof hash !== 'string' || typeof bytes !== 'number' || bytes <= 0) return undefined;
    if (entry.range !== undefined || entry.sub_slo !== undefined) return undefined;
    segments.push({ object: name.slice(container.length + 2), etag: hash, bytes });
  }
  return segments;
}

/** Opens one segment from `offset` within it; rejects with PreconditionFailedError when it is gone. */
export type OpenSegment = (segment: ManifestSegment, offset: number) => Promise<{ etag: string | undefined; body: Readable }>;

/**
 * The bytes of `segments` from `from` (an offset in the whole object) to the end: each segment's
 * answer is checked against its manifest entry (ETag, and its length, so a body that ends early is
 * an error, never bytes missing in the middle), and the next one is requested as the current one
 * starts to stream. A failure ends the stream with it (a transport cut stays transient, so the
 * caller's resumable read resumes from the last byte delivered).
 */
export function segmentStream(path: string, segments: readonly ManifestSegment[], from: number, open: OpenSegment): Readable {
  let index = 0;
  let offset = from;
  while (index < segments.length && offset >= segments[index]!.bytes) offset -= segments[index++]!.bytes;
  let current: Readable | undefined;
  let ahead: Promise<Readable> | undefined;
  const output = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      current?.resume();
    },
    destroy(error, callback) {
      current?.destroy();
      void ahead?.then((body) => body.destroy(), () => undefined);
      callback(error);
    },
  });
  const request = (at: number, within: number): Promise<Readable> => {
    const segment = segments[at]!;
    const pending = open(segment, within).then(({ etag, body }) => {
      if (etag !== undefined && etag.replace(/"/g, '') !== segment.etag) {
        body.destroy();
        throw new PreconditionFailedError(path, `the object changed during the read (segment ${segment.object} has ETag ${etag}, its manifest says ${segment.etag})`);
      }
      return body;
    });
    // Settled when its turn comes; a failure before then is not unhandled.
    pending.catch(() => undefined);
    return pending;
  };
  const follow = (at: number, pending: Promise<Readable>, expected: number): void => {
    pending.then(
      (body) => {
        if (output.destroyed) {
          body.destroy();
          return;
        }
        current = body;
        ahead = at + 1 < segments.length ? request(at + 1, 0) : undefined;
        let received = 0;
        body.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > expected) {
            // Never passed on: bytes past what the manifest lists would shift every byte after them.
            body.destroy();
            output.destroy(new DriverError(`segment ${segments[at]!.object} holds more than the ${expected} bytes the read expects of it`, { path }));
            return;
          }
          if (!output.push(chunk)) body.pause();
        });
        finished(body, (failure) => {
          if (output.destroyed) return;
          let error: Error | undefined = failure ?? undefined;
          if (error === undefined && received !== expected) {
            // Retryable: what was delivered is whole, so a resume from there misses nothing.
            error = new DriverError(`segment ${segments[at]!.object} ended at byte ${received} of ${expected}`, { path, retryable: true });
          }
          if (error !== undefined) {
            output.destroy(error);
            return;
          }
          if (ahead === undefined) output.push(null);
          else follow(at + 1, ahead, segments[at + 1]!.bytes);
        });
      },
      (error: unknown) => output.destroy(error as Error),
    );
  };
  if (index >= segments.length) output.push(null);
  else follow(index, request(index, offset), segments[index]!.bytes - offset);
  return output;
}
