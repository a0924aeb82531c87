/**
 * Capabilities as data (issue 13): what the driver claims, pinned by its package, and every call
 * outside the claims refused with UnsupportedMethodError — before anything is written — plus the
 * input rules of the new calls, which hold whatever the claims.
 */
import assert from 'node:assert/strict';

import {
  type Capabilities,
  InvalidOffsetError,
  InvalidParameterError,
  METADATA_KINDS,
  PathNotFoundError,
  type SignedMethod,
  UnsupportedMethodError,
  type WriteMetadata,
} from '@storagedriver/core';

import { patternBytes, patternStream } from '../data.js';
import type { ResolvedOptions, SuiteCase } from '../runner.js';
import { SAMPLE_METADATA, assertAbsent, formatClaims } from './api-support.js';
import { assertNamesDriver, rejectsWith } from './expect.js';

const FLAGS = ['redirectURL', 'writeIfNoneMatch', 'writeIfMatch', 'etag', 'copy', 'appendToCommitted', 'rangedRead', 'listPage', 'uploads'] as const;
const SIGNED_METHODS: readonly SignedMethod[] = ['GET', 'HEAD', 'PUT'];

/** Claims in a canonical form: list order does not matter. */
function canonical(capabilities: Capabilities): Record<string, unknown> {
  return { ...capabilities, signedURL: [...capabilities.signedURL].sort(), metadata: [...capabilities.metadata].sort() };
}

function claimsTitle(options: ResolvedOptions): string {
  const known = options.driverCapabilities ?? options.claims;
  if (known === undefined) return 'driver.capabilities is complete and consistent (the package pins no claims: pass `claims` to list them here)';
  return `driver.capabilities claims: ${formatClaims(known)}${options.claims === undefined ? ' (not pinned by the package)' : ' (pinned by the package)'}`;
}

