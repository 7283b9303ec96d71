/**
 * Feeds: RSS 0.9x/2.0, RSS 1.0 (RDF), Atom 1.0 and JSON Feed 1.0/1.1, parsed by feedsmith
 * and mapped to one `ParsedDocument` per item.
 *
 * The rules, per field:
 * - content: RSS/RDF `content:encoded` over `description`; Atom `content` over `summary`;
 *   JSON Feed `content_html` over `content_text` over `summary`. HTML goes through
 *   `htmlToBlocks`, plain text is split into paragraphs.
 * - key (the stable identity): the guid (RSS), atom:id (RFC 4287 §4.2.6: "a permanent,
 *   universally unique identifier for an entry"), JSON Feed `id`; else the resolved link;
 *   else `sha256:` + the hex SHA-256 of title + "\n" + content. Never a time, so parsing the
 *   same bytes twice gives the same keys.
 * - url: the item link (Atom `link rel="alternate"`, JSON Feed `url`), resolved against the
 *   feed's own URL. A "Cross-posted from <a href>" or `rel=canonical` hint at the top of the
 *   content does not replace it; it is reported in `crossPosts` and stays in the text.
 * - dates: RFC 822 (RSS) and RFC 3339 (Atom, JSON Feed), tolerant of common breakage, as
 *   ISO 8601 in UTC. No date in the feed means no date, never "now".
 * - author: the item's (`dc:creator`, `author`, Atom `author/name`, JSON `authors[].name`),
 *   else the feed's.
 * - tags: categories/tags trimmed and deduplicated case-insensitively (first spelling kept).
 *
 * Hostile input is refused before the XML parser sees it: any DOCTYPE that declares
 * entities (entity-expansion bombs, XXE) is `XML_ENTITY_EXPANSION`. feedsmith runs
 * fast-xml-parser with `processEntities: false` and refuses external entities itself, so this
 * is a second wall, not the only one; the tests check both.
 */
