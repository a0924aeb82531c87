/** What the cases of the issue-13 API share: claim gates, sample metadata and their checks. */
import assert from 'node:assert/strict';

import { type Capabilities, type FileInfo, type MetadataKind, PathNotFoundError, type StorageDriver, type WriteMetadata } from '@storagedriver/core';

import { crc32cBase64, md5Base64 } from '../checksums.js';
import { NotApplicable } from '../runner.js';
import { rejectsWith } from './expect.js';

/** Ends the case as not applicable unless the driver claims what it proves (refusals are proven by the refusal case). */
export function requireClaim(claimed: boolean, what: string): void {
  if (!claimed) throw new NotApplicable(`the driver does not claim ${what}`);
}

/**
 * One value of each kind, chosen to catch a driver that normalises or loses them: parameters and
 * quotes in headers, a hyphenated key and inner spaces and capitals in user values. Content
 * encoding is not `gzip`, which some services transcode on read.
 */
export const SAMPLE_METADATA: Required<WriteMetadata> = {
  contentType: 'text/plain; charset=utf-8',
  cacheControl: 'public, max-age=60',
  contentDisposition: 'attachment; filename="report 1.txt"',
  contentEncoding: 'br',
  metadata: { color: 'blue', 'trace-id': 'A1-b2 C3', n2: '42' },
};

/** Different values of each kind, for the writes whose metadata must NOT be kept. */
export const OTHER_METADATA: Required<WriteMetadata> = {
  contentType: 'application/json',
  cacheControl: 'no-store',
  contentDisposition: 'inline',
  contentEncoding: 'deflate',
  metadata: { color: 'red', other: 'x' },
};

/** The kinds of `sample` the driver claims, and only those (others would be refused). */
export function claimedMetadata(capabilities: Capabilities, sample: Required<WriteMetadata> = SAMPLE_METADATA): WriteMetadata {
  const picked: Record<string, unknown> = {};
  for (const kind of capabilities.metadata) picked[kind] = sample[kind];
  return picked as WriteMetadata;
}

/** `info` holds exactly what was stored for every kind in `expected`. */
export function assertMetadata(info: FileInfo, expected: WriteMetadata, what: string): void {
  for (const kind of Object.keys(expected) as MetadataKind[]) {
    // Copied into a plain object: a record without a prototype (or from another realm) is as good.
    const actual = kind === 'metadata' && typeof info.metadata === 'object' && info.metadata !== null ? { ...info.metadata } : info[kind];
    assert.deepEqual(actual, expected[kind], `${what}: stat's ${kind}`);
  }
}

/** `info` holds none of the values `written` stored (a kind may be absent, or the service's default). */
export function assertNoneOf(info: FileInfo, written: WriteMetadata, what: string): void {
  for (const kind of Object.keys(written) as MetadataKind[]) {
    if (kind === 'metadata') {
      for (const key of Object.keys(written.metadata ?? {})) assert.equal(info.metadata?.[key], undefined, `${what}: stat's metadata.${key}`);
    } else {
      assert.notEqual(info[kind], written[kind], `${what}: stat's ${kind}`);
    }
  }
}

/** Checksums a driver reports are those of the whole content (never a multipart ETag in disguise). */
export function assertChecksums(info: FileInfo, data: Uint8Array, what: string): void {
  if (info.checksums?.md5 !== undefined) assert.equal(info.checksums.md5, md5Base64(data), `${what}: checksums.md5 is not the MD5 of the ${data.length} bytes`);
  if (info.checksums?.crc32c !== undefined) assert.equal(info.checksums.crc32c, crc32cBase64(data), `${what}: checksums.crc32c is not the CRC-32C of the ${data.length} bytes`);
}

/** Nothing is at `path`: no object, no directory, no content. */
export async function assertAbsent(driver: StorageDriver, path: string, what: string): Promise<void> {
  assert.equal(await driver.exists(path), false, `${what}: exists(${path})`);
  await rejectsWith(driver.getContent(path), PathNotFoundError, `${what}: getContent(${path})`);
}

/** The claims in a line, for the claims case's name. */
export function formatClaims(capabilities: Capabilities): string {
  const claims: string[] = [];
  if (capabilities.redirectURL) claims.push('redirectURL');
  if (capabilities.signedURL.length > 0) claims.push(`signedURL ${capabilities.signedURL.join('/')} (≤ ${capabilities.signedURLMaxExpiresIn} s)`);
  if (capabilities.writeIfNoneMatch) claims.push('writeIfNoneMatch');
  if (capabilities.writeIfMatch) claims.push('writeIfMatch');
  if (capabilities.metadata.length > 0) claims.push(`metadata ${capabilities.metadata.join('/')}`);
  for (const flag of ['etag', 'copy', 'appendToCommitted', 'rangedRead', 'listPage', 'uploads'] as const) if (capabilities[flag]) claims.push(flag);
  return claims.length === 0 ? 'nothing' : claims.join(', ');
}
