/**
 * The mutant gallery: the reference backend with one known bug each. The conformance suite must
 * fail every mutant the contract can see; `killedBy` names cases expected among those that fail.
 */
import { createHash } from 'node:crypto';

import {
  type BackendPutOptions,
  type BackendWriter,
  type Capabilities,
  DriverError,
  type FileInfo,
  METADATA_KINDS,
  type FilePage,
  type PendingUpload,
  type StorageBackend,
  type WalkFn,
  type WriteConditions,
  type WriteMetadata,
} from '@storagedriver/core';

import { type BackendOptions, MemoryObjectBackend, ObjectStore, PartWriter, REFERENCE_CAPABILITIES } from './backend.js';
import type { SignedRequest } from './server.js';

export interface Mutant {
  name: string;
  /** The bug, as a real driver would have it. */
  bug: string;
  make(store: ObjectStore, options: BackendOptions): StorageBackend;
  /** Case names (or parts of them) that must be among the failed cases. Empty: the suite cannot see it (see `survives`). */
  killedBy: string[];
  /** Why the suite passes this mutant. */
  survives?: string;
}

export const reference = (store: ObjectStore, options: BackendOptions): StorageBackend => new MemoryObjectBackend(store, options);

/** A PartWriter variant for the writer mutants. */
function withWriter(Writer: typeof PartWriter): (store: ObjectStore, options: BackendOptions) => StorageBackend {
  return (store, options) =>
    new (class extends MemoryObjectBackend {
      protected override createWriter(path: string, id: string): PartWriter {
        return new Writer(this, path, id);
      }
    })(store, options);
}

