import { crc32c, crc32cBase64 } from '../src/checksums.js';

test('crc32c: the standard check value, and a CRC continued over parts equals the whole one', () => {
  const data = Buffer.from('123456789');
  expect(crc32c(data)).toBe(0xe3069283);
  expect(crc32cBase64(data)).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff));
  for (const cut of [0, 1, 499, 1000]) expect(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)))).toBe(crc32c(bytes));
  expect(crc32c(Buffer.alloc(0))).toBe(0);
});
