/**
 * The compose writer. Each chunk is uploaded as a hidden object
 * `<root>~uploads/<path>~/<upload id>/<index>` (one request, with its MD5 for the service to check —
 * upstream #3018 stored 0-byte objects without a checksum); commit composes the chunks into the
 * target in one atomic step, then removes them.
 *
 * Why not upstream's resumable session: a session URI expires after a week, allows one request in
 * flight, and upstream kept the session and the unsent tail inside the object itself, so a
 * half-written upload was visible at the path. Chunk objects never expire, upload concurrently, are
 * listed by any process that resumes, and stay invisible (`~` is outside the path grammar, and the
 * uploads prefix is a sibling of the root, never below it). Compose takes 32 sources per call, so
 * more chunks are composed in rounds through intermediate objects.
 */
import type { FileMetadata } from '@google-cloud/storage';
import { DriverError, PartUploader, PreconditionFailedError, retry, type BackendWriter, type WriteConditions, type WriteMetadata } from '@storagedriver/core';

import { gcsStatus } from './errors.js';
import type { GcsRequests, Preconditions } from './http.js';
import { CHANGED, UPLOAD_MARKER, chunkResource, hasHeaders, objectResource, preconditions } from './metadata.js';
import { deleteObjects, listNames, objectMetadata, saveChecked } from './objects.js';

const COMPOSE_MAX = 32;

export interface UploadTarget {
  requests: GcsRequests;
  /** The driver path, for errors. */
  path: string;
  key: string;
  /** What the upload started with: the committed object gets it; every chunk carries it for a writer that continues. */
  metadata: WriteMetadata;
  /** `<root>~uploads/<path>~/<upload id>/`: every object of this upload lies under it. */
  uploadPrefix: string;
  uploadId: string;
  chunkSize: number;
  concurrency: number;
}

export function chunkName(uploadPrefix: string, index: number): string {
  return `${uploadPrefix}${String(index).padStart(6, '0')}`;
}

/** What newUploadId makes. */
export const UPLOAD_ID = /^[0-9a-z]{15}$/;

export function newUploadId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
}

/** The upload a committed object came from, by its marker. */
export function committedUpload(metadata: FileMetadata | undefined): string | undefined {
  const marker = metadata?.metadata?.[UPLOAD_MARKER];
  return typeof marker === 'string' ? marker : undefined;
}

export class ComposeWriter implements BackendWriter {
  readonly #t: UploadTarget;
  readonly #uploader: PartUploader;
  #size: number;

  constructor(target: UploadTarget, resumed: { chunks: number; bytes: number } = { chunks: 0, bytes: 0 }) {
    this.#t = target;
    this.#size = resumed.bytes;
    this.#uploader = new PartUploader({
      partSize: target.chunkSize,
      concurrency: target.concurrency,
      firstIndex: resumed.chunks,
      // Idempotent: the same bytes under the same name, checked by MD5.
      upload: async (index, data, signal) => void (await saveChecked(target.requests, chunkName(target.uploadPrefix, index), data, chunkResource(target.metadata), {}, signal)),
    });
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    this.#size += chunk.length;
    await this.#uploader.write(chunk, signal);
  }

  async close(): Promise<void> {
    // Chunks may differ in size: the buffered tail becomes a short chunk of its own.
    await this.#uploader.flush();
  }

  /**
   * Retryable as a whole (core calls it again after a failure): chunks are removed only after the
   * compose succeeded, so a repeat composes the same sources into the same content; and when they
   * are gone already (a lost answer, then removed as leftovers of this committed upload), the
   * object carrying this upload's marker is this upload's content. With conditions, the compose
   * carries them as generation preconditions; a 412 whose cause is this upload's own object
   * (its answer was lost) is success too.
   */
  async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
    await this.#uploader.flush(signal);
    const { requests, path, key, uploadPrefix, uploadId } = this.#t;
    const resource = objectResource(this.#t.metadata, uploadId);
    let required: Preconditions = {};
    if (conditions !== undefined) {
      const current = await objectMetadata(this.#t.requests, this.#t.key, signal);
      // This upload is the object already: a commit whose answer was lost, tried again.
      if (committedUpload(current) === uploadId) return this.#cleanUp();
      required = preconditions(path, conditions, current);
    }
    const count = this.#uploader.nextIndex;
    try {
      if (count === 0) {
        await saveChecked(requests, key, Buffer.alloc(0), resource, required, signal);
        return;
      }
      let sources = Array.from({ length: count }, (_, index) => chunkName(uploadPrefix, index));
      for (let round = 0; sources.length > COMPOSE_MAX; round++) {
        const groups = Array.from({ length: Math.ceil(sources.length / COMPOSE_MAX) }, (_, i) => sources.slice(i * COMPOSE_MAX, (i + 1) * COMPOSE_MAX));
        sources = await Promise.all(groups.map(async (group, i) => {
          const name = `${uploadPrefix}c${round}-${String(i).padStart(6, '0')}`;
          await retry(() => requests.compose(name, group, { metadata: {} }, {}, signal), { signal });
          return name;
        }));
      }
      const composed = await retry(() => requests.compose(key, sources, resource, required, signal), { signal });
      if (!hasHeaders(composed, resource)) {
        // The service kept the replaced object's content headers (fake-gcs-server v1.56.1 does;
        // GCS sets the compose's): a fresh composite has them, and a rewrite replaces the object whole.
        const whole = `${uploadPrefix}whole`;
        await retry(() => requests.compose(whole, sources, resource, {}, signal), { signal });
        await retry(() => requests.rewrite(whole, key, undefined, signal), { signal });
      }
    } catch (error) {
      if (signal?.aborted || !(await this.#isCommitted(signal))) {
        if (gcsStatus(error) === 412) throw new PreconditionFailedError(path, CHANGED, { cause: error });
        if (gcsStatus(error) !== 404 || signal?.aborted) throw error;
        // A source is gone: the upload was aborted (abortUpload, purgeUploads). It can never be
        // composed; chunks its writer added since go too, so nothing of it stays pending.
        await this.cancel(signal).catch(() => undefined);
        throw new DriverError('this upload was aborted or cancelled (its chunk objects are gone): it is not committed', { path, cause: error });
      }
    }
    if (count > 0) await this.#cleanUp();
  }

  /**
   * The content is committed, so a failed clean-up is no failure of the commit: leftovers only
   * cost storage, and the marker lets the next writer at this path recognise and remove them.
   */
  async #cleanUp(): Promise<void> {
    const { requests, uploadPrefix } = this.#t;
    await listNames(requests, uploadPrefix).then((names) => deleteObjects(requests, names)).catch(() => undefined);
  }

  /** Whether the object at the key is this upload's (a check that cannot tell says no: the commit's own failure stands). */
  async #isCommitted(signal?: AbortSignal): Promise<boolean> {
    return committedUpload(await objectMetadata(this.#t.requests, this.#t.key, signal).catch(() => undefined)) === this.#t.uploadId;
  }

  async cancel(signal?: AbortSignal): Promise<void> {
    // Let chunks in flight land first, or one could appear after the clean-up.
    await this.#uploader.drain().catch(() => undefined);
    await deleteObjects(this.#t.requests, await listNames(this.#t.requests, this.#t.uploadPrefix, signal), undefined, signal);
  }
}
