/**
 * The driver factory: driver packages register themselves by name when imported; `create` makes a
 * driver from a name and a parameters map (the `storage:` section of a registry config).
 *
 * The registry lives on globalThis under a well-known symbol, so a driver registered through one
 * copy of this package (CommonJS) is found through another (ESM).
 */
import { BaseDriver } from './base.js';
import type { StorageBackend, StorageDriver } from './driver.js';
import { DriverNotRegisteredError } from './errors.js';
import type { DriverParameters } from './params.js';

/** Makes a driver from its parameters; may return a bare backend, which `create` wraps in BaseDriver. */
export type DriverFactory = (parameters: DriverParameters) => StorageDriver | StorageBackend | Promise<StorageDriver | StorageBackend>;

const REGISTRY_KEY = Symbol.for('@storagedriver/core:factory-registry');
interface Registration {
  factory: DriverFactory;
  owner: string | undefined;
}

const globals = globalThis as Record<symbol, unknown>;
const registry = (globals[REGISTRY_KEY] ??= new Map<string, Registration>()) as Map<string, Registration>;

/** Options of `register`. */
export interface RegisterOptions {
  /**
   * The package registering (e.g. `@storagedriver/s3`). A second registration of a name by the same
   * owner replaces the first: that is one package loaded twice (its ESM and CommonJS builds), not a
   * conflict.
   */
  owner?: string;
}

/** Registers `factory` under `name`. An empty name, or a name another owner registered, is an error. */
export function register(name: string, factory: DriverFactory, options: RegisterOptions = {}): void {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a storage driver needs a non-empty name');
  if (typeof factory !== 'function') throw new TypeError(`storage driver "${name}": the factory must be a function`);
  const existing = registry.get(name);
  if (existing !== undefined && (existing.owner === undefined || existing.owner !== options.owner)) {
    throw new Error(`a storage driver named "${name}" is already registered${existing.owner ? ` by ${existing.owner}` : ''}`);
  }
  registry.set(name, { factory, owner: options.owner });
}

/** Removes a registration (for tests and plugin hosts); returns whether there was one. */
export function unregister(name: string): boolean {
  return registry.delete(name);
}

/** The names drivers are registered under, sorted. */
export function registeredDrivers(): string[] {
  return [...registry.keys()].sort();
}

/** Creates the driver registered as `name` from `parameters`; unknown names are DriverNotRegisteredError. */
export async function create(name: string, parameters: DriverParameters = {}): Promise<StorageDriver> {
  const registration = registry.get(name);
  if (registration === undefined) throw new DriverNotRegisteredError(name, registeredDrivers());
  const driver = await registration.factory(parameters);
  return BaseDriver.isBaseDriver(driver) ? driver : new BaseDriver(driver as StorageBackend);
}
