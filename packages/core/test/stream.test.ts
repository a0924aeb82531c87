import { InvalidOffsetError, readAll, readerAtEnd, toBuffer } from '../src/index.js';

test('readerAtEnd: exactly at the size is an empty stream, beyond it InvalidOffsetError with the refusal as cause', async () => {
  expect((await readAll(readerAtEnd('/a', 10, 10))).length).toBe(0);
  const refusal = new Error('416');
  let thrown: unknown;
  try {
    readerAtEnd('/a', 11, 10, refusal);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOffsetError);
  expect(thrown).toMatchObject({ code: 'INVALID_OFFSET', path: '/a', offset: 11, cause: refusal });
});

test('toBuffer reads strings as UTF-8 and views without copying', () => {
  expect(toBuffer('é').equals(Buffer.from([0xc3, 0xa9]))).toBe(true);
  const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
  const buffer = toBuffer(bytes);
  expect([...buffer]).toEqual([2, 3]);
  expect(buffer.buffer).toBe(bytes.buffer);
});
