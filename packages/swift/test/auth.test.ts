/**
 * Keystone v2.0 and v3 against answers in Keystone's documented format, replayed by a local HTTP
 * server (Keystone dropped v2.0, so no server here speaks it): the request body the driver sends,
 * and the catalog endpoint it picks by region and endpoint type.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { authenticate, v3Request } from '../src/auth.js';
import { parseSwiftParameters } from '../src/index.js';

const endpoints = (base: string) => [
  { region: 'RegionOne', publicURL: `${base}/one/public/v1/AUTH_p`, internalURL: `${base}/one/internal/v1/AUTH_p`, adminURL: `${base}/one/admin/v1/AUTH_p` },
  { region: 'RegionTwo', publicURL: `${base}/two/public/v1/AUTH_p`, internalURL: `${base}/two/internal/v1/AUTH_p`, adminURL: `${base}/two/admin/v1/AUTH_p` },
];

function v2Answer(base: string) {
  return {
    access: {
      token: { id: 'v2-token', expires: '2099-01-01T00:00:00Z', tenant: { id: 'p', name: 'project' } },
      serviceCatalog: [
        { type: 'identity', name: 'keystone', endpoints: [{ region: 'RegionOne', publicURL: `${base}/v2.0` }] },
        { type: 'object-store', name: 'swift', endpoints: endpoints(base) },
      ],
      user: { id: 'u', name: 'user' },
    },
  };
}

function v3Answer(base: string) {
  return {
    token: {
      expires_at: '2099-01-01T00:00:00.000000Z',
      methods: ['password'],
      catalog: [
        { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${base}/v3` }] },
        {
          type: 'object-store',
          endpoints: endpoints(base).flatMap((e) => (['public', 'internal', 'admin'] as const).map((i) => ({ interface: i, region: e.region, region_id: e.region, url: e[`${i}URL`] }))),
        },
      ],
    },
  };
}

let server: Server;
let base: string;
const seen: Array<{ url: string; body: unknown }> = [];

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      seen.push({ url: request.url!, body });
      const password = (body as { auth?: { passwordCredentials?: { password?: string }; identity?: { password?: { user?: { password?: string } } } } } | undefined)?.auth;
      const given = password?.passwordCredentials?.password ?? password?.identity?.password?.user?.password;
      if (given !== 'secret') {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":401,"message":"The request you have made requires authentication."}}');
      } else if (request.url === '/v2.0/tokens') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v2Answer(base)));
      } else if (request.url === '/v3/auth/tokens') {
        response.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'v3-token' }).end(JSON.stringify(v3Answer(base)));
      } else {
        response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const options = (extra: Record<string, unknown>) => parseSwiftParameters({ username: 'user', password: 'secret', container: 'c', ...extra });

describe('Keystone v2.0 (detected from the URL)', () => {
  test('sends passwordCredentials with the tenant and picks the object-store endpoint by region and endpoint type', async () => {
    const credentials = await authenticate(options({ authurl: `${base}/v2.0`, tenant: 'project', region: 'RegionTwo', endpointtype: 'internal' }), fetch);
    expect(credentials.token).toBe('v2-token');
    expect(credentials.storageUrl).toBe(`${base}/two/internal/v1/AUTH_p`);
    expect(credentials.expiresAt?.toISOString()).toBe('2099-01-01T00:00:00.000Z');
    expect(seen.at(-1)).toEqual({ url: '/v2.0/tokens', body: { auth: { passwordCredentials: { username: 'user', password: 'secret' }, tenantName: 'project' } } });
  });

  test('without a region the first endpoint of the type; a region without one is an error; a wrong password is refused', async () => {
    expect((await authenticate(options({ authurl: `${base}/v2.0`, tenantid: 'p' }), fetch)).storageUrl).toBe(`${base}/one/public/v1/AUTH_p`);
    await expect(authenticate(options({ authurl: `${base}/v2.0`, region: 'Nowhere' }), fetch)).rejects.toThrow(/no public object-store endpoint in region Nowhere/);
    await expect(authenticate(options({ authurl: `${base}/v2.0`, password: 'wrong' }), fetch)).rejects.toMatchObject({ status: 401, auth: true });
  });
});

describe('Keystone v3', () => {
  test('password auth scoped to a project by name and domain; endpoint by interface and region', async () => {
    const credentials = await authenticate(options({ authurl: `${base}/v3`, tenant: 'project', tenantdomain: 'Projects', domain: 'Users', region: 'RegionTwo', endpointtype: 'admin' }), fetch);
    expect(credentials).toMatchObject({ token: 'v3-token', storageUrl: `${base}/two/admin/v1/AUTH_p` });
    expect(seen.at(-1)!.body).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'user', password: 'secret', domain: { name: 'Users' } } } },
        scope: { project: { name: 'project', domain: { name: 'Projects' } } },
      },
    });
  });

  test('a trust scope, a project id, and the user domain by id', () => {
    expect(v3Request(options({ authurl: `${base}/v3`, trustid: 't1', tenant: 'ignored' }))).toMatchObject({ auth: { scope: { 'OS-TRUST:trust': { id: 't1' } } } });
    expect(v3Request(options({ authurl: `${base}/v3`, tenantid: 'p1', domainid: 'd1' }))).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'user', password: 'secret', domain: { id: 'd1' } } } },
        scope: { project: { id: 'p1' } },
      },
    });
  });

  test('authversion overrides the URL', async () => {
    const credentials = await authenticate(options({ authurl: `${base}/v3`, authversion: 3, tenant: 'project' }), fetch);
    expect(credentials.storageUrl).toBe(`${base}/one/public/v1/AUTH_p`);
  });
});
