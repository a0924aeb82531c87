/**
 * The in-memory tree. Directories exist only while something is below them (like object-store
 * prefixes), so an emptied directory disappears. Uploads live beside the tree, invisible to it,
 * until committed.
 */
import { hash } from 'node:crypto';

import { PreconditionFailedError, type WriteConditions, type WriteMetadata } from '@storagedriver/core';

export interface FileNode {
  kind: 'file';
  /** Never modified once stored (readers are served slices of it). */
  data: Buffer;
  modTime: Date;
  /** The store-wide write counter when this content was stored: its etag and version. */
  generation: number;
  /** What the write that stored it asked to keep. */
  headers: WriteMetadata;
  /** Base64 MD5 of `data`, computed at the first stat that needs it. */
  md5?: string;
}

export interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
  modTime: Date;
}

export type Node = FileNode | DirNode;

export interface Upload {
  readonly id: number;
  /** When the upload started: what `uploads` reports. */
  readonly startedAt: Date;
  chunks: Buffer[];
  size: number;
  /** Set when the upload starts; every writer that continues it keeps it. */
  readonly headers: WriteMetadata;
}

/** Storage that several driver instances can share (for resuming uploads across instances). */
export class MemoryStore {
  /** The root directory node of the tree. */
  readonly root: DirNode = { kind: 'dir', children: new Map(), modTime: new Date() };
  /** Uncommitted uploads by path, oldest first. */
  readonly uploads = new Map<string, Upload[]>();
  #nextUploadId = 1;
  #generation = 0;

  /** The node at `path` (`/` is the root), or `undefined`. */
  find(path: string): Node | undefined {
    if (path === '/') return this.root;
    let node: Node = this.root;
    for (const name of path.slice(1).split('/')) {
      if (node.kind !== 'dir') return undefined;
      const child = node.children.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  /** Creates the parent directories of `path`; fails where a file stands in the way. */
  parentDir(path: string): DirNode {
    const names = path.slice(1).split('/');
    names.pop();
    let dir = this.root;
    for (const name of names) {
      let child = dir.children.get(name);
      if (child === undefined) {
        child = { kind: 'dir', children: new Map(), modTime: new Date() };
        dir.children.set(name, child);
      }
      if (child.kind !== 'dir') throw new Error(`${path}: a parent is a file`);
      dir = child;
    }
    return dir;
  }

  /**
   * Stores `data` at `path` with `headers` when `conditions` hold. Synchronous from the check to the
   * store, so no other write can come between them: that is what makes the conditions atomic.
   */
  setFile(path: string, data: Buffer, headers: WriteMetadata, conditions: WriteConditions = {}): void {
    checkConditions(path, this.find(path), conditions);
    const dir = this.parentDir(path);
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (dir.children.get(name)?.kind === 'dir') throw new Error(`${path} is a directory`);
    const now = new Date();
    dir.children.set(name, { kind: 'file', data, modTime: now, generation: ++this.#generation, headers });
    dir.modTime = now;
  }

  /** Removes the node at `path` and prunes directories left empty. Returns whether it existed. */
  remove(path: string): boolean {
    const names = path.slice(1).split('/');
    const trail: DirNode[] = [this.root];
    for (const name of names.slice(0, -1)) {
      const child = trail[trail.length - 1]!.children.get(name);
      if (child === undefined || child.kind !== 'dir') return false;
      trail.push(child);
    }
    if (!trail[trail.length - 1]!.children.delete(names[names.length - 1]!)) return false;
    for (let i = trail.length - 1; i > 0 && trail[i]!.children.size === 0; i--) {
      trail[i - 1]!.children.delete(names[i - 1]!);
    }
    return true;
  }

  /** Starts an upload at `path` with `headers` as its metadata and `initial` as its content so far. */
  newUpload(path: string, headers: WriteMetadata, initial: Buffer[] = []): Upload {
    const upload: Upload = { id: this.#nextUploadId++, startedAt: new Date(), chunks: initial, size: initial.reduce((n, c) => n + c.length, 0), headers };
    const list = this.uploads.get(path) ?? [];
    list.push(upload);
    this.uploads.set(path, list);
    return upload;
  }

  /** The newest pending upload at `path`: the one a writer with `append` continues. */
  newestUpload(path: string): Upload | undefined {
    return this.uploads.get(path)?.at(-1);
  }

  /** Whether `upload` is still pending: not committed, cancelled or aborted. */
  holdsUpload(path: string, upload: Upload): boolean {
    return this.uploads.get(path)?.includes(upload) ?? false;
  }

  /** Forgets `upload` (committed, cancelled or aborted). */
  dropUpload(path: string, upload: Upload): void {
    const list = this.uploads.get(path)?.filter((u) => u !== upload) ?? [];
    if (list.length === 0) this.uploads.delete(path);
    else this.uploads.set(path, list);
  }
}

/** The etag of a stored file: its generation, quoted (unique in the store, so it changes on every write). */
export function etagOf(node: FileNode): string {
  return `"${node.generation}"`;
}

export function md5Of(node: FileNode): string {
  node.md5 ??= hash('md5', node.data, 'base64');
  return node.md5;
}

function checkConditions(path: string, current: Node | undefined, conditions: WriteConditions): void {
  if (conditions.ifNoneMatch === '*' && current !== undefined && (current.kind === 'file' || current.children.size > 0)) {
    throw new PreconditionFailedError(path, 'something exists at the path (ifNoneMatch: *)');
  }
  if (conditions.ifMatch !== undefined && (current?.kind !== 'file' || etagOf(current) !== conditions.ifMatch)) {
    throw new PreconditionFailedError(path, current?.kind === 'file' ? `the etag is ${etagOf(current)}, not ${conditions.ifMatch}` : 'no object at the path (ifMatch)');
  }
}
