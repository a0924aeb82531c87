/** Parameters, endpoints and OSS's documented differences from S3, without a server (or with a fake one answering as OSS documents). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';

import { InvalidOffsetError, InvalidParameterError, PathNotFoundError, StorageDriverError, create, readAll } from '@storagedriver/core';

import { OssDriver, ossEndpoint, parseOssParameters, s3Options } from '../src/index.js';

const MiB = 1024 * 1024;
const required = { accesskeyid: 'id', accesskeysecret: 'secret', region: 'oss-cn-hangzhou', bucket: 'bkt' };

test('registers as oss and parses upstream parameters strictly (strings as environment overrides give them)', async () => {
  const driver = await create('oss', { ...required, chunksize: '5MiB', secure: 'false', internal: 'true', rootdirectory: '/r' });
  expect(driver.name).toBe('oss');
  expect(parseOssParameters(required).chunkSize).toBe(10 * MiB);
  expect(parseOssParameters({ ...required, chunksize: 5 * MiB }).chunkSize).toBe(5 * MiB);
  const options = { ...parseOssParameters(required), answerTimeoutMs: 4000 };
  expect(s3Options(options).answerTimeoutMs).toBe(4000);
  expect(() => new OssDriver({ ...options, answerTimeoutMs: -1 })).toThrow(InvalidParameterError);
  const rejected: [Record<string, unknown>, string][] = [
    [{ ...required, chunksize: 5 * MiB - 1 }, 'chunksize'],
    [{ ...required, chunksize: '12abc' }, 'chunksize'],
    [{ ...required, region: 'oss cn' }, 'region'],
    [{ ...required, region: undefined }, 'region'],
    [{ ...required, bucket: '' }, 'bucket'],
    [{ ...required, bucket: 'b' }, 'bucket'],
    [{ ...required, bucket: 'My_Bucket' }, 'bucket'],
    [{ ...required, bucket: 'a.b.c' }, 'bucket'],
    [{ ...required, accesskeyid: undefined }, 'accesskeyid'],
    [{ ...required, secure: 'yes' }, 'secure'],
    [{ ...required, endpoint: 'http://h:99999' }, 'endpoint'],
    [{ ...required, regionendpoint: 'http://h' }, 'regionendpoint'],
    // An option, not one of upstream's parameters.
    [{ ...required, answertimeout: '3s' }, 'answertimeout'],
  ];
  for (const [params, name] of rejected) {
    const error = await create('oss', params).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect(error).toMatchObject({ parameter: name });
  }
});

test('region, internal and secure give the documented S3-compatible endpoints and signing region', async () => {
  expect(ossEndpoint('oss-cn-hangzhou')).toBe('https://s3.oss-cn-hangzhou.aliyuncs.com');
  expect(ossEndpoint('oss-cn-hangzhou', { internal: true })).toBe('https://s3.oss-cn-hangzhou-internal.aliyuncs.com');
  expect(ossEndpoint('cn-beijing', { secure: false })).toBe('http://s3.oss-cn-beijing.aliyuncs.com');
  const mapped = s3Options(parseOssParameters({ ...required, internal: true }));
  expect(mapped).toMatchObject({ region: 'cn-hangzhou', regionEndpoint: 'https://s3.oss-cn-hangzhou-internal.aliyuncs.com', forcePathStyle: false, requestChecksums: 'WHEN_REQUIRED', uploadRecords: true });
  // A given endpoint wins over region/internal; without a scheme, `secure` chooses it.
  expect(s3Options(parseOssParameters({ ...required, endpoint: 'oss.example:8080', secure: false, internal: true })).regionEndpoint).toBe('http://oss.example:8080');
  // What the driver really addresses: a presigned URL (made offline) is virtual-hosted on that endpoint, signed for the region.
  const cases: [Record<string, unknown>, string][] = [
    [{}, 'https://bkt.s3.oss-cn-hangzhou.aliyuncs.com/'],
    [{ internal: true }, 'https://bkt.s3.oss-cn-hangzhou-internal.aliyuncs.com/'],
    [{ secure: false }, 'http://bkt.s3.oss-cn-hangzhou.aliyuncs.com/'],
    [{ region: 'oss-ap-southeast-1', rootdirectory: 'root' }, 'https://bkt.s3.oss-ap-southeast-1.aliyuncs.com/root/'],
  ];
  for (const [extra, prefix] of cases) {
    const driver = await create('oss', { ...required, ...extra });
    const { url } = await driver.signedURL('/a/file', { method: 'GET', expiresIn: 60 });
    expect(url.startsWith(`${prefix}a/file?`)).toBe(true);
    const region = String(extra.region ?? 'oss-cn-hangzhou').replace(/^oss-/, '');
    expect(new URL(url).searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^id/\\d{8}/${region}/s3/aws4_request$`));
  }
});

test('presigned URLs last at most 7 days, as OSS documents', async () => {
  const driver = await create('oss', required);
  expect(driver.capabilities.signedURLMaxExpiresIn).toBe(7 * 24 * 3600);
  const { url, expiresAt } = await driver.signedURL('/f', { method: 'GET', expiresIn: 7 * 24 * 3600 });
  expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('604800');
  expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(604_800_000);
  await expect(driver.signedURL('/f', { method: 'GET', expiresIn: 7 * 24 * 3600 + 1 })).rejects.toBeInstanceOf(InvalidParameterError);
});

describe('against a fake server answering as OSS documents', () => {
  const CONTENT = Buffer.from('0123456789abcdef');
  let server: Server;
  let driver: OssDriver;
  const ranges: (string | undefined)[] = [];
  /** OSS's error document: the S3 fields plus EC (its error code) and RecommendDoc. */
  const errorDocument = (code: string, message: string, ec: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>5C3D9175B6FC201293AD****</RequestId><HostId>bkt.s3.oss-cn-hangzhou.aliyuncs.com</HostId><EC>${ec}</EC><RecommendDoc>https://api.aliyun.com/troubleshoot?q=${ec}</RecommendDoc></Error>`;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const headers = { 'x-oss-request-id': '5C3D9175B6FC201293AD****', 'content-type': 'application/xml' };
      if (request.headers.host?.startsWith('bkt.') !== true) {
        response.writeHead(403, headers).end(errorDocument('SecondLevelDomainForbidden', 'Please use virtual hosted style to access.', '0003-00000001'));
        return;
      }
      if (request.url?.startsWith('/?') === true) {
        response.writeHead(200, headers).end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bkt</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>');
        return;
      }
      if (request.url === '/missing') {
        response.writeHead(404, headers).end(request.method === 'HEAD' ? undefined : errorDocument('NoSuchKey', 'The specified key does not exist.', '0026-00000001'));
        return;
      }
      if (request.url === '/denied') {
        response.writeHead(403, headers).end(errorDocument('AccessDenied', 'You have no right to access this object because of bucket acl.', '0003-00000001'));
        return;
      }
      const object = { 'content-length': String(CONTENT.length), etag: '"0123456789abcdef0123456789abcdef"', 'last-modified': new Date(0).toUTCString() };
      ranges.push(request.headers.range);
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      // OSS: a range that starts past the end is ignored: 200 and the whole object.
      if (range === null || Number(range[1]) >= CONTENT.length) {
        response.writeHead(200, object).end(request.method === 'HEAD' ? undefined : CONTENT);
        return;
      }
      const first = Number(range[1]);
      const last = Math.min(range[2] === '' ? CONTENT.length - 1 : Number(range[2]), CONTENT.length - 1);
      response
        .writeHead(206, { ...object, 'content-length': String(last - first + 1), 'content-range': `bytes ${first}-${last}/${CONTENT.length}` })
        .end(CONTENT.subarray(first, last + 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
      options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)) as unknown as LookupFunction;
    const port = (server.address() as AddressInfo).port;
    driver = new OssDriver({ bucket: 'bkt', region: 'oss-cn-hangzhou', endpoint: `http://s3.oss-cn-hangzhou.aliyuncs.com:${port}`, accessKeyId: 'id', accessKeySecret: 'secret', lookup });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('a range inside the object is read as ranged', async () => {
    expect((await readAll(await driver.reader('/file', 10))).toString()).toBe('abcdef');
    expect((await driver.getContent('/file', { offset: 2, length: 3 })).toString()).toBe('234');
  });

  test('a range past the end, answered 200 with the whole object, is no data: at the end an empty read, beyond it InvalidOffset', async () => {
    ranges.length = 0;
    expect((await readAll(await driver.reader('/file', CONTENT.length))).length).toBe(0);
    await expect(driver.reader('/file', CONTENT.length + 1)).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(driver.getContent('/file', { offset: CONTENT.length, length: 1 })).rejects.toBeInstanceOf(InvalidOffsetError);
    // The driver did send the ranges (a driver that stat'ed first and never asked would prove nothing).
    expect(ranges).toContain(`bytes=${CONTENT.length}-`);
  });

  test('OSS error documents map to the typed errors: NoSuchKey is PathNotFound, AccessDenied a failure naming its code', async () => {
    await expect(driver.getContent('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.stat('/missing')).rejects.toBeInstanceOf(PathNotFoundError);
    const denied = await driver.getContent('/denied').then(() => undefined, (e: unknown) => e);
    expect(denied).toBeInstanceOf(StorageDriverError);
    expect(denied).not.toBeInstanceOf(PathNotFoundError);
    expect(String((denied as Error).message)).toMatch(/no right to access|AccessDenied/);
    expect((denied as StorageDriverError).retryable).toBe(false);
  });
});