import { createHash } from 'node:crypto';
import type { AtomFeed, JsonFeed, RdfFeed, RssFeed } from 'feedsmith';
import { DetectError, parseAtomFeed, parseJsonFeed, parseRdfFeed, parseRssFeed } from 'feedsmith';
import type { Block, ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import { decodeText } from './charset.js';
import { findCrossPostUrl, htmlToBlocks, resolveUrl } from './html-blocks.js';
import type { RawInput, SourceContext } from './source.js';
import { textToBlocks } from './text.js';

export type FeedFormat = 'rss' | 'atom' | 'rdf' | 'json';

/** A parsed feed: its own metadata and one document per item, in feed order. */
export interface ParsedFeed {
  readonly format: FeedFormat;
  readonly title: string;
  /** The site the feed belongs to (RSS `link`, Atom alternate link, JSON `home_page_url`). */
  readonly siteUrl?: string;
  readonly items: ParsedDocument[];
  /** Items whose content names an original elsewhere ("Cross-posted from ..."), by item key. */
  readonly crossPosts: { readonly key: string; readonly url: string }[];
}

/** One item, format differences removed, before it becomes a document. */
interface RawItem {
  readonly id?: string | undefined;
  readonly link?: string | undefined;
  readonly title?: string | undefined;
  readonly titleIsHtml?: boolean;
  readonly html?: string | undefined;
  readonly text?: string | undefined;
  readonly author?: string | undefined;
  readonly tags: readonly string[];
  readonly published?: string | undefined;
  readonly updated?: string | undefined;
}

interface RawFeed {
  readonly format: FeedFormat;
  readonly title: string;
  readonly siteUrl?: string | undefined;
  readonly author?: string | undefined;
  readonly items: readonly RawItem[];
}

/** Items parsed between two yields to the event loop. */
const YIELD_EVERY = 250;

/** Parses feed bytes; throws FEED_MALFORMED, FEED_IS_HTML, FEED_TOO_MANY_ITEMS, XML_ENTITY_EXPANSION. */
export async function parseFeed(input: RawInput, ctx: SourceContext): Promise<ParsedFeed> {
  const location = input.location;
  const limit = ctx.config.limits.maxFeedItems;
  const text = decodeText(input.bytes, { kind: 'xml', ...(input.charset ? { charset: input.charset } : {}) });
  const body = text.replace(/^[\s\uFEFF]+/, '');
  if (body === '') throw new ShelfError('FEED_MALFORMED', { location, detail: 'the file is empty' });
  const raw =
    body.startsWith('{') || body.startsWith('[')
      ? readJson(body, location, limit)
      : readXml(body, location, limit);

  const base = /^https?:/i.test(location) ? location : raw.siteUrl;
  const siteUrl = raw.siteUrl === undefined ? undefined : resolveUrl(raw.siteUrl, base);
  ctx.progress.total(raw.items.length);
  const items: ParsedDocument[] = [];
  const crossPosts: { key: string; url: string }[] = [];
  for (const [i, item] of raw.items.entries()) {
    ctx.signal?.throwIfAborted();
    // A 10,000-item feed takes a while: let the event loop breathe (a server stays responsive).
    if (i > 0 && i % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const doc = toDocument(item, { feed: raw, base });
    items.push(doc);
    if (item.html !== undefined) {
      const origin = findCrossPostUrl(item.html, base === undefined ? {} : { baseUrl: base });
      if (origin !== undefined && origin !== doc.url) crossPosts.push({ key: doc.key, url: origin });
    }
    ctx.progress.tick(1, doc.title);
  }
  return { format: raw.format, title: raw.title, ...(siteUrl ? { siteUrl } : {}), items, crossPosts };
}

// ---------------------------------------------------------------------------------------
// XML

function readXml(text: string, location: string, limit: number): RawFeed {
  refuseEntityDeclarations(text, location);
  if (looksLikeHtml(text)) throw new ShelfError('FEED_IS_HTML', { location });
  const root = rootElementName(text);
  // fast-xml-parser accepts a document cut off mid-way (a truncated download): check the end.
  if (
    root !== undefined &&
    !new RegExp(`</${root.replace(/[.]/g, '\\.')}\\s*>[\\s\\S]*$`, 'i').test(text.slice(-4096))
  )
    throw new ShelfError('FEED_MALFORMED', {
      location,
      detail: `the document ends before its closing </${root}> (truncated?)`,
    });
  const count = countItems(text);
  if (count > limit) throw new ShelfError('FEED_TOO_MANY_ITEMS', { location, count, limit });
  try {
    switch (root) {
      case 'rss':
        return fromRss(parseRssFeed(text));
      case 'feed':
        return fromAtom(parseAtomFeed(text));
      case 'rdf:rdf':
        return fromRdf(parseRdfFeed(text));
      default:
        throw new ShelfError('FEED_MALFORMED', {
          location,
          detail:
            root === undefined
              ? 'no XML root element'
              : `the root element <${root}> is not rss, feed or rdf:RDF`,
        });
    }
  } catch (e) {
    if (e instanceof ShelfError) throw e;
    throw new ShelfError('FEED_MALFORMED', { location, detail: parserReason(e) }, { cause: e });
  }
}

/**
 * Refuses a DOCTYPE that declares entities or names an external DTD. Feeds never need one;
 * a "billion laughs" bomb or an XXE (`<!ENTITY x SYSTEM "file:///etc/passwd">`) does.
 */
function refuseEntityDeclarations(text: string, location: string): void {
  const doctype = /<!DOCTYPE/i.exec(text);
  if (!doctype) return;
  const rest = text.slice(doctype.index);
  const entity = /<!ENTITY\s+%?\s*([^\s>]*)/i.exec(rest);
  if (entity)
    throw new ShelfError('XML_ENTITY_EXPANSION', { location, detail: `<!ENTITY ${entity[1] ?? ''}` });
  const external = /^<!DOCTYPE\s+[^\s>[]+\s+(SYSTEM|PUBLIC)\b/i.exec(rest);
  if (external && !/^<!DOCTYPE\s+html\b/i.test(rest))
    throw new ShelfError('XML_ENTITY_EXPANSION', {
      location,
      detail: `an external DTD (${external[1] ?? ''})`,
    });
}

/** The first element's name, lower-case, after the prolog (declaration, comments, DOCTYPE, PIs). */
function rootElementName(text: string): string | undefined {
  const prolog = /^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>)*/i.exec(text);
  const after = text.slice(prolog?.[0].length ?? 0);
  const m = /^<([A-Za-z_][\w.:-]*)/.exec(after);
  return m?.[1]?.toLowerCase();
}

function looksLikeHtml(text: string): boolean {
  const root = rootElementName(text);
  if (root === 'html') return true;
  if (/^(?:\s|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*<!DOCTYPE\s+html\b/i.test(text)) return true;
  // Tag soup with no feed root: an HTML page whose first element is <head> or <body>.
  return root === 'head' || root === 'body';
}

/** Items or entries in the text, counted without parsing (for the limit check). */
function countItems(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(/<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]/g)) n++;
  return n;
}

function parserReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? e.cause : undefined;
  if (e instanceof DetectError) return 'not an RSS, Atom or RDF document';
  const detail = cause?.message ?? e.message;
  const where = cause && 'line' in cause && typeof cause.line === 'number' ? ` (line ${cause.line})` : '';
  return `${detail}${where}`;
}

