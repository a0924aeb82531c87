import { InvalidParameterError, create } from '@storagedriver/core';

import { SwiftDriver, parseSwiftParameters } from '../src/index.js';
import { infoCandidates, parseInfo } from '../src/info.js';
import { tempURL } from '../src/tempurl.js';

const base = { username: 'u', password: 'p', authurl: 'https://keystone.example:5000/v3', container: 'registry' };

describe('parameters', () => {
  test("upstream's names, strictly parsed, with upstream's defaults", () => {
    const o = parseSwiftParameters({ ...base, chunksize: '5MiB', authversion: '3', insecureskipverify: 'true', tempurlcontainerkey: 'false', tempurlmethods: 'get, head' });
    expect(o).toMatchObject({ chunkSize: 5 * 1024 * 1024, authVersion: 3, insecureSkipVerify: true, tempURLContainerKey: false, tempURLMethods: ['GET', 'HEAD'], endpointType: 'public' });
    expect(parseSwiftParameters(base)).toMatchObject({ chunkSize: 20 * 1024 * 1024, prefix: '', tempURLContainerKey: undefined, authVersion: undefined });
    expect(parseSwiftParameters({ ...base, authversion: 0 }).authVersion).toBeUndefined();
    expect(parseSwiftParameters({ ...base, answertimeout: '45s' }).answerTimeoutMs).toBe(45_000);
    expect(() => parseSwiftParameters({ ...base, answertimeout: '-1s' })).toThrow(/answertimeout/);
  });

  test('rootdirectory is an alias of prefix; both must then agree', () => {
    expect(parseSwiftParameters({ ...base, rootdirectory: '/registry' }).prefix).toBe('/registry');
    expect(parseSwiftParameters({ ...base, prefix: 'a', rootdirectory: 'a' }).prefix).toBe('a');
    expect(() => parseSwiftParameters({ ...base, prefix: 'a', rootdirectory: 'b' })).toThrow(InvalidParameterError);
  });

  test.each([
    ['username', { username: '' }],
    ['authurl', { authurl: 'ftp://x' }],
    ['authurl', { authurl: undefined }],
    ['container', { container: 'a/b' }],
    ['authversion', { authversion: 4 }],
    ['authversion', { authversion: '3x' }],
    ['endpointtype', { endpointtype: 'private' }],
    ['chunksize', { chunksize: '512KiB' }],
    ['chunksize', { chunksize: '12abc' }],
    ['insecureskipverify', { insecureskipverify: 'yes' }],
    ['tempurlmethods', { tempurlmethods: ['GET', 'PATCH'] }],
    ['tempurlcontainerkey', { tempurlcontainerkey: 'maybe' }],
    ['bucket', { bucket: 'x' }],
  ])('%s: a bad value is InvalidParameterError naming it', (name, extra) => {
    let error: unknown;
    try {
      parseSwiftParameters({ ...base, ...extra });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect((error as Error).message).toContain(name);
  });

  test('registered as swift', async () => {
    expect(await create('swift', base)).toBeInstanceOf(SwiftDriver);
  });
});

describe('/info discovery', () => {
  test('candidates walk up the storage path: Ceph serves it under its API prefix', () => {
    expect(infoCandidates('http://h:1/swift/v1')).toEqual(['http://h:1/info', 'http://h:1/swift/info']);
    expect(infoCandidates('https://h/v1/AUTH_test')).toEqual(['https://h/info', 'https://h/v1/info']);
    expect(infoCandidates('https://h/object-store/v1/AUTH_x')).toEqual(['https://h/object-store/info', 'https://h/object-store/v1/info', 'https://h/info']);
  });

  test("Ceph's bulk_delete without a maximum still means bulk delete", () => {
    expect(parseInfo({ bulk_delete: {}, slo: { max_manifest_segments: 1000 } })).toEqual({ bulkDeleteMax: 1000, sloMaxSegments: 1000, tempURLMethods: undefined });
    expect(parseInfo({ swift: {} }).bulkDeleteMax).toBeUndefined();
  });

  test('the listing limit is the one /info states, or unknown', () => {
    expect(parseInfo({ swift: { container_listing_limit: 10_000 } }).listingLimit).toBe(10_000);
    expect(parseInfo({ swift: { container_listing_limit: '10000' } }).listingLimit).toBeUndefined();
    expect(parseInfo({}).listingLimit).toBeUndefined();
  });
});

describe('temp URLs', () => {
  test("HMAC-SHA1 over method, expiry and the storage path (ncw/swift's ObjectTempUrl)", () => {
    // python: hmac.new(b'key', b'GET\n1700000000\n/v1/AUTH_test/c/a/b', hashlib.sha1).hexdigest()
    const url = tempURL({ storageUrl: 'https://h/v1/AUTH_test', container: 'c', object: 'a/b', method: 'GET', expires: 1700000000, key: 'key' });
    expect(url).toBe('https://h/v1/AUTH_test/c/a/b?temp_url_sig=403b032a107edaec8686598d84f231688b285d94&temp_url_expires=1700000000');
  });
});
