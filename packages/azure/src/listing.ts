/**
 * One List Blobs answer (`EnumerationResults`), read into core's ListPage. The driver asks for
 * nothing beyond the defaults (no metadata, tags, snapshots or versions), so a page holds only
 * `Blob` elements (a name and properties) and `BlobPrefix` elements (a name). A reader of just
 * those costs a few microseconds per blob, where the SDK's general XML parser and model
 * deserialiser spent about a hundred and were most of a walk's client CPU.
 */
import { DriverError, type ListPage, type ObjectEntry } from '@storagedriver/core';

import { quotedETag } from './metadata.js';

const ENTRY = /<(Blob|BlobPrefix)>([\s\S]*?)<\/\1>/g;
/** `Encoded="true"`: the service percent-encoded a name holding characters XML 1.0 cannot carry. */
const NAME = /<Name( Encoded="true")?>([^<]*)<\/Name>/;
const NEXT_MARKER = /<NextMarker>([^<]*)<\/NextMarker>/;
const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

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
    const size = property(body!, 'Content-Length');
    const modified = property(body!, 'Last-Modified');
    objects.push({
      key: name,
      size: size === undefined ? 0 : Number(size),
      modTime: modified === undefined ? new Date(0) : new Date(modified),
      etag: quotedETag(property(body!, 'Etag')),
    });
  }
  const next = NEXT_MARKER.exec(xml)?.[1];
  return { objects, prefixes, next: next ? text(next) : undefined };
}

function entryName(body: string): string {
  const match = NAME.exec(body);
  if (match === null) throw new DriverError(`List Blobs answered an entry without a name: ${body.slice(0, 200)}`);
  const name = text(match[2]!);
  return match[1] === undefined ? name : decodeURIComponent(name);
}

/** The text of `<tag>…</tag>` in a blob's properties; undefined when absent or empty (`<tag/>`). */
function property(body: string, tag: string): string | undefined {
  const open = body.indexOf(`<${tag}>`);
  if (open === -1) return undefined;
  const start = open + tag.length + 2;
  const end = body.indexOf('<', start);
  return end === -1 ? undefined : text(body.slice(start, end));
}

/** XML character data with its entity and character references resolved. */
function text(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(ENTITY, (_, hex: string | undefined, decimal: string | undefined, named: string | undefined) =>
    named !== undefined ? NAMED[named]! : String.fromCodePoint(hex !== undefined ? parseInt(hex, 16) : Number(decimal)));
}
