/** Redirect URLs and reads racing a replacement (contract: Operations). */
import assert from 'node:assert/strict';

import { patternBytes } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { assertSameBytes, assertTyped, settle } from './expect.js';
import { httpRequest } from './http.js';

const MiB = 1024 * 1024;

export const miscCases: SuiteCase[] = [
  {
    group: 'redirect',
    name: 'redirectURL answers only GET and HEAD; where supported the URL serves GET and HEAD to a plain HTTP client',
    async run({ driver, path, options }) {
      const p = path();
      const data = patternBytes(32, 55);
      await driver.putContent(p, data);
      for (const method of ['PUT', 'DELETE', 'POST']) assert.equal(await driver.redirectURL(p, { method }), undefined, method);
      const getURL = await driver.redirectURL(p, { method: 'GET' });
      const headURL = await driver.redirectURL(p, { method: 'HEAD' });
      if (!options.capabilities.redirect) {
        assert.equal(getURL, undefined, 'a driver without redirect capability returns undefined');
        assert.equal(headURL, undefined);
        return;
      }
      assert.ok(getURL && headURL, 'URLs for GET and HEAD');
      const got = await httpRequest(getURL, { method: 'GET' }, options.insecureTLS);
      assert.equal(got.status, 200, `GET ${getURL}: ${got.status} ${got.body.toString().slice(0, 200)}`);
      assertSameBytes(got.body, data, 'GET body');
      const head = await httpRequest(headURL, { method: 'HEAD' }, options.insecureTLS);
      assert.equal(head.status, 200, `HEAD: ${head.status}`);
      assert.equal(head.headers['content-length'], '32');
    },
  },
  {
    group: 'content',
    name: 'a reader or getContent of an object replaced mid-read yields one whole version or fails with a typed error, never mixed or short',
    async run({ driver, path }) {
      const p = path();
      const size = 8 * MiB;
      const first = patternBytes(size, 56);
      const second = patternBytes(size, 57);
      await driver.putContent(p, first);
      const stream = await driver.reader(p);
      const chunks: Buffer[] = [];
      let failure: unknown;
      try {
        for await (const chunk of stream) {
          // Replaced once the first bytes arrived, so the rest of the read is of the new version.
          if (chunks.push(chunk as Buffer) === 1) await driver.putContent(p, second);
        }
      } catch (error) {
        failure = error;
      }
      const read = Buffer.concat(chunks);
      if (failure !== undefined) assertTyped(failure, driver, `the reader failed after ${read.length} bytes`);
      else assert.ok(read.equals(first) || read.equals(second), `the reader ended without an error after ${read.length} bytes that are neither version whole`);

      await driver.putContent(p, first);
      const [got, put] = await Promise.all([settle(driver.getContent(p)), settle(driver.putContent(p, second))]);
      assert.ok(put.ok, 'the replacing putContent');
      if (!got.ok) assertTyped(got.error, driver, 'getContent during the replacement');
      else assert.ok(got.value.equals(first) || got.value.equals(second), `getContent returned ${got.value.length} bytes that are neither version whole`);
    },
  },
];
