/** A tiny in-test backend over a map of paths, for exercising core without a real driver. */
import { Readable } from 'node:stream';

import { type BackendWriter, type FileInfo, PathNotFoundError, type StorageBackend, isWithin, joinPath } from '../src/index.js';

export class MapBackend implements StorageBackend {
  readonly name = 'map';
  readonly files = new Map<string, Buffer>();
  calls: string[] = [];

  constructor(paths: string[] = []) {
    for (const p of paths) this.files.set(p, Buffer.from(p));
  }

  async getContent(path: string): Promise<Buffer> {
    this.calls.push(`getContent ${path}`);
    const data = this.files.get(path);
    if (!data) throw new PathNotFoundError(path);
    return data;
  }
  async putContent(path: string, content: Buffer): Promise<void> {
    this.calls.push(`putContent ${path}`);
    this.files.set(path, content);
  }
  async reader(path: string, offset: number): Promise<Readable> {
    return Readable.from([(await this.getContent(path)).subarray(offset)]);
  }
  async writer(path: string): Promise<BackendWriter> {
    const chunks: Buffer[] = [];
    return {
      get size() {
        return chunks.reduce((n, c) => n + c.length, 0);
      },
      write: async (chunk) => void chunks.push(chunk),
      close: async () => undefined,
      commit: async () => void this.files.set(path, Buffer.concat(chunks)),
      cancel: async () => undefined,
    };
  }
  async stat(path: string): Promise<FileInfo> {
    this.calls.push(`stat ${path}`);
    const data = this.files.get(path);
    if (data) return { path, size: data.length, modTime: new Date(0), isDir: false };
    if ([...this.files.keys()].some((p) => p !== path && isWithin(p, path))) return { path, size: 0, modTime: new Date(0), isDir: true };
    throw new PathNotFoundError(path);
  }
  async list(path: string): Promise<string[]> {
    this.calls.push(`list ${path}`);
    const children = new Set<string>();
    for (const p of this.files.keys()) {
      if (p === path || !isWithin(p, path)) continue;
      const rest = p.slice(path === '/' ? 1 : path.length + 1);
      children.add(joinPath(path, rest.split('/')[0]!));
    }
    if (children.size === 0 && path !== '/') throw new PathNotFoundError(path);
    return [...children];
  }
  async move(sourcePath: string, destPath: string): Promise<void> {
    this.calls.push(`move ${sourcePath} ${destPath}`);
    const data = this.files.get(sourcePath);
    if (!data) throw new PathNotFoundError(sourcePath);
    this.files.set(destPath, data);
    this.files.delete(sourcePath);
  }
  async delete(path: string): Promise<void> {
    this.calls.push(`delete ${path}`);
    if (!this.files.delete(path)) throw new PathNotFoundError(path);
  }
}

/** Upstream walk_test.go's tree (§6.1). */
export const WALK_FIXTURE = [
  '/file1',
  '/folder1/file1',
  '/folder1-suffix/file1',
  '/folder2/file1',
  '/folder3/subfolder1/subfolder1/file1',
  '/folder3/subfolder2/subfolder1/file1',
  '/folder4/file1',
];
