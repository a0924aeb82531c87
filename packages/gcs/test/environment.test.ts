/**
 * What Google's SDKs take from the environment: STORAGE_EMULATOR_HOST as the endpoint, and
 * Application Default Credentials, found or refused in bounded time. No request leaves loopback:
 * the metadata server is a local one that never answers, and the endpoint without an emulator is a
 * closed local port.
 */
import { createServer, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DriverError, InvalidParameterError, create, type StorageDriver } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { DEFAULT_CREDENTIALS_TIMEOUT_MS } from '../src/client.js';
import { GcsDriver } from '../src/index.js';

import { createBucket, endpoint, rawBucket, serviceAccountKey } from './support/server.js';

let bucket: string;

beforeAll(async () => {
  bucket = await createBucket('environment');
});

/** Runs `fn` with these variables set (undefined: unset), then puts the environment back. */
async function withEnvironment<T>(variables: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(variables);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => new Error('expected a failure'), (error: unknown) => error);
}

test('STORAGE_EMULATOR_HOST (host:port, or a URL with or without the API path) is the endpoint of a driver created without apiendpoint: no credentials, a custom endpoint’s claims, a round trip', async () => {
  const url = endpoint();
  for (const [i, value] of [new URL(url).host, url, `${url}/storage/v1`].entries()) {
    const data = patternBytes(3 * 256 * 1024 + i, 40 + i);
    await withEnvironment({ STORAGE_EMULATOR_HOST: value }, async () => {
      const driver: StorageDriver = await create('gcs', { bucket, chunksize: 256 * 1024 });
      // As with apiendpoint: conditional writes are not claimed on an emulator.
      expect(driver.capabilities).toMatchObject({ writeIfNoneMatch: false, writeIfMatch: false });
      await driver.putContent('/emulator/small', 'hello');
      // Several chunks composed at commit: the driver's own requests and the SDK's.
      const writer = await driver.writer('/emulator/big');
      await writer.write(data);
      await writer.commit();
      expect((await driver.getContent('/emulator/small')).toString()).toBe('hello');
      expect((await driver.getContent('/emulator/big')).equals(data)).toBe(true);
      expect(await driver.list('/emulator')).toEqual(['/emulator/big', '/emulator/small']);
      // Signed URLs name the emulator too.
      const signing = new GcsDriver({ bucket, credentials: serviceAccountKey() });
      expect(await signing.redirectURL('/emulator/small', { method: 'GET' })).toMatch(new RegExp(`^${url}/`));
    });
    // Behind the driver's back, with the variable unset: the objects are in this emulator's bucket.
    const [stored] = await rawBucket(bucket).file('emulator/big').download();
    expect(stored.equals(data)).toBe(true);
    await rawBucket(bucket).deleteFiles({ prefix: 'emulator/' });
  }
});

test('an apiendpoint given wins over STORAGE_EMULATOR_HOST; a malformed STORAGE_EMULATOR_HOST fails at creation naming it', async () => {
  // Nothing listens on port 1: a request there would fail at once.
  await withEnvironment({ STORAGE_EMULATOR_HOST: '127.0.0.1:1' }, async () => {
    const driver = await create('gcs', { bucket, apiendpoint: endpoint() });
    await driver.putContent('/explicit/x', 'explicit');
    expect((await driver.getContent('/explicit/x')).toString()).toBe('explicit');
    expect(await driver.list('/explicit')).toEqual(['/explicit/x']);
    await driver.delete('/explicit');
  });
  for (const value of ['ftp://127.0.0.1:1', 'http://', '127.0.0.1:99999', 'http://user:pw@127.0.0.1:1']) {
    await withEnvironment({ STORAGE_EMULATOR_HOST: value }, async () => {
      const error = await failure(Promise.resolve().then(() => create('gcs', { bucket })));
      expect(error).toBeInstanceOf(InvalidParameterError);
      expect((error as Error).message).toContain('STORAGE_EMULATOR_HOST');
      expect((error as Error).message).toContain(value);
    });
  }
});

test('without credentials, a request fails in bounded time with a DriverError naming the credentials it looked for: absent, or a metadata server that never answers', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  // A private HTTPS endpoint takes credentials; nothing listens on port 1, so nothing leaves this machine.
  const options = { bucket, apiEndpoint: 'https://127.0.0.1:1' };
  const base = { STORAGE_EMULATOR_HOST: undefined, GCE_METADATA_HOST: `127.0.0.1:${port}`, GCE_METADATA_IP: undefined, HOME: mkdtempSync(join(tmpdir(), 'gcs-home-')), CLOUDSDK_CONFIG: undefined };
  try {
    await withEnvironment({ ...base, GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json', METADATA_SERVER_DETECTION: 'none' }, async () => {
      const driver = new GcsDriver(options);
      // The SDK's requests (stat) and the driver's own (a read).
      for (const request of [() => driver.stat('/x'), () => driver.getContent('/x')]) {
        const started = Date.now();
        const error = await failure(request());
        expect(error).toBeInstanceOf(DriverError);
        expect((error as Error).message).toMatch(/no credentials: .*GOOGLE_APPLICATION_CREDENTIALS.*\/nonexistent/);
        expect(Date.now() - started).toBeLessThan(DEFAULT_CREDENTIALS_TIMEOUT_MS);
      }
    });
    await withEnvironment({ ...base, GOOGLE_APPLICATION_CREDENTIALS: undefined, METADATA_SERVER_DETECTION: 'assume-present' }, async () => {
      const started = Date.now();
      const error = await failure(new GcsDriver(options).stat('/x'));
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(DriverError);
      expect((error as Error).message).toMatch(/no credentials after 10 s: .*metadata server/);
      expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_CREDENTIALS_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(DEFAULT_CREDENTIALS_TIMEOUT_MS + 2_000);
      expect(sockets.length).toBeGreaterThan(0);
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}, 30_000);

test('with a service-account key, a token request that is never answered fails the request in bounded time (each try of it within answertimeout; typed, transient), and an abort ends its wait at once', async () => {
  // The token request (to Google's token endpoint) goes through a local proxy that takes every connection and answers nothing.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const proxy = { HTTPS_PROXY: `http://127.0.0.1:${port}`, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined, STORAGE_EMULATOR_HOST: undefined };
  // A private HTTPS endpoint takes the token; nothing listens on port 1, so nothing leaves this machine.
  const options = { bucket, apiEndpoint: 'https://127.0.0.1:1', credentials: serviceAccountKey() };
  try {
    await withEnvironment(proxy, async () => {
      const driver = new GcsDriver({ ...options, answerTimeoutMs: 1000 });
      // The SDK's requests (stat) and the driver's own (a read).
      for (const request of [() => driver.stat('/x'), () => driver.getContent('/x')]) {
        const started = Date.now();
        const error = await failure(request());
        expect(error).toBeInstanceOf(DriverError);
        expect((error as DriverError).retryable).toBe(true);
        // Each of the driver's tries waits for the library's own tries of the token request (15 s here for a stat).
        expect(Date.now() - started).toBeLessThan(30_000);
      }
      expect(sockets.length).toBeGreaterThan(0);

      const patient = new GcsDriver({ ...options, answerTimeoutMs: 60_000 });
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      setTimeout(() => controller.abort(reason), 300);
      const started = Date.now();
      const error = await failure(patient.putContent('/x', 'content', { signal: controller.signal }));
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBe(reason);
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}, 90_000);
