/**
 * The segment writer. Each chunk is uploaded as a segment object `<root>~segments/<upload id>/<index>`
 * (concurrently, with its MD5 for the service to check); commit publishes them at the path as one
 * Static Large Object manifest, so the content appears at once, whole. An upload is found again by
 * its record `<root>~uploads/<path>~/<upload id>` (an empty object), so a writer with append
 * continues it from any driver instance or process by listing its segments. Both prefixes are
 * siblings of the root (`~` is outside the path grammar), never visible through list or walk.
 *
 * Why SLO and not upstream's DLO: an SLO manifest lists its segments with their sizes and ETags, and
 * the service checks them when the manifest is written (real Swift refuses a wrong size or ETag), so
 * a published object is exactly the segments written — whereas a DLO is whatever the listing of a
 * prefix shows at read time (eventually consistent on a multi-node cluster, which is why upstream
 * polled for 15 s after each commit), and its content changes when a segment is added. SLO is what
 * current Swift recommends. DLOs upstream wrote are still read (the service serves them).
 *
 * Segments belong to their upload, not to a path: a move rewrites only the manifest, and the
 * manifest's `X-Object-Meta-Storagedriver-Upload` names the upload (objects written before it had
 * `;storagedriver-upload=<id>` in their Content-Type, still read), so whoever replaces or deletes
 * the object removes exactly its segments. A copy makes segments of its own (a new upload).
 */
import { DriverError, PartUploader, md5, retry, type BackendWriter, type WriteMetadata } from '@storagedriver/core';

import { swiftStatus } from './errors.js';
import { EMPTY_MD5, manifestHeaders, metadataHeaders, type Container } from './objects.js';

/**
 * How long a commit's manifest PUT may take, retries included. A commit marked longer ago than two
 * windows (server clock) is dead: an abort waiting for it stops waiting (README "A commit and an abort that race").
 */
export const COMMIT_WINDOW_MS = 30_000;

/** The object a commit writes beside its segments before it checks that its upload is still open, and removes once its manifest PUT is answered. */
export function commitMark(segmentPrefix: string): string {
  return `${segmentPrefix}committing`;
}

/** The object an abort writes beside the segments before it looks for a commit's mark: a commit that finds it publishes nothing. */
export function abortFlag(segmentPrefix: string): string {
  return `${segmentPrefix}aborting`;
}

export interface UploadTarget {
  container: Container;
  /** The object name the manifest gets. */
  key: string;
  /** The upload's record object. */
  record: string;
  /** `<root>~segments/<upload id>/`. */
  segmentPrefix: string;
  uploadId: string;
  chunkSize: number;
  concurrency: number;
  /** What the upload started with: kept on its record (so a resumed writer publishes it) and put on the object at commit. */
  metadata?: WriteMetadata;
  /** Segments one manifest may list (the cluster's `slo.max_manifest_segments`). */
  maxSegments: (signal?: AbortSignal) => Promise<number>;
}

export interface Segment {
  etag: string;
  size: number;
}

export function segmentName(segmentPrefix: string, index: number): string {
  return `${segmentPrefix}${String(index).padStart(8, '0')}`;
}

/** Time-ordered (the newest upload at a path sorts last), unique enough: 9 base-36 digits of ms and 6 random. */
export function newUploadId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
}

/** Removes the segments of a replaced object, if it was a manifest of ours and not this very upload. Best effort. */
export async function removeReplaced(container: Container, segmentsRoot: string, replacedUpload: string | undefined, keep?: string): Promise<void> {
  if (replacedUpload === undefined || replacedUpload === keep) return;
  // The replacement is committed: leftovers only cost storage, so a failed clean-up fails nothing.
  await container.deletePrefix(`${segmentsRoot}${replacedUpload}/`).catch(() => undefined);
}

export class SegmentWriter implements BackendWriter {
  readonly #t: UploadTarget;
  readonly #segmentsRoot: string;
  readonly #uploader: PartUploader;
  readonly #segments: Map<number, Segment>;
  #size: number;
  #recorded: Promise<void> | undefined;

