/**
 * Capabilities as data: what a backend claims, completed with `false` for what it does not, and the
 * checks that refuse calls outside the claims (so nothing is emulated racily or dropped silently).
 */
import type { Capabilities, MetadataKind, StorageBackend, WriteConditions, WriteMetadata } from './driver.js';
import { InvalidParameterError, UnsupportedMethodError } from './errors.js';

/** Every MetadataKind, in the order `capabilities.metadata` lists them. */
export const METADATA_KINDS: readonly MetadataKind[] = ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'];

/** The claims of `backend`, every flag present. A claim needs the method that fulfils it. */
export function resolveCapabilities(backend: StorageBackend): Capabilities {
  const claimed = backend.capabilities ?? {};
  const signedURL = backend.signedURL === undefined ? [] : [...(claimed.signedURL ?? [])];
  return Object.freeze({
    // Backends written before capabilities existed redirect whenever they implement redirectURL.
    redirectURL: backend.redirectURL !== undefined && (claimed.redirectURL ?? backend.capabilities === undefined),
    signedURL: Object.freeze(signedURL),
    signedURLMaxExpiresIn: signedURL.length === 0 ? 0 : (claimed.signedURLMaxExpiresIn ?? 0),
    writeIfNoneMatch: claimed.writeIfNoneMatch ?? false,
    writeIfMatch: claimed.writeIfMatch ?? false,
    metadata: Object.freeze(METADATA_KINDS.filter((kind) => claimed.metadata?.includes(kind))),
    etag: claimed.etag ?? false,
    copy: backend.copy !== undefined && (claimed.copy ?? false),
    appendToCommitted: claimed.appendToCommitted ?? false,
    rangedRead: claimed.rangedRead ?? false,
    listPage: backend.listPage !== undefined && (claimed.listPage ?? false),
    uploads: backend.uploads !== undefined && backend.abortUpload !== undefined && (claimed.uploads ?? false),
  });
}

const PRINTABLE = /^[\x20-\x7e]*$/;
const METADATA_KEY = /^[a-z][a-z0-9-]{0,127}$/;
/** S3's limit on user metadata (keys and values), the smallest of the services. */
const METADATA_BYTES = 2048;

function checkHeaderValue(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.length > 1024 || !PRINTABLE.test(value) || value.trim() !== value) {
    throw new InvalidParameterError(name, value, 'a non-empty string of printable ASCII (at most 1024 characters) without leading or trailing spaces');
  }
}

function checkUserMetadata(metadata: unknown): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidParameterError('metadata', metadata, 'an object of string values');
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(key)) throw new InvalidParameterError('metadata', key, 'keys of lowercase letters, digits and "-", starting with a letter');
    if (typeof value !== 'string' || !PRINTABLE.test(value) || value.trim() !== value) {
      throw new InvalidParameterError(`metadata.${key}`, value, 'a string of printable ASCII without leading or trailing spaces');
    }
    bytes += key.length + value.length;
  }
  if (bytes > METADATA_BYTES) throw new InvalidParameterError('metadata', `${bytes} bytes`, `at most ${METADATA_BYTES} bytes of keys and values`);
}

/**
 * The metadata fields of `options` that are set, validated and checked against the claims. Fields
 * absent or undefined are left out, so a backend sees only what the caller asked for.
 */
export function writeMetadata(options: WriteMetadata, capabilities: Capabilities, operation: string): WriteMetadata {
  const picked: Record<string, unknown> = {};
  for (const kind of METADATA_KINDS) {
    const value = options[kind];
    if (value === undefined) continue;
    if (kind === 'metadata') checkUserMetadata(value);
    else checkHeaderValue(kind, value);
    if (!capabilities.metadata.includes(kind)) throw new UnsupportedMethodError(`${operation} with ${kind}`);
    picked[kind] = kind === 'metadata' ? { ...(value as Record<string, string>) } : value;
  }
  return picked as WriteMetadata;
}

/** The conditions of `options` that are set, validated and checked against the claims. */
export function writeConditions(options: WriteConditions, capabilities: Capabilities, operation: string): WriteConditions {
  const { ifNoneMatch, ifMatch } = options;
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') throw new InvalidParameterError('ifNoneMatch', ifNoneMatch, '"*" (create only when nothing is at the path)');
  if (ifMatch !== undefined && (typeof ifMatch !== 'string' || ifMatch === '' || !PRINTABLE.test(ifMatch))) {
    throw new InvalidParameterError('ifMatch', ifMatch, 'an etag from stat or a listing');
  }
  if (ifNoneMatch !== undefined && ifMatch !== undefined) throw new InvalidParameterError('ifMatch', ifMatch, 'either ifMatch or ifNoneMatch, not both');
  if (ifNoneMatch !== undefined) {
    if (!capabilities.writeIfNoneMatch) throw new UnsupportedMethodError(`${operation} with ifNoneMatch`);
    return { ifNoneMatch };
  }
  if (ifMatch !== undefined) {
    if (!capabilities.writeIfMatch) throw new UnsupportedMethodError(`${operation} with ifMatch`);
    return { ifMatch };
  }
  return {};
}
