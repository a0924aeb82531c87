/**
 * One ListObjectsV2 answer (`ListBucketResult`), read into core's ListPage: the keys, sizes, times
 * and ETags of `Contents`, the `CommonPrefixes`, and the continuation token. The SDK's XML parser and
 * deserialiser built a model of every element and were most of a walk's client CPU.
 */
import { DriverError, type ListPage, type ObjectEntry, xmlElementText, xmlElements } from '@storagedriver/core';

export function parseObjectList(xml: string): ListPage {
  const root = xml.indexOf('<ListBucketResult');
  if (root === -1) throw new DriverError(`ListObjectsV2 answered without a ListBucketResult document: ${xml.slice(0, 200)}`);
  const objects: ObjectEntry[] = [];
  for (const body of xmlElements(xml, 'Contents')) {
    const key = xmlElementText(body, 'Key');
    if (key === undefined) throw new DriverError(`ListObjectsV2 answered an entry without a key: ${body.slice(0, 200)}`);
    const size = xmlElementText(body, 'Size');
    const modified = xmlElementText(body, 'LastModified');
    const etag = xmlElementText(body, 'ETag');
    objects.push({ key, size: size === undefined ? 0 : Number(size), modTime: modified === undefined ? new Date(0) : new Date(modified), ...(etag === undefined ? {} : { etag }) });
  }
  const prefixes: string[] = [];
  for (const body of xmlElements(xml, 'CommonPrefixes')) {
    const prefix = xmlElementText(body, 'Prefix');
    if (prefix !== undefined) prefixes.push(prefix);
  }
  if (xmlElementText(xml, 'IsTruncated') !== 'true') return { objects, prefixes, next: undefined };
  const next = xmlElementText(xml, 'NextContinuationToken');
  // A listing cut short without a way on would end a walk silently early.
  if (next === undefined) throw new DriverError('ListObjectsV2 answered a truncated page without a NextContinuationToken');
  return { objects, prefixes, next };
}
