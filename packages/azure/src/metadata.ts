/**
 * Metadata on Azure: the four content headers are blob HTTP headers (`x-ms-blob-content-*`), user
 * metadata is `x-ms-meta-*`. Azure metadata names must be C# identifiers, which `-` is not, while
 * core's keys are `[a-z][a-z0-9-]*` (never `_`): so `-` is stored as `_` and read back as `-`, a
 * one-to-one mapping for every key core accepts.
 */
import type { BlobHTTPHeaders, BlobGetPropertiesResponse } from '@azure/storage-blob';
import type { FileInfo, WriteMetadata } from '@storagedriver/core';

/** What a blob gets when the writer says nothing (Azure's own default for Put Block List is none). */
export const CONTENT_TYPE = 'application/octet-stream';

export function toAzureMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key.replaceAll('-', '_'), value]));
}

export function fromAzureMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key.replaceAll('_', '-'), value]));
}

/** The blob HTTP headers of a write, with `md5` the whole content's MD5 when it was computed over every byte. */
export function blobHeaders(metadata: WriteMetadata, md5?: Uint8Array): BlobHTTPHeaders {
  return {
    blobContentType: metadata.contentType ?? CONTENT_TYPE,
    blobCacheControl: metadata.cacheControl,
    blobContentDisposition: metadata.contentDisposition,
    blobContentEncoding: metadata.contentEncoding,
    blobContentMD5: md5,
  };
}

/**
 * What a blob keeps, as a write's metadata (to carry it into a content that continues the blob).
 * The default content type is left out: it is what a write without one gets anyway, and an upload
 * with no metadata needs no upload record.
 */
export function storedMetadata(properties: BlobGetPropertiesResponse): WriteMetadata {
  const metadata = fromAzureMetadata(properties.metadata);
  return {
    ...present({ contentType: properties.contentType === CONTENT_TYPE ? undefined : properties.contentType, cacheControl: properties.cacheControl, contentDisposition: properties.contentDisposition, contentEncoding: properties.contentEncoding }),
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
  };
}

/** `stat` of a blob: its headers, metadata, ETag (verbatim), version id and Content-MD5 (the whole content's, when the blob has one). */
export function blobInfo(path: string, properties: BlobGetPropertiesResponse): FileInfo {
  return {
    path,
    size: properties.contentLength ?? 0,
    modTime: properties.lastModified ?? new Date(0),
    isDir: false,
    ...present({ etag: properties.etag, version: properties.versionId, contentType: properties.contentType, cacheControl: properties.cacheControl, contentDisposition: properties.contentDisposition, contentEncoding: properties.contentEncoding }),
    // Azure keeps a Content-MD5 only for the whole content: computed by Put Blob, or set at commit by a writer that hashed every byte.
    ...(properties.contentMD5 === undefined ? {} : { checksums: { md5: Buffer.from(properties.contentMD5).toString('base64') } }),
    metadata: fromAzureMetadata(properties.metadata),
  };
}

/**
 * Listings give ETags without the quotes that Get Blob Properties (and every response header) has;
 * entries carry the quoted form, so a listing's etag equals stat's and works as `ifMatch`.
 */
export function quotedETag(etag: string | undefined): string | undefined {
  if (etag === undefined || etag === '') return undefined;
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function present<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== '')) as Partial<Record<keyof T, string>>;
}
