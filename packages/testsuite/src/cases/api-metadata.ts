/**
 * Metadata on write, etags and checksums (issue 13): each claimed kind comes back exactly through
 * stat (after putContent, a writer, an upload continued from new instances), and through a plain
 * GET of a signed URL; metadata is fixed when an upload starts.
 */
import assert from 'node:assert/strict';

import { patternBytes } from '../data.js';
import type { SuiteCase } from '../runner.js';
import { OTHER_METADATA, SAMPLE_METADATA, assertChecksums, assertMetadata, assertNoneOf, claimedMetadata, requireClaim } from './api-support.js';
import { assertSameBytes, readStream } from './expect.js';
import { describeResponse, httpRequest } from './http.js';

/** Headers a signed GET must answer with for each content-header kind (user metadata headers differ per service). */
const HEADERS = { contentType: 'content-type', cacheControl: 'cache-control', contentDisposition: 'content-disposition', contentEncoding: 'content-encoding' } as const;

export const apiMetadataCases: SuiteCase[] = [
  {
    group: 'metadata',
    name: 'each claimed metadata kind reads back exactly through stat after putContent and after a writer of several parts; etags change with the content; checksums are those of the content',
    timeoutMs: (o) => 60_000 + o.partSize / 10_000,
    async run({ driver, path, options }) {
      const { capabilities } = driver;
      requireClaim(capabilities.metadata.length > 0 || capabilities.etag, 'metadata or etag');
      const metadata = claimedMetadata(capabilities);
      const p = path();
      const first = patternBytes(1000, 60);
      await driver.putContent(p, first, metadata);
      const info = await driver.stat(p);
      assertMetadata(info, metadata, 'after putContent');
      assertChecksums(info, first, 'after putContent');
      assert.equal(info.size, first.length, 'size');
      if (capabilities.etag) {
        assert.ok(typeof info.etag === 'string' && info.etag !== '', `stat gives an etag (got ${String(info.etag)})`);
        assert.equal((await driver.stat(p)).etag, info.etag, 'the etag is stable while the content is');
        const second = patternBytes(1000, 61);
        await driver.putContent(p, second, metadata);
        const replaced = await driver.stat(p);
        assert.notEqual(replaced.etag, info.etag, 'the etag changed with the content');
        assertChecksums(replaced, second, 'after the replacement');
      }

      // Several parts and a tail: a multipart upload's ETag is not an MD5 and must not be reported as one.
      const q = path();
      const data = patternBytes(2 * options.partSize + 1001, 62);
      const writer = await driver.writer(q, metadata);
      for (let at = 0; at < data.length; at += 1024 * 1024 + 5) await writer.write(data.subarray(at, at + 1024 * 1024 + 5));
      await writer.commit();
      const written = await driver.stat(q);
      assertMetadata(written, metadata, 'after a writer');
      assertChecksums(written, data, 'after a writer of several parts');
      if (capabilities.etag) assert.ok(typeof written.etag === 'string' && written.etag !== '', 'a written object has an etag');
      assertSameBytes(await driver.getContent(q), data, 'the written content');
    },
  },
  {
    group: 'metadata',
    name: 'metadata is set when an upload starts: writers continuing it (or committed content) with append from new driver instances keep it, whatever their own options',
    async run({ driver, newDriver, path }) {
      const { capabilities } = driver;
      requireClaim(capabilities.metadata.length > 0, 'metadata');
      const p = path();
      const data = patternBytes(3 * 70_001, 63);
      const first = await driver.writer(p, claimedMetadata(capabilities));
      await first.write(data.subarray(0, 70_001));
      await first.close();
      const second = await (await newDriver()).writer(p, { append: true });
      assert.equal(second.size, 70_001, 'the second writer continues the upload');
      await second.write(data.subarray(70_001, 140_002));
      await second.close();
      const third = await (await newDriver()).writer(p, { append: true, ...claimedMetadata(capabilities, OTHER_METADATA) });
      assert.equal(third.size, 140_002, 'the third writer continues the upload');
      await third.write(data.subarray(140_002));
      await third.commit();
      assertSameBytes(await driver.getContent(p), data, 'the content');
      assertMetadata(await driver.stat(p), claimedMetadata(capabilities), 'the upload’s own metadata, not the third writer’s options');

      // Appending onto a committed empty object starts a new upload, with that writer's metadata.
      const q = path();
      await driver.putContent(q, new Uint8Array(0), claimedMetadata(capabilities));
      const append = await driver.writer(q, { append: true, ...claimedMetadata(capabilities, OTHER_METADATA) });
      await append.write('after empty');
      await append.commit();
      assert.equal((await driver.getContent(q)).toString(), 'after empty');
      assertMetadata(await driver.stat(q), claimedMetadata(capabilities, OTHER_METADATA), 'an append onto an empty object starts an upload with its own metadata');

      // A move carries the metadata with the content.
      const moved = path();
      await driver.move(q, moved);
      assertMetadata(await driver.stat(moved), claimedMetadata(capabilities, OTHER_METADATA), 'after a move');

      // Appending onto committed content continues that object: it keeps the object's metadata.
      if (capabilities.appendToCommitted) {
        const r = path();
        await driver.putContent(r, 'committed', claimedMetadata(capabilities));
        const more = await (await newDriver()).writer(r, { append: true, ...claimedMetadata(capabilities, OTHER_METADATA) });
        await more.write(' and more');
        await more.commit();
        assert.equal((await driver.getContent(r)).toString(), 'committed and more');
        assertMetadata(await driver.stat(r), claimedMetadata(capabilities), 'an append onto committed content keeps the object’s metadata');
      }
    },
  },
  {
    group: 'metadata',
    name: 'metadata one instance writes shows through another that saw none before, and none of it stays when that other replaces the content, or deletes it and it is written again',
    async run({ driver, newDriver, path }) {
      const { capabilities } = driver;
      requireClaim(capabilities.metadata.length > 0, 'metadata');
      const metadata = claimedMetadata(capabilities);
      const other = await newDriver();
      const p = path();
      await other.putContent(p, patternBytes(100, 70));
      assertNoneOf(await other.stat(p), metadata, 'before any metadata');
      await driver.putContent(p, patternBytes(100, 71), metadata);
      assertMetadata(await other.stat(p), metadata, 'written by one instance, read by the other');
      await other.putContent(p, patternBytes(100, 72));
      assertNoneOf(await driver.stat(p), metadata, 'replaced by the other without metadata');
      assertNoneOf(await other.stat(p), metadata, 'replaced by the other without metadata, read by it');
      await driver.putContent(p, patternBytes(100, 73), metadata);
      await other.delete(p);
      await driver.putContent(p, patternBytes(100, 74));
      assertNoneOf(await other.stat(p), metadata, 'deleted by the other, then written again without metadata');
    },
  },
  {
    group: 'metadata',
    name: 'a plain HTTP GET of a signed URL answers with the stored content headers and bytes',
    async run({ driver, path, options }) {
      const { capabilities } = driver;
      requireClaim(capabilities.signedURL.includes('GET'), 'signedURL GET');
      const kinds = capabilities.metadata.filter((kind) => kind !== 'metadata');
      requireClaim(kinds.length > 0, 'a content-header metadata kind');
      const p = path();
      const data = patternBytes(5000, 64);
      const metadata = claimedMetadata(capabilities);
      await driver.putContent(p, data, metadata);
      const signed = await driver.signedURL(p, { method: 'GET' });
      const response = await httpRequest(signed.url, { method: 'GET', headers: signed.headers }, options.insecureTLS);
      assert.equal(response.status, 200, `GET: ${describeResponse(response)}`);
      assertSameBytes(response.body, data, 'the body, not decoded');
      for (const kind of kinds) assert.equal(response.headers[HEADERS[kind]], SAMPLE_METADATA[kind], `the ${HEADERS[kind]} header`);
      assertSameBytes(await readStream(driver, p), data, 'the content through the driver');
    },
  },
];
