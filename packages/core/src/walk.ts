/**
 * Walking. Two ways to produce a walk — the generic list + stat walk for backends without a native
 * one, and the flat-listing walk object stores build from byte-ordered key pages — plus the guard
 * the base wrapper puts around every walk callback and an async-iterator view.
 *
 * Orders (documented per driver):
 * - generic walk: depth first, each directory's children in byte order of their names, a directory
 *   before its contents (`/a`, `/a/x`, `/a-b`).
 * - flat listing: byte order of keys, each directory just before its first key (`/a-b`, `/a`, `/a/x`,
 *   since `-` sorts before `/`).
 * Either way `startAfter` drops every entry at or before the hint in that order, and the ancestors
 * of the hint are not emitted again.
 */
import type { FileInfo, StorageBackend, StorageDriver, WalkDecision, WalkFn, WalkOptions } from './driver.js';
import { PathNotFoundError } from './errors.js';
import { ROOT, compareWalkOrder, isValidPath, isWithin, parentPath } from './path.js';

type Lister = Pick<StorageBackend, 'list' | 'stat'>;

/**
 * The generic walk over list + stat (one stat per entry: fine for local backends, slow for object
 * stores, which should walk with `walkSortedKeys`). Unlike upstream's fallback, `stop` ends the whole
 * walk at every depth. A missing `from` is PathNotFoundError; entries deleted during the walk are
 * skipped. `statsAhead` stats of a directory's children run at once, ahead of the entry being
 * yielded (entries still come one at a time, in order); after a stop or an abort no new one starts.
 */
export async function walkByListing(
  backend: Lister,
  from: string,
  fn: WalkFn,
  startAfter?: string,
  signal?: AbortSignal,
  statsAhead = 1,
): Promise<void> {
  let hint = startAfter === undefined || startAfter === '' ? undefined : startAfter;
  if (hint !== undefined && !isWithin(hint, from)) {
    // A hint outside `from`: everything under `from` is after it, or nothing is.
    if (compareWalkOrder(hint, from) > 0) return;
    hint = undefined;
  }
  await walkDirectory({ backend, fn, signal, statsAhead }, from, hint, true);
}

interface ListingWalk {
  backend: Lister;
  fn: WalkFn;
  signal: AbortSignal | undefined;
  statsAhead: number;
}

/** A stat that never rejects (one prefetched may never be awaited); `info` undefined: deleted since listed. */
type StatOutcome = { info: FileInfo | undefined } | { error: unknown };

