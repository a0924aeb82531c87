/**
 * One List Blobs answer (`EnumerationResults`), read into core's ListPage. The driver asks for
 * nothing beyond the defaults (no metadata, tags, snapshots or versions), so a page holds only
 * `Blob` elements (a name and properties) and `BlobPrefix` elements (a name). A reader of just
 * those costs a few microseconds per blob, where the SDK's general XML parser and model
 * deserialiser spent about a hundred and were most of a walk's client CPU.
 */
import { DriverError, type ListPage, type ObjectEntry, xmlElementText, xmlText } from '@storagedriver/core';

import { quotedETag } from './metadata.js';

const ENTRY = /<(Blob|BlobPrefix)>([\s\S]*?)<\/\1>/g;
/** `Encoded="true"`: the service percent-encoded a name holding characters XML 1.0 cannot carry. */
const NAME = /<Name( Encoded="true")?>([^<]*)<\/Name>/;
const NEXT_MARKER = /<NextMarker>([^<]*)<\/NextMarker>/;

export function parseBlobList(xml: string): ListPage {
  if (!xml.includes('<EnumerationResults')) throw new DriverError(`List Blobs answered without an EnumerationResults document: ${xml.slice(0, 200)}`);
  const objects: ObjectEntry[] = [];
  const prefixes: string[] = [];
  for (const [, element, body] of xml.matchAll(ENTRY)) {
    const name = entryName(body!);
    if (element === 'BlobPrefix') {
      prefixes.push(name);
      continue;
    }
    const size = xmlElementText(body!, 'Content-Length');
    const modified = xmlElementText(body!, 'Last-Modified');
    objects.push({
      key: name,
      size: size === undefined ? 0 : Number(size),
      modTime: modified === undefined ? new Date(0) : new Date(modified),
      etag: quotedETag(xmlElementText(body!, 'Etag')),
    });
  }
  const next = NEXT_MARKER.exec(xml)?.[1];
  return { objects, prefixes, next: next ? xmlText(next) : undefined };
}

function entryName(body: string): string {
  const match = NAME.exec(body);
  if (match === null) throw new DriverError(`List Blobs answered an entry without a name: ${body.slice(0, 200)}`);
  const name = xmlText(match[2]!);
  return match[1] === undefined ? name : decodeURIComponent(name);
}

