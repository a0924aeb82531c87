import { inspect } from 'node:util';

import {
  DriverError,
  DriverNotRegisteredError,
  InvalidOffsetError,
  InvalidParameterError,
  InvalidPathError,
  PathNotFoundError,
  StorageDriverError,
  UnsupportedMethodError,
  isSecretName,
} from '../src/index.js';

describe('typed errors', () => {
  test('messages keep upstream wording once the driver is named', () => {
    const error = new PathNotFoundError('/a/b');
    expect(error.message).toBe('Path not found: /a/b');
    error.driverName = 's3aws';
    expect(error.message).toBe('s3aws: Path not found: /a/b');
    expect(new InvalidPathError('abc', { driverName: 'x' }).message).toBe('x: invalid path: abc');
    expect(new InvalidOffsetError('/f', -1, { driverName: 'x' }).message).toBe('x: invalid offset: -1 for path: /f');
    expect(new UnsupportedMethodError('redirectURL', { driverName: 'x' }).message).toBe('x: unsupported method: redirectURL');
    expect(new DriverError('boom', { driverName: 'x' }).message).toBe('x: boom');
  });

  test('each class has a stable code, and cause is kept', () => {
    const cause = new Error('socket hang up');
    const error = new DriverError('request failed', { driverName: 'x', path: '/p', cause });
    expect([error.code, error.path, error.cause]).toEqual(['DRIVER_ERROR', '/p', cause]);
    expect(new PathNotFoundError('/p').code).toBe('PATH_NOT_FOUND');
    expect(new InvalidParameterError('chunksize', '12abc', 'an integer').code).toBe('INVALID_PARAMETER');
    expect(new DriverNotRegisteredError('nope', ['a', 'b']).message).toBe('StorageDriver not registered: nope (registered: a, b)');
  });

  test('instanceof works for errors from another copy of the package (matched by brand and code)', () => {
    // Simulate the CommonJS build throwing and the ESM build catching: a foreign branded object.
    const foreign = Object.defineProperty({ code: 'PATH_NOT_FOUND', name: 'PathNotFoundError' }, Symbol.for('@storagedriver/core:error'), { value: true });
    expect(foreign instanceof PathNotFoundError).toBe(true);
    expect(foreign instanceof StorageDriverError).toBe(true);
    expect(foreign instanceof InvalidPathError).toBe(false);
    expect({ code: 'PATH_NOT_FOUND' } instanceof PathNotFoundError).toBe(false);
    expect(new PathNotFoundError('/x') instanceof InvalidPathError).toBe(false);
  });

  test('a third-party subclass is matched by prototype, not by its inherited code', () => {
    class ThrottledError extends DriverError {}
    expect(new ThrottledError('slow down') instanceof ThrottledError).toBe(true);
    expect(new DriverError('other') instanceof ThrottledError).toBe(false);
    expect(new ThrottledError('slow down') instanceof DriverError).toBe(true);
  });
});

describe('InvalidParameterError hides secrets: an error gets logged whole, value and cause included', () => {
  test('secret names are matched without case or separators; others are not', () => {
    for (const name of ['secretkey', 'secretKey', 'accesskeysecret', 'sessionToken', 'password', 'accountKey', 'client_secret', 'private_key', 'credentials', 'connectionString', 'tempurlcontainerkey', 'key']) {
      expect([name, isSecretName(name)]).toEqual([name, true]);
    }
    for (const name of ['accesskey', 'keyid', 'keyfile', 'keyring', 'bucket', 'rootdirectory', 'encryptionkeyid', 'username']) {
      expect([name, isSecretName(name)]).toEqual([name, false]);
    }
  });

  test('a secret value is hidden in value, message, JSON and inspection; so are the secret fields of a mapping', () => {
    const marker = 'MARKER-8f3a91';
    const direct = new InvalidParameterError('secretKey', 987_654_321_987, 'a string', { driverName: 's3' });
    const wrapped = new InvalidParameterError('secretkey', marker, 'a string', { cause: new Error('inner') });
    const mapping = new InvalidParameterError('credentials', { type: 'bogus', accountKey: marker, nested: { client_secret: marker, tenant: 't' } }, 'a mapping');
    for (const error of [direct, wrapped, mapping]) {
      for (const shown of [error.message, JSON.stringify(error), inspect(error, { depth: 8 }), String(error.value)]) {
        expect(shown).not.toContain(marker);
        expect(shown).not.toContain('987654321987');
      }
    }
    expect(direct.value).toBe('***');
    expect(direct.message).toBe('s3: invalid parameter "secretKey": got "***", expected a string');
    // What is not secret stays, so the message still says what was wrong.
    expect(mapping.value).toEqual({ type: 'bogus', accountKey: '***', nested: { client_secret: '***', tenant: 't' } });
    // Nothing given is shown as nothing; other values are kept as given (the same object).
    expect(new InvalidParameterError('password', undefined, 'a string').message).toContain('got nothing');
    const client = { send: () => undefined };
    expect(new InvalidParameterError('client', client, 'a client').value).toBe(client);
    expect(new InvalidParameterError('chunksize', '12abc', 'an integer').value).toBe('12abc');
  });
});
