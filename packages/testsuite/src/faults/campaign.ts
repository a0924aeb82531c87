/**
 * The fault campaign: bounded, seeded trials of a driver behind the fault proxy, each verified byte
 * for byte through a second driver instance that talks to the server directly. Runner-independent;
 * `testFaultCampaign` registers it with jest.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import { DEFAULT_ANSWER_TIMEOUT_MS, PathNotFoundError, PreconditionFailedError, StorageDriverError, type StorageDriver } from '@storagedriver/core';

import { formatTable } from '../bench.js';
import { crc32c, crc32cToBase64 } from '../checksums.js';
import { fillPattern, patternBytes, randomName } from '../data.js';
import { type ErrorResponder, type FaultAction, FaultProxy, type ProxiedRequest, type RequestView } from './proxy.js';
import { type Fault, FaultSchedule, type FaultKind, mulberry32 } from './schedule.js';

const MiB = 1024 * 1024;

/**
 * The kinds of trial: putContent of 1 MiB or 20 MiB, a 64 MiB writer through an outage, a 32 MiB read cut mid-body, a walk with faulted pages.
 */
export type TrialKind = 'put1MiB' | 'put20MiB' | 'writer64MiB' | 'read32MiB' | 'readReplaced' | 'walk' | 'unanswered';

/** How one trial ended, worst first: a trial gets the worst that happened to it. */
export type TrialOutcome = 'hang' | 'untyped' | 'corrupt' | 'truncated' | 'unresumed' | 'typed' | 'success';
const SEVERITY: TrialOutcome[] = ['hang', 'untyped', 'corrupt', 'truncated', 'unresumed', 'typed', 'success'];
const worst = (a: TrialOutcome, b: TrialOutcome): TrialOutcome => (SEVERITY.indexOf(a) <= SEVERITY.indexOf(b) ? a : b);

/** Options of `runFaultCampaign`. */
export interface FaultCampaignOptions {
  /** Label for the tables. */
  name: string;
  /** A driver that talks to the server directly: sets up fixtures and verifies every trial. */
  createDirect: () => StorageDriver | Promise<StorageDriver>;
  /** A new driver instance on the same storage, configured with the proxy's `endpoint` instead of the server's. */
  createThroughProxy: (endpoint: string) => StorageDriver | Promise<StorageDriver>;
  /** The server's URL (its path, an Azure account say, is kept in the proxy's endpoint). */
  upstream: URL | string;
  /** Certificates to trust on an HTTPS upstream. */
  upstreamCA?: string | Buffer;
  /** Serve the proxy over HTTPS with this certificate (the proxied driver must trust it). */
  tls?: {
    /** The certificate, PEM. */
    cert: string | Buffer;
    /** Its private key, PEM. */
    key: string | Buffer;
  };
  /** The service's own 500/503 answers (see `serviceErrors`). */
  errorResponse?: ErrorResponder;
  /** Seeds the fault schedule, the data and every choice of the campaign. Default 1. */
  seed?: number;
  /** Share of faulted requests. Default 0.2. */
  rate?: number;
  /** Relative weights of the fault kinds (see ScheduleOptions). */
  weights?: Partial<Record<FaultKind, number>>;
  /** Trials per kind. Defaults: put1MiB 8, put20MiB 3, writer64MiB 2, read32MiB 3, readReplaced 2, walk 3, unanswered 1. */
  trials?: Partial<Record<TrialKind, number>>;
  /** Keys in the walk fixture. Default 2000. */
  walkKeys?: number;
  /** Per-trial limits; a trial still running then is a hang. */
  timeoutsMs?: Partial<Record<TrialKind, number>>;
  /**
   * The answer bound (`answerTimeoutMs`) `createThroughProxy`'s drivers were given (default 30 s):
   * each operation whose request the `unanswered` trial holds must end within twice it, a second,
   * and a second per MiB of the held request's body (one bound, then a retry), else it is a hang.
   */
  answerTimeoutMs?: number;
  /** Progress lines (one per trial). */
  log?: (line: string) => void;
}

/** What happened in one trial. */
export interface TrialRecord {
  /** The trial's kind. */
  kind: TrialKind;
  /** The trial's number within its kind, from 0. */
  index: number;
  /** The worst that happened to it. */
  outcome: TrialOutcome;
  /** Writer trials that failed: whether a new instance resumed the upload to a byte-exact commit. */
  resumed?: boolean;
  /** Errors seen and what verification found. */
  detail: string;
  /** Requests the proxy saw during the trial, and how many of them it faulted. */
  requests: number;
  /** Of those, the requests it faulted. */
  faulted: number;
  /** How long the trial took, in milliseconds. */
  durationMs: number;
}