function fromRss(feed: RssFeed.Feed<string>): RawFeed {
  const feedAuthor =
    first(feed.dc?.creators) ?? personName(feed.managingEditor) ?? personName(feed.webMaster) ?? undefined;
  return {
    format: 'rss',
    title: plain(feed.title) ?? '',
    siteUrl: feed.link,
    author: feedAuthor,
    items: (feed.items ?? []).map((item) => ({
      id: item.guid?.value,
      link:
        item.link ??
        (item.guid?.isPermaLink !== false && isHttpUrl(item.guid?.value) ? item.guid?.value : undefined),
      title: item.title,
      html: nonEmpty(item.content?.encoded) ?? nonEmpty(item.description),
      author: first(item.dc?.creators) ?? item.authors?.map(personName).find(Boolean),
      tags: [...(item.categories ?? []).map((c) => c.name), ...(item.dc?.subjects ?? [])].filter(isString),
      published: item.pubDate ?? first(item.dc?.dates),
      updated: item.atom?.updated ?? first(item.dcterms?.modified),
    })),
  };
}

function fromRdf(feed: RdfFeed.Feed<string>): RawFeed {
  return {
    format: 'rdf',
    title: plain(feed.title) ?? '',
    siteUrl: feed.link,
    author: first(feed.dc?.creators),
    items: (feed.items ?? []).map((item) => ({
      id: item.rdf?.about,
      link: item.link,
      title: item.title,
      html: nonEmpty(item.content?.encoded) ?? nonEmpty(item.description),
      author: first(item.dc?.creators),
      tags: (item.dc?.subjects ?? []).filter(isString),
      published: first(item.dc?.dates),
      updated: first(item.dcterms?.modified),
    })),
  };
}

function fromAtom(feed: AtomFeed.Feed<string>): RawFeed {
  return {
    format: 'atom',
    title: atomText(feed.title) ?? '',
    siteUrl: alternateLink(feed.links),
    author: feed.authors?.map((a) => a.name).find(isString),
    items: (feed.entries ?? []).map((entry) => {
      const content = entry.content?.src === undefined ? entry.content : undefined;
      const contentIsText = content?.type === undefined || content.type === 'text';
      const summaryIsText = entry.summary?.type === undefined || entry.summary.type === 'text';
      const body = nonEmpty(content?.value);
      const summary = nonEmpty(entry.summary?.value);
      return {
        id: entry.id,
        link: alternateLink(entry.links),
        title: entry.title?.value,
        titleIsHtml: entry.title?.type === 'html' || entry.title?.type === 'xhtml',
        ...(body !== undefined
          ? contentIsText
            ? { text: body }
            : { html: body }
          : summary !== undefined
            ? summaryIsText
              ? { text: summary }
              : { html: summary }
            : {}),
        author: entry.authors?.map((a) => a.name).find(isString),
        tags: (entry.categories ?? []).map((c) => c.label ?? c.term).filter(isString),
        // RFC 4287 §4.2.15: updated is required, published optional; an entry with only
        // `updated` was published then as far as anyone can tell.
        published: entry.published ?? entry.updated,
        updated: entry.updated,
      };
    }),
  };
}

/** The `alternate` link (RFC 4287 §4.2.7.2: a link without rel is alternate), HTML first. */
function alternateLink(links: readonly AtomFeed.Link<string>[] | undefined): string | undefined {
  const alternates = (links ?? []).filter((l) => (l.rel ?? 'alternate') === 'alternate' && isString(l.href));
  const html = alternates.find((l) => l.type === undefined || /html/i.test(l.type));
  return (html ?? alternates[0])?.href;
}

