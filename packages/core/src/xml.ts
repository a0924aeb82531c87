/**
 * Reading the few fields a driver needs from a storage service's XML answer (a listing page, an
 * error) without a general XML parser: the services' documents are flat and their shape is known, and
 * a parser that builds a tree of every element spends most of a walk's client CPU on it.
 */

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character data with its entity and character references (`&amp;`, `&#x1F;`, `&#38;`) resolved. */
export function xmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(ENTITY, (_, hex: string | undefined, decimal: string | undefined, named: string | undefined) =>
    named !== undefined ? NAMED[named]! : String.fromCodePoint(hex !== undefined ? parseInt(hex, 16) : Number(decimal)));
}

/**
 * The text of the first `<tag>…</tag>` in `xml`, references resolved; undefined when there is none
 * or it is written empty (`<tag/>`). For elements that hold text only: the text ends at the next `<`.
 */
export function xmlElementText(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open === -1) return undefined;
  const start = open + tag.length + 2;
  const end = xml.indexOf('<', start);
  return end === -1 ? undefined : xmlText(xml.slice(start, end));
}

/** The contents of every `<tag>…</tag>` in `xml`, in order (elements of that name must not nest). */
export function* xmlElements(xml: string, tag: string): Generator<string> {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  for (let at = xml.indexOf(open); at !== -1; ) {
    const start = at + open.length;
    const end = xml.indexOf(close, start);
    if (end === -1) return;
    yield xml.slice(start, end);
    at = xml.indexOf(open, end + close.length);
  }
}
