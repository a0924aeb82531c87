/**
 * The seeded fault schedule: which fault the proxy applies to its n-th request. A decision is a pure
 * function of (seed, request index), so a run is reproduced by its seed even when concurrent
 * requests reach the proxy in another order (they then draw each other's decisions, but the
 * sequence of decisions is the same).
 */

/** What the proxy does to one request. Cut points are `afterBytes` when given, else `fraction` of the body. */
export type Fault =
  | {
      /** Forward unchanged. */
      kind: 'none';
    }
  /** Forwards part of the request body, then resets both connections: the server never sees a whole request. */
  | {
      /** Reset during the request body. */
      kind: 'reset-request';
      /** Cut after this many body bytes. */
      afterBytes?: number;
      /** Cut after this share (0–1) of the body, when `afterBytes` is absent. */
      fraction?: number;
    }
  /** Forwards the whole request, then part of the response body, then resets: the server acted, the answer is lost. */
  | {
      /** Reset during the response body. */
      kind: 'reset-response';
      /** Cut after this many body bytes. */
      afterBytes?: number;
      /** Cut after this share (0–1) of the body, when `afterBytes` is absent. */
      fraction?: number;
    }
  /** Answers without forwarding, with the service's own error body for that status. */
  | {
      /** Answer with a service error. */
      kind: 'error';
      /** The HTTP status. */
      status: 500 | 503;
    }
  /** Forwards, but pauses the response for `ms` after part of its body (a slow server); without `ms` until the client gives up (a stuck one). */
  | {
      /** Pause the response. */
      kind: 'stall';
      /** How long, in milliseconds; absent: until the client gives up. */
      ms?: number;
      /** Pause after this many body bytes. */
      afterBytes?: number;
      /** Pause after this share (0–1) of the body, when `afterBytes` is absent. */
      fraction?: number;
    };

/** The kinds of fault the schedule draws. */
export type FaultKind = Exclude<Fault['kind'], 'none'>;

/** Options of FaultSchedule. */
export interface ScheduleOptions {
  /** The seed (a 32-bit unsigned integer): the same seed gives the same decisions. */
  seed: number;
  /** Share of requests that get a fault, 0–1. Default 0.2. */
  rate?: number;
  /** Relative weights of the fault kinds. Default: resets and errors alike, stalls rarer (they cost time). */
  weights?: Partial<Record<FaultKind, number>>;
  /** How long a stall lasts. Default 500 ms. */
  stallMs?: number;
}

const DEFAULT_WEIGHTS: Record<FaultKind, number> = { 'reset-request': 3, 'reset-response': 3, error: 3, stall: 1 };

/** mulberry32: a small, fast 32-bit PRNG; good enough to spread faults, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seeded schedule: `decide(index)` is the fault for the index-th request, the same for the same seed. */
export class FaultSchedule {
  /** The seed, as an unsigned 32-bit integer. */
  readonly seed: number;
  /** Share of requests that get a fault, 0–1 (the constructor throws RangeError outside it). */
  readonly rate: number;
  readonly #weights: [FaultKind, number][];
  readonly #total: number;
  readonly #stallMs: number;

  constructor(options: ScheduleOptions) {
    this.seed = options.seed >>> 0;
    this.rate = options.rate ?? 0.2;
    if (!(this.rate >= 0 && this.rate <= 1)) throw new RangeError(`fault rate must be within 0–1, got ${this.rate}`);
    this.#weights = Object.entries({ ...DEFAULT_WEIGHTS, ...options.weights }).filter(([, w]) => w > 0) as [FaultKind, number][];
    this.#total = this.#weights.reduce((sum, [, w]) => sum + w, 0);
    if (this.#total === 0 && this.rate > 0) throw new RangeError('every fault weight is zero');
    this.#stallMs = options.stallMs ?? 500;
  }

  /** The fault for the request numbered `index` (0, 1, 2, … in arrival order). */
  decide(index: number): Fault {
    // Golden-ratio mixing of the index into the seed: neighbouring indices get unrelated streams.
    const random = mulberry32(this.seed ^ Math.imul(index + 1, 0x9e3779b1));
    if (random() >= this.rate) return { kind: 'none' };
    let pick = random() * this.#total;
    let kind = this.#weights[this.#weights.length - 1]![0];
    for (const [k, w] of this.#weights) {
      if (pick < w) {
        kind = k;
        break;
      }
      pick -= w;
    }
    const fraction = random();
    switch (kind) {
      case 'reset-request':
      case 'reset-response':
        return { kind, fraction };
      case 'error':
        return { kind, status: random() < 0.5 ? 500 : 503 };
      case 'stall':
        return { kind, ms: this.#stallMs, fraction };
    }
  }
}
