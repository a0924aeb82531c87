/**
 * Paginated listing: the opaque cursor every driver hands out, and `listPage` for backends without
 * a native one (list, then a stat per entry; a recursive page walks).
 */
import type { FileInfo, FilePage, StorageBackend } from './driver.js';
import { InvalidParameterError } from './errors.js';
import { walkByListing } from './walk.js';

/** Stats a generic page runs at once. */
const STATS_AT_ONCE = 8;

/** What a cursor carries: the last entry handed out and, where a service gave one, its continuation token. */
export interface CursorState {
  /** The last path (or key) handed out: the next page starts after it. */
  after: string;
  /** A service's own continuation token for exactly what follows `after`. */
  token?: string;
}

/** An opaque, URL-safe cursor holding `state`, for `FilePage.cursor`; `decodeCursor` reads it back. */
export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state.token === undefined ? { a: state.after } : { a: state.after, t: state.token })).toString('base64url');
}

/** The state of a cursor this package made; anything else is InvalidParameterError. */
export function decodeCursor(cursor: string): CursorState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const fields = parsed as { a?: unknown; t?: unknown } | undefined;
  if (typeof fields?.a !== 'string' || (fields.t !== undefined && typeof fields.t !== 'string')) {
    throw new InvalidParameterError('cursor', cursor, "a previous page's cursor");
  }
  return fields.t === undefined ? { after: fields.a } : { after: fields.a, token: fields.t };
}

type Request = { limit: number; cursor: string | undefined; recursive: boolean };

/** What a generic page needs of a backend: its list and stat, and its walk when it has one. */
export type Lister = Pick<StorageBackend, 'list' | 'stat' | 'walk'>;

/** `listPage` from a backend's list and stat (and walk, for a recursive page). */
export async function genericListPage(backend: Lister, path: string, request: Request, signal?: AbortSignal): Promise<FilePage> {
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor).after;
  try {
    return await (request.recursive ? recursivePage(backend, path, request.limit, after, signal) : childrenPage(backend, path, request.limit, after, signal));
  } catch (error) {
    // The directory went away while its listing was being paged: that listing is over.
    if (after !== undefined && (error as { code?: unknown }).code === 'PATH_NOT_FOUND') return { entries: [], cursor: undefined };
    throw error;
  }
}

async function childrenPage(backend: Lister, path: string, limit: number, after: string | undefined, signal?: AbortSignal): Promise<FilePage> {
  const children = (await backend.list(path, signal)).sort(byteOrder).filter((child) => after === undefined || byteOrder(child, after) > 0);
  const chosen = children.slice(0, limit);
  const entries: FileInfo[] = [];
  for (let i = 0; i < chosen.length; i += STATS_AT_ONCE) {
    const infos = await Promise.all(chosen.slice(i, i + STATS_AT_ONCE).map((child) => backend.stat(child, signal).catch(gone)));
    for (const info of infos) if (info !== undefined) entries.push(info);
  }
  const last = chosen.at(-1);
  return { entries, cursor: children.length > limit && last !== undefined ? encodeCursor({ after: last }) : undefined };
}

async function recursivePage(backend: Lister, path: string, limit: number, after: string | undefined, signal?: AbortSignal): Promise<FilePage> {
  const entries: FileInfo[] = [];
  let more = false;
  const visit = (info: FileInfo): 'stop' | undefined => {
    if (info.isDir) return undefined;
    if (entries.length === limit) {
      more = true;
      return 'stop';
    }
    entries.push(info);
    return undefined;
  };
  if (backend.walk) await backend.walk(path, visit, after, signal);
  else await walkByListing(backend, path, visit, after, signal, STATS_AT_ONCE);
  // Entries stay in the walk's order: that is the order `after` means to the walk that resumes.
  return { entries, cursor: more ? encodeCursor({ after: entries.at(-1)!.path }) : undefined };
}

/** An entry deleted between the listing and its stat is left out. */
function gone(error: unknown): undefined {
  if ((error as { code?: unknown }).code === 'PATH_NOT_FOUND') return undefined;
  throw error;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
