/** The Google Cloud Storage backend and GcsDriver. Behaviour follows contract.md; upstream's is in upstream-model.md §7.5. */
import type { Readable } from 'node:stream';

import type { Bucket, File, FileMetadata } from '@google-cloud/storage';
import {
  BaseDriver,
  DriverError,
  readerAtEnd,
  KeyMapper,
  PathNotFoundError,
  ROOT,
  isValidPath,
  walkSortedKeys,
  type BackendWriter,
  type FileInfo,
  type StorageBackend,
  type WalkFn,
} from '@storagedriver/core';

import { createBucket } from './client.js';
import { isNotFound } from './errors.js';
import type { GcsOptions } from './params.js';
import { signedUrl } from './signer.js';
import { deleteObjects, listNames, saveChecked } from './objects.js';
import { ComposeWriter, UPLOAD_METADATA, chunkName, newUploadId, type UploadTarget } from './writer.js';

const LIST_PAGE = 1000;
const REDIRECT_SECONDS = 20 * 60;
/** Hidden prefix (below the root) of upload chunks; `~` is outside the path grammar. */
const UPLOADS = '~uploads/';
const CHUNK = /\/(\d{6})$/;

function info(path: string, metadata: FileMetadata): FileInfo {
  return { path, size: Number(metadata.size ?? 0), modTime: new Date(metadata.updated ?? 0), isDir: false };
}

export class GcsBackend implements StorageBackend {
  readonly name = 'gcs';
  readonly bucket: Bucket;
  readonly #o: GcsOptions;
  readonly #keys: KeyMapper;

  constructor(options: GcsOptions) {
    this.#o = options;
    this.bucket = createBucket(options);
    this.#keys = new KeyMapper(options.rootDirectory);
  }

  /** The object name of `path` (for middleware such as a CDN redirector). */
  key(path: string): string {
    return this.#keys.key(path);
  }

