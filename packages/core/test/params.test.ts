import { InvalidParameterError, ParameterReader, parseDuration, parseSize } from '../src/index.js';

const reader = (params: Record<string, unknown>) => new ParameterReader('test', params, ['n', 's', 'b', 'd', 'e', 'size', 'limit', 'm']);

function rejection(fn: () => unknown): InvalidParameterError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidParameterError) return error;
    throw error;
  }
  throw new Error('expected an InvalidParameterError');
}

test('unknown names are rejected, naming the known ones', () => {
  const error = rejection(() => reader({ nope: 1 }));
  expect(error.parameter).toBe('nope');
  expect(error.message).toContain('b, d, e, limit, m, n, s, size');
});

test('integers come from numbers or strict integer strings', () => {
  expect(reader({ n: 12 }).integer('n', 0)).toBe(12);
  expect(reader({ n: '12' }).integer('n', 0)).toBe(12);
  expect(reader({}).integer('n', 7)).toBe(7);
  for (const bad of ['12abc', '1.5', 1.5, true, '']) expect(rejection(() => reader({ n: bad }).integer('n', 0)).value).toBe(bad);
  const range = rejection(() => reader({ n: 3 }).integer('n', 0, { min: 5, max: 10 }));
  expect(range.message).toBe('test: invalid parameter "n": got 3, expected an integer from 5 to 10');
});

test('sizes accept integers and unit strings, with bounds and multiples', () => {
  expect(parseSize('10MiB')).toBe(10 * 1024 * 1024);
  expect(parseSize('5 MB')).toBe(5_000_000);
  expect(parseSize(33554432)).toBe(33554432);
  expect(parseSize('12abc')).toBeUndefined();
  expect(reader({ size: '256KiB' }).size('size', 0, { min: 262144, multipleOf: 262144 })).toBe(262144);
  expect(() => reader({ size: 300000 }).size('size', 0, { multipleOf: 262144 })).toThrow(/multiple of 256 KiB/);
});

test('booleans accept Go strconv.ParseBool strings', () => {
  expect(reader({ b: 'True' }).boolean('b', false)).toBe(true);
  expect(reader({ b: '0' }).boolean('b', true)).toBe(false);
  expect(() => reader({ b: 'yes' }).boolean('b', false)).toThrow(InvalidParameterError);
});

test('durations parse Go syntax into milliseconds', () => {
  expect(parseDuration('100ms')).toBe(100);
  expect(parseDuration('1h30m')).toBe(5_400_000);
  expect(parseDuration('2.5s')).toBe(2500);
  expect(parseDuration('10')).toBeUndefined();
  expect(reader({ d: '1s' }).duration('d', 0)).toBe(1000);
  expect(() => reader({ d: 100 }).duration('d', 0)).toThrow(/a duration such as/);
});

test('enums are case-insensitive and return the declared spelling', () => {
  expect(reader({ e: 'standard' }).oneOf('e', ['STANDARD', 'NONE'], 'NONE')).toBe('STANDARD');
  expect(() => reader({ e: 'x' }).oneOf('e', ['A', 'B'], 'A')).toThrow('expected one of: A, B');
});

test('concurrency limits follow upstream GetLimitFromParameter: below the minimum means the minimum', () => {
  expect(reader({}).concurrencyLimit('limit', 100, 25)).toBe(100);
  expect(reader({ limit: '50' }).concurrencyLimit('limit', 100, 25)).toBe(50);
  expect(reader({ limit: 5 }).concurrencyLimit('limit', 100, 25)).toBe(25);
  expect(() => reader({ limit: 'foo' }).concurrencyLimit('limit', 100, 25)).toThrow(InvalidParameterError);
});

test('maps, strings and required strings', () => {
  expect(reader({ m: { type: 'shared_key' } }).map('m')).toEqual({ type: 'shared_key' });
  expect(() => reader({ m: 'x' }).map('m')).toThrow(/a mapping/);
  expect(() => reader({ s: 5 }).string('s')).toThrow(/a string/);
  expect(() => reader({ s: '' }).requiredString('s')).toThrow(/required/);
});
