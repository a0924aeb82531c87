/**
 * Parameter parsing for driver factories. Values arrive as native types (YAML, JSON, code) or as
 * strings (environment overrides); strings are parsed strictly ("12abc" is not 12). Unknown names
 * are rejected. Every error is an InvalidParameterError naming the parameter, the value given and
 * what is accepted.
 */
import { InvalidParameterError } from './errors.js';

/** A driver's parameters by name, as `create` gets them: native values, or strings (from the environment) parsed strictly. */
export type DriverParameters = Readonly<Record<string, unknown>>;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

interface Bounds {
  min?: number;
  max?: number;
}

/** Reads one driver's parameters with validation; every failure is an InvalidParameterError naming the parameter. */
export class ParameterReader {
  /** The driver the parameters are for, named on errors. */
  readonly driverName: string;
  readonly #values: DriverParameters;

  /** Rejects any name not in `known` (an empty value counts as given). */
  constructor(driverName: string, parameters: DriverParameters | undefined, known: readonly string[]) {
    this.driverName = driverName;
    this.#values = parameters ?? {};
    for (const name of Object.keys(this.#values)) {
      if (!known.includes(name)) {
        throw this.#error(name, this.#values[name], `a known parameter name (${[...known].sort().join(', ')})`);
      }
    }
  }

  /** True when the parameter was given a value other than null/undefined. */
  has(name: string): boolean {
    const value = this.#values[name];
    return value !== undefined && value !== null;
  }

  /** The value as given, unchecked. */
  raw(name: string): unknown {
    return this.#values[name];
  }

  /** The string value, or `undefined` when absent; InvalidParameterError for a non-string. */
  string(name: string): string | undefined;
  /** The string value, or `fallback` when absent; InvalidParameterError for a non-string. */
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') throw this.#error(name, value, 'a string');
    return value;
  }

  /** The string value; InvalidParameterError when absent or empty. */
  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw this.#error(name, this.#values[name], 'a non-empty string (required)');
    return value;
  }

  /** An integer (a number or a strict decimal string) within `bounds` (inclusive), or `fallback` when absent. */
  integer(name: string, fallback: number, bounds: Bounds = {}): number {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    const accepted = `an integer${describeBounds(bounds)}`;
    const parsed = parseInteger(value);
    if (parsed === undefined) throw this.#error(name, value, accepted);
    return this.#inBounds(name, value, parsed, bounds, accepted);
  }

  /** A byte count: an integer, or a string such as "10485760", "10MiB", "5 MB". */
  size(name: string, fallback: number, bounds: Bounds & { multipleOf?: number } = {}): number {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    let accepted = `a size in bytes such as 10485760 or "10MiB"${describeBounds(bounds, formatSize)}`;
    if (bounds.multipleOf !== undefined) accepted += `, a multiple of ${formatSize(bounds.multipleOf)}`;
    const parsed = parseSize(value);
    if (parsed === undefined) throw this.#error(name, value, accepted);
    const result = this.#inBounds(name, value, parsed, bounds, accepted);
    if (bounds.multipleOf !== undefined && result % bounds.multipleOf !== 0) throw this.#error(name, value, accepted);
    return result;
  }

  /** true/false, or the strings Go's strconv.ParseBool accepts (1, t, T, TRUE, true, True, 0, f, …). */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
    }
    throw this.#error(name, value, 'a boolean (true, false, "true", "false", "1", "0")');
  }

  /** A duration in milliseconds, from a Go-style duration string ("100ms", "1h30m", "2.5s"). */
  duration(name: string, fallbackMs: number, bounds: Bounds = {}): number {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallbackMs;
    const accepted = `a duration such as "100ms", "30s" or "1h30m"${describeBounds(bounds, (ms) => `${ms}ms`)}`;
    const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
    if (parsed === undefined) throw this.#error(name, value, accepted);
    return this.#inBounds(name, value, parsed, bounds, accepted);
  }

  /** One of `choices`, compared case-insensitively unless `caseSensitive`; returns the choice as declared. */
  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T, options: { caseSensitive?: boolean } = {}): T {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    const accepted = `one of: ${choices.join(', ')}`;
    if (typeof value !== 'string') throw this.#error(name, value, accepted);
    const match = choices.find((choice) => (options.caseSensitive ? choice === value : choice.toLowerCase() === value.toLowerCase()));
    if (match === undefined) throw this.#error(name, value, accepted);
    return match;
  }

  /**
   * A concurrency limit with upstream's GetLimitFromParameter meaning: an integer (or integer
   * string), raised to `min` when below it, `fallback` when absent.
   */
  concurrencyLimit(name: string, fallback: number, min: number): number {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    const parsed = parseInteger(value);
    if (parsed === undefined || parsed < 0) throw this.#error(name, value, `a positive integer (values below ${min} mean ${min})`);
    return Math.max(parsed, min);
  }

  /**
   * An endpoint URL, checked at creation so a malformed one never fails at first use: an `http` or
   * `https` scheme (or none, when `defaultScheme` supplies it), a host, a port from 1 to 65535 if
   * given, no credentials, query or fragment, and a path only with `allowPath`. Returns the URL
   * without a trailing slash, or undefined when the parameter is absent or empty.
   */
  endpoint(name: string, options: { defaultScheme?: 'http' | 'https'; allowPath?: boolean } = {}): string | undefined {
    const value = this.string(name, '').trim();
    if (value === '') return undefined;
    const accepted = `an http(s) URL such as https://host:port${options.allowPath ? '/path' : ''}${options.defaultScheme ? ' (the scheme may be left out)' : ''}`;
    const text = options.defaultScheme !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? `${options.defaultScheme}://${value}` : value;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw this.#error(name, value, accepted);
    }
    const explicitPort = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d*)/i.exec(text)?.[1];
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.hostname === '' ||
      /\s/.test(value) ||
      url.username !== '' ||
      url.password !== '' ||
      url.search !== '' ||
      url.hash !== '' ||
      (explicitPort !== undefined && !(Number(explicitPort) >= 1)) ||
      (!options.allowPath && url.pathname !== '/')
    ) {
      throw this.#error(name, value, accepted);
    }
    return url.href.replace(/\/$/, '');
  }

  /** A nested map (YAML mapping / JSON object), for parameters such as `credentials`. */
  map(name: string): Record<string, unknown> | undefined {
    const value = this.#values[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.#error(name, value, 'a mapping of keys to values');
    return value as Record<string, unknown>;
  }

  /** An InvalidParameterError for checks the helpers do not cover. */
  invalid(name: string, accepted: string, value: unknown = this.#values[name]): InvalidParameterError {
    return this.#error(name, value, accepted);
  }

  #inBounds(name: string, value: unknown, parsed: number, bounds: Bounds, accepted: string): number {
    if ((bounds.min !== undefined && parsed < bounds.min) || (bounds.max !== undefined && parsed > bounds.max)) {
      throw this.#error(name, value, accepted);
    }
    return parsed;
  }

  #error(name: string, value: unknown, accepted: string): InvalidParameterError {
    return new InvalidParameterError(name, value, accepted, { driverName: this.driverName });
  }
}