  #file(path: string): File {
    return this.bucket.file(this.key(path));
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      const [content] = await this.#file(path).download({ validation: false });
      return content;
    } catch (error) {
      if (isNotFound(error)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    // One request: the object is replaced atomically, with an MD5 the service checks.
    await saveChecked(this.#file(path), content);
  }

  async reader(path: string, offset: number, signal?: AbortSignal): Promise<Readable> {
    // A ranged read of an offset at or past the end fails late, inside the stream: check the size first.
    const { size } = await this.#statFile(path, signal);
    if (offset >= size) return readerAtEnd(path, offset, size);
    return this.#file(path).createReadStream({ start: offset, validation: false });
  }

  async #statFile(path: string, signal?: AbortSignal): Promise<FileInfo> {
    const stat = await this.stat(path, signal);
    if (stat.isDir) throw new PathNotFoundError(path);
    return stat;
  }

  async writer(path: string, append: boolean): Promise<BackendWriter> {
    const key = this.key(path);
    const uploadsOfKey = `${this.#keys.prefix}${UPLOADS}${key}~/`;
    const target = (uploadId: string): UploadTarget => ({
      bucket: this.bucket,
      key,
      uploadPrefix: `${uploadsOfKey}${uploadId}/`,
      uploadId,
      chunkSize: this.#o.chunkSize ?? 16 * 1024 * 1024,
      concurrency: this.#o.uploadConcurrency ?? 4,
    });
    if (!append) return new ComposeWriter(target(newUploadId()));
    let committed: FileMetadata | undefined;
    try {
      [committed] = await this.#file(path).getMetadata();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const resumed = await this.#newestUpload(uploadsOfKey, (committed?.metadata?.[UPLOAD_METADATA] as string | undefined) ?? undefined);
    if (resumed !== undefined) return new ComposeWriter(target(resumed.uploadId), resumed);
    if (committed === undefined) throw new PathNotFoundError(path);
    const upload = target(newUploadId());
    const size = Number(committed.size ?? 0);
    if (size === 0) return new ComposeWriter(upload);
    // Appending to committed content: a server-side copy of it becomes the upload's first chunk.
    await this.#file(path).copy(this.bucket.file(chunkName(upload.uploadPrefix, 0)));
    return new ComposeWriter(upload, { chunks: 1, bytes: size });
  }

  /** The newest upload at a key, with its chunks from 0 without a gap; leftovers of the committed upload are removed. */
  async #newestUpload(uploadsOfKey: string, committedUploadId: string | undefined) {
    const [files] = await this.bucket.getFiles({ prefix: uploadsOfKey, autoPaginate: true });
    const chunks = new Map<string, Map<number, number>>();
    for (const file of files) {
      const uploadId = file.name.slice(uploadsOfKey.length).split('/')[0]!;
      const index = CHUNK.exec(file.name)?.[1];
      if (index === undefined) continue;
      if (!chunks.has(uploadId)) chunks.set(uploadId, new Map());
      chunks.get(uploadId)!.set(Number(index), Number(file.metadata.size ?? 0));
    }
    if (committedUploadId !== undefined && chunks.has(committedUploadId)) {
      await deleteObjects(this.bucket, await listNames(this.bucket, `${uploadsOfKey}${committedUploadId}/`));
      chunks.delete(committedUploadId);
    }
    const uploadId = [...chunks.keys()].sort().at(-1);
    if (uploadId === undefined) return undefined;
    const sizes = chunks.get(uploadId)!;
    let count = 0;
    let bytes = 0;
    for (; sizes.has(count); count++) bytes += sizes.get(count)!;
    return { uploadId, chunks: count, bytes };
  }

  async stat(path: string, _signal?: AbortSignal): Promise<FileInfo> {
    if (path !== ROOT) {
      try {
        const [metadata] = await this.#file(path).getMetadata();
        return info(path, metadata);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const [files] = await this.bucket.getFiles({ prefix: this.#keys.directoryPrefix(path), maxResults: 1, autoPaginate: false });
    if (path !== ROOT && files.length === 0) throw new PathNotFoundError(path);
    return { path, size: 0, modTime: new Date(0), isDir: true };
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.#keys.directoryPrefix(path);
    const entries: string[] = [];
    let pageToken: string | undefined;
    do {
      const [files, next, response] = await this.bucket.getFiles({ prefix, delimiter: '/', maxResults: LIST_PAGE, pageToken, autoPaginate: false });
      for (const file of files) if (file.name !== prefix) entries.push(this.#keys.path(file.name));
      for (const directory of (response as { prefixes?: string[] } | undefined)?.prefixes ?? []) entries.push(this.#keys.path(directory));
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken !== undefined);
    // Upload chunks live under `~uploads/`, outside the path grammar.
    const visible = entries.filter(isValidPath);
    if (visible.length === 0 && path !== ROOT) throw new PathNotFoundError(path);
    return visible;
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.#file(sourcePath);
    try {
      // The SDK follows the rewrite token until the copy is complete.
      await source.copy(this.#file(destPath));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if ((await this.stat(sourcePath).catch(() => undefined))?.isDir) throw new DriverError(`cannot move ${sourcePath}: it is a directory`, { path: sourcePath });
      throw new PathNotFoundError(sourcePath, { cause: error });
    }
    await source.delete();
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    const names: string[] = [];
    const [exists] = await this.#file(path).exists();
    if (exists) names.push(key);
    names.push(...(await listNames(this.bucket, `${key}/`)));
    if (names.length === 0) throw new PathNotFoundError(path);
    await deleteObjects(this.bucket, names, path);
  }

  async redirectURL(path: string, method: string): Promise<string | undefined> {
    const key = this.#o.credentials;
    if (key === undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
    return signedUrl(key, { method, bucket: this.bucket.name, object: this.key(path), expiresSeconds: REDIRECT_SECONDS, endpoint: this.#o.apiEndpoint });
  }

  async walk(path: string, fn: WalkFn, startAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    const prefix = this.#keys.directoryPrefix(path);
    const hidden = `${this.#keys.prefix}${UPLOADS}`;
    const keys = this.#keys;
    const bucket = this.bucket;
    const startKey = startAfter === undefined || startAfter === '' ? undefined : keys.key(startAfter);
    async function* pages(): AsyncGenerator<FileInfo[]> {
      let pageToken: string | undefined;
      do {
        const [files, next] = await bucket.getFiles({
          prefix,
          maxResults: LIST_PAGE,
          pageToken,
          autoPaginate: false,
          // startOffset is inclusive; walkSortedKeys drops the hint itself.
          ...(pageToken === undefined && startKey !== undefined && startKey > prefix ? { startOffset: startKey } : {}),
        });
        const page: FileInfo[] = [];
        for (const file of files) {
          // `~` sorts after every path character: the hidden chunks come last, nothing visible follows.
          if (file.name.startsWith(hidden)) return yield page;
          page.push({ ...info(keys.path(file.name), file.metadata), isDir: file.name.endsWith('/') });
        }
        yield page;
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken !== undefined);
    }
    const found = await walkSortedKeys(path, pages(), fn, startAfter, signal);
    if (!found && path !== ROOT && (startKey === undefined || !(await this.stat(path, signal)).isDir)) throw new PathNotFoundError(path);
  }
}

/** The Google Cloud Storage driver. */
export class GcsDriver extends BaseDriver {
  constructor(options: GcsOptions) {
    super(new GcsBackend(options), { maxConcurrency: options.maxConcurrency ?? 50 });
  }
}
