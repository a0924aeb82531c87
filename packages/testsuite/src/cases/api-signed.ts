/**
 * Signed URLs (issue 13): a plain HTTP client — a browser — uses them with exactly the headers the
 * driver returns; a URL changed in its signature or its path is refused.
 */
import assert from 'node:assert/strict';

import type { SignedURL } from '@storagedriver/core';

import { patternBytes, randomName } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertAbsent, requireClaim } from './api-support.js';
import { assertSameBytes } from './expect.js';
import { type HttpResponse, describeResponse, httpRequest } from './http.js';

/** The expiry the cases ask for: 10 minutes, or the driver's limit below that. */
const expiresInFor = (max: number): number => Math.min(600, max);

function assertExpiry(signed: SignedURL, before: number, after: number, expiresIn: number): void {
  assert.ok(signed.expiresAt instanceof Date, 'expiresAt is a Date');
  const at = signed.expiresAt.getTime();
  // Signatures carry whole seconds: a few seconds either way.
  assert.ok(at >= before + expiresIn * 1000 - 5000 && at <= after + expiresIn * 1000 + 5000, `expiresAt ${signed.expiresAt.toISOString()} is not ${expiresIn} s after the call`);
}

function assertRefused(response: HttpResponse, what: string): void {
  assert.ok(response.status < 200 || response.status >= 300, `${what} was accepted: ${describeResponse(response)}`);
}

/** Changes one letter or digit of the signature in `url` (a query value named like one, else the longest). */
export function tamperSignature(url: string): string {
  const queryAt = url.indexOf('?');
  assert.ok(queryAt >= 0, `the signed URL has no query to carry a signature: ${url}`);
  const pairs = url.slice(queryAt + 1).split('&');
  let index = pairs.findIndex((pair) => /^[^=]*(signature|sig)=/i.test(pair));
  if (index < 0) index = pairs.reduce((longest, pair, i) => (pair.length > pairs[longest]!.length ? i : longest), 0);
  const pair = pairs[index]!;
  const valueAt = pair.indexOf('=') + 1;
  // The middle alphanumeric character of the value (not inside a %XX escape).
  const positions = [...pair.slice(valueAt)].map((c, i) => ({ c, i: valueAt + i })).filter(({ c, i }) => /[A-Za-z0-9]/.test(c) && pair[i - 1] !== '%' && pair[i - 2] !== '%');
  assert.ok(positions.length > 0, `no signature character to change in ${pair}`);
  const { c, i } = positions[Math.floor(positions.length / 2)]!;
  const changed = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : c === 'z' ? 'a' : c === 'Z' ? 'A' : String.fromCharCode(c.charCodeAt(0) + 1);
  pairs[index] = pair.slice(0, i) + changed + pair.slice(i + 1);
  return `${url.slice(0, queryAt + 1)}${pairs.join('&')}`;
}

/** `url` signed for the object named `name`, now naming `other` (same length) instead. */
function retarget(url: string, name: string, other: string): string {
  const queryAt = url.indexOf('?');
  const base = queryAt < 0 ? url : url.slice(0, queryAt);
  const at = base.lastIndexOf(name);
  assert.ok(at >= 0, `the signed URL does not name the object ${name} in its path: ${url}`);
  return `${base.slice(0, at)}${other}${base.slice(at + name.length)}${queryAt < 0 ? '' : url.slice(queryAt)}`;
}

