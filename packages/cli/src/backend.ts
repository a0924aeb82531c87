/**
 * Which backend a command talks to: `--driver` with `--param key=value`, or the `storage:` section of a
 * registry `config.yml` with the registry's `REGISTRY_STORAGE_*` environment overrides, or by default
 * the filesystem driver rooted at `./storage`. Driver packages are imported on demand (each registers
 * itself), so parameters are validated by the driver before any I/O.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { InvalidParameterError, create, type DriverParameters, type StorageDriver } from '@storagedriver/core';
import { parse } from 'yaml';

/** Driver name → the package that registers it. */
const PACKAGES: Record<string, string> = {
  inmemory: '@storagedriver/inmemory',
  filesystem: '@storagedriver/filesystem',
  s3: '@storagedriver/s3',
  s3aws: '@storagedriver/s3',
  azure: '@storagedriver/azure',
  gcs: '@storagedriver/gcs',
};
/** Keys of the registry's `storage:` section that configure the registry, not the driver. */
const REGISTRY_KEYS = new Set(['maintenance', 'cache', 'delete', 'redirect', 'tag']);

export interface BackendSpec {
  driver: string;
  parameters: Record<string, unknown>;
  /** Where the choice came from, for messages. */
  source: string;
}

export class UsageError extends Error {}

export interface BackendFlags {
  driver?: string;
  param?: string[];
  config?: string;
}

export function resolveBackend(flags: BackendFlags, env: NodeJS.ProcessEnv = process.env): BackendSpec {
  if (flags.config !== undefined && flags.driver !== undefined) throw new UsageError('give --config or --driver, not both');
  if (flags.config !== undefined) {
    if (flags.param !== undefined && flags.param.length > 0) throw new UsageError('--param goes with --driver; with --config use the file or REGISTRY_STORAGE_* variables');
    return fromRegistryConfig(flags.config, env);
  }
  if (flags.driver !== undefined) return { driver: flags.driver, parameters: parseParams(flags.param ?? []), source: '--driver' };
  if (flags.param !== undefined && flags.param.length > 0) throw new UsageError('--param needs --driver');
  return { driver: 'filesystem', parameters: { rootdirectory: resolve('storage') }, source: 'default (./storage)' };
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

function fromRegistryConfig(file: string, env: NodeJS.ProcessEnv): BackendSpec {
  let document: unknown;
  try {
    document = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${file}: ${(error as Error).message}`);
  }
  const storage = (document as { storage?: unknown } | null)?.storage;
  if (storage === undefined || storage === null || typeof storage !== 'object') throw new UsageError(`--config ${file}: no storage: section`);
  const drivers = Object.keys(storage).filter((key) => !REGISTRY_KEYS.has(key));
  // As in the registry, REGISTRY_STORAGE names the driver and REGISTRY_STORAGE_<DRIVER>_<PARAM> sets a parameter.
  const driver = env.REGISTRY_STORAGE ?? drivers[0];
  if (driver === undefined || (env.REGISTRY_STORAGE === undefined && drivers.length !== 1)) {
    throw new UsageError(`--config ${file}: storage: must configure exactly one driver, found ${drivers.length === 0 ? 'none' : drivers.join(', ')}`);
  }
  const configured = (storage as Record<string, unknown>)[driver];
  const parameters: Record<string, unknown> = configured !== null && typeof configured === 'object' ? { ...(configured as Record<string, unknown>) } : {};
  const prefix = `REGISTRY_STORAGE_${driver.toUpperCase()}_`;
  for (const [name, value] of Object.entries(env)) {
    // Values are YAML scalars, as the registry reads them: 33554432 is a number, "33554432" a string.
    if (name.startsWith(prefix) && value !== undefined) parameters[name.slice(prefix.length).toLowerCase()] = parse(value);
  }
  return { driver, parameters, source: `--config ${file}` };
}

/** Imports the driver's package and creates the driver; bad parameters fail here, before any I/O. */
export async function openBackend(spec: BackendSpec, override: Record<string, unknown> = {}): Promise<StorageDriver> {
  const pkg = PACKAGES[spec.driver];
  if (pkg === undefined) throw new UsageError(`unknown driver ${JSON.stringify(spec.driver)} (from ${spec.source}); known drivers: ${Object.keys(PACKAGES).join(', ')}`);
  await import(pkg);
  const parameters: DriverParameters = { ...spec.parameters, ...override };
  return create(spec.driver, parameters);
}

export function describeError(error: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (error instanceof InvalidParameterError) {
    return { code: error.code, message: error.message, details: { parameter: error.parameter, value: error.value, accepted: error.accepted } };
  }
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message };
  const code = (error as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'ERROR', message: error instanceof Error ? error.message : String(error) };
}