/** The outcomes of one kind of trial (or of `all`), counted. */
export interface TrialSummary {
  /** The kind summed up, or `all`. */
  kind: TrialKind | 'all';
  /** Trials run. */
  trials: number;
  /** Trials that ended with byte-exact content. */
  successes: number;
  /** Trials whose worst was a failure with a StorageDriverError (allowed). */
  typed: number;
  /** Trials that failed with an error that is not a StorageDriverError (for a read of a replaced object: not PreconditionFailedError or PathNotFoundError). */
  untyped: number;
  /** Trials that left wrong bytes or none where content was due. */
  corrupt: number;
  /** Trials whose content or stream ended short without an error. */
  truncated: number;
  /** Trials still running at their time limit. */
  hangs: number;
  /** Failed writer trials, and how many of them resumed. */
  failedWriters: number;
  /** Of those, the ones a new instance resumed to a byte-exact commit. */
  resumed: number;
}

/** What `runFaultCampaign` found. */
export interface FaultCampaignResult {
  /** The campaign's `name`. */
  name: string;
  /** The seed used: the same seed replays the same campaign. */
  seed: number;
  /** Every trial, in the order run. */
  trials: TrialRecord[];
  /** One summary per kind that ran, then `all`. */
  summaries: TrialSummary[];
  /** Requests the proxy saw. */
  requests: number;
  /** Faults injected, by kind. */
  faults: Record<Fault['kind'] | 'outage', number>;
  /** Connections opened during outages (closed unanswered). */
  refusedConnections: number;
  /** Untyped failures, lost or duplicated bytes, truncations, hangs and unresumed writers: none may occur. */
  passed: boolean;
  /** The table and the failing trials, as printed. */
  report: string;
}

const LABELS: Record<TrialKind, string> = {
  put1MiB: 'putContent 1 MiB',
  put20MiB: 'putContent 20 MiB',
  writer64MiB: 'writer 64 MiB + outage',
  read32MiB: 'read 32 MiB, cut',
  readReplaced: 'read, replaced, cut',
  walk: 'walk, faulted pages',
  unanswered: 'unanswered requests',
};
const DEFAULT_TRIALS: Record<TrialKind, number> = { put1MiB: 8, put20MiB: 3, writer64MiB: 2, read32MiB: 3, readReplaced: 2, walk: 3, unanswered: 1 };
// An unanswered request costs the driver's answer bound (30 s for ours) before its next try, five times in that trial.
const DEFAULT_TIMEOUTS: Record<TrialKind, number> = { put1MiB: 30_000, put20MiB: 60_000, writer64MiB: 180_000, read32MiB: 60_000, readReplaced: 60_000, walk: 60_000, unanswered: 300_000 };
const KINDS = Object.keys(LABELS) as TrialKind[];
/** Tries to resume a failed writer, each from a new instance, still under faults. */
const RESUME_ATTEMPTS = 3;
const WRITE_CHUNK = MiB + 7; // odd, so writes straddle every part boundary

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

function describeRequest({ method, fault }: ProxiedRequest): string {
  switch (fault.kind) {
    case 'none':
    case 'outage':
      return `${method} ${fault.kind}`;
    case 'error':
      return `${method} ${fault.status}`;
    case 'reset-request':
    case 'reset-response':
    case 'stall':
      return `${method} ${fault.kind}@${fault.afterBytes ?? `${Math.round((fault.fraction ?? 0) * 100)}%`}`;
    default:
      return `${method} ${fault.kind}`;
  }
}

const errorOutcome = (error: unknown): TrialOutcome => (error instanceof StorageDriverError ? 'typed' : 'untyped');

interface Comparison {
  /** Bytes the stream delivered. */
  length: number;
  /** The first byte that is not the pattern's. */
  differsAt?: number;
  /** What the stream failed with, if it failed. */
  error?: unknown;
  /** The checksums asked for, of the bytes the stream delivered (as FileInfo.checksums gives them). */
  checksums?: { md5?: string; crc32c?: string };
}

/**
 * Reads `stream` to its end (or its error) against the pattern, without holding it in memory; with
 * `checksums`, computes those kinds over the bytes read.
 */
