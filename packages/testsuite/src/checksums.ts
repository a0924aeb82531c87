/** The content checksums services report (base64 of the big-endian digest, as they send them). */
import { createHash } from 'node:crypto';

export function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): node:crypto has no CRC. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32C of `data`, continuing `previous` (the CRC-32C of the bytes before it). */
export function crc32c(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A CRC-32C as GCS reports it: base64 of the 4 big-endian bytes. */
export function crc32cToBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc);
  return bytes.toString('base64');
}

/** The CRC-32C of `data` as GCS reports it. */
export function crc32cBase64(data: Uint8Array): string {
  return crc32cToBase64(crc32c(data));
}
