/**
 * The mutant gallery: the reference backend with one known bug each. The conformance suite must
 * fail every mutant the contract can see; `killedBy` names cases expected among those that fail.
 */
import { DriverError, type FileInfo, type StorageBackend, type WalkFn } from '@storagedriver/core';

import { type BackendOptions, MemoryObjectBackend, ObjectStore, PartWriter } from './backend.js';

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
];