async function comparePattern(stream: Readable, size: number, seed: number, position = 0, checksums?: { md5?: unknown; crc32c?: unknown }): Promise<Comparison> {
  const result: Comparison = { length: 0 };
  const md5 = checksums?.md5 === undefined ? undefined : createHash('md5');
  let crc = checksums?.crc32c === undefined ? undefined : 0;
  let expected = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      md5?.update(chunk);
      if (crc !== undefined) crc = crc32c(chunk, crc);
      if (result.differsAt === undefined) {
        const inside = chunk.subarray(0, Math.max(0, size - result.length));
        if (expected.length < inside.length) expected = Buffer.allocUnsafe(inside.length);
        const want = expected.subarray(0, inside.length);
        fillPattern(want, position + result.length, seed);
        if (!want.equals(inside)) {
          let at = 0;
          while (want[at] === inside[at]) at++;
          result.differsAt = result.length + at;
        } else if (inside.length < chunk.length) result.differsAt = size; // longer than written
      }
      result.length += chunk.length;
    }
  } catch (error) {
    result.error = error;
  }
  if (md5 !== undefined || crc !== undefined) {
    result.checksums = { ...(md5 === undefined ? {} : { md5: md5.digest('base64') }), ...(crc === undefined ? {} : { crc32c: crc32cToBase64(crc) }) };
  }
  return result;
}

/**
 * What the server holds at `path`, seen by the direct driver, against `size` pattern bytes; content
 * whose stat reports a checksum (the stored MD5 a retried or resumed upload computed, say) that is not
 * the bytes' own differs too.
 */