export const apiSignedCases: SuiteCase[] = [
  {
    group: 'signedURL',
    name: 'signed GET and HEAD URLs serve the object to a plain HTTP client sending the returned headers; expiresAt is expiresIn after the call',
    async run({ driver, path, options }) {
      const claimed = driver.capabilities.signedURL.filter((method) => method !== 'PUT');
      requireClaim(claimed.length > 0, 'signedURL GET or HEAD');
      const p = path();
      const data = patternBytes(70_001, 120);
      await driver.putContent(p, data);
      const expiresIn = expiresInFor(driver.capabilities.signedURLMaxExpiresIn);
      for (const method of claimed) {
        const before = Date.now();
        const signed = await driver.signedURL(p, { method, expiresIn });
        assertExpiry(signed, before, Date.now(), expiresIn);
        assert.equal(signed.method, method, 'the method signed');
        assert.ok(typeof signed.headers === 'object' && Object.values(signed.headers).every((v) => typeof v === 'string'), 'headers are strings');
        const response = await httpRequest(signed.url, { method, headers: signed.headers }, options.insecureTLS);
        assert.equal(response.status, 200, `${method}: ${describeResponse(response)}`);
        if (method === 'GET') assertSameBytes(response.body, data, 'GET body');
        else assert.equal(response.headers['content-length'], String(data.length), 'HEAD content-length');
      }
      // The default expiry is the driver's, within its limit.
      const defaulted = await driver.signedURL(p, { method: claimed[0]! });
      const seconds = (defaulted.expiresAt.getTime() - Date.now()) / 1000;
      assert.ok(seconds > 0 && seconds <= driver.capabilities.signedURLMaxExpiresIn + 5, `the default expiry (${seconds.toFixed(0)} s) is within the driver's limit`);
    },
  },
  {
    group: 'signedURL',
    name: 'a browser-style PUT to a signed upload URL with the returned headers stores the bytes, with the content type it was signed for',
    async run({ driver, path, options }) {
      requireClaim(driver.capabilities.signedURL.includes('PUT'), 'signedURL PUT');
      const withType = driver.capabilities.metadata.includes('contentType');
      const p = path();
      const data = patternBytes(100_003, 121);
      const expiresIn = expiresInFor(driver.capabilities.signedURLMaxExpiresIn);
      const before = Date.now();
      const signed = await driver.signedURL(p, { method: 'PUT', expiresIn, ...(withType ? { contentType: 'image/png' } : {}) });
      assertExpiry(signed, before, Date.now(), expiresIn);
      assert.equal(signed.method, 'PUT');
      const response = await httpRequest(signed.url, { method: 'PUT', headers: signed.headers, body: data }, options.insecureTLS);
      assert.ok(response.status >= 200 && response.status < 300, `PUT: ${describeResponse(response)}`);
      assertSameBytes(await driver.getContent(p), data, 'the uploaded content');
      const info = await driver.stat(p);
      assert.equal(info.size, data.length, 'stat size');
      if (withType) assert.equal(info.contentType, 'image/png', 'the content type signed for');

      // A second upload through a new URL replaces the object.
      const again = await driver.signedURL(p, { method: 'PUT' });
      const replaced = patternBytes(10, 122);
      const second = await httpRequest(again.url, { method: 'PUT', headers: again.headers, body: replaced }, options.insecureTLS);
      assert.ok(second.status >= 200 && second.status < 300, `second PUT: ${describeResponse(second)}`);
      assertSameBytes(await driver.getContent(p), replaced, 'the replaced content');
    },
  },
  {
    group: 'signedURL',
    name: 'a signed URL changed in one character of its signature, or naming another object, is refused (GET, HEAD and PUT as claimed) and a refused PUT stores nothing',
    skip: (o) => (o.testServerGaps.signedURLVerification === undefined ? undefined : `the test server does not check signatures: ${o.testServerGaps.signedURLVerification}`),
    async run({ driver, dir, options }) {
      const claimed = driver.capabilities.signedURL;
      requireClaim(claimed.length > 0, 'signedURL');
      // Two objects whose names have the same length, so a URL can be pointed at the other.
      const name = randomName(16);
      const other = randomName(16);
      const p = `${dir}/${name}`;
      const q = `${dir}/${other}`;
      await driver.putContent(p, patternBytes(1000, 123));
      await driver.putContent(q, patternBytes(1000, 124));
      for (const method of claimed) {
        const target = method === 'PUT' ? `${dir}/new${name}` : p;
        const signed = await driver.signedURL(target, { method });
        const body = method === 'PUT' ? patternBytes(100, 125) : undefined;
        const send = (url: string): Promise<HttpResponse> => httpRequest(url, { method, headers: signed.headers, ...(body === undefined ? {} : { body }) }, options.insecureTLS);
        assertRefused(await send(tamperSignature(signed.url)), `${method} with a changed signature`);
        const moved = method === 'PUT' ? `${dir}/new${other}` : q;
        assertRefused(await send(retarget(signed.url, name, other)), `${method} of ${moved} with the URL signed for ${target}`);
        if (method === 'PUT') {
          await assertAbsent(driver, target, 'after a refused PUT');
          await assertAbsent(driver, moved, 'after a refused PUT to another path');
        }
      }
    },
  },
];