/** Returns false when the walk was stopped. */
async function walkDirectory(walk: ListingWalk, dir: string, hint: string | undefined, isTop: boolean): Promise<boolean> {
  const { backend, fn, signal } = walk;
  signal?.throwIfAborted();
  let listed: string[];
  try {
    listed = await backend.list(dir, signal);
  } catch (error) {
    if (!isTop && error instanceof PathNotFoundError) return true;
    throw error;
  }
  const children: Array<{ path: string; hint: string | undefined }> = [];
  for (const child of listed.sort(compareNames)) {
    let childHint = hint;
    if (hint !== undefined) {
      if (child === hint) childHint = undefined;
      else if (!hint.startsWith(`${child}/`)) {
        if (compareWalkOrder(child, hint) < 0) continue;
        childHint = undefined;
      }
    }
    children.push({ path: child, hint: childHint });
  }
  const stats: Array<Promise<StatOutcome>> = [];
  const statOf = (path: string): Promise<StatOutcome> =>
    backend.stat(path, signal).then(
      (info) => ({ info }),
      (error: unknown) => (error instanceof PathNotFoundError ? { info: undefined } : { error }),
    );
  for (let i = 0; i < children.length; i++) {
    signal?.throwIfAborted();
    while (stats.length < Math.min(i + walk.statsAhead, children.length)) stats.push(statOf(children[stats.length]!.path));
    const outcome = await stats[i]!;
    if ('error' in outcome) throw outcome.error;
    const { info } = outcome;
    if (info === undefined) continue;
    const child = children[i]!;
    // The hint itself and its ancestors come at or before the hint: not emitted again, but their
    // contents after the hint are.
    const emit = child.hint === undefined && child.path !== hint;
    const decision = emit ? await fn(info) : undefined;
    if (decision === 'stop') return false;
    if (info.isDir && decision !== 'skipDir') {
      if (!(await walkDirectory(walk, child.path, child.hint, false))) return false;
    }
  }
  return true;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The walk object stores build from a flat listing: `pages` yields the entries below `from` in byte
 * order of their keys (files, and directory markers as `isDir` entries), and this infers every
 * directory and emits it just before its first entry. `startAfter` should also be sent to the
 * listing so the service skips ahead; this drops whatever still comes at or before it.
 * Entries whose path is outside the path grammar (a driver's hidden upload state, possibly another
 * driver's whose root lies below this one's, or keys another tool wrote) are skipped before any
 * directory is inferred from them, so they never surface, not even as a directory.
 * Returns whether anything was found below `from`.
 */
export async function walkSortedKeys(
  from: string,
  pages: AsyncIterable<Iterable<FileInfo>>,
  fn: WalkFn,
  startAfter?: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const hint = startAfter === '' ? undefined : startAfter;
  let openDir = from;
  let found = false;
  for await (const page of pages) {
    signal?.throwIfAborted();
    for (const entry of page) {
      if (!isValidPath(entry.path)) continue;
      found = true;
      const dir = entry.isDir ? entry.path : parentPath(entry.path);
      if (dir !== openDir) {
        for (const ancestor of directoriesBetween(commonDirectory(openDir, dir, from), dir)) {
          // A directory sorts as its first key, `dir/…`: at or before the hint when that does.
          if (hint !== undefined && (ancestor === hint || `${ancestor}/` <= hint)) continue;
          const decision = await fn({ path: ancestor, size: 0, modTime: new Date(0), isDir: true });
          if (decision === 'stop') return found;
        }
        openDir = dir;
      }
      if (entry.isDir || (hint !== undefined && entry.path <= hint)) continue;
      const decision = fn(entry);
      if ((isPromiseLike(decision) ? await decision : decision) === 'stop') return found;
    }
  }
  return found;
}

/** The deepest directory containing both `a` and `b`, never above `floor`. */
function commonDirectory(a: string, b: string, floor: string): string {
  let dir = a;
  while (dir !== floor && !isWithin(b, dir)) dir = parentPath(dir);
  return dir;
}

/** The directories strictly below `top` down to and including `bottom`, top first. */
function directoriesBetween(top: string, bottom: string): string[] {
  const dirs: string[] = [];
  for (let dir = bottom; dir !== top && dir !== ROOT; dir = parentPath(dir)) dirs.push(dir);
  return dirs.reverse();
}

/** A walk callback wrapped by `guardWalkFn`, and how to find out whether the caller's callback threw. */
export interface GuardedWalkFn {
  /** The guarded callback to hand to the walk. */
  fn: WalkFn;
  /** The error the caller's callback threw, if it threw: it must reach the caller unchanged. */
  callbackError():
    | {
        /** What the callback threw. */
        error: unknown;
      }
    | undefined;
}

/**
 * Wraps a walk callback so the contract holds whatever the backend does: once the callback said
 * `stop` (or threw), it is never called again; entries below a directory it skipped never reach it;
 * once the signal is aborted, the next entry rejects the walk with the abort reason.
 */
export function guardWalkFn(fn: WalkFn, signal?: AbortSignal): GuardedWalkFn {
  let stopped = false;
  let thrown: { error: unknown } | undefined;
  const skipped = new Set<string>();
  const underSkipped = (path: string): boolean => {
    if (skipped.size === 0) return false;
    for (let dir = parentPath(path); dir !== ROOT; dir = parentPath(dir)) if (skipped.has(dir)) return true;
    return false;
  };
  const failed = (error: unknown): never => {
    stopped = true;
    thrown = { error };
    throw error;
  };
  const decided = (info: FileInfo, decision: WalkDecision): WalkDecision => {
    if (decision === 'stop') stopped = true;
    else if (decision === 'skipDir' && info.isDir) skipped.add(info.path);
    return decision;
  };
  // Synchronous for a synchronous callback: a walk of many entries then waits on no promise per entry.
  const guarded: WalkFn = (info) => {
    if (stopped) return 'stop';
    signal?.throwIfAborted();
    if (underSkipped(info.path)) return 'skipDir';
    let decision: WalkDecision | Promise<WalkDecision>;
    try {
      decision = fn(info);
    } catch (error) {
      return failed(error);
    }
    return isPromiseLike(decision) ? Promise.resolve(decision).then((settled) => decided(info, settled), failed) : decided(info, decision);
  };
  return { fn: guarded, callbackError: () => thrown };
}

/**
 * The walk as an async iterator: `for await (const info of walkEntries(driver, '/'))`. Leaving the
 * loop early stops the walk. (To skip directories, use `driver.walk` with a callback.)
 */
export async function* walkEntries(driver: StorageDriver, path: string, options: WalkOptions = {}): AsyncGenerator<FileInfo> {
  const queue: FileInfo[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let consumerGone = false;
  let wakeConsumer: (() => void) | undefined;
  let resumeProducer: (() => void) | undefined;

  const walking = driver
    .walk(
      path,
      async (info) => {
        if (consumerGone) return 'stop';
        queue.push(info);
        wakeConsumer?.();
        await new Promise<void>((resolve) => (resumeProducer = resolve));
        return consumerGone ? 'stop' : undefined;
      },
      options,
    )
    .then(
      () => undefined,
      (error: unknown) => {
        failure = { error };
      },
    )
    .finally(() => {
      finished = true;
      wakeConsumer?.();
    });

  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        const resume = resumeProducer;
        resumeProducer = undefined;
        resume?.();
        continue;
      }
      if (finished) {
        if (failure) throw failure.error;
        return;
      }
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  } finally {
    consumerGone = true;
    resumeProducer?.();
    await walking;
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
