/**
 * Object metadata in S3's terms, both ways: what a write sends (SDK fields, or raw headers on the
 * direct path) and what a HEAD answers, as a FileInfo. Pure protocol, no requests: an S3-dialect
 * driver (OSS, issue 12) reuses it.
 */
import { InvalidParameterError, type FileInfo, type WriteMetadata } from '@storagedriver/core';

/** User metadata CreateMultipartUpload sets to the writer's random token; the completed object keeps it. */
export const UPLOAD_MARKER = 'storagedriver-upload';

/** S3's default type, kept for objects written without one (what every object was before metadata). */
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The content fields of PutObject, CreateMultipartUpload and presigned PutObject. */
export interface ContentFields {
  ContentType: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  Metadata?: Record<string, string>;
}

/** What a HEAD tells about an object. */
export interface ObjectHead {
  size: number;
  modTime: Date;
  /** Verbatim, quotes included. */
  etag: string | undefined;
  /** The version id, when the bucket keeps versions. */
  version: string | undefined;
  contentType: string | undefined;
  cacheControl: string | undefined;
  contentDisposition: string | undefined;
  contentEncoding: string | undefined;
  /** The user's metadata (the driver's own marker left out). */
  metadata: Record<string, string>;
  /** `x-amz-server-side-encryption`, when the object is encrypted. */
  encryption: string | undefined;
}

/** The driver keeps `UPLOAD_MARKER` for itself: a user key of that name would be overwritten or hidden. */
export function checkUserMetadata(metadata: WriteMetadata | undefined): void {
  if (metadata?.metadata?.[UPLOAD_MARKER] !== undefined) {
    throw new InvalidParameterError('metadata', UPLOAD_MARKER, `a key other than "${UPLOAD_MARKER}" (the driver's own)`);
  }
}

export function contentFields(metadata: WriteMetadata | undefined): ContentFields {
  return {
    ContentType: metadata?.contentType ?? DEFAULT_CONTENT_TYPE,
    ...(metadata?.cacheControl === undefined ? {} : { CacheControl: metadata.cacheControl }),
    ...(metadata?.contentDisposition === undefined ? {} : { ContentDisposition: metadata.contentDisposition }),
    ...(metadata?.contentEncoding === undefined ? {} : { ContentEncoding: metadata.contentEncoding }),
    ...(metadata?.metadata === undefined || Object.keys(metadata.metadata).length === 0 ? {} : { Metadata: { ...metadata.metadata } }),
  };
}

/** The metadata an object was stored with, as a write would give it again (a copy, an append). */
export function storedMetadata(head: ObjectHead): WriteMetadata {
  return {
    ...(head.contentType === undefined ? {} : { contentType: head.contentType }),
    ...(head.cacheControl === undefined ? {} : { cacheControl: head.cacheControl }),
    ...(head.contentDisposition === undefined ? {} : { contentDisposition: head.contentDisposition }),
    ...(head.contentEncoding === undefined ? {} : { contentEncoding: head.contentEncoding }),
    metadata: head.metadata,
  };
}

/** `fields` as the raw request headers of a PUT. */
export function contentHeaders(fields: ContentFields): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': fields.ContentType };
  if (fields.CacheControl !== undefined) headers['cache-control'] = fields.CacheControl;
  if (fields.ContentDisposition !== undefined) headers['content-disposition'] = fields.ContentDisposition;
  if (fields.ContentEncoding !== undefined) headers['content-encoding'] = fields.ContentEncoding;
  for (const [key, value] of Object.entries(fields.Metadata ?? {})) headers[`x-amz-meta-${key}`] = value;
  return headers;
}

function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const user: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) if (key !== UPLOAD_MARKER) user[key] = value;
  return user;
}

/** A HEAD answered through the SDK. */
export function headFromSdk(out: {
  ContentLength?: number;
  LastModified?: Date;
  ETag?: string;
  VersionId?: string;
  ContentType?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  Metadata?: Record<string, string>;
  ServerSideEncryption?: string;
}): ObjectHead {
  return {
    size: out.ContentLength ?? 0,
    modTime: out.LastModified ?? new Date(0),
    etag: out.ETag,
    version: out.VersionId,
    contentType: out.ContentType,
    cacheControl: out.CacheControl,
    contentDisposition: out.ContentDisposition,
    contentEncoding: out.ContentEncoding,
    metadata: userMetadata(out.Metadata),
    encryption: out.ServerSideEncryption,
  };
}

/** A HEAD answered on the direct path (header names in lowercase). */
export function headFromHeaders(headers: Record<string, string | undefined>): ObjectHead {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  return {
    size: Number(headers['content-length'] ?? 0),
    modTime: new Date(headers['last-modified'] ?? 0),
    etag: headers.etag,
    version: headers['x-amz-version-id'],
    contentType: headers['content-type'],
    cacheControl: headers['cache-control'],
    contentDisposition: headers['content-disposition'],
    contentEncoding: headers['content-encoding'],
    metadata: userMetadata(metadata),
    encryption: headers['x-amz-server-side-encryption'],
  };
}

/**
 * The MD5 of the whole content, base64, when the ETag is sure to be it: a single-part upload (a
 * multipart ETag ends in `-<parts>`) stored unencrypted or with SSE-S3 (a KMS or customer key makes
 * the ETag something else).
 */
function md5FromETag(head: ObjectHead): string | undefined {
  const hex = /^"?([0-9a-f]{32})"?$/i.exec(head.etag ?? '')?.[1];
  if (hex === undefined || (head.encryption !== undefined && head.encryption !== 'AES256')) return undefined;
  return Buffer.from(hex, 'hex').toString('base64');
}

export function fileInfo(path: string, head: ObjectHead): FileInfo {
  const md5 = md5FromETag(head);
  return {
    path,
    size: head.size,
    modTime: head.modTime,
    isDir: false,
    ...(head.etag === undefined ? {} : { etag: head.etag }),
    ...(head.version === undefined || head.version === 'null' ? {} : { version: head.version }),
    ...(md5 === undefined ? {} : { checksums: { md5 } }),
    ...storedMetadata(head),
  };
}
