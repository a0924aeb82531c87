import { InvalidParameterError, ParameterReader, checkOptions, millisecondsOption, parseDuration, parseSize, type DriverParameters } from '../src/index.js';

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

describe('checkOptions: a constructor\'s options checked by the parameter parser, errors naming the option', () => {
  interface Options {
    bucket: string;
    chunkSize?: number;
    timeoutMs?: number;
    client?: object;
  }
  const parse = (parameters: DriverParameters) => {
    const p = new ParameterReader('test', parameters, ['bucket', 'chunksize', 'timeout']);
    return { bucket: p.requiredString('bucket'), chunkSize: p.size('chunksize', 10, { min: 5 }), timeout: p.duration('timeout', 0) };
  };
  const names = { bucket: 'bucket', chunkSize: 'chunksize', client: null, timeoutMs: millisecondsOption('timeout') } as const;
  const check = (options: unknown) => checkOptions('test', options as Options, names, parse);

  test('valid options pass and are returned as given; an option without a parameter is not parsed', () => {
    const options = { bucket: 'b', chunkSize: 5, timeoutMs: 250, client: { any: 'thing' } };
    expect(check(options)).toBe(options);
    expect(check({ bucket: 'b', chunkSize: undefined })).toEqual({ bucket: 'b', chunkSize: undefined });
  });

  test('a missing required option, a value out of range and a converted value each name the option and its value', () => {
    const missing = rejection(() => check({ chunkSize: 5 }));
    expect([missing.parameter, missing.value, missing.accepted, missing.driverName]).toEqual(['bucket', undefined, 'a non-empty string (required)', 'test']);
    const small = rejection(() => check({ bucket: 'b', chunkSize: 4 }));
    expect([small.parameter, small.value]).toEqual(['chunkSize', 4]);
    expect(small.cause).toBeInstanceOf(InvalidParameterError);
    const timeout = rejection(() => check({ bucket: 'b', timeoutMs: 'soon' }));
    expect([timeout.parameter, timeout.value]).toEqual(['timeoutMs', 'soon']);
  });

  test('an unknown option name (a parameter\'s spelling too) is rejected, naming the known ones; so is a non-object', () => {
    const typo = rejection(() => check({ bucket: 'b', chunksize: 5 }));
    expect(typo.parameter).toBe('chunksize');
    expect(typo.accepted).toBe('a known option name (bucket, chunkSize, client, timeoutMs)');
    for (const bad of [undefined, null, 'bucket=b', [1]]) expect(rejection(() => check(bad)).parameter).toBe('options');
  });

  test('a number of milliseconds reaches a duration parameter as one; anything else as given, for the parser to judge', () => {
    const seen: DriverParameters[] = [];
    checkOptions('test', { bucket: 'b', timeoutMs: 250 } as Options, names, (parameters) => (seen.push(parameters), parse(parameters)));
    expect(seen).toEqual([{ bucket: 'b', timeout: '250ms' }]);
    expect(rejection(() => check({ bucket: 'b', timeoutMs: -1 })).value).toBe(-1);
    expect(rejection(() => check({ bucket: 'b', timeoutMs: true })).parameter).toBe('timeoutMs');
  });

  test('errors that are not InvalidParameterError pass through', () => {
    const boom = new Error('boom');
    expect(() => checkOptions('test', { bucket: 'b' } as Options, names, () => { throw boom; })).toThrow(boom);
  });
});
