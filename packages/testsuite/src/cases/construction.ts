/**
 * Direct construction (`new XDriver(options)`): a bad option fails there, typed and named, never as a
 * TypeError from deep inside nor as a failure at the first operation.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

import { InvalidParameterError, isSecretName, type StorageDriver } from '@storagedriver/core';

import type { SuiteCase } from '../runner.js';
import { describeError } from './expect.js';

/** What `make` did with some options: a driver, or the error it threw. */
function attempt(make: (options: Record<string, unknown>) => StorageDriver, options: Record<string, unknown>): { driver?: StorageDriver; error?: unknown } {
  try {
    return { driver: make(options) };
  } catch (error) {
    return { error };
  }
}

async function dispose(driver: StorageDriver | undefined): Promise<void> {
  await (driver as { close?: () => unknown } | undefined)?.close?.();
}

/** Stands in for a secret given with the wrong type: the error it causes must not show it. */
const SECRET_MARKER = 987_654_321_987;

/** A value of another type than `value`, which no option of `value`'s type may accept. */
function wrongTyped(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string') return secret ? SECRET_MARKER : 42;
  if (typeof value === 'number') return 'not-a-number';
  if (typeof value === 'boolean') return 'maybe';
  return undefined;
}

export const constructionCases: SuiteCase[] = [
  {
    group: 'construction',
    name: 'constructed directly, an unknown or misspelt option, one of the wrong type, or one left out fails at construction as InvalidParameterError naming it (or constructs), never as another error, and never showing a secret',
    skip: (options) => (options.construct === undefined ? 'the package passes no `construct` (its constructor and options) to the suite' : undefined),
    async run({ driver, options }) {
      const { make, options: valid } = options.construct!;
      const expectNamed = (error: unknown, option: string, what: string): void => {
        assert.ok(error instanceof InvalidParameterError, `${what}: expected InvalidParameterError naming "${option}", got ${describeError(error)}`);
        assert.equal(error.parameter, option, `${what}: the error names "${error.parameter}"`);
        assert.equal(error.driverName, driver.name, `${what}: driverName`);
      };
      const accepted = attempt(make, valid);
      assert.equal(accepted.error, undefined, `the options the package gave: ${describeError(accepted.error)}`);
      await dispose(accepted.driver);

      const unknown = attempt(make, { ...valid, notAnOption: 1 });
      await dispose(unknown.driver);
      expectNamed(unknown.error, 'notAnOption', 'an unknown option');
      // A camelCase option given in its parameter's lower-case spelling is a typo, not an alias.
      for (const name of Object.keys(valid).filter((key) => key !== key.toLowerCase())) {
        const { [name]: value, ...rest } = valid;
        const misspelt = attempt(make, { ...rest, [name.toLowerCase()]: value });
        await dispose(misspelt.driver);
        expectNamed(misspelt.error, name.toLowerCase(), `"${name}" spelt "${name.toLowerCase()}"`);
      }

      for (const [name, value] of Object.entries(valid)) {
        const secret = isSecretName(name);
        const wrong = wrongTyped(value, secret);
        if (wrong === undefined) continue;
        const result = attempt(make, { ...valid, [name]: wrong });
        await dispose(result.driver);
        const given = `"${name}" given ${JSON.stringify(wrong)} (it was ${secret ? 'a secret' : JSON.stringify(value)})`;
        expectNamed(result.error, name, given);
        // Errors get logged whole (message, value, cause): a key or password in one is a leak.
        if (secret) assert.ok(!inspect(result.error, { depth: 8 }).includes(String(SECRET_MARKER)), `${given}: the error shows the secret: ${inspect(result.error, { depth: 8 })}`);
      }

      for (const name of Object.keys(valid).filter((key) => valid[key] !== undefined)) {
        const { [name]: _left, ...rest } = valid;
        const result = attempt(make, rest);
        await dispose(result.driver);
        if (result.error === undefined) continue;
        // Leaving one option out may make another required (`accountName` without `connectionString`): any option may be named.
        assert.ok(result.error instanceof InvalidParameterError, `without "${name}": expected a driver or InvalidParameterError, got ${describeError(result.error)}`);
        assert.equal(result.error.driverName, driver.name, `without "${name}": driverName`);
      }
    },
  },
];