/**
 * How one option of a driver's constructor maps onto its parameter: the parameter's name; or the name
 * and how the option's value is given to it (a number of milliseconds to a duration, say); or null
 * when no parameter corresponds (a client object, a callback), so the parser does not see it.
 */
export type OptionParameter =
  | string
  | {
      /** The parameter's name. */
      readonly parameter: string;
      /** The option's value as the parameter takes it. */
      readonly value: (option: unknown) => unknown;
    }
  | null;

/** An option given in milliseconds (a number) for a duration parameter, such as `retryDelayMs` for `retry_delay`. */
export function millisecondsOption(parameter: string): OptionParameter {
  return { parameter, value: (ms) => (typeof ms === 'number' ? `${ms}ms` : ms) };
}

/**
 * Checks the options a driver is constructed with directly, by the rules its parameters are parsed
 * by, so that a missing or malformed option fails at construction (never at first use) with the
 * same InvalidParameterError a factory caller gets, naming the option: each option goes to `parse`
 * under the parameter `names` maps it to. An option name `names` lacks (a typo, `authurl` for
 * `authUrl`) is an error too. `names` lists every option (the compiler checks it against the type).
 * Returns `options`.
 */
export function checkOptions<O extends object>(
  driverName: string,
  options: O,
  names: { readonly [K in keyof Required<O>]: OptionParameter },
  parse: (parameters: DriverParameters) => unknown,
): O {
  const mappings = names as Readonly<Record<string, OptionParameter>>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidParameterError('options', options, 'an object of options', { driverName });
  }
  const given = options as Readonly<Record<string, unknown>>;
  const parameters: Record<string, unknown> = {};
  const optionOf = new Map<string, string>();
  for (const [option, value] of Object.entries(given)) {
    if (!Object.hasOwn(mappings, option)) {
      throw new InvalidParameterError(option, value, `a known option name (${Object.keys(mappings).sort().join(', ')})`, { driverName });
    }
    const mapping = mappings[option];
    if (value === undefined || mapping === null || mapping === undefined) continue;
    const parameter = typeof mapping === 'string' ? mapping : mapping.parameter;
    parameters[parameter] = typeof mapping === 'string' ? value : mapping.value(value);
    optionOf.set(parameter, option);
  }
  try {
    parse(parameters);
  } catch (error) {
    if (!(error instanceof InvalidParameterError)) throw error;
    // Named as the caller wrote it; a required parameter left out maps back through `names`.
    const option = optionOf.get(error.parameter) ?? Object.keys(mappings).find((name) => {
      const mapping = mappings[name];
      return mapping !== null && mapping !== undefined && (typeof mapping === 'string' ? mapping : mapping.parameter) === error.parameter;
    });
    if (option === undefined) throw error;
    throw new InvalidParameterError(option, given[option], error.accepted, { driverName, cause: error });
  }
  return options;
}

function parseInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : undefined;
  if (typeof value !== 'string' || !/^[+-]?\d+$/.test(value.trim())) return undefined;
  const parsed = Number(value.trim());
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** Bytes from an integer or a string such as "10485760", "10MiB", "1.5 GiB", "5MB". */
export function parseSize(value: unknown): number | undefined {
  if (typeof value !== 'string') {
    const n = parseInteger(value);
    return n !== undefined && n >= 0 ? n : undefined;
  }
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Milliseconds from a Go duration string: a sequence of decimal numbers with units ns, us, ms, s, m, h. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    index = part.lastIndex;
  }
  return index === 0 ? undefined : total;
}

/** `bytes` for people: in GiB, MiB or KiB when it is a whole multiple of one, else in bytes (`8 MiB`, `1000 bytes`). */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} bytes`;
}

function describeBounds(bounds: Bounds, show: (n: number) => string = String): string {
  if (bounds.min !== undefined && bounds.max !== undefined) return ` from ${show(bounds.min)} to ${show(bounds.max)}`;
  if (bounds.min !== undefined) return ` of at least ${show(bounds.min)}`;
  if (bounds.max !== undefined) return ` of at most ${show(bounds.max)}`;
  return '';
}
