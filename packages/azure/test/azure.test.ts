import { Agent, get, request } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';

import type { HttpClient } from '@azure/core-rest-pipeline';
import { createDefaultHttpClient } from '@azure/core-rest-pipeline';
import { BlobServiceClient, StorageSharedKeyCredential, newPipeline } from '@azure/storage-blob';
import { InvalidParameterError, create, isAbortError, registeredDrivers } from '@storagedriver/core';
import { patternBytes, patternStream, verifyPatternStream } from '@storagedriver/testsuite';

import { parseAzureParameters } from '../src/index.js';

import { connection, createContainer, newDriver, rawContainer, trustingAgent } from './support/server.js';

const MiB = 1024 * 1024;
let container: string;

beforeAll(async () => {
  container = await createContainer('azure');
});

/** A container client whose every HTTP request is counted (for "one request" assertions). */
function countingContainer() {
  const { endpoint, accountName, accountKey } = connection();
  const requests: string[] = [];
  const inner = createDefaultHttpClient();
  const agent = new Agent({ ca: connection().ca, keepAlive: true });
  const counting: HttpClient = {
    sendRequest: (req) => {
      requests.push(`${req.method} ${new URL(req.url).search}`);
      req.agent = agent;
      return inner.sendRequest(req);
    },
  };
  const pipe = newPipeline(new StorageSharedKeyCredential(accountName, accountKey));
  (pipe as unknown as { _coreHttpClient: HttpClient })._coreHttpClient = counting;
  return { client: new BlobServiceClient(endpoint, pipe).getContainerClient(container), requests };
}

