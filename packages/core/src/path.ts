/**
 * The path grammar, in one place. A path is absolute, made of components from [A-Za-z0-9._-],
 * separated by single slashes, with no trailing slash (upstream's PathRegexp). In addition — where
 * upstream lets them through and its filesystem driver escapes its root — no component may be `.`
 * or `..`, and a path is at most 1024 bytes. `/` alone names the root and is accepted only by
 * stat, list and walk.
 */
import { InvalidPathError } from './errors.js';

/** The path grammar (upstream's PathRegexp); `isValidPath` also rejects `.` and `..` components and long paths. */
export const PATH_PATTERN = /^(\/[A-Za-z0-9._-]+)+$/;
/** A `.` or `..` component (in a path that matches PATH_PATTERN). */
const DOT_COMPONENT = /\/\.\.?(?=\/|$)/;
/** The longest valid path, in bytes. */
export const MAX_PATH_LENGTH = 1024;
/** The root path; only stat, list and walk accept it. */
export const ROOT = '/';

/** Why `path` is not a valid object path, or undefined when it is. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'not a string';
  if (path.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} bytes`;
  if (!PATH_PATTERN.test(path)) return 'must match ^(/[A-Za-z0-9._-]+)+$';
  // A regular expression, not a split: every operation and every walked entry comes through here.
  const dots = DOT_COMPONENT.exec(path);
  return dots === null ? undefined : `"${dots[0].slice(1)}" components are not allowed`;
}

/** True when `path` is a valid object path (not `/`). */
export function isValidPath(path: unknown): path is string {
  return pathProblem(path) === undefined;
}

/** Throws InvalidPathError unless `path` is a valid object path (or `/` when `allowRoot`). */
export function validatePath(path: unknown, options: { allowRoot?: boolean } = {}): asserts path is string {
  if (options.allowRoot && path === ROOT) return;
  const problem = pathProblem(path);
  if (problem !== undefined) throw new InvalidPathError(path as string, { reason: problem });
}

/** `/a/b` → `/a`; `/a` → `/`. */
export function parentPath(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? ROOT : path.slice(0, at);
}

/** `/a/b` → `b`; `/` → ``. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a directory path and a child name: (`/`, `a`) → `/a`, (`/a`, `b`) → `/a/b`. */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `dir` itself or lies below it; `/ab` is not below `/a`. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === ROOT) return true;
  return path === dir || path.startsWith(`${dir}/`);
}

/** The first component as a path: `/a/b/c` → `/a`. */
export function firstComponent(path: string): string {
  const at = path.indexOf('/', 1);
  return at === -1 ? path : path.slice(0, at);
}

/**
 * Compares two paths in walk order: component by component, a directory before what it contains
 * (`/a` < `/a/b` < `/a-b`). Byte order would put `/a-b` before `/a/b`, since `-` sorts before `/`.
 */
export function compareWalkOrder(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  const common = Math.min(left.length, right.length);
  for (let i = 0; i < common; i++) {
    const x = left[i]!;
    const y = right[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

/**
 * Maps paths to object keys below a root prefix and back, the way object-store drivers name their
 * objects: root `registry/v2`, path `/a/b` → key `registry/v2/a/b`. The prefix is normalised (no
 * leading slash, one trailing slash unless empty), so every key a driver touches lies under it.
 */
export class KeyMapper {
  /** `""` or a prefix ending in `/`. */
  readonly prefix: string;

  constructor(rootDirectory = '') {
    const trimmed = rootDirectory.replace(/^\/+|\/+$/g, '');
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
  }

  /** The key of the object at `path`. */
  key(path: string): string {
    return this.prefix + path.slice(1);
  }

  /** The prefix every key below the directory `path` starts with (`/` → the root prefix). */
  directoryPrefix(path: string): string {
    return path === ROOT ? this.prefix : `${this.key(path)}/`;
  }

  /**
   * The prefix of the driver's own hidden state of one kind (`uploads`, …): `<root>~<kind>/`, a
   * sibling of the root, not a child, so that no driver whose root lies above this one (root `a`
   * above root `a/b`) sees a directory `/b` made only of hidden keys: it sees `/b~<kind>`, which
   * is outside the path grammar and filtered from every list and walk. With no root it is
   * `~<kind>/`, which sorts after every visible key.
   */
  hidden(kind: string): string {
    return `${this.prefix.replace(/\/$/, '')}~${kind}/`;
  }

  /** The path of `key`, which must lie under the prefix. A trailing slash (a directory marker) is dropped. */
  path(key: string): string {
    const rest = key.slice(this.prefix.length).replace(/\/+$/, '');
    return `/${rest}`;
  }
}
