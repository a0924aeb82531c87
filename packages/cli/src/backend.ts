/**
 * Which backend a command talks to: `--driver` with `--param key=value`, or the `storage:` section of a
 * registry `config.yml` with the registry's `REGISTRY_STORAGE*` environment overrides, or by default
 * the filesystem driver rooted at `./storage`. Driver packages are imported on demand (each registers
 * itself), so parameters are validated by the driver before any I/O.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { InvalidParameterError, create, type DriverParameters, type StorageDriver } from '@storagedriver/core';
import { parse } from 'yaml';

import { LocalFileError, UsageError } from './errors.js';

/** Driver name → the package that registers it. */
const PACKAGES: Record<string, string> = {
  inmemory: '@storagedriver/inmemory',
  filesystem: '@storagedriver/filesystem',
  s3: '@storagedriver/s3',
  s3aws: '@storagedriver/s3',
  azure: '@storagedriver/azure',
  gcs: '@storagedriver/gcs',
  swift: '@storagedriver/swift',
  oss: '@storagedriver/oss',
  // Not an upstream driver: the name this project gives its own.
  rados: '@storagedriver/rados',
};
/** Keys of the registry's `storage:` section that configure the registry, not the driver. */
const REGISTRY_KEYS = new Set(['maintenance', 'cache', 'delete', 'redirect', 'tag']);
/** Parameters whose value is a mapping, so `REGISTRY_STORAGE_<DRIVER>_<NAME>_<KEY>` sets `<name>.<key>` even when the file has no `<name>:`. */
const MAP_PARAMETERS: Record<string, readonly string[]> = { azure: ['credentials'], gcs: ['credentials'] };

/** Which driver the CLI opens and with what parameters, as `resolveBackend` decides. */
export interface BackendSpec {
  /** The driver name (`s3`, `filesystem`, …). */
  driver: string;
  /** The driver's parameters by upstream name. */
  parameters: Record<string, unknown>;
  /** Where the choice came from, for messages. */
  source: string;
  /**
   * From a registry config: an unknown parameter name is a warning and the key is dropped, so a
   * config.yml the registry accepts keeps working. From `--driver`/`--param` it is an error.
   */
  lenient: boolean;
}

export interface BackendFlags {
  driver?: string;
  param?: string[];
  config?: string;
}

/**
 * The backend from `--config` (a registry config.yml, with `REGISTRY_STORAGE_*` overrides from `env`) or `--driver`/`--param`;
 * a filesystem driver on `./storage` when neither is given. Throws UsageError for contradictory or malformed flags.
 */
export function resolveBackend(flags: BackendFlags, env: NodeJS.ProcessEnv = process.env): BackendSpec {
  if (flags.config !== undefined && flags.driver !== undefined) throw new UsageError('give --config or --driver, not both');
  if (flags.config !== undefined) {
    if (flags.param !== undefined && flags.param.length > 0) throw new UsageError('--param goes with --driver; with --config use the file or REGISTRY_STORAGE_* variables');
    return fromRegistryConfig(flags.config, env);
  }
  if (flags.driver !== undefined) return { driver: flags.driver, parameters: parseParams(flags.param ?? []), source: '--driver', lenient: false };
  if (flags.param !== undefined && flags.param.length > 0) throw new UsageError('--param needs --driver');
  return { driver: 'filesystem', parameters: { rootdirectory: resolve('storage') }, source: 'default (./storage)', lenient: false };
}