async function inspect(direct: StorageDriver, path: string, size: number, seed: number): Promise<{ state: 'absent' | 'exact' | 'short' | 'differs'; detail: string }> {
  let stream: Readable;
  let claimed: { md5?: string; crc32c?: string } | undefined;
  try {
    claimed = (await direct.stat(path)).checksums;
    stream = await direct.reader(path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return { state: 'absent', detail: 'nothing stored' };
    throw error;
  }
  const found = await comparePattern(stream, size, seed, 0, claimed);
  if (found.error !== undefined) throw found.error;
  if (found.differsAt !== undefined) return { state: 'differs', detail: `${found.length} bytes stored (of ${size}), first wrong byte at ${found.differsAt}` };
  if (found.length < size) return { state: 'short', detail: `${found.length} bytes stored (of ${size}), the rest missing` };
  for (const kind of ['md5', 'crc32c'] as const) {
    if (claimed?.[kind] !== undefined && claimed[kind] !== found.checksums?.[kind]) {
      return { state: 'differs', detail: `stored byte-exact, but stat's checksums.${kind} is ${claimed[kind]}, not the content's ${found.checksums?.[kind]}` };
    }
  }
  return { state: 'exact', detail: 'stored byte-exact' };
}

interface TrialContext {
  direct: StorageDriver;
  proxy: FaultProxy;
  through: () => Promise<StorageDriver>;
  signal: AbortSignal;
  random: () => number;
  /** A fault drawn like the schedule's, for a request that must be faulted. */
  forcedFault: () => Fault;
  dataSeed: number;
  path: string;
  answerTimeoutMs: number;
}

type TrialBody = (context: TrialContext) => Promise<{ outcome: TrialOutcome; detail: string; resumed?: boolean }>;

async function putTrial(size: number, { direct, proxy, through, signal, forcedFault, dataSeed, path }: TrialContext) {
  // Every trial meets at least one fault: on its first request, drawn like the schedule's; later requests get the schedule's.
  const target = proxy.requests;
  proxy.inject(forcedFault(), (view) => view.index >= target);
  const driver = await through();
  let failure: unknown;
  try {
    await driver.putContent(path, patternBytes(size, dataSeed), { signal });
  } catch (error) {
    failure = error;
  }
  proxy.clearInjections();
  const stored = await inspect(direct, path, size, dataSeed);
  if (failure !== undefined) {
    // A failed put may leave nothing or the whole new content; never a torn object.
    const torn = stored.state === 'short' || stored.state === 'differs';
    return { outcome: worst(errorOutcome(failure), torn ? 'corrupt' : 'success'), detail: `${describeError(failure)}; ${stored.detail}` };
  }
  const outcome = ({ exact: 'success', short: 'truncated', differs: 'corrupt', absent: 'corrupt' } as const)[stored.state];
  return { outcome, detail: `put succeeded; ${stored.detail}` };
}

async function writerTrial(total: number, { direct, proxy, through, signal, random, dataSeed, path }: TrialContext) {
  // The outage begins somewhere in the middle third to two thirds of the stream.
  const outageAt = Math.floor(total * (0.2 + 0.6 * random()));
  const notes: string[] = [];
  let failure: unknown;
  let outcome: TrialOutcome = 'success';
  try {
    const writer = await (await through()).writer(path, { signal });
    let written = 0;
    try {
      while (written < total) {
        if (!proxy.inOutage && written >= outageAt && !signal.aborted) {
          proxy.startOutage();
          notes.push(`outage from byte ${written}`);
        }
        const length = Math.min(WRITE_CHUNK, total - written);
        await writer.write(patternBytes(length, dataSeed, written), { signal });
        written += length;
      }
      await writer.commit({ signal });
    } finally {
      proxy.endOutage();
    }
  } catch (error) {
    failure = error;
    outcome = errorOutcome(error);
    notes.push(`failed: ${describeError(error)}`);
  }
  let resumed: boolean | undefined;
  if (failure !== undefined) {
    resumed = false;
    for (let attempt = 1; attempt <= RESUME_ATTEMPTS && !resumed && !signal.aborted; attempt++) {
      try {
        const writer = await (await through()).writer(path, { append: true, signal });
        const from = writer.size;
        notes.push(`resume ${attempt} from byte ${from}`);
        if (from > total) {
          outcome = worst(outcome, 'corrupt');
          notes.push(`the resumed upload holds ${from} bytes, more than the ${total} written`);
          break;
        }
        for (let at = from; at < total; at += WRITE_CHUNK) await writer.write(patternBytes(Math.min(WRITE_CHUNK, total - at), dataSeed, at), { signal });
        await writer.commit({ signal });
        resumed = true;
      } catch (error) {
        if (!(error instanceof StorageDriverError)) outcome = worst(outcome, 'untyped');
        notes.push(`resume ${attempt} failed: ${describeError(error)}`);
      }
    }
    if (!resumed) outcome = worst(outcome, 'unresumed');
  }
  if (failure === undefined || resumed) {
    const stored = await inspect(direct, path, total, dataSeed);
    notes.push(`commit reported success; ${stored.detail}`);
    const found = ({ exact: 'success', short: 'truncated', differs: 'corrupt', absent: 'corrupt' } as const)[stored.state];
    outcome = worst(outcome, found);
    if (resumed && found !== 'success') resumed = false;
  }
  return { outcome, detail: notes.join('; '), ...(resumed === undefined ? {} : { resumed }) };
}

/** Reads `path` from `offset` through the proxy against the pattern (the cut injected already); notes a cut that found no answer long enough. */
async function readWithCut({ proxy, through, signal }: Pick<TrialContext, 'proxy' | 'through' | 'signal'>, path: string, offset: number, size: number, seed: number, notes: string[]): Promise<Comparison> {
  let found: Comparison;
  try {
    found = await comparePattern(await (await through()).reader(path, offset, { signal }), size - offset, seed, offset);
  } catch (error) {
    found = { length: 0, error };
  }
  if (proxy.clearInjections() > 0) notes.push('(no GET answer was long enough to cut)');
  return found;
}

async function readTrial(size: number, source: { path: string; seed: number }, index: number, { proxy, through, signal, random }: TrialContext) {
  // The first trial reads from the start, the others from an offset; each has its body cut once mid-way.
  const offset = index === 0 ? 0 : Math.floor(random() * 8 * MiB);
  const cutAfter = Math.floor(MiB + random() * (size - offset - 2 * MiB));
  proxy.inject({ kind: 'reset-response', afterBytes: cutAfter }, (view) => view.method === 'GET' && (view.length ?? 0) > cutAfter);
  const notes = [`from byte ${offset}, body cut after ${cutAfter} bytes`];
  const found = await readWithCut({ proxy, through, signal }, source.path, offset, size, source.seed, notes);
  let outcome: TrialOutcome = 'success';
  if (found.differsAt !== undefined) {
    outcome = 'corrupt';
    notes.push(`${found.length} bytes read (of ${size - offset}), first wrong byte at ${offset + found.differsAt}`);
  } else if (found.error !== undefined) {
    outcome = errorOutcome(found.error);
    notes.push(`failed after ${found.length} bytes: ${describeError(found.error)}`);
  } else if (found.length < size - offset) {
    outcome = 'truncated';
    notes.push(`stream ended without an error after ${found.length} of ${size - offset} bytes`);
  } else notes.push('read byte-exact');
  return { outcome, detail: notes.join('; ') };
}

/**
 * A read from an offset whose body is cut after its object was replaced by a shorter one: the resume
 * must not go on in the new content. It fails with PreconditionFailedError or PathNotFoundError
 * (contract: Readers) after bytes of the old content only, or reads the old content whole where its
 * data outlived the replacement.
 */
async function readReplacedTrial(size: number, { direct, proxy, through, signal, random, dataSeed, path }: TrialContext) {
  await direct.putContent(path, patternBytes(size, dataSeed));
  const offset = 1 + Math.floor(random() * (size / 4));
  const cutAfter = Math.floor(MiB + random() * (size - offset - 2 * MiB));
  const replace = async (): Promise<void> => void (await direct.putContent(path, 'replaced'));
  proxy.inject({ kind: 'reset-response', afterBytes: cutAfter }, (view) => view.method === 'GET' && (view.length ?? 0) > cutAfter, { before: replace });
  const notes = [`from byte ${offset}, replaced before the body was cut after ${cutAfter} bytes`];
  const found = await readWithCut({ proxy, through, signal }, path, offset, size, dataSeed, notes);
  let outcome: TrialOutcome = 'success';
  if (found.differsAt !== undefined) {
    outcome = 'corrupt';
    notes.push(`${found.length} bytes read, first byte not of the old content at ${offset + found.differsAt}`);
  } else if (found.error !== undefined) {
    const expected = found.error instanceof PreconditionFailedError || found.error instanceof PathNotFoundError;
    if (!expected) outcome = 'untyped';
    notes.push(`failed after ${found.length} bytes with ${describeError(found.error)}${expected ? '' : ', not PreconditionFailedError or PathNotFoundError'}`);
  } else if (found.length < size - offset) {
    outcome = 'truncated';
    notes.push(`stream ended without an error after ${found.length} of ${size - offset} bytes`);
  } else notes.push('read the old content whole');
  return { outcome, detail: notes.join('; ') };
}

async function walkTrial(root: string, expected: Set<string>, index: number, { proxy, through, signal }: TrialContext) {
  // One forced fault besides the schedule's: on the first request, or on the second (a later listing
  // page, where the backend pages at all), in turns.
  const forced: Fault[] = [{ kind: 'error', status: 503 }, { kind: 'reset-response', fraction: 0.5 }, { kind: 'reset-request', afterBytes: 0 }];
  const target = proxy.requests + (index % 2);
  proxy.inject(forced[index % forced.length]!, (view) => view.index >= target);
  const seen = new Map<string, number>();
  let failure: unknown;
  try {
    await (await through()).walk(root, (info) => void seen.set(info.path, (seen.get(info.path) ?? 0) + 1), { signal });
  } catch (error) {
    failure = error;
  }
  const unapplied = proxy.clearInjections() > 0;
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([path]) => path);
  const unexpected = [...seen.keys()].filter((path) => !expected.has(path));
  const missing = [...expected].filter((path) => !seen.has(path));
  const notes = [`${seen.size} of ${expected.size} entries${unapplied ? ' (one listing request only: the forced fault found no second)' : ''}`];
  if (duplicated.length > 0) notes.push(`${duplicated.length} yielded twice (${duplicated[0]}…)`);
  if (unexpected.length > 0) notes.push(`${unexpected.length} unexpected (${unexpected[0]}…)`);
  let outcome: TrialOutcome = duplicated.length + unexpected.length > 0 ? 'corrupt' : 'success';
  if (failure !== undefined) {
    notes.push(`failed: ${describeError(failure)}`);
    outcome = worst(outcome, errorOutcome(failure));
  } else if (missing.length > 0) {
    notes.push(`ended without an error, ${missing.length} missing (${missing[0]}…)`);
    outcome = worst(outcome, 'truncated');
  }
  return { outcome, detail: notes.join('; ') };
}

