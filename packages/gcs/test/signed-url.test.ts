/**
 * fake-gcs-server serves signed URLs without checking their signature, so the V4 signature is
 * verified here the way the service does it: the canonical request is rebuilt from the URL alone
 * (method, path, the query without the signature, the signed headers with the values the client
 * sends), and the signature is checked with the service account's public key. A wrong canonical
 * request fails, and so does any tampering. The URLs are also compared with those of the SDK's own
 * V4 signer, an implementation independent of this one.
 */
import { createHash, createPublicKey, createVerify } from 'node:crypto';

import { Storage } from '@google-cloud/storage';

import { signedUrl } from '../src/signer.js';
import { serviceAccountKey } from './support/server.js';

const key = serviceAccountKey();
const publicKey = createPublicKey(key.private_key);

/** RFC 3986 percent-encoding of a query name or value, as the V4 canonical query requires. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** True when `url`'s X-Goog-Signature is the service account's signature of the request it describes, sent with `sent` headers. */
function verifies(method: string, url: URL, sent: Record<string, string> = {}): boolean {
  const params = [...url.searchParams].filter(([name]) => name !== 'X-Goog-Signature');
  const canonicalQuery = params
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const signedHeaders = url.searchParams.get('X-Goog-SignedHeaders')!;
  const headers = signedHeaders.split(';').map((name) => `${name}:${name === 'host' ? url.host : (sent[name] ?? '')}\n`).join('');
  const canonicalRequest = [method, url.pathname, canonicalQuery, headers, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const credential = url.searchParams.get('X-Goog-Credential')!;
  const scope = credential.slice(credential.indexOf('/') + 1);
  const stringToSign = ['GOOG4-RSA-SHA256', url.searchParams.get('X-Goog-Date'), scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  return createVerify('RSA-SHA256').update(stringToSign).verify(publicKey, url.searchParams.get('X-Goog-Signature')!, 'hex');
}

const now = new Date('2026-12-02T10:11:12Z');

test.each([
  ['GET', 'registry/docker/registry/v2/blobs/sha256/ab/abcdef/data'],
  ['HEAD', 'a.b_c-d/e'],
] as const)('a %s URL for %j verifies against the public key, with the documented fields', (method, object) => {
  const url = new URL(signedUrl(key, { method, bucket: 'my-bucket', object, expiresSeconds: 1200, now }));
  expect(verifies(method, url)).toBe(true);
  expect(url.origin).toBe('https://storage.googleapis.com');
  expect(url.pathname).toBe(`/my-bucket/${object}`);
  expect(Object.fromEntries([...url.searchParams].filter(([name]) => name !== 'X-Goog-Signature'))).toEqual({
    'X-Goog-Algorithm': 'GOOG4-RSA-SHA256',
    'X-Goog-Credential': `${key.client_email}/20261202/auto/storage/goog4_request`,
    'X-Goog-Date': '20261202T101112Z',
    'X-Goog-Expires': '1200',
    'X-Goog-SignedHeaders': 'host',
  });
});

test('an emulator endpoint is signed for its own host', () => {
  const url = new URL(signedUrl(key, { method: 'GET', bucket: 'b', object: 'o', expiresSeconds: 60, endpoint: 'http://127.0.0.1:4443', now }));
  expect(url.host).toBe('127.0.0.1:4443');
  expect(verifies('GET', url)).toBe(true);
});

test('tampering with the method, the object, the expiry or the host breaks the signature', () => {
  const url = new URL(signedUrl(key, { method: 'GET', bucket: 'b', object: 'dir/obj', expiresSeconds: 60, now }));
  expect(verifies('HEAD', url)).toBe(false);
  const otherObject = new URL(url);
  otherObject.pathname = '/b/dir/other';
  expect(verifies('GET', otherObject)).toBe(false);
  const longer = new URL(url);
  longer.searchParams.set('X-Goog-Expires', '604800');
  expect(verifies('GET', longer)).toBe(false);
  const otherHost = new URL(url);
  otherHost.host = 'evil.example.com';
  expect(verifies('GET', otherHost)).toBe(false);
});

test('a PUT signs its content type: the upload verifies with exactly that header, not with another or none', () => {
  const url = new URL(signedUrl(key, { method: 'PUT', bucket: 'b', object: 'up/load', expiresSeconds: 600, headers: { 'content-type': 'image/png' }, now }));
  expect(url.searchParams.get('X-Goog-SignedHeaders')).toBe('content-type;host');
  expect(verifies('PUT', url, { 'content-type': 'image/png' })).toBe(true);
  expect(verifies('PUT', url, { 'content-type': 'text/html' })).toBe(false);
  expect(verifies('PUT', url)).toBe(false);
  expect(verifies('GET', url, { 'content-type': 'image/png' })).toBe(false);
});

test.each([
  ['GET', 'read', undefined],
  ['PUT', 'write', undefined],
  ['PUT', 'write', 'image/png'],
] as const)('a %s URL (action %s, content type %s) is the one the SDK signs, byte for byte', async (method, action, contentType) => {
  // The SDK refuses an expiry in the past: sign from the current second.
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const object = 'dir/a b+c/obj~1';
  const sdk = new Storage({ projectId: 'test', credentials: { client_email: key.client_email, private_key: key.private_key } });
  const [expected] = await sdk.bucket('my-bucket').file(object).getSignedUrl({
    version: 'v4',
    action,
    accessibleAt: at,
    expires: at.getTime() + 600_000,
    ...(contentType === undefined ? {} : { contentType }),
  });
  const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
  expect(signedUrl(key, { method, bucket: 'my-bucket', object, expiresSeconds: 600, headers, now: at })).toBe(expected);
});
