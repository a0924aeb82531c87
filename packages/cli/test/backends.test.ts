/** The binary against S3 (Ceph RGW), Azure (Azurite) and GCS (fake-gcs-server), each from a registry config.yml. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { patternBytes } from '@storagedriver/testsuite';

import { azureConfig, gcsConfig, s3Config } from './support/backends.js';
import { json, run, tempDir } from './support/run.js';

const dir = tempDir('backends');

function fetch(url: string, method: 'GET' | 'HEAD' | 'PUT', headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: Buffer; length?: string }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    request(url, { method, headers, ca: process.env.AZURE_TEST_CA }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), length: res.headers['content-length'] }));
    }).on('error', reject).end(body);
  });
}

const backends: [string, () => Promise<{ file: string; env?: NodeJS.ProcessEnv }>][] = [
  ['s3', async () => ({ file: await s3Config(dir) })],
  ['azure', async () => ({ file: await azureConfig(dir) })],
  ['gcs', () => gcsConfig(dir)],
];

test.each(backends)('every file command works on %s through an unchanged registry config.yml', async (_name, configure) => {
  const { file, env } = await configure();
  const cli = (args: string[], input?: Buffer | string) => run(['--config', file, ...args], { cwd: dir, env, input });
  const data = patternBytes(7 * 1024 * 1024 + 3, 2);
  writeFileSync(join(dir, 'upload.bin'), data);

  expect(json(await cli(['put', join(dir, 'upload.bin'), '/blobs/one.bin', '--json']))).toMatchObject({ bytes: data.length });
  expect((await cli(['put', '-', '/blobs/sub/two.txt'], 'second')).code).toBe(0);
  expect(json(await cli(['ls', '/blobs', '--json'])).entries).toEqual(['/blobs/one.bin', '/blobs/sub']);
  expect(json(await cli(['stat', '/blobs/one.bin', '--json']))).toMatchObject({ size: data.length, isDir: false });
  const got = await cli(['get', '/blobs/one.bin', '-']);
  expect(Buffer.from(got.stdout, 'latin1').equals(data)).toBe(true);
  expect((await cli(['cat', '/blobs/sub/two.txt'])).stdout).toBe('second');
  expect(json(await cli(['tree', '/blobs', '--json'])).map((e: { path: string }) => e.path)).toEqual(['/blobs/one.bin', '/blobs/sub', '/blobs/sub/two.txt']);
  expect(json(await cli(['du', '--json']))).toEqual({ path: '/', files: 2, bytes: data.length + 6 });

  const signed = json(await cli(['url', '/blobs/sub/two.txt', '--json']));
  expect(signed).toMatchObject({ path: '/blobs/sub/two.txt', method: 'GET' });
  const fetched = await fetch(signed.url, 'GET');
  expect(fetched.status).toBe(200);
  expect(fetched.body.toString()).toBe('second');
  const head = json(await cli(['url', '/blobs/sub/two.txt', '--method', 'HEAD', '--json']));
  expect((await fetch(head.url, 'HEAD')).length).toBe('6');

  // Beyond the Go model: metadata on put, a server-side copy that keeps it, a signed upload URL.
  expect((await cli(['put', '-', '/site/page.html', '--content-type', 'text/html', '--meta', 'owner=ci'], '<p>hi</p>')).code).toBe(0);
  expect(json(await cli(['stat', '/site/page.html', '--json']))).toMatchObject({ size: 9, contentType: 'text/html', metadata: { owner: 'ci' }, etag: expect.any(String) });
  expect((await cli(['cp', '/site/page.html', '/site/copy.html'])).code).toBe(0);
  expect(json(await cli(['stat', '/site/copy.html', '--json']))).toMatchObject({ size: 9, contentType: 'text/html', metadata: { owner: 'ci' } });
  const upload = json(await cli(['sign', '/site/upload.txt', '--method', 'PUT', '--content-type', 'text/plain', '--expires', '300', '--json']));
  expect(upload).toMatchObject({ method: 'PUT', headers: expect.objectContaining({}) });
  expect((await fetch(upload.url, 'PUT', upload.headers, 'uploaded')).status).toBeLessThan(300);
  expect((await cli(['cat', '/site/upload.txt'])).stdout).toBe('uploaded');
  expect(json(await cli(['caps', '--json'])).capabilities).toMatchObject({ copy: true, signedURL: expect.arrayContaining(['PUT']) });
  expect((await cli(['rm', '/site'])).code).toBe(0);

  expect((await cli(['mv', '/blobs/sub/two.txt', '/moved/two.txt'])).code).toBe(0);
  expect((await cli(['rm', '/blobs'])).code).toBe(0);
  expect(json(await cli(['ls', '--json'])).entries).toEqual(['/moved']);
  const missing = await cli(['stat', '/blobs/one.bin', '--json']);
  expect(missing.code).toBe(1);
  expect(json(missing).error.code).toBe('PATH_NOT_FOUND');
  await cli(['rm', '/moved']);
});

test('conformance passes against a live S3 bucket that holds other data, and leaves that data alone', async () => {
  const file = await s3Config(dir, '/shared');
  expect((await run(['--config', file, 'put', '-', '/keep/me'], { input: 'precious' })).code).toBe(0);
  const result = await run(['--config', file, 'conformance', '--json']);
  const parsed = json(result);
  expect(parsed).toMatchObject({ driver: 's3', failed: 0 });
  expect(parsed.passed + parsed.skipped).toBe(parsed.results.length);
  // Skipped only what short mode leaves out and what the driver does (not) claim (a refusal case is for
  // drivers without the claim) and the construction case (the CLI creates drivers through their factories
  // and has no constructor to give), not what the CLI could have given the suite.
  expect(parsed.results.filter((r: { status: string; reason?: string }) => r.status === 'skipped' && !/only in full mode|does not claim|the driver claims|passes no `construct`/.test(r.reason ?? ''))).toEqual([]);
  expect(result.code).toBe(0);
  expect(json(await run(['--config', file, 'ls', '--json'])).entries).toEqual(['/keep']);
  expect((await run(['--config', file, 'cat', '/keep/me'])).stdout).toBe('precious');
});