/**
 * A stat, a small put, a listing and a writer's commit (of a writer past its first part), each with
 * its first request held by the proxy and never answered (a stuck connection, server or runtime);
 * then a small put, a commit, a listing and a directory's delete, each with its first answer that has
 * a body longer than 64 bytes stopped after 64 of them (a server stalled mid-answer, after the status
 * line that ends the bound on the answer's start): the driver must give up on that request and try
 * again, or fail typed, never wait forever, and what it stored must be whole or absent. The driver
 * has made a request before, so the held one is the operation's own, not its first contact (an
 * authentication, say). Not held: a move, whose server-side copy may rightly take long to answer.
 */
async function unansweredTrial({ direct, proxy, through, signal, dataSeed, path, answerTimeoutMs }: TrialContext) {
  const listed = `${path}/listed`;
  await direct.putContent(listed, 'x');
  const driver = await through();
  await driver.stat(listed, { signal });
  const notes: string[] = [];
  const failed = new Set<string>();
  let outcome: TrialOutcome = 'success';
  /** `operation` with `fault` on its first request `match` takes; its failure noted and counted. */
  const held = async <T>(what: string, operation: () => Promise<T>, fault: FaultAction, match: (view: RequestView) => boolean): Promise<T | undefined> => {
    const target = proxy.requests;
    const injection = proxy.inject(fault, (view) => view.index >= target && match(view));
    const started = performance.now();
    try {
      return await operation();
    } catch (error) {
      notes.push(`${what} failed: ${describeError(error)}`);
      failed.add(what);
      outcome = worst(outcome, errorOutcome(error));
      return undefined;
    } finally {
      proxy.clearInjections();
      if (injection.hits === 0) notes.push(`${what}: no request to hold`);
      const took = performance.now() - started;
      // The bound grows by a second per MiB of the held request's body (core's answerTimeoutMs).
      const heldBytes = proxy.log.slice(target).find((request) => request.fault.kind === fault.kind)?.requestBytes ?? 0;
      const allowedMs = 2 * answerTimeoutMs + 1000 + heldBytes / 1048.576;
      if (took > allowedMs) {
        notes.push(`${what} took ${Math.round(took)} ms with an answer bound of ${answerTimeoutMs} ms (${Math.round(allowedMs)} ms allowed)`);
        outcome = worst(outcome, 'hang');
      }
    }
  };
  const unanswered = { fault: { kind: 'stall-request' } as const, match: () => true, suffix: '', tag: '' };
  // Tried on each answer: a HEAD's length is the object's, and its answer has no body.
  const bodyHeld = { fault: { kind: 'stall', afterBytes: 64 } as const, match: (view: RequestView) => view.method !== 'HEAD' && view.status !== undefined && (view.length === undefined || view.length > 64), suffix: ' with its body held', tag: '-body-held' };
  const info = await held('stat', () => driver.stat(listed, { signal }), unanswered.fault, unanswered.match);
  if (info !== undefined && info.size !== 1) {
    notes.push(`stat gave size ${info.size}, not 1`);
    outcome = worst(outcome, 'corrupt');
  }
  const expected = [listed];
  let seed = dataSeed;
  for (const { fault, match, suffix, tag } of [unanswered, bodyHeld]) {
    const put = { what: `putContent${suffix}`, path: `${path}/put${tag}`, size: 64 * 1024, seed: seed++ >>> 0 };
    const written = { what: `commit${suffix}`, path: `${path}/written${tag}`, size: 6 * MiB + 5, seed: seed++ >>> 0 };
    await held(put.what, () => driver.putContent(put.path, patternBytes(put.size, put.seed), { signal }), fault, match);
    const writer = await driver.writer(written.path, { signal });
    await writer.write(patternBytes(written.size, written.seed));
    await held(written.what, () => writer.commit(), fault, match);
    for (const file of [put, written]) {
      const stored = await inspect(direct, file.path, file.size, file.seed);
      notes.push(`${file.path.slice(path.length + 1)}: ${stored.detail}`);
      // A failed operation may leave nothing or the whole content; a succeeded one the whole content.
      if (stored.state === 'short' || stored.state === 'differs' || (stored.state === 'absent' && !failed.has(file.what))) outcome = worst(outcome, 'corrupt');
      if (stored.state !== 'absent') expected.push(file.path);
    }
    const entries = await held(`list${suffix}`, () => driver.list(path, { signal }), fault, match);
    if (entries !== undefined && entries.sort().join('\n') !== expected.sort().join('\n')) {
      notes.push(`list${suffix}: listed ${entries.join(', ')}, not ${expected.join(', ')}`);
      outcome = worst(outcome, entries.length < expected.length ? 'truncated' : 'corrupt');
    }
  }
  // A directory's delete: several objects at once, where a service has a batch request for it.
  const doomed = `${path}/doomed`;
  await Promise.all([0, 1, 2].map((i) => direct.putContent(`${doomed}/${i}`, 'x')));
  const what = `delete${bodyHeld.suffix}`;
  await held(what, () => driver.delete(doomed, { signal }), bodyHeld.fault, bodyHeld.match);
  const left = await direct.list(doomed).catch((error: unknown) => (error instanceof PathNotFoundError ? [] : Promise.reject(error)));
  if (left.length > 0 && !failed.has(what)) {
    notes.push(`${what} succeeded, and left ${left.join(', ')}`);
    outcome = worst(outcome, 'corrupt');
  }
  if (failed.size === 0) notes.unshift('every operation held succeeded');
  return { outcome, detail: notes.join('; ') };
}

