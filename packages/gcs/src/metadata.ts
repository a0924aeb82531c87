/**
 * What an object keeps besides its bytes, both ways: the write options as the JSON API's object
 * resource, the resource as the contract's FileInfo, and write conditions as generation
 * preconditions.
 */
import type { FileMetadata } from '@google-cloud/storage';
import { PreconditionFailedError, type FileInfo, type WriteConditions, type WriteMetadata } from '@storagedriver/core';

import { CONTENT_TYPE, type ObjectJson, type ObjectResource, type Preconditions } from './http.js';

/** Custom metadata on a committed object naming the upload it came from (leftover chunks of it are stale). */
export const UPLOAD_MARKER = 'storagedriver-upload';
/**
 * Custom metadata on every chunk object: the metadata its upload started with (JSON), so a writer
 * that continues the upload from another instance commits with it.
 */
export const UPLOAD_STATE = 'storagedriver-upload-metadata';

const HEADERS = ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding'] as const;

/** The object resource a write stores: the content headers given and the user metadata, plus the driver's marker. */
export function objectResource(metadata: WriteMetadata, marker?: string): ObjectResource {
  const resource: ObjectResource = { metadata: { ...metadata.metadata, ...(marker === undefined ? {} : { [UPLOAD_MARKER]: marker }) } };
  for (const header of HEADERS) if (metadata[header] !== undefined) resource[header] = metadata[header];
  return resource;
}

/** Whether the object has exactly the content headers the write asked for. */
export function hasHeaders(object: ObjectJson, resource: ObjectResource): boolean {
  return HEADERS.every((header) => (object[header] ?? '') === (resource[header] ?? (header === 'contentType' ? CONTENT_TYPE : '')));
}

/** The metadata an upload started with, from a chunk object's custom metadata (none on chunks of older versions). */
export function uploadState(chunk: FileMetadata | undefined): WriteMetadata {
  const state = chunk?.metadata?.[UPLOAD_STATE];
  return typeof state === 'string' ? (JSON.parse(state) as WriteMetadata) : {};
}

/** The chunk objects' resource carrying `metadata` for whoever continues the upload. */
export function chunkResource(metadata: WriteMetadata): ObjectResource {
  return { metadata: Object.keys(metadata).length === 0 ? {} : { [UPLOAD_STATE]: JSON.stringify(metadata) } };
}

/** A file's FileInfo from its resource: what was stored, the etag verbatim, the generation, the checksums GCS keeps. */
export function fileInfo(path: string, resource: FileMetadata): FileInfo {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(resource.metadata ?? {})) {
    if (key !== UPLOAD_MARKER && typeof value === 'string') metadata[key] = value;
  }
  const checksums = {
    // A composite object has no MD5 on GCS (fake-gcs-server computes one): only what is there.
    ...(resource.md5Hash === undefined ? {} : { md5: resource.md5Hash }),
    ...(resource.crc32c === undefined ? {} : { crc32c: resource.crc32c }),
  };
  const info: Record<string, unknown> = {
    path,
    size: Number(resource.size ?? 0),
    modTime: new Date(resource.updated ?? 0),
    isDir: false,
    ...(resource.etag === undefined ? {} : { etag: resource.etag }),
    ...(resource.generation === undefined ? {} : { version: String(resource.generation) }),
    ...(Object.keys(checksums).length === 0 ? {} : { checksums }),
    metadata,
  };
  for (const header of HEADERS) if (typeof resource[header] === 'string' && resource[header] !== '') info[header] = resource[header];
  return info as unknown as FileInfo;
}

/** What a committed object keeps, as write options: an upload continuing it keeps them. */
export function keptMetadata(resource: FileMetadata): WriteMetadata {
  const info = fileInfo('', resource);
  const kept: Record<string, unknown> = {};
  for (const header of HEADERS) if (info[header] !== undefined) kept[header] = info[header];
  if (info.metadata !== undefined && Object.keys(info.metadata).length > 0) kept.metadata = { ...info.metadata };
  return kept as WriteMetadata;
}

/**
 * The preconditions that publish only when `conditions` hold, given the object now at the path
 * (undefined: none). GCS preconditions take a generation, not an etag: `ifMatch` is the etag the
 * caller read, so it is compared with the current object's, and the write is then pinned to that
 * object's generation and metageneration — the service refuses it (412) if the object changed
 * since. Throws PreconditionFailedError when the conditions already fail.
 */
export function preconditions(path: string, conditions: WriteConditions, current: FileMetadata | undefined): Preconditions {
  if (conditions.ifNoneMatch !== undefined) {
    if (current !== undefined) throw new PreconditionFailedError(path, 'an object is already at the path (ifNoneMatch: "*")');
    return { ifGenerationMatch: '0' };
  }
  if (conditions.ifMatch !== undefined) {
    if (current === undefined) throw new PreconditionFailedError(path, `no object is at the path (ifMatch: ${conditions.ifMatch})`);
    if (current.etag !== conditions.ifMatch) throw new PreconditionFailedError(path, `the object's etag is ${current.etag}, not ${conditions.ifMatch}`);
    return { ifGenerationMatch: String(current.generation), ifMetagenerationMatch: String(current.metageneration ?? 1) };
  }
  return {};
}

/** The detail of a 412 from the service. */
export const CHANGED = 'the object at the path changed before the write was published (412 from the service)';
