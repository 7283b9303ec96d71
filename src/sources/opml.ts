/**
 * OPML blogrolls (OPML 1.0/2.0, parsed by feedsmith): one `OpmlOutline` per outline that
 * names a feed (`xmlUrl`). Nested outlines are folders: their titles become the feed's
 * categories, outermost first, followed by the outline's own `category` attribute (OPML 2.0:
 * comma-separated, slash-delimited paths).
 *
 * Outlines without an `xmlUrl` (folders, links) are not feeds and are skipped, as are
 * `xmlUrl`s that are not http(s) after resolution against the OPML file's URL. A file with no
 * feed outline at all is `OPML_MALFORMED`. Entity declarations are refused as in feeds.
 */
import type { Opml } from 'feedsmith';
import { parseOpml as parseOpmlDocument } from 'feedsmith';
import { ShelfError } from '../core/errors.js';
import { decodeText } from './charset.js';
import { resolveUrl } from './html-blocks.js';
import type { RawInput } from './source.js';

export interface OpmlOutline {
  readonly title: string;
  /** The feed URL, absolute http(s). */
  readonly xmlUrl: string;
  /** The site's home page, when given and valid. */
  readonly htmlUrl?: string;
  readonly categories: string[];
}

/** Reads an OPML file; throws OPML_MALFORMED or XML_ENTITY_EXPANSION. */
export function parseOpml(input: RawInput): OpmlOutline[] {
  const location = input.location;
  const text = decodeText(input.bytes, { kind: 'xml', ...(input.charset ? { charset: input.charset } : {}) });
  const doctype = /<!DOCTYPE[\s\S]*?<!ENTITY\s+%?\s*([^\s>]*)/i.exec(text);
  if (doctype)
    throw new ShelfError('XML_ENTITY_EXPANSION', { location, detail: `<!ENTITY ${doctype[1] ?? ''}` });
  if (text.trim() === '') throw new ShelfError('OPML_MALFORMED', { location, detail: 'the file is empty' });

  let doc: Opml.Document<string>;
  try {
    doc = parseOpmlDocument(text);
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    const detail = cause ?? 'no <opml> document with a <body> of outlines';
    throw new ShelfError('OPML_MALFORMED', { location, detail }, { cause: e });
  }
  const base = /^https?:/i.test(location) ? location : undefined;
  const found: OpmlOutline[] = [];
  let outlines = 0;
  const stack: { outline: Opml.Outline<string>; path: string[] }[] = [];
  const push = (list: readonly Opml.Outline<string>[] | undefined, path: string[]): void => {
    for (let i = (list?.length ?? 0) - 1; i >= 0; i--) stack.push({ outline: list![i]!, path });
  };
  push(doc.body?.outlines, []);
  while (stack.length > 0) {
    const { outline, path } = stack.pop()!;
    outlines++;
    const name = clean(outline.title) ?? clean(outline.text);
    if (outline.outlines?.length) push(outline.outlines, name ? [...path, name] : path);
    const xmlUrl = outline.xmlUrl ? resolveUrl(outline.xmlUrl, base) : undefined;
    if (!xmlUrl) continue;
    const htmlUrl = outline.htmlUrl ? resolveUrl(outline.htmlUrl, base) : undefined;
    found.push({
      title: name ?? xmlUrl,
      xmlUrl,
      ...(htmlUrl ? { htmlUrl } : {}),
      categories: dedupe([...path, ...categoryAttribute(outline.category)]),
    });
  }
  if (found.length === 0)
    throw new ShelfError('OPML_MALFORMED', {
      location,
      detail: outlines === 0 ? 'it has no outlines' : 'none of its outlines has an http(s) xmlUrl',
    });
  return found;
}

/** OPML 2.0 `category`: comma-separated; each a slash-delimited path whose last part is the name. */
function categoryAttribute(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((c) => clean(c.split('/').filter(Boolean).pop()))
    .filter((c): c is string => c !== undefined);
}

function clean(s: string | undefined): string | undefined {
  const t = typeof s === 'string' ? s.replace(/\s+/g, ' ').trim() : '';
  return t === '' ? undefined : t;
}

function dedupe(xs: readonly string[]): string[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = x.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
