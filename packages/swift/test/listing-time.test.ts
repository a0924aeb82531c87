/**
 * `parseListingTime` reads the usual shape by position: every string must give the time the
 * general parse gives (the regex then the date-string parse, kept here as the reference).
 */
import { parseListingTime } from '../src/objects.js';

function reference(value: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*Z?$/.exec(value);
  return (match === null ? new Date(value) : new Date(`${match[1]}${match[2] ?? ''}Z`)).getTime();
}

/** A small deterministic generator (xorshift), so a failure names a string that comes back. */
function generator(seed: number) {
  let state = seed;
  return (below: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

test('the usual shapes: Ceph with Z, Swift without, with microseconds, milliseconds or none', () => {
  expect(parseListingTime('2026-12-07T22:51:00.123456').toISOString()).toBe('2026-12-07T22:51:00.123Z');
  expect(parseListingTime('2026-12-07T22:51:00.123Z').toISOString()).toBe('2026-12-07T22:51:00.123Z');
  expect(parseListingTime('2026-12-07T22:51:00.5').toISOString()).toBe('2026-12-07T22:51:00.500Z');
  expect(parseListingTime('2026-12-07T22:51:00').toISOString()).toBe('2026-12-07T22:51:00.000Z');
  expect(parseListingTime(undefined).getTime()).toBe(0);
});

test.each([
  '2026-02-30T00:00:00Z', '2026-13-01T00:00:00', '2026-00-10T00:00:00', '2026-12-00T00:00:00', '2026-12-32T00:00:00',
  '2026-12-07T24:00:00', '2026-12-07T23:60:00', '2026-12-07T23:59:60', '0099-12-07T23:59:59', '0100-01-01T00:00:00',
  '2026-12-07T22:51:00.', '2026-12-07T22:51:00.Z', '2026-12-07T22:51:0012', '2026-12-07T22:51:00.12a', '2026-12-07 22:51:00',
  '2026-12-07T22:51:00ZZ', '2026-12-07T22:51:00+01:00', '+2026-12-07T22:51:00', 'Mon, 07 Dec 2026 22:51:00 GMT', '', 'Z',
])('%j gives what the general parse gives', (value) => {
  expect(parseListingTime(value).getTime()).toBe(reference(value));
});

test('20 000 generated strings, valid and not, each give what the general parse gives', () => {
  const next = generator(0x5eed);
  const field = (width: number, max: number) => pad(next(max + 1), width);
  const differing: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const separators = next(20) === 0 ? ['/', '-', ' ', ':', '.'] : ['-', '-', 'T', ':', ':'];
    const fraction = next(3) === 0 ? '' : `.${Array.from({ length: next(9) }, () => next(10)).join('')}`;
    const value = `${field(4, 9999)}${separators[0]}${field(2, 14)}${separators[1]}${field(2, 33)}${separators[2]}${field(2, 25)}${separators[3]}${field(2, 61)}${separators[4]}${field(2, 61)}${fraction}${next(2) === 0 ? 'Z' : ''}`;
    if (!Object.is(parseListingTime(value).getTime(), reference(value))) differing.push(value);
  }
  expect(differing).toEqual([]);
});