/** Runs a bounded, seeded fault campaign against a driver and reports every trial; never throws for a failed trial. */
export async function runFaultCampaign(options: FaultCampaignOptions): Promise<FaultCampaignResult> {
  const seed = (options.seed ?? 1) >>> 0;
  const counts = { ...DEFAULT_TRIALS, ...options.trials };
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeoutsMs };
  const walkKeys = options.walkKeys ?? 2000;
  const random = mulberry32(seed ^ 0x5eed5eed);
  const proxy = await FaultProxy.start({
    upstream: options.upstream,
    upstreamCA: options.upstreamCA,
    tls: options.tls,
    errorResponse: options.errorResponse,
    schedule: new FaultSchedule({ seed, rate: options.rate, weights: options.weights }),
  });
  const direct = await options.createDirect();
  const root = `/faultcampaign-${seed}-${randomName(6)}`;
  const trials: TrialRecord[] = [];
  let dataSeed = seed;
  const forced = new FaultSchedule({ seed: seed ^ 0xf0f0f0f0, rate: 1, weights: options.weights });
  let forcedCount = 0;

  const run = async (kind: TrialKind, index: number, body: TrialBody) => {
    const controller = new AbortController();
    const firstRequest = proxy.requests;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), timeouts[kind])));
    const context: TrialContext = {
      direct,
      proxy,
      through: async () => options.createThroughProxy(proxy.endpoint),
      signal: controller.signal,
      random,
      forcedFault: () => forced.decide(forcedCount++),
      dataSeed: (dataSeed = (dataSeed + 0x9e3779b9) >>> 0),
      path: `${root}/${kind}-${index}`,
      answerTimeoutMs: options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
    };
    const ended = await Promise.race([body(context).catch((error: unknown) => ({ outcome: errorOutcome(error), detail: `while verifying: ${describeError(error)}` })), timedOut]).finally(() => clearTimeout(timer));
    if (ended === 'hang') {
      controller.abort(new Error(`trial timed out after ${timeouts[kind]} ms`));
      proxy.endOutage();
      proxy.clearInjections();
    }
    const during = proxy.log.slice(firstRequest);
    const outcome = ended === 'hang' ? { outcome: 'hang' as const, detail: `still running after ${timeouts[kind]} ms` } : ended;
    // What the proxy did during a trial that went wrong, to tell which fault the driver mishandled.
    if (outcome.outcome !== 'success' && during.length <= 40) outcome.detail += `; requests: ${during.map(describeRequest).join(', ')}`;
    const record: TrialRecord = {
      kind,
      index,
      ...outcome,
      requests: during.length,
      faulted: during.filter((entry) => entry.fault.kind !== 'none').length,
      durationMs: Math.round(performance.now() - started),
    };
    trials.push(record);
    options.log?.(`${options.name} ${LABELS[kind]} #${index}: ${record.outcome} in ${record.durationMs} ms, ${record.faulted}/${record.requests} requests faulted — ${record.detail}`);
  };

  try {
    for (let i = 0; i < counts.put1MiB; i++) await run('put1MiB', i, (c) => putTrial(MiB, c));
    for (let i = 0; i < counts.put20MiB; i++) await run('put20MiB', i, (c) => putTrial(20 * MiB, c));
    for (let i = 0; i < counts.writer64MiB; i++) await run('writer64MiB', i, (c) => writerTrial(64 * MiB, c));
    if (counts.read32MiB > 0) {
      const source = { path: `${root}/read-source`, seed: (seed ^ 0x12345678) >>> 0 };
      await direct.putContent(source.path, patternBytes(32 * MiB, source.seed));
      for (let i = 0; i < counts.read32MiB; i++) await run('read32MiB', i, (c) => readTrial(32 * MiB, source, i, c));
    }
    for (let i = 0; i < counts.readReplaced; i++) await run('readReplaced', i, (c) => readReplacedTrial(16 * MiB, c));
    if (counts.walk > 0) {
      const walkRoot = `${root}/walk`;
      const expected = await walkFixture(direct, walkRoot, walkKeys);
      for (let i = 0; i < counts.walk; i++) await run('walk', i, (c) => walkTrial(walkRoot, expected, i, c));
    }
    for (let i = 0; i < counts.unanswered; i++) await run('unanswered', i, unansweredTrial);
  } finally {
    await proxy.close();
    await direct.delete(root).catch(() => undefined); // leftovers of a failed run are not the campaign's verdict
  }
  return summarize(options.name, seed, trials, proxy);
}

