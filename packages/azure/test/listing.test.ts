/** The List Blobs reader (src/listing.ts) on answers shaped as Azure and Azurite send them. */
import { DriverError } from '@storagedriver/core';

import { parseBlobList } from '../src/listing.js';

const properties = (length: number, etag: string, modified = 'Thu, 03 Dec 2026 17:20:57 GMT'): string =>
  `<Properties><Creation-Time>${modified}</Creation-Time><Last-Modified>${modified}</Last-Modified><Etag>${etag}</Etag><Content-Length>${length}</Content-Length><Content-Type>text/plain</Content-Type><Content-MD5 /><BlobType>BlockBlob</BlobType></Properties>`;

const answer = (blobs: string, next: string): string =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:1/devstoreaccount1" ContainerName="c"><Prefix>dir/</Prefix><Marker/><MaxResults>3</MaxResults><Delimiter>/</Delimiter><Blobs>${blobs}</Blobs>${next}</EnumerationResults>`;

test('names come back unescaped (entity and character references), percent-decoded when marked Encoded, in the answer’s order', () => {
  const page = parseBlobList(answer(
    `<Blob><Name>a&amp;b&lt;c&gt;"d'e &quot;&apos;</Name>${properties(2, '0x1F7038DCC4C35C0')}</Blob>` +
      `<Blob><Name Encoded="true">ctl%01x%2Fy</Name>${properties(0, '0x8D')}</Blob>` +
      `<Blob><Name>&#233;&#x1F600; ü</Name>${properties(12_345_678_901, '"0x2"')}</Blob>`,
    '<NextMarker />',
  ));
  expect(page.objects.map((object) => object.key)).toEqual([`a&b<c>"d'e "'`, 'ctl\u0001x/y', 'é😀 ü']);
  expect(page.objects[0]).toEqual({ key: `a&b<c>"d'e "'`, size: 2, modTime: new Date('2026-12-03T17:20:57Z'), etag: '"0x1F7038DCC4C35C0"' });
  expect(page.objects[2]).toMatchObject({ size: 12_345_678_901, etag: '"0x2"' });
  expect(page.prefixes).toEqual([]);
  expect(page.next).toBeUndefined();
});

test('prefixes (BlobPrefix) apart from blobs, and the next marker, unescaped', () => {
  const page = parseBlobList(answer(
    `<BlobPrefix><Name>dir/sub/</Name></BlobPrefix><Blob><Name>dir/x</Name>${properties(1, '0x1')}</Blob><BlobPrefix><Name Encoded="true">dir/%01/</Name></BlobPrefix>`,
    '<NextMarker>2!96!MDAwMDE0IWRpci8mYW1wOyE-&amp;</NextMarker>',
  ));
  expect(page.prefixes).toEqual(['dir/sub/', 'dir/\u0001/']);
  expect(page.objects.map((object) => object.key)).toEqual(['dir/x']);
  expect(page.next).toBe('2!96!MDAwMDE0IWRpci8mYW1wOyE-&');
});

test('an empty page (no blobs, an empty marker) and properties the answer leaves out', () => {
  expect(parseBlobList(answer('', '<NextMarker></NextMarker>'))).toEqual({ objects: [], prefixes: [], next: undefined });
  expect(parseBlobList(answer('<Blob><Name>n</Name><Properties><Etag/></Properties></Blob>', '<NextMarker/>')).objects).toEqual([
    { key: 'n', size: 0, modTime: new Date(0), etag: undefined },
  ]);
});

test('an answer that is not a listing, or an entry without a name, is a DriverError, never an empty page', () => {
  expect(() => parseBlobList('<html><body>proxy error</body></html>')).toThrow(DriverError);
  expect(() => parseBlobList(answer(`<Blob>${properties(1, '0x1')}</Blob>`, '<NextMarker/>'))).toThrow(/without a name/);
});