export const apiClaimCases: SuiteCase[] = [
  {
    group: 'capabilities',
    name: 'driver.capabilities claims',
    title: claimsTitle,
    async run({ driver, options }) {
      const capabilities = driver.capabilities;
      assert.ok(capabilities !== undefined && typeof capabilities === 'object', 'driver.capabilities is an object');
      for (const flag of FLAGS) assert.equal(typeof capabilities[flag], 'boolean', `capabilities.${flag}`);
      assert.ok(Array.isArray(capabilities.signedURL), 'capabilities.signedURL is a list');
      for (const method of capabilities.signedURL) assert.ok(SIGNED_METHODS.includes(method), `signedURL method ${String(method)}`);
      assert.equal(new Set(capabilities.signedURL).size, capabilities.signedURL.length, 'signedURL methods listed once');
      assert.ok(Number.isSafeInteger(capabilities.signedURLMaxExpiresIn) && capabilities.signedURLMaxExpiresIn >= 0, 'signedURLMaxExpiresIn is a whole number of seconds');
      assert.equal(capabilities.signedURLMaxExpiresIn > 0, capabilities.signedURL.length > 0, 'signedURLMaxExpiresIn is set exactly when signedURL signs something');
      for (const kind of capabilities.metadata) assert.ok(METADATA_KINDS.includes(kind), `metadata kind ${String(kind)}`);
      assert.equal(new Set(capabilities.metadata).size, capabilities.metadata.length, 'metadata kinds listed once');
      // ifMatch takes an etag from stat or a listing: without etags it cannot be used.
      if (capabilities.writeIfMatch) assert.ok(capabilities.etag, 'writeIfMatch is claimed without etag');
      if (options.claims !== undefined) {
        assert.deepEqual(canonical(capabilities), canonical(options.claims), `driver.capabilities (${formatClaims(capabilities)}) differ from the package's claims (${formatClaims(options.claims)})`);
      }
    },
  },
  {
    group: 'capabilities',
    name: 'every call outside the claims (copy, signedURL per method, ifNoneMatch, ifMatch, each metadata kind) is refused with UnsupportedMethodError and leaves nothing behind',
    async run({ driver, path }) {
      const capabilities = driver.capabilities;
      const source = path();
      await driver.putContent(source, 'source');
      const refused = async (promise: Promise<unknown>, what: string): Promise<void> => {
        assertNamesDriver(await rejectsWith(promise, UnsupportedMethodError, what), driver);
      };

      if (!capabilities.copy) {
        const dest = path();
        await refused(driver.copy(source, dest), 'copy');
        await assertAbsent(driver, dest, 'after a refused copy');
      }
      for (const method of SIGNED_METHODS) {
        if (!capabilities.signedURL.includes(method)) await refused(driver.signedURL(source, { method }), `signedURL ${method}`);
      }
      if (capabilities.signedURL.includes('PUT') && !capabilities.metadata.includes('contentType')) {
        await refused(driver.signedURL(source, { method: 'PUT', contentType: 'text/plain' }), 'signedURL PUT with a contentType');
      }

      const conditions = [
        ['ifNoneMatch', capabilities.writeIfNoneMatch, { ifNoneMatch: '*' as const }],
        ['ifMatch', capabilities.writeIfMatch, { ifMatch: '"0123456789abcdef"' }],
      ] as const;
      for (const [name, claimed, condition] of conditions) {
        if (claimed) continue;
        const p = path();
        await refused(driver.putContent(p, 'x', condition), `putContent with ${name}`);
        await refused(driver.put(p, patternStream(1000, 1), condition), `put with ${name}`);
        const writer = await driver.writer(p);
        await writer.write('x');
        await refused(writer.commit(condition), `commit with ${name}`);
        await writer.cancel();
        await assertAbsent(driver, p, `after refusals of ${name}`);
        // Refused over an existing object too, which stays as it was.
        await refused(driver.putContent(source, 'changed', condition), `putContent over an object with ${name}`);
        assert.equal((await driver.getContent(source)).toString(), 'source', `the object after a refused putContent with ${name}`);
      }

      for (const kind of METADATA_KINDS) {
        if (capabilities.metadata.includes(kind)) continue;
        const p = path();
        const metadata = { [kind]: SAMPLE_METADATA[kind] } as WriteMetadata;
        await refused(driver.putContent(p, 'x', metadata), `putContent with ${kind}`);
        await refused(driver.put(p, 'x', metadata), `put with ${kind}`);
        await refused(driver.writer(p, metadata), `writer with ${kind}`);
        await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, `a refused writer with ${kind} started no upload`);
        await assertAbsent(driver, p, `after refusals of ${kind}`);
      }
    },
  },
  {
    group: 'capabilities',
    name: 'bad inputs to the new calls are InvalidParameterError whatever the claims (metadata keys and values, conditions, expiresIn, limit, cursor, length) and leave nothing behind',
    async run({ driver, path, dir }) {
      const invalid = async (promise: Promise<unknown>, what: string): Promise<void> => {
        assertNamesDriver(await rejectsWith(promise, InvalidParameterError, what), driver);
      };
      const p = path();
      const badMetadata: Array<[string, WriteMetadata]> = [
        ['an uppercase key', { metadata: { Color: 'blue' } }],
        ['a key starting with a digit', { metadata: { '1a': 'x' } }],
        ['a key with "_"', { metadata: { a_b: 'x' } }],
        ['a key with a space', { metadata: { 'a b': 'x' } }],
        ['an empty key', { metadata: { '': 'x' } }],
        ['a key of 129 characters', { metadata: { [`k${'x'.repeat(128)}`]: 'x' } }],
        ['a value with a leading space', { metadata: { a: ' x' } }],
        ['a value with a trailing space', { metadata: { a: 'x ' } }],
        ['a value with a tab', { metadata: { a: 'x\ty' } }],
        ['a value with a newline', { metadata: { a: 'x\ny' } }],
        ['a value that is not ASCII', { metadata: { a: 'é' } }],
        ['a value that is not a string', { metadata: { a: 42 as unknown as string } }],
        ['more than 2 KiB of metadata', { metadata: { a: 'x'.repeat(1100), b: 'y'.repeat(1100) } }],
        ['metadata that is not an object', { metadata: 'a=b' as unknown as Record<string, string> }],
        ['a content type with a line break', { contentType: 'text/plain\r\nx-injected: 1' }],
        ['an empty cache control', { cacheControl: '' }],
        ['a content disposition of 1025 characters', { contentDisposition: 'x'.repeat(1025) }],
        ['a content encoding with a leading space', { contentEncoding: ' br' }],
      ];
      for (const [label, metadata] of badMetadata) {
        await invalid(driver.putContent(p, 'x', metadata), `putContent with ${label}`);
        await invalid(driver.writer(p, metadata), `writer with ${label}`);
      }
      await rejectsWith(driver.writer(p, { append: true }), PathNotFoundError, 'writers refused for their metadata started no upload');
      const badConditions = [
        ['ifNoneMatch other than "*"', { ifNoneMatch: '"etag"' as '*' }],
        ['an empty ifMatch', { ifMatch: '' }],
        ['ifMatch and ifNoneMatch together', { ifNoneMatch: '*' as const, ifMatch: '"etag"' }],
      ] as const;
      for (const [label, condition] of badConditions) {
        await invalid(driver.putContent(p, 'x', condition), `putContent with ${label}`);
        const writer = await driver.writer(p);
        await writer.write('x');
        await invalid(writer.commit(condition), `commit with ${label}`);
        await writer.cancel();
      }
      await assertAbsent(driver, p, 'after the refused writes');

      const q = path();
      const data = patternBytes(100, 2);
      await driver.putContent(q, data);
      await invalid(driver.signedURL(q, { method: 'DELETE' as SignedMethod }), 'signedURL DELETE');
      const signed = driver.capabilities.signedURL[0];
      if (signed !== undefined) {
        const max = driver.capabilities.signedURLMaxExpiresIn;
        for (const expiresIn of [0, -1, 1.5, max + 1]) await invalid(driver.signedURL(q, { method: signed, expiresIn }), `signedURL ${signed} expiresIn ${expiresIn}`);
        if (signed !== 'PUT') await invalid(driver.signedURL(q, { method: signed, contentType: 'text/plain' }), `signedURL ${signed} with a contentType`);
      }
      for (const limit of [0, -1, 1001, 1.5]) await invalid(driver.listPage(dir, { limit }), `listPage limit ${limit}`);
      await invalid(driver.listPage(dir, { cursor: '' }), 'listPage with an empty cursor');
      await invalid(driver.listPage(dir, { cursor: 'not a cursor!' }), 'listPage with a cursor no driver made');
      for (const length of [-1, 1.5]) {
        await invalid(driver.reader(q, 0, { length }), `reader length ${length}`);
        await invalid(driver.getContent(q, { length }), `getContent length ${length}`);
      }
      await rejectsWith(driver.getContent(q, { offset: -1, length: 1 }), InvalidOffsetError, 'getContent offset -1');
      assert.deepEqual(await driver.getContent(q), data, 'the object is untouched');
    },
  },
];
