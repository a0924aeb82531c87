import {
  DriverError,
  DriverNotRegisteredError,
  InvalidOffsetError,
  InvalidParameterError,
  InvalidPathError,
  PathNotFoundError,
  StorageDriverError,
  UnsupportedMethodError,
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