function parseParams(pairs: string[]): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--param ${JSON.stringify(pair)}: expected key=value`);
    parameters[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return parameters;
}

const isMapping = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The key of `map` that an environment variable's segment names: an existing key matched case-insensitively, else the segment in lower case. */
function keyFor(map: Record<string, unknown>, segment: string): string {
  return Object.keys(map).find((key) => key.toUpperCase() === segment) ?? segment.toLowerCase();
}

/**
 * Reads the `storage:` section as the registry does: a mapping with one driver key (besides the
 * registry's own keys), or the driver's name alone (`storage: filesystem`). Environment overrides:
 * `REGISTRY_STORAGE=<driver>` chooses the driver; `REGISTRY_STORAGE_<DRIVER>_<PARAM>` sets a parameter,
 * its value read as a YAML scalar; a variable naming any other driver is a second driver, an error.
 */
function fromRegistryConfig(file: string, env: NodeJS.ProcessEnv): BackendSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--config ${new LocalFileError(file, error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    // The first line of the YAML error, without the code frame it introduces.
    throw new UsageError(`--config ${file}: ${(error as Error).message.split('\n')[0]!.replace(/:$/, '')}`);
  }
  const section = isMapping(document) ? document.storage : undefined;
  const storage = typeof section === 'string' && section !== '' ? { [section]: {} } : section;
  if (!isMapping(storage)) throw new UsageError(`--config ${file}: no storage: section`);
  const configured = Object.keys(storage).filter((key) => !REGISTRY_KEYS.has(key));
  const chosen = env.REGISTRY_STORAGE;
  if (chosen === undefined && configured.length !== 1) {
    throw new UsageError(`--config ${file}: storage: must configure exactly one driver, found ${configured.length === 0 ? 'none' : configured.join(', ')}`);
  }
  const driver = chosen ?? configured[0]!;
  const prefix = `REGISTRY_STORAGE_${driver.toUpperCase()}_`;
  // The registry adds a driver for every REGISTRY_STORAGE_<NAME>_… variable and then refuses two.
  const others = new Set<string>();
  for (const name of Object.keys(env)) {
    const segment = /^REGISTRY_STORAGE_([^_]+)/.exec(name)?.[1]?.toLowerCase();
    if (segment !== undefined && segment !== driver.toLowerCase() && !REGISTRY_KEYS.has(segment)) others.add(segment);
  }
  if (others.size > 0) {
    throw new UsageError(`--config ${file}: multiple storage drivers specified in configuration or environment: ${[driver, ...others].join(', ')}`);
  }
  const own = storage[driver];
  const parameters: Record<string, unknown> = isMapping(own) ? structuredClone(own) : {};
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!name.startsWith(prefix) || value === undefined || name.length === prefix.length) continue;
    // Values are YAML scalars, as the registry reads them: 33554432 is a number, "33554432" a string.
    setOverride(driver, parameters, name.slice(prefix.length), parse(value));
  }
  return { driver, parameters, source: `--config ${file}`, lenient: true };
}

/**
 * `CREDENTIALS_TYPE` sets `credentials.type` when `credentials` is a mapping in the file or a known
 * mapping parameter; otherwise the whole rest is one name (`MAX_RETRIES` is `max_retries`).
 */
function setOverride(driver: string, parameters: Record<string, unknown>, rest: string, value: unknown): void {
  const at = rest.indexOf('_');
  if (at > 0) {
    const key = keyFor(parameters, rest.slice(0, at));
    const existing = parameters[key];
    if (isMapping(existing) || (existing === undefined && (MAP_PARAMETERS[driver] ?? []).includes(key))) {
      const map = isMapping(existing) ? existing : (parameters[key] = {});
      map[keyFor(map, rest.slice(at + 1))] = value;
      return;
    }
  }
  parameters[keyFor(parameters, rest)] = value;
}

export interface OpenOptions {
  /** Parameters that replace the spec's (the scratch root of `conformance`). */
  override?: Record<string, unknown>;
  /** Where a dropped unknown parameter is reported. */
  warn?: (message: string) => void;
}

/** Imports the driver's package and creates the driver; bad parameters fail here, before any I/O. */
export async function openBackend(spec: BackendSpec, options: OpenOptions = {}): Promise<StorageDriver> {
  const pkg = PACKAGES[spec.driver];
  if (pkg === undefined) throw new UsageError(`unknown driver ${JSON.stringify(spec.driver)} (from ${spec.source}); known drivers: ${Object.keys(PACKAGES).join(', ')}`);
  await import(pkg);
  const attempt = (parameters: DriverParameters): Promise<StorageDriver> => create(spec.driver, { ...parameters, ...options.override });
  // Each round drops one unknown name, so the loop ends after at most one round per parameter.
  for (let round = 0; ; round++) {
    try {
      return await attempt(spec.parameters);
    } catch (error) {
      const name = error instanceof InvalidParameterError ? error.parameter : undefined;
      if (!spec.lenient || name === undefined || !Object.hasOwn(spec.parameters, name) || round > Object.keys(spec.parameters).length) throw error;
      if (!(await isUnknownName(attempt, spec.parameters, name))) throw error;
      (options.warn ?? warnOnStderr)(`warning: ignoring unknown parameter ${JSON.stringify(name)} of the ${spec.driver} driver (${spec.source})`);
      // Dropped from the spec itself, so commands that open the backend again warn once.
      delete spec.parameters[name];
    }
  }
}

function warnOnStderr(message: string): void {
  process.stderr.write(`storagedriver: ${message}\n`);
}

/**
 * Tells an unknown parameter name from a known one with a bad value, both InvalidParameterErrors
 * naming it: a driver refuses an unknown name whatever its value (even none), and a known one
 * without a value only when it is required, in which case it is refused when absent too.
 */
async function isUnknownName(attempt: (parameters: DriverParameters) => Promise<StorageDriver>, parameters: Record<string, unknown>, name: string): Promise<boolean> {
  const refuses = async (candidate: DriverParameters): Promise<boolean> => {
    try {
      await attempt(candidate);
      return false;
    } catch (error) {
      return error instanceof InvalidParameterError && error.parameter === name;
    }
  };
  const { [name]: _dropped, ...without } = parameters;
  return (await refuses({ ...parameters, [name]: undefined })) && !(await refuses(without));
}
