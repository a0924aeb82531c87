/**
 * The request paths SwiftClient's node:http transport sends, against a local server answering auth
 * v1 with a storage URL of each shape a cluster gives (with a path, without one) and a new storage
 * URL after a 401: what follows the storage URL is the container and the encoded object name, exactly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { SwiftClient, parseSwiftParameters } from '../src/index.js';

let server: Server;
let base: string;
/** The storage URL the next authentication gives, and the token it gives with it. */
let storage = { path: '/v1/AUTH_a', token: 't1' };
let validToken = 't1';
const objectRequests: Array<{ method: string; url: string; token: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/auth/v1.0') {
        response.writeHead(200, { 'x-auth-token': storage.token, 'x-storage-url': `${base}${storage.path}` }).end();
        return;
      }
      const token = request.headers['x-auth-token'] as string | undefined;
      objectRequests.push({ method: request.method!, url: request.url!, token });
      if (token !== validToken) response.writeHead(401).end('expired');
      else response.writeHead(request.method === 'PUT' ? 201 : 200).end(request.method === 'GET' ? 'body' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  objectRequests.length = 0;
});

const client = () => new SwiftClient(parseSwiftParameters({ authurl: `${base}/auth/v1.0`, username: 'u', password: 'p', container: 'ct' }));

test('object paths follow the storage URL path: plain names as they are, others encoded per component, the query kept', async () => {
  storage = { path: '/v1/AUTH_a', token: 't1' };
  validToken = 't1';
  const swift = client();
  await swift.callRaw({ method: 'PUT', container: 'ct', object: 'dir/file-1.bin', body: 'x' });
  await swift.callRaw({ method: 'PUT', container: 'ct', object: 'a b/c?d#e/ü', body: 'x' });
  await swift.callRaw({ method: 'PUT', container: 'ct', object: 'm', query: { 'multipart-manifest': 'put' }, body: '[]' });
  const read = await swift.sendRaw({ method: 'GET', container: 'ct', object: 'dir/file-1.bin' });
  read.body.resume();
  expect(objectRequests.map((r) => `${r.method} ${r.url}`)).toEqual([
    'PUT /v1/AUTH_a/ct/dir/file-1.bin',
    'PUT /v1/AUTH_a/ct/a%20b/c%3Fd%23e/%C3%BC',
    'PUT /v1/AUTH_a/ct/m?multipart-manifest=put',
    'GET /v1/AUTH_a/ct/dir/file-1.bin',
  ]);
});

test('a storage URL without a path: the container is the first path component', async () => {
  storage = { path: '', token: 't1' };
  validToken = 't1';
  await client().callRaw({ method: 'PUT', container: 'ct', object: 'o', body: 'x' });
  expect(objectRequests.map((r) => r.url)).toEqual(['/ct/o']);
});

test('after a 401 the request goes again with the new token to the new storage URL', async () => {
  storage = { path: '/v1/AUTH_a', token: 't1' };
  validToken = 't1';
  const swift = client();
  await swift.callRaw({ method: 'PUT', container: 'ct', object: 'o', body: 'x' });
  storage = { path: '/swift/v1/AUTH_b', token: 't2' };
  validToken = 't2';
  await swift.callRaw({ method: 'PUT', container: 'ct', object: 'o', body: 'x' });
  expect(objectRequests).toEqual([
    { method: 'PUT', url: '/v1/AUTH_a/ct/o', token: 't1' },
    { method: 'PUT', url: '/v1/AUTH_a/ct/o', token: 't1' },
    { method: 'PUT', url: '/swift/v1/AUTH_b/ct/o', token: 't2' },
  ]);
  expect(swift.authentications).toBe(2);
});