function atomText(t: AtomFeed.Text | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t.type === 'html' || t.type === 'xhtml' ? htmlText(t.value) : plain(t.value);
}

// ---------------------------------------------------------------------------------------
// JSON Feed

function readJson(text: string, location: string, limit: number): RawFeed {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ShelfError(
      'FEED_MALFORMED',
      { location, detail: `invalid JSON: ${parserReason(e)}` },
      { cause: e },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ShelfError('FEED_MALFORMED', { location, detail: 'the JSON is not an object' });
  const rawItems = (json as Record<string, unknown>).items;
  if (Array.isArray(rawItems) && rawItems.length > limit)
    throw new ShelfError('FEED_TOO_MANY_ITEMS', { location, count: rawItems.length, limit });
  let feed: JsonFeed.Feed<string>;
  try {
    feed = parseJsonFeed(json);
  } catch (e) {
    const detail =
      e instanceof DetectError ? 'the JSON is not a JSON Feed (no jsonfeed.org version)' : parserReason(e);
    throw new ShelfError('FEED_MALFORMED', { location, detail }, { cause: e });
  }
  return {
    format: 'json',
    title: plain(feed.title) ?? '',
    siteUrl: feed.home_page_url,
    author: feed.authors?.map((a) => a.name).find(isString),
    items: (Array.isArray(feed.items) ? feed.items : []).map((item) => {
      const html = nonEmpty(item.content_html);
      const text = nonEmpty(item.content_text) ?? nonEmpty(item.summary);
      return {
        id: item.id,
        link: item.url ?? item.external_url,
        title: item.title,
        ...(html !== undefined ? { html } : text !== undefined ? { text } : {}),
        author: item.authors?.map((a) => a.name).find(isString),
        tags: (Array.isArray(item.tags) ? item.tags : []).filter(isString),
        published: item.date_published,
        updated: item.date_modified,
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------
// Items to documents

function toDocument(item: RawItem, env: { feed: RawFeed; base: string | undefined }): ParsedDocument {
  const blocks: Block[] =
    item.html !== undefined
      ? htmlToBlocks(item.html, env.base === undefined ? {} : { baseUrl: env.base })
      : item.text !== undefined
        ? textToBlocks(item.text)
        : [];
  const url = item.link === undefined ? undefined : resolveUrl(item.link, env.base);
  const rawTitle =
    item.title === undefined ? undefined : item.titleIsHtml ? htmlText(item.title) : plain(item.title);
  const title = rawTitle || derivedTitle(blocks) || `Untitled (${env.feed.title || 'feed'})`;
  const id = plain(item.id);
  const key = id || url || contentKey(rawTitle ?? '', item.html ?? item.text ?? '');
  const author = plain(item.author) || plain(env.feed.author);
  const published = parseDate(item.published);
  const updated = parseDate(item.updated);
  return {
    key,
    kind: 'article',
    title,
    ...(url ? { url } : {}),
    ...(author ? { author } : {}),
    ...(published ? { published } : {}),
    ...(updated && updated !== published ? { updated } : {}),
    tags: dedupeTags(item.tags),
    blocks,
  };
}

/** `sha256:` + hex digest of title and content: the key of an item with no id and no link. */
function contentKey(title: string, content: string): string {
  return `sha256:${createHash('sha256').update(title).update('\n').update(content).digest('hex')}`;
}

/** A title from the content: the first heading, else the first words of the first paragraph. */
function derivedTitle(blocks: readonly Block[]): string | undefined {
  const heading = blocks.find((b) => b.kind === 'heading');
  if (heading) return heading.text;
  const para = blocks.find((b) => b.kind === 'paragraph');
  if (!para) return undefined;
  const words = para.text.split(' ');
  if (words.length <= 10 && para.text.length <= 80) return para.text;
  let out = '';
  for (const w of words) {
    if ((out + ' ' + w).length > 70) break;
    out = out ? `${out} ${w}` : w;
  }
  return `${out || para.text.slice(0, 70)}…`;
}

/** Trims, drops empties, and keeps the first spelling of each tag (case-insensitive). */
export function dedupeTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const t of tags) {
    const tag = plain(t);
    if (!tag) continue;
    const folded = tag.toLocaleLowerCase('en');
    if (seen.has(folded)) continue;
    seen.add(folded);
    out.push(tag);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Dates

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** RFC 822 §5.1 zone names (military single letters other than Z are ambiguous: ignored). */
const ZONES: Readonly<Record<string, number>> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  EST: -5 * 60,
  EDT: -4 * 60,
  CST: -6 * 60,
  CDT: -5 * 60,
  MST: -7 * 60,
  MDT: -6 * 60,
  PST: -8 * 60,
  PDT: -7 * 60,
  CET: 60,
  CEST: 120,
  BST: 60,
  IST: 330,
  JST: 540,
};

/**
 * A feed date as ISO 8601 (UTC), or undefined when it cannot be read. Accepts RFC 3339 and
 * ISO 8601 (with a space for `T`, without seconds, without a zone: read as UTC), RFC 822 /
 * RFC 2822 (with or without weekday, wrong weekday, two-digit years, full or dotted month
 * names, named zones, "+00:00" offsets), and anything `Date.parse` reads unambiguously.
 */
export function parseDate(raw: string | undefined): string | undefined {
  const s = raw?.trim().replace(/\s+/g, ' ');
  if (!s) return undefined;
  const ms = parseIso(s) ?? parseRfc822(s) ?? fallbackParse(s);
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 9999) return undefined;
  return new Date(ms).toISOString();
}

function parseIso(s: string): number | undefined {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      s,
    );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  // Date.UTC maps years 0-99 to 1900-1999; such years are broken data anyway.
  if (Number(y) < 1900) return undefined;
  const base = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(sec ?? 0),
    frac ? Math.round(Number(`0.${frac}`) * 1000) : 0,
  );
  if (!validParts(Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0))) return undefined;
  return base - offsetMinutes(zone) * 60_000;
}

function parseRfc822(s: string): number | undefined {
  const m =
    /^(?:[A-Za-z]+\.?,?\s*)?(\d{1,2})[\s-]([A-Za-z]+)\.?[\s-](\d{2,4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*([+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?(?:\s*\(.*\))?$/.exec(
      s,
    );
  if (!m) return undefined;
  const [, d, monthName, y, h, mi, sec, zone] = m;
  const month = MONTHS[(monthName ?? '').slice(0, 3).toLowerCase()];
  if (month === undefined) return undefined;
  let year = Number(y);
  // RFC 2822 §4.3: two-digit years 00-49 are 20xx, 50-99 are 19xx.
  if ((y ?? '').length === 2) year += year < 50 ? 2000 : 1900;
  if (!validParts(month + 1, Number(d), Number(h ?? 0), Number(mi ?? 0))) return undefined;
  const base = Date.UTC(year, month, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0));
  return base - offsetMinutes(zone) * 60_000;
}

function validParts(month: number, day: number, hour: number, minute: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 24 && minute <= 59;
}

function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (m) return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
  return ZONES[zone.toUpperCase()] ?? 0;
}

function fallbackParse(s: string): number | undefined {
  // Only forms with a four-digit year and a month: Date.parse reads "1" or "12" as a date.
  if (!/\d{4}/.test(s) || !/[A-Za-z]{3}|\d{1,2}[/-]\d{1,2}/.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

// ---------------------------------------------------------------------------------------
// Small helpers

function plain(s: string | undefined): string | undefined {
  if (typeof s !== 'string') return undefined;
  const t = s.replace(/[\s\u00a0]+/g, ' ').trim();
  return t === '' ? undefined : t;
}

/** The text of an HTML title (Atom `type="html"`), markup removed. */
function htmlText(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const text = htmlToBlocks(`<p>${s}</p>`)
    .map((b) => ('text' in b ? b.text : ''))
    .join(' ');
  return plain(text);
}

function nonEmpty(s: string | undefined): string | undefined {
  return typeof s === 'string' && s.trim() !== '' ? s : undefined;
}

function first<T>(xs: readonly T[] | undefined): T | undefined {
  return xs === undefined || xs.length === 0 ? undefined : xs[0];
}

function personName(p: RssFeed.Person | undefined): string | undefined {
  return p?.name ?? p?.email;
}

function isString(x: unknown): x is string {
  return typeof x === 'string';
}

function isHttpUrl(s: string | undefined): s is string {
  return s !== undefined && /^https?:\/\//i.test(s.trim());
}