function fetchStatus(url: string, method: 'GET' | 'HEAD', agent = trustingAgent()): Promise<{ status: number; body: Buffer; length?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), length: res.headers['content-length'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('registers as azure; parameters are parsed strictly and a connection string works', async () => {
  expect(registeredDrivers()).toContain('azure');
  expect(() => parseAzureParameters({})).toThrow(InvalidParameterError);
  expect(() => parseAzureParameters({ accountname: 'a' })).toThrow(/container/);
  expect(() => parseAzureParameters({ accountname: 'a', container: 'c', credentials: { type: 'default' } })).toThrow(/shared_key, client_secret, default_credentials/);
  expect(() => parseAzureParameters({ accountname: 'a', container: 'c', credentials: { type: 'client_secret', tenantid: 't' } })).toThrow(/clientid/);
  expect(() => parseAzureParameters({ accountname: 'a', container: 'c', retry_delay: '5 parsecs' })).toThrow(/retry_delay/);
  expect(() => parseAzureParameters({ accountname: 'a', container: 'c', bogus: 1 })).toThrow(/bogus/);
  expect(() => parseAzureParameters({ accountname: 'a', container: 'c', answertimeout: 3000 })).toThrow(/answertimeout/);
  expect(parseAzureParameters({ accountname: 'a', container: 'c', answertimeout: '1m30s' }).answerTimeoutMs).toBe(90_000);
  const defaults = parseAzureParameters({ accountname: 'acct', container: 'c', accountkey: 'k' });
  expect(defaults).toMatchObject({ serviceUrl: 'https://acct.blob.core.windows.net', maxRetries: 5, retryDelayMs: 100, credentials: { type: 'shared_key' } });
  expect(parseAzureParameters({ accountname: 'acct', container: 'c', realm: 'core.chinacloudapi.cn', max_retries: '0' })).toMatchObject({
    serviceUrl: 'https://acct.blob.core.chinacloudapi.cn', maxRetries: 5, credentials: { type: 'default_credentials' },
  });

  const { endpoint, accountName, accountKey } = connection();
  const connectionstring = `DefaultEndpointsProtocol=https;AccountName=${accountName};AccountKey=${accountKey};BlobEndpoint=${endpoint};`;
  const driver = await create('azure', { connectionstring, container, skipverify: 'true', rootdirectory: 'via-connection-string' });
  await driver.putContent('/hello', 'world');
  expect((await driver.getContent('/hello')).toString()).toBe('world');
  expect((await rawContainer(container).getBlockBlobClient('via-connection-string/hello').downloadToBuffer()).toString()).toBe('world');
  await driver.delete('/hello');
});

test('a malformed serviceurl or connection string fails at creation, naming the parameter, the value and what is accepted', async () => {
  const base = { accountname: 'acct', accountkey: 'k', container: 'c' };
  const invalid = async (parameters: Record<string, unknown>): Promise<InvalidParameterError> => {
    const error = await create('azure', parameters).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterError);
    return error as InvalidParameterError;
  };
  for (const serviceurl of ['http://bad host', 'ht!tp://x', 'https://127.0.0.1:99999/devstoreaccount1', 'ftp://host', 'https://host/acct?x=1', 'https://user:pw@host']) {
    const error = await invalid({ ...base, serviceurl });
    expect(error).toMatchObject({ parameter: 'serviceurl', value: serviceurl });
    expect(error.message).toContain(JSON.stringify(serviceurl));
    expect(error.message).toMatch(/http\(s\) URL/);
  }
  // A path is accepted: Azurite's URL names the account in it.
  expect(parseAzureParameters({ ...base, serviceurl: 'https://127.0.0.1:10000/devstoreaccount1/' }).serviceUrl).toBe('https://127.0.0.1:10000/devstoreaccount1');

  const secret = 'c2VjcmV0LWtleQ==';
  const account = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${secret}`;
  for (const endpoint of ['http://bad host', 'ht!tp://x', 'https://127.0.0.1:99999/acct']) {
    const error = await invalid({ container: 'c', connectionstring: `${account};BlobEndpoint=${endpoint};` });
    // The string is a secret: hidden whole; the endpoint is named in what is accepted.
    expect(error).toMatchObject({ parameter: 'connectionstring', value: '***' });
    expect(error.message).toContain(`blob endpoint (${endpoint})`);
    expect(error.message).toMatch(/http\(s\) URL/);
    expect(error.message).not.toContain(secret);
  }
  for (const garbage of ['garbage', 'AccountName=acct', `${account}`, `DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=${secret};EndpointSuffix=core.windows.net`, 'BlobEndpoint=https://acct.blob.core.windows.net', `DefaultEndpointsProtocol=https;AccountName=;AccountKey=${secret};EndpointSuffix=x`, 'SharedAccessSignature=sv=1&sig=2']) {
    const error = await invalid({ container: 'c', connectionstring: garbage });
    expect(error.parameter).toBe('connectionstring');
    expect(error.message).toMatch(/connection string/);
    expect(inspect(error, { depth: 8 })).not.toContain(secret);
  }
  // Well-formed ones still create a driver: account key with an endpoint suffix, and SAS.
  await create('azure', { container: 'c', connectionstring: `${account};EndpointSuffix=core.windows.net` });
  await create('azure', { container: 'c', connectionstring: 'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2020-08-04&sig=abc' });
});

test('putContent of a small object is a single Put Blob request producing a block blob', async () => {
  const { client, requests } = countingContainer();
  const driver = newDriver(container, { client });
  requests.length = 0;
  await driver.putContent('/single/put', patternBytes(100_000, 1));
  expect(requests).toEqual(['PUT ']);
  const properties = await rawContainer(container).getBlobClient('single/put').getProperties();
  expect(properties.blobType).toBe('BlockBlob');
  expect(properties.contentLength).toBe(100_000);
  await driver.delete('/single');
});

test('16 concurrent putContent calls on one path leave exactly one writer’s content', async () => {
  const driver = newDriver(container);
  const links = Array.from({ length: 16 }, (_, i) => Buffer.from(`sha256:${i.toString(16).padStart(64, '0')}`));
  await Promise.all(links.map((link) => driver.putContent('/race/link', link)));
  const stored = await driver.getContent('/race/link');
  expect(stored.length).toBe(71);
  expect(links.some((link) => link.equals(stored))).toBe(true);
  expect((await rawContainer(container).getBlobClient('race/link').getProperties()).blobType).toBe('BlockBlob');
  await driver.delete('/race');
});

test('an upload resumes from new driver instances across closes, and blocks are uploaded in order', async () => {
  const options = { blockSize: MiB, uploadConcurrency: 3 };
  const total = 7 * MiB + 12_345;
  const cuts = [0, 2 * MiB + 17, 3 * MiB + 100_000, 5 * MiB, total];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const driver = newDriver(container, options);
    const writer = await driver.writer('/resume/blob', { append: i > 0 });
    expect(writer.size).toBe(cuts[i]);
    await pipeline(patternStream(cuts[i + 1]! - cuts[i]!, 5, 300_001, cuts[i]), writer.writable());
    if (i + 2 < cuts.length) {
      await writer.close();
      await expect(driver.stat('/resume/blob')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    } else {
      await writer.commit();
      await writer.close();
    }
  }
  await verifyPatternStream(await newDriver(container).reader('/resume/blob'), total, 5);
  const list = await rawContainer(container).getBlockBlobClient('resume/blob').getBlockList('all');
  expect(list.uncommittedBlocks).toEqual([]);
  await newDriver(container).delete('/resume');
});

test('append continues committed content, whether it was written in blocks or by one Put Blob', async () => {
  const driver = newDriver(container, { blockSize: MiB });
  // Written in blocks: the committed blocks stay and the append adds blocks after them.
  const first = await driver.writer('/append/blocks');
  await first.write(patternBytes(2 * MiB + 5, 8));
  await first.commit();
  const more = await driver.writer('/append/blocks', { append: true });
  expect(more.size).toBe(2 * MiB + 5);
  await more.write(patternBytes(MiB + 3, 8, 2 * MiB + 5));
  await more.commit();
  await verifyPatternStream(await driver.reader('/append/blocks'), 3 * MiB + 8, 8);
  // Written by one Put Blob: the content is carried into the new upload.
  await driver.putContent('/append/put', patternBytes(1_500_000, 9));
  const after = await driver.writer('/append/put', { append: true });
  expect(after.size).toBe(1_500_000);
  await after.write(patternBytes(700_000, 9, 1_500_000));
  await after.commit();
  await verifyPatternStream(await driver.reader('/append/put'), 2_200_000, 9);
  await driver.delete('/append');
});

test('cancel leaves no uncommitted blocks on a new blob; on committed content it leaves the blob and its ETag, and append never continues the cancelled upload', async () => {
  const driver = newDriver(container, { blockSize: MiB });
  const writer = await driver.writer('/cancel/new');
  await writer.write(patternBytes(3 * MiB + 1, 10));
  await writer.close();
  const fresh = await driver.writer('/cancel/new', { append: true });
  await fresh.cancel();
  await expect(rawContainer(container).getBlockBlobClient('cancel/new').getBlockList('all')).rejects.toMatchObject({ statusCode: 404 });

  const committed = await driver.writer('/cancel/kept');
  await committed.write(patternBytes(2 * MiB, 11));
  await committed.commit();
  const discarded = await driver.writer('/cancel/kept');
  await discarded.write(patternBytes(2 * MiB + 9, 12));
  await discarded.close();
  expect((await rawContainer(container).getBlockBlobClient('cancel/kept').getBlockList('uncommitted')).uncommittedBlocks?.length).toBeGreaterThan(0);
  const etag = (await driver.stat('/cancel/kept')).etag;
  await (await driver.writer('/cancel/kept', { append: true })).cancel();
  expect((await driver.stat('/cancel/kept')).etag).toBe(etag);
  await verifyPatternStream(await driver.reader('/cancel/kept'), 2 * MiB, 11);
  // The cancelled upload's blocks wait for the next commit, which discards them; append starts after the committed content.
  const after = await driver.writer('/cancel/kept', { append: true });
  expect(after.size).toBe(2 * MiB);
  await after.write(patternBytes(5, 11, 2 * MiB));
  await after.commit();
  await verifyPatternStream(await driver.reader('/cancel/kept'), 2 * MiB + 5, 11);
  expect((await rawContainer(container).getBlockBlobClient('cancel/kept').getBlockList('all')).uncommittedBlocks).toEqual([]);
  await driver.delete('/cancel');
});

test('pending uploads: a path too long to name its record is listed and aborted with its blocks; blocks aborted on committed content are never continued and go with the next commit', async () => {
  const driver = newDriver(container, { blockSize: MiB });
  const hidden = async (): Promise<string[]> => {
    const found: string[] = [];
    for await (const blob of rawContainer(container).listBlobsFlat({ prefix: '~uploads/' })) found.push(blob.name);
    return found;
  };
  const pending = async (path: string) => {
    const found = [];
    for await (const upload of driver.uploads(path)) found.push(upload);
    return found;
  };
  // 999 characters: `~uploads/<key>~/<id>` would pass Azure's 1 024.
  const long = `/long/${'x'.repeat(250)}/${'y'.repeat(250)}/${'z'.repeat(250)}/${'w'.repeat(240)}`;
  const writer = await driver.writer(long);
  await writer.write(patternBytes(1000, 30));
  await writer.close();
  const [listed, ...more] = await pending('/long');
  expect(more).toEqual([]);
  expect(listed).toMatchObject({ path: long, size: 1000 });
  expect(await hidden()).toEqual([expect.stringMatching(/^~uploads\/~long\/[0-9a-f]{32}\/[0-9a-z]{16}$/)]);
  await driver.abortUpload(long, listed!.id);
  expect(await pending('/')).toEqual([]);
  expect(await hidden()).toEqual([]);
  await expect(rawContainer(container).getBlockBlobClient(long.slice(1)).getBlockList('all')).rejects.toMatchObject({ statusCode: 404 });

  await driver.putContent('/kept', 'committed');
  const over = await driver.writer('/kept');
  await over.write(patternBytes(2 * MiB + 3, 31));
  await over.close();
  const [upload] = await pending('/kept');
  expect(upload).toMatchObject({ path: '/kept', size: 2 * MiB + 3 });
  await driver.abortUpload('/kept', upload!.id);
  expect(await pending('/')).toEqual([]);
  // Azure cannot delete them without a commit: they stay, invisible, and are never continued.
  const blob = rawContainer(container).getBlockBlobClient('kept');
  expect((await blob.getBlockList('uncommitted')).uncommittedBlocks).toHaveLength(3);
  const after = await driver.writer('/kept', { append: true });
  expect(after.size).toBe(9);
  await after.write(Buffer.from('!'));
  await after.commit();
  expect((await driver.getContent('/kept')).toString()).toBe('committed!');
  expect((await blob.getBlockList('all')).uncommittedBlocks).toEqual([]);
  expect(await hidden()).toEqual([]);
  await driver.delete('/kept');
});

test('a SAS URL serves GET and HEAD to a plain HTTPS client, refuses other use and expires', async () => {
  const driver = newDriver(container);
  const data = patternBytes(50_000, 13);
  await driver.putContent('/sas/object', data);
  const url = (await driver.redirectURL('/sas/object', { method: 'GET' }))!;
  expect(url.startsWith('https://')).toBe(true);
  const got = await fetchStatus(url, 'GET');
  expect(got.status).toBe(200);
  expect(got.body.equals(data)).toBe(true);
  const head = await fetchStatus((await driver.redirectURL('/sas/object', { method: 'HEAD' }))!, 'HEAD');
  expect(head.status).toBe(200);
  expect(head.length).toBe('50000');
  expect(await driver.redirectURL('/sas/object', { method: 'PUT' })).toBeUndefined();
  // Read-only: the same signature cannot write.
  expect((await fetchStatus(url.replace('sp=r', 'sp=rw'), 'GET')).status).toBe(403);
  // Short-lived: a URL signed 21 minutes ago has expired.
  const realNow = Date.now();
  const clock = jest.spyOn(Date, 'now').mockReturnValue(realNow - 21 * 60 * 1000);
  const old = (await driver.redirectURL('/sas/object', { method: 'GET' }))!;
  clock.mockRestore();
  expect((await fetchStatus(old, 'GET')).status).toBe(403);
  // The certificate is really checked: a client that does not trust it fails.
  await expect(new Promise((resolve, reject) => get(url, resolve).on('error', reject))).rejects.toThrow(/self-signed|certificate/);
  await driver.delete('/sas');
});

test('a non-empty rootdirectory keeps every blob under it', async () => {
  const driver = newDriver(container, { rootDirectory: '/tenant/a/' });
  await driver.putContent('/x/one', 'one');
  const writer = await driver.writer('/x/two');
  await writer.write('two');
  await writer.commit();
  await driver.move('/x/two', '/y/three');
  const names: string[] = [];
  for await (const blob of rawContainer(container).listBlobsFlat()) names.push(blob.name);
  const ours = names.filter((name) => !name.startsWith('via-connection-string/'));
  expect(ours.sort()).toEqual(['tenant/a/x/one', 'tenant/a/y/three']);
  expect(await driver.list('/')).toEqual(['/x', '/y']);
  await driver.delete('/x');
  await driver.delete('/y');
});

test('delete removes a tree of more than one batch (256) and never a sibling sharing the prefix', async () => {
  const driver = newDriver(container);
  const client = rawContainer(container);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 600) {
      const i = next++;
      await client.getBlockBlobClient(`tree/big/d${i % 7}/f${i}`).upload('x', 1);
    }
  }));
  await driver.putContent('/tree/bigger', 'keep');
  await driver.delete('/tree/big');
  const left: string[] = [];
  for await (const blob of client.listBlobsFlat({ prefix: 'tree/' })) left.push(blob.name);
  expect(left).toEqual(['tree/bigger']);
  await driver.delete('/tree');
});

test('an aborted putContent rejects with the signal’s own reason', async () => {
  const driver = newDriver(container);
  const controller = new AbortController();
  const pending = driver.putContent('/abort/x', patternBytes(64 * MiB, 14), { signal: controller.signal });
  controller.abort();
  const error = await pending.then(() => undefined, (e: unknown) => e);
  expect(error).toBe(controller.signal.reason);
  expect(isAbortError(error, controller.signal)).toBe(true);
  await expect(driver.stat('/abort/x')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
});

test('skipverify with a plain http:// endpoint (Azurite without TLS) works: there is no certificate to skip', async () => {
  const { accountName, accountKey } = connection();
  const endpoint = process.env.AZURE_TEST_PLAIN_ENDPOINT!;
  expect(endpoint).toMatch(/^http:\/\//);
  await new BlobServiceClient(endpoint, newPipeline(new StorageSharedKeyCredential(accountName, accountKey))).getContainerClient('plain').createIfNotExists();
  const driver = await create('azure', { accountname: accountName, accountkey: accountKey, serviceurl: endpoint, container: 'plain', skipverify: 'true' });
  await driver.putContent('/hello', 'world');
  expect((await driver.getContent('/hello')).toString()).toBe('world');
});