/** `keys` one-byte files in directories of 100, written directly; returns every path a walk must yield. */
async function walkFixture(direct: StorageDriver, walkRoot: string, keys: number): Promise<Set<string>> {
  const expected = new Set<string>();
  const files: string[] = [];
  for (let i = 0; i < keys; i++) {
    const dir = `${walkRoot}/d${String(Math.floor(i / 100)).padStart(3, '0')}`;
    expected.add(dir);
    files.push(`${dir}/f${String(i).padStart(5, '0')}`);
  }
  for (const file of files) expected.add(file);
  const concurrency = 16;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < files.length) await direct.putContent(files[next++]!, 'x');
  }));
  return expected;
}

function summarize(name: string, seed: number, trials: TrialRecord[], proxy: FaultProxy): FaultCampaignResult {
  const summary = (kind: TrialKind | 'all', of: TrialRecord[]): TrialSummary => {
    const count = (outcome: TrialOutcome) => of.filter((t) => t.outcome === outcome).length;
    const failedWriters = of.filter((t) => t.resumed !== undefined);
    return {
      kind,
      trials: of.length,
      successes: count('success'),
      typed: count('typed'),
      untyped: count('untyped'),
      corrupt: count('corrupt'),
      truncated: count('truncated'),
      hangs: count('hang'),
      failedWriters: failedWriters.length,
      resumed: failedWriters.filter((t) => t.resumed).length,
    };
  };
  const summaries = [...KINDS.map((kind) => summary(kind, trials.filter((t) => t.kind === kind))).filter((s) => s.trials > 0), summary('all', trials)];
  const faults = { none: 0, 'reset-request': 0, 'reset-response': 0, error: 0, stall: 0, outage: 0 };
  // The campaign injects only the schedule's kinds of fault.
  for (const { fault } of proxy.log) if (fault.kind in faults) faults[fault.kind as keyof typeof faults]++;
  const total = summaries[summaries.length - 1]!;
  const passed = total.untyped + total.corrupt + total.truncated + total.hangs === 0 && total.resumed === total.failedWriters;
  const rows = summaries.map((s) => ({
    [`${name} (seed ${seed})`]: s.kind === 'all' ? 'all' : LABELS[s.kind],
    trials: String(s.trials),
    ok: String(s.successes),
    typed: String(s.typed),
    untyped: String(s.untyped),
    'lost/dup bytes': String(s.corrupt),
    truncated: String(s.truncated),
    hangs: String(s.hangs),
    'resumed/failed writers': s.failedWriters === 0 && s.kind !== 'writer64MiB' && s.kind !== 'all' ? '' : `${s.resumed}/${s.failedWriters}`,
  }));
  const faulted = proxy.log.length - faults.none;
  const lines = [
    formatTable(rows),
    `${proxy.log.length} requests, ${faulted} faulted: ${faults['reset-request']} request resets, ${faults['reset-response']} response resets, ${faults.error} 500/503, ${faults.stall} stalls, ${faults.outage} cut by outages (and ${proxy.refusedConnections} connections refused)`,
    ...trials.filter((t) => t.outcome !== 'success').map((t) => `${LABELS[t.kind]} #${t.index}: ${t.outcome}${t.resumed === undefined ? '' : t.resumed ? ' (resumed)' : ' (NOT resumed)'} — ${t.detail}`),
  ];
  return { name, seed, trials, summaries, requests: proxy.log.length, faults, refusedConnections: proxy.refusedConnections, passed, report: lines.join('\n') };
}
