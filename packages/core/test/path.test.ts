import { InvalidPathError, KeyMapper, compareWalkOrder, isValidPath, isWithin, parentPath, validatePath } from '../src/index.js';

const VALID = ['/a', '/2', '/aa', '/a.a', '/0-9/abcdefg', '/abc/1.2.3.4.5-6_zyx/123.z/4', '/abc./abc', '/.abc', '/a--b', '/_.abc', '/...'];
const INVALID = ['', '/', 'abc', '123.abc', '//bcd', '/abc_123/', '/..', '/a/../b', '/a/.', '/a b', '/a:b', '/ä', `/${'x'.repeat(1024)}`];

test.each(VALID)('%s is a valid path', (p) => expect(isValidPath(p)).toBe(true));
test.each(INVALID)('%j is not a valid path', (p) => expect(isValidPath(p)).toBe(false));

test('validatePath accepts / only when asked, and says why a path is rejected', () => {
  expect(() => validatePath('/', { allowRoot: true })).not.toThrow();
  expect(() => validatePath('/')).toThrow(InvalidPathError);
  expect(() => validatePath('/a/../b')).toThrow('".." components are not allowed');
});

test('isWithin is component-wise: /ab is not within /a', () => {
  expect(isWithin('/a/b', '/a')).toBe(true);
  expect(isWithin('/a', '/a')).toBe(true);
  expect(isWithin('/ab', '/a')).toBe(false);
  expect(isWithin('/anything', '/')).toBe(true);
  expect(parentPath('/a/b')).toBe('/a');
  expect(parentPath('/a')).toBe('/');
});

test('walk order puts a directory before its contents and before longer siblings', () => {
  const paths = ['/a-b', '/a/x', '/a', '/b', '/a/x/y'];
  expect([...paths].sort(compareWalkOrder)).toEqual(['/a', '/a/x', '/a/x/y', '/a-b', '/b']);
});

test('KeyMapper keeps every key under the normalised root prefix', () => {
  const keys = new KeyMapper('/registry/v2/');
  expect(keys.prefix).toBe('registry/v2/');
  expect(keys.key('/a/b')).toBe('registry/v2/a/b');
  expect(keys.directoryPrefix('/a')).toBe('registry/v2/a/');
  expect(keys.directoryPrefix('/')).toBe('registry/v2/');
  expect(keys.path('registry/v2/a/b')).toBe('/a/b');
  expect(keys.path('registry/v2/a/')).toBe('/a');
  expect(new KeyMapper('').key('/a')).toBe('a');
});