  constructor(target: UploadTarget, segmentsRoot: string, resumed?: { segments: Map<number, Segment>; count: number; bytes: number }) {
    this.#t = target;
    this.#segmentsRoot = segmentsRoot;
    this.#segments = resumed?.segments ?? new Map();
    this.#size = resumed?.bytes ?? 0;
    // A resumed upload has its record already.
    if (resumed !== undefined) this.#recorded = Promise.resolve();
    this.#uploader = new PartUploader({
      partSize: target.chunkSize,
      concurrency: target.concurrency,
      firstIndex: resumed?.count ?? 0,
      upload: (index, data, signal) => this.#uploadSegment(index, data, signal),
    });
  }

  get size(): number {
    return this.#size;
  }

  /** The record first, so that no segment exists that a resuming writer could not find; it holds the upload's metadata as its own headers. */
  #record(signal?: AbortSignal): Promise<void> {
    const recorded = (this.#recorded ??= this.#t.container.put(this.#t.record, Buffer.alloc(0), EMPTY_MD5, metadataHeaders(this.#t.metadata), signal));
    recorded.catch(() => {
      if (this.#recorded === recorded) this.#recorded = undefined;
    });
    return recorded;
  }

  async #uploadSegment(index: number, data: Buffer, signal?: AbortSignal): Promise<void> {
    // Hashed while the record's PUT is in flight: the first segments wait for it.
    const [digest] = await Promise.all([md5(data), this.#record(signal)]);
    const etag = digest.toString('hex');
    // Idempotent: the same bytes under the same name, checked by MD5.
    await this.#t.container.put(segmentName(this.#t.segmentPrefix, index), data, etag, {}, signal);
    this.#segments.set(index, { etag, size: data.length });
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    // Segments may differ in size: the buffered tail becomes a short segment of its own.
    await this.#uploader.flush();
  }

  /**
   * Retryable as a whole (core calls it again after a failure): segments stay where they are (the
   * manifest needs them), so a repeat writes the same manifest; and a manifest already at the path
   * naming this upload is this upload's content, committed by a try whose answer was lost. An
   * upload whose record is gone was aborted (its segments removed): never published.
   */
  async commit(signal?: AbortSignal): Promise<void> {
    await this.#uploader.flush(signal);
    const { container, key, uploadId, segmentPrefix } = this.#t;
    const count = this.#uploader.nextIndex;
    const replaced = await container.uploadAt(key, signal);
    // What is left once the object is published goes at once: the clean-ups are independent, each best effort.
    const cleanUps: Array<Promise<void>> = [];
    if (replaced !== uploadId) {
      if (count === 0) {
        // No segments (nothing an abort removes): a plain empty object (upstream's zero-byte DLO made stat and reads spin for 15 s).
        await this.#checkOpen(signal);
        await container.put(key, Buffer.alloc(0), EMPTY_MD5, metadataHeaders(this.#t.metadata), signal);
      } else {
        // Marked before the upload is checked, as an abort flags it before looking for a mark: of a
        // commit and an abort that race, at least one sees the other, and the abort keeps the
        // segments of a manifest that may still land.
        await container.put(commitMark(segmentPrefix), Buffer.alloc(0), EMPTY_MD5, {}, signal);
        const removeMark = (): Promise<void> => container.deleteOne(commitMark(segmentPrefix)).catch(() => undefined);
        let inFlight = false;
        try {
          await this.#checkOpen(signal);
          await this.#putManifest(count, signal, () => (inFlight = true));
        } catch (error) {
          // A manifest PUT left unanswered (a cut, a timeout, an abort) may still land: the mark
          // stays for an abort to wait out. One refused by the server is not in flight.
          if (!inFlight || swiftStatus(error) !== undefined) await removeMark();
          throw error;
        }
        cleanUps.push(removeMark());
      }
      cleanUps.push(removeReplaced(container, this.#segmentsRoot, replaced, uploadId));
    }
    // The record only finds the upload again; once committed it is stale (a resume recognises a
    // stale one by the manifest naming its upload, so a failed removal is no failure).
    cleanUps.push(container.deleteOne(this.#t.record).catch(() => undefined));
    await Promise.all(cleanUps);
  }

  /** Throws unless the upload is still open: its record there (when it has one) and no abort's flag beside its segments. */
  async #checkOpen(signal?: AbortSignal): Promise<void> {
    const { container, key, uploadId, record, segmentPrefix } = this.#t;
    const [recorded, aborting] = await Promise.all([
      this.#recorded === undefined ? true : container.head(record, signal),
      container.head(abortFlag(segmentPrefix), signal),
    ]);
    if (recorded === undefined || aborting !== undefined) {
      throw new DriverError(`cannot commit ${key}: its upload ${uploadId} was aborted (cancel the writer to remove what it wrote since)`);
    }
  }

  /** `sending` is called just before the first PUT goes out. The PUT, retries included, gets COMMIT_WINDOW_MS. */
  async #putManifest(count: number, signal: AbortSignal | undefined, sending: () => void): Promise<void> {
    const { container, key, uploadId, segmentPrefix } = this.#t;
    const max = await this.#t.maxSegments(signal);
    if (count > max) {
      throw new DriverError(`${count} segments are more than the ${max} one manifest may list: use a larger chunksize (now ${this.#t.chunkSize} bytes)`);
    }
    const manifest = Array.from({ length: count }, (_, index) => {
      const segment = this.#segments.get(index);
      if (segment === undefined) throw new DriverError(`segment ${index} of upload ${uploadId} is missing`);
      return { path: `/${container.name}/${segmentName(segmentPrefix, index)}`, etag: segment.etag, size_bytes: segment.size };
    });
    const body = JSON.stringify(manifest);
    const window = AbortSignal.timeout(COMMIT_WINDOW_MS);
    const bounded = signal === undefined ? window : AbortSignal.any([signal, window]);
    sending();
    try {
      // The same manifest again gives the same object: retried.
      await retry(() => container.client.call({
        method: 'PUT',
        container: container.name,
        object: key,
        query: { 'multipart-manifest': 'put' },
        headers: manifestHeaders(uploadId, this.#t.metadata),
        body,
        signal: bounded,
      }), { signal: bounded });
    } catch (error) {
      // A try whose answer was lost may have committed it.
      if (signal?.aborted || (await container.uploadAt(key, signal).catch(() => undefined)) !== uploadId) throw error;
    }
  }

  async cancel(signal?: AbortSignal): Promise<void> {
    // Let segments in flight land first, or one could appear after the clean-up.
    await this.#uploader.drain().catch(() => undefined);
    await this.#t.container.deletePrefix(this.#t.segmentPrefix, signal);
    await this.#t.container.deleteOne(this.#t.record, signal);
  }
}