export const mutants: Mutant[] = [
  {
    name: 'walk-ignores-stop',
    bug: 'the native walk ignores what the callback answers (stop, skipDir) and lists on',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override walkCallback(fn: WalkFn): WalkFn {
          return async (info: FileInfo) => {
            await fn(info);
            return undefined;
          };
        }
      })(store, options),
    killedBy: ['a native walk calls back nothing after the callback said stop'],
  },
  {
    name: 'ignores-signal',
    bug: 'never reads its AbortSignal: an aborted putContent or commit runs on and lands late',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async transfer(steps: number): Promise<void> {
          for (let i = 0; i < steps; i++) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })(store, options),
    killedBy: ['a 16 MiB putContent aborted in flight'],
  },
  {
    name: 'list-truncated',
    bug: 'list reads only the first page of 1000 keys',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override async *listPages(prefix: string): AsyncGenerator<string[]> {
          for await (const page of this.pages(prefix)) return yield page;
        }
      })(store, options),
    killedBy: ['list and walk of 1,001 direct children'],
  },
  {
    name: 'part-dropped',
    bug: 'commit leaves out the second-to-last part of an upload of three parts or more (a lost concurrent part)',
    make: withWriter(
      class extends PartWriter {
        protected override assemble(parts: Buffer[]): Buffer {
          return super.assemble(parts.length >= 3 ? [...parts.slice(0, -2), parts.at(-1)!] : parts);
        }
      },
    ),
    killedBy: ['a writer of 2 parts and a tail', 'appends from new instances ending mid-part'],
  },
  {
    name: 'upload-lost-on-failed-commit',
    bug: 'commit removes the upload before it is sure to succeed: a commit that fails loses it',
    make: withWriter(
      class extends PartWriter {
        override async commit(signal?: AbortSignal): Promise<void> {
          if (this.recognisesCommitted()) return;
          if (!this.objects.has(this.marker)) throw new DriverError(`upload of ${this.path} not found`);
          await this.close();
          const parts = this.parts();
          this.dropUpload();
          await this.transfer(parts.length + 2, signal);
          this.finish(this.assemble(parts));
        }
      },
    ),
    killedBy: ['a commit aborted in flight'],
  },
  {
    name: 'uncommitted-content-visible',
    bug: 'writes go to the object itself, readable before commit',
    make: withWriter(
      class extends PartWriter {
        override async write(chunk: Buffer): Promise<void> {
          await super.write(chunk);
          const key = this.objectKey;
          this.objects.set(key, { data: Buffer.concat([this.objects.get(key)?.data ?? Buffer.alloc(0), chunk]), modTime: new Date() });
        }
      },
    ),
    killedBy: ['written data is not readable before commit'],
  },
  {
    name: 'upload-beside-object',
    bug: 'upload state is kept beside the object (`<path>~upload/`), so an uncommitted upload makes its directories exist',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override uploadPrefix(path: string): string {
          return `${this.key(path)}~upload/`;
        }
      })(store, options),
    killedBy: ['an uncommitted upload makes no directory visible'],
  },
  {
    name: 'upload-state-below-root',
    bug: 'upload state is kept below the root (`<root>/_uploads/`), hidden from this driver’s listings but not from a driver rooted above',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override uploadPrefix(path: string): string {
          return `${this.rootPrefix}_uploads/${path.slice(1)}~/`;
        }

        protected override isOwnState(key: string): boolean {
          return key.startsWith(`${this.rootPrefix}_uploads/`);
        }
      })(store, options),
    killedBy: ['a driver rooted above this one sees exactly what this one shows'],
  },
  {
    name: 'move-onto-itself-copy-delete',
    bug: 'move(p, p) copies p onto itself and then deletes the source, destroying the object',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async move(sourcePath: string, destPath: string): Promise<void> {
          const object = this.object(sourcePath);
          this.store.objects.set(this.key(destPath), object);
          this.store.objects.delete(this.key(sourcePath));
        }
      })(store, options),
    killedBy: [],
    survives: 'core decides move(p, p) before the backend runs (stat, then nothing to do), so no driver can have this bug any more',
  },
  {
    name: 'second-commit-fails',
    bug: 'a commit called again after it succeeded (its answer lost) fails: the upload is gone',
    make: withWriter(
      class extends PartWriter {
        protected override recognisesCommitted(): boolean {
          return false;
        }
      },
    ),
    killedBy: ['the backend’s commit called again after it succeeded'],
  },
  {
    name: 'reader-short',
    bug: 'a reader ends without an error before the last 256 KiB slice',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override *slices(path: string, data: Buffer, offset: number): Generator<Buffer> {
          const all = [...super.slices(path, data, offset)];
          yield* all.length > 1 ? all.slice(0, -1) : all;
        }
      })(store, options),
    killedBy: ['a reader or getContent of an object replaced mid-read'],
  },
  {
    name: 'reader-unpinned',
    bug: 'a reader serves each slice from the current object, not the version it opened: a replacement mixes versions',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override *slices(path: string, data: Buffer, offset: number): Generator<Buffer> {
          for (let at = offset; at < data.length; at += 256 * 1024) {
            const current = this.store.objects.get(this.key(path))?.data ?? data;
            yield current.subarray(at, at + 256 * 1024);
          }
        }
      })(store, options),
    killedBy: ['a reader or getContent of an object replaced mid-read'],
  },
  {
    name: 'untyped-not-found',
    bug: 'a missing object is a plain Error, which core can only wrap as a DriverError, not PathNotFoundError',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override notFound(path: string): Error {
          return new Error(`no such key: ${this.key(path)}`);
        }
      })(store, options),
    killedBy: ['getContent of a missing path is PathNotFoundError', 'reader of a missing path is PathNotFoundError'],
  },
  {
    name: 'claim-lost',
    bug: 'a refactoring drops the copy claim: copy is refused although the package says it copies',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override readonly capabilities: Partial<Capabilities> = { ...REFERENCE_CAPABILITIES, copy: false };
      })(store, options),
    killedBy: ['driver.capabilities claims'],
  },
  {
    name: 'create-only-check-then-put',
    bug: 'ifNoneMatch checked with a lookup before the transfer, then written unconditionally: concurrent creators all win',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
          const { ifNoneMatch, ifMatch, ...metadata } = options;
          this.checkConditions(path, { ifNoneMatch, ifMatch });
          await this.transfer(1, signal);
          this.publish(path, Buffer.from(content), metadata, {}, undefined);
        }
      })(store, options),
    killedBy: ['concurrent create-only putContents', 'concurrent putContents with the same current etag'],
  },
  {
    name: 'walk-drops-etag',
    bug: 'the native walk builds its entries from the listing without the etag the listing carries (the driver claims etags)',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override walkCallback(fn: WalkFn): WalkFn {
          return (info: FileInfo) => fn(info.isDir ? info : { path: info.path, size: info.size, modTime: info.modTime, isDir: false });
        }
      })(store, options),
    killedBy: ['walk entries tell what stat tells'],
  },
  {
    name: 'listpage-drops-page-end',
    bug: 'listPage hands out a cursor after the last entry of a page but leaves that entry out of the page',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async listPage(path: string, request: { limit: number; cursor: string | undefined; recursive: boolean }, signal?: AbortSignal): Promise<FilePage> {
          const page = await super.listPage(path, request, signal);
          return page.cursor === undefined ? page : { entries: page.entries.slice(0, -1), cursor: page.cursor };
        }
      })(store, options),
    killedBy: ['listPage of a large directory'],
  },
  {
    name: 'resumed-upload-takes-new-metadata',
    bug: 'a writer continuing an upload stores its own options as the upload’s metadata',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override resumedMetadata(started: WriteMetadata | undefined, given: WriteMetadata | undefined): WriteMetadata | undefined {
          return given ?? started;
        }
      })(store, options),
    killedBy: ['metadata is set when an upload starts'],
  },
  {
    name: 'multipart-etag-as-md5',
    bug: 'a multipart upload reports its ETag (the MD5 of the part MD5s) as the MD5 of the content',
    make: withWriter(
      class extends PartWriter {
        protected override md5(parts: Buffer[]): string | undefined {
          if (parts.length < 2) return super.md5(parts);
          const hash = createHash('md5');
          for (const part of parts) hash.update(createHash('md5').update(part).digest());
          return hash.digest('base64');
        }
      },
    ),
    killedBy: ['each claimed metadata kind reads back exactly through stat'],
  },
  {
    name: 'metadata-presence-cached-per-instance',
    bug: 'an instance decides at its first stat whether any object has metadata and, having seen none, reads no more',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        #sawMetadata: boolean | undefined;
        override async stat(path: string): Promise<FileInfo> {
          const info = await super.stat(path);
          this.#sawMetadata ??= METADATA_KINDS.some((kind) => info[kind] !== undefined);
          if (this.#sawMetadata) return info;
          const { contentType: _t, cacheControl: _c, contentDisposition: _d, contentEncoding: _e, metadata: _m, ...bare } = info;
          return bare;
        }
      })(store, options),
    killedBy: ['metadata one instance writes shows through another'],
  },
  {
    name: 'copy-drops-metadata',
    bug: 'copy copies the bytes but not the metadata',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override copiedMetadata(): WriteMetadata | undefined {
          return undefined;
        }
      })(store, options),
    killedBy: ['copy of a large object'],
  },
  {
    name: 'range-end-unchecked',
    bug: 'a ranged reader opens a range past the end and serves what there is (core then fails the short stream, but only mid-read)',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        protected override checkRange(): void {}
      })(store, options),
    killedBy: ['a range ending past the size is InvalidOffsetError at open'],
  },
  {
    name: 'signature-without-path',
    bug: 'signed URLs sign the method and expiry but not the object: a URL for one object opens any other',
    make: (store, options) => {
      if (store.server !== undefined) store.server.signedParts = (request: SignedRequest) => [request.method, String(request.expires), request.contentType ?? ''];
      return new MemoryObjectBackend(store, options);
    },
    killedBy: ['a signed URL changed in one character of its signature, or naming another object'],
  },
  {
    name: 'abort-upload-leaves-parts',
    bug: 'abortUpload removes the upload’s record but not its parts, so an append writer resumes what was aborted',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async abortUpload(path: string, id: string): Promise<void> {
          this.store.objects.delete(`${this.uploadPrefix(path)}${id}/open`);
        }
      })(store, options),
    killedBy: ['abortUpload removes that upload only', 'purgeUploads aborts the uploads started before the cutoff only'],
  },
  {
    name: 'aborted-upload-still-commits',
    bug: 'commit assembles whatever parts are there without checking the upload still exists, so a writer publishes an upload that was aborted under it',
    make: withWriter(
      class extends PartWriter {
        override async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
          if (this.recognisesCommitted()) return;
          await this.close();
          const parts = this.parts();
          await this.transfer(parts.length + 2, signal);
          this.finish(this.assemble(parts), conditions, this.md5(parts));
        }
      },
    ),
    killedBy: ['a writer whose upload was aborted cannot commit it'],
  },
  {
    name: 'commit-reads-parts-after-check',
    bug: 'commit checks the upload is there, then publishes what its parts hold once the transfer ends (as a manifest names segments): an abort in between leaves a resolved commit without its data',
    make: withWriter(
      class extends PartWriter {
        override async commit(signal?: AbortSignal, conditions?: WriteConditions): Promise<void> {
          if (this.recognisesCommitted()) return;
          if (!this.objects.has(this.marker)) throw new DriverError('upload not found');
          await this.close();
          await this.transfer(this.parts().length + 2, signal);
          const parts = this.parts();
          this.finish(this.assemble(parts), conditions, this.md5(parts));
        }
      },
    ),
    killedBy: ['abortUpload racing the commit of the upload it aborts'],
  },
  {
    name: 'abort-upload-deletes-object',
    bug: 'abortUpload deletes by the path’s key as well, taking the committed object with the upload',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async abortUpload(path: string, id: string): Promise<void> {
          await super.abortUpload(path, id);
          this.store.objects.delete(this.key(path));
        }
      })(store, options),
    killedBy: ['abortUpload removes that upload only'],
  },
  {
    name: 'refused-put-leaves-upload',
    bug: 'putContent stages its content as an upload and, refused by its condition, returns without removing it: a pending upload nobody started',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
          const staged = this.newUpload(path, undefined);
          await staged.write(Buffer.from(content));
          this.checkConditions(path, { ifNoneMatch: options.ifNoneMatch, ifMatch: options.ifMatch });
          await staged.cancel();
          await super.putContent(path, content, signal, options);
        }
      })(store, options),
    killedBy: ['putContent leaves no pending upload'],
  },
  {
    name: 'upload-started-when-listed',
    bug: 'uploads reports the listing time as each upload’s start, so no upload is ever old enough to purge',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        override async *uploads(path: string): AsyncGenerator<PendingUpload> {
          for await (const upload of super.uploads(path)) yield { ...upload, startedAt: new Date() };
        }
      })(store, options),
    killedBy: ['purgeUploads aborts the uploads started before the cutoff only'],
  },
  {
    name: 'setup-on-first-callers-signal',
    bug: 'one-time setup (a container check) runs on the first caller’s signal and is shared: that caller’s abort fails everyone waiting on it',
    make: (store, options) =>
      new (class extends MemoryObjectBackend {
        #ready: Promise<void> | undefined;
        #setup(signal?: AbortSignal): Promise<void> {
          const ready = (this.#ready ??= this.transfer(2, signal));
          ready.catch(() => {
            if (this.#ready === ready) this.#ready = undefined;
          });
          return ready;
        }
        override async putContent(path: string, content: Buffer, signal?: AbortSignal, options: BackendPutOptions = {}): Promise<void> {
          await this.#setup(signal);
          await super.putContent(path, content, signal, options);
        }
        override async writer(path: string, append: boolean, signal?: AbortSignal, metadata?: WriteMetadata): Promise<BackendWriter> {
          await this.#setup(signal);
          return super.writer(path, append, signal, metadata);
        }
      })(store, options),
    killedBy: ['one caller’s abort fails only that caller'],
  },
  {
    name: 'parts-tied-to-write-signal',
    bug: 'the parts a write starts keep its signal after the write resolved: aborting that signal later cancels them unsent, and the commit goes without them',
    make: withWriter(
      class extends PartWriter {
        override async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
          const before = new Set(this.objects.keys());
          await super.write(chunk);
          const started = [...this.objects.keys()].filter((key) => !before.has(key));
          signal?.addEventListener('abort', () => started.forEach((key) => this.objects.delete(key)), { once: true });
        }
      },
    ),
    killedBy: ['a write that has resolved is kept'],
  },
];
