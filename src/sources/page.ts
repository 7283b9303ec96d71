/**
 * A web page or a local HTML file to one document of kind `page`.
 *
 * Metadata is read from the whole page first (Readability rewrites the DOM it is given):
 * - title: `og:title`, else `<title>`, else the first `<h1>`;
 * - author: `<meta name="author">`, else `article:author` (when it is a name, not a URL),
 *   else Readability's byline;
 * - published: `article:published_time`, else JSON-LD `datePublished`, else the first
 *   `<time datetime>`; updated: `article:modified_time` or JSON-LD `dateModified`;
 * - tags: `article:tag` and `<meta name="keywords">`;
 * - url: `<link rel="canonical">` resolved against the page's location, else the location.
 *
 * The main content comes from @mozilla/readability on a linkedom document (classes kept, so
 * code languages and UI chrome stay recognisable), falling back to `<main>`, `<article>`,
 * `[role=main]` or the body when Readability finds nothing or fails (e.g. on a pathological
 * DOM), and then goes through `htmlToBlocks`.
 */
import { Readability } from '@mozilla/readability';
import type { AnyNode } from 'domhandler';
import { isTag } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { parseHTML } from 'linkedom';
import type { Block, ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import { decodeText } from './charset.js';
import { dedupeTags, parseDate } from './feed.js';
import { htmlToBlocks, resolveUrl } from './html-blocks.js';
import type { RawInput, SourceContext } from './source.js';
import { fileTitle, locationUrl } from './text.js';

/** Readability output shorter than this (in characters of text) counts as "found nothing". */
const MIN_READABLE_CHARS = 200;

/** The part of linkedom's DOM this module uses. */
interface Doc {
  readonly documentElement: El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
}
interface El {
  readonly children: ArrayLike<El>;
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
  readonly innerHTML: string;
  readonly outerHTML: string;
  setAttribute(name: string, value: string): void;
}

/** Parses an HTML page; throws DOCUMENT_EMPTY when it has no readable text. */
// eslint-disable-next-line @typescript-eslint/require-await -- async by the source contract; parsing itself is synchronous
export async function parsePage(input: RawInput, _ctx: SourceContext): Promise<ParsedDocument> {
  const html = decodeText(input.bytes, {
    kind: 'html',
    ...(input.charset ? { charset: input.charset } : {}),
  });
  const base = /^https?:/i.test(input.location) ? input.location : undefined;
  const { document } = parseHTML(html) as unknown as { document: Doc };
  const meta = readMetadata(document, base);
  const blocks = mainContent(html, document, base);
  if (blocks.length === 0) throw new ShelfError('DOCUMENT_EMPTY', { location: input.location });

  const firstHeading = blocks.find((b) => b.kind === 'heading');
  const title =
    meta.title ??
    meta.h1 ??
    (firstHeading?.kind === 'heading' ? firstHeading.text : undefined) ??
    fileTitle(input.location);
  const author = meta.author ?? meta.byline;
  const url = meta.canonical ?? locationUrl(input.location);
  return {
    key: input.location,
    kind: 'page',
    title,
    ...(url ? { url } : {}),
    ...(author ? { author } : {}),
    ...(meta.published ? { published: meta.published } : {}),
    ...(meta.updated && meta.updated !== meta.published ? { updated: meta.updated } : {}),
    tags: meta.tags,
    blocks,
  };
}

interface PageMeta {
  title?: string | undefined;
  h1?: string | undefined;
  author?: string | undefined;
  byline?: string | undefined;
  published?: string | undefined;
  updated?: string | undefined;
  canonical?: string | undefined;
  tags: string[];
}

function readMetadata(document: Doc, base: string | undefined): PageMeta {
  const metaContent = (selector: string): string | undefined =>
    clean(document.querySelector(selector)?.getAttribute('content'));
  const ld = jsonLdValues(document);
  const articleAuthor = metaContent('meta[property="article:author"]');
  const timeEl = document.querySelector('time[datetime]');
  const canonicalHref = document.querySelector('link[rel~="canonical"]')?.getAttribute('href');
  const tags: string[] = [];
  for (const el of document.querySelectorAll('meta[property="article:tag"]')) {
    const t = clean(el.getAttribute('content'));
    if (t) tags.push(t);
  }
  const keywords = metaContent('meta[name="keywords"]');
  if (keywords) tags.push(...keywords.split(','));
  return {
    title:
      metaContent('meta[property="og:title"]') ??
      metaContent('meta[name="twitter:title"]') ??
      clean(document.querySelector('title')?.textContent),
    h1: clean(document.querySelector('h1')?.textContent),
    author:
      metaContent('meta[name="author"]') ??
      (articleAuthor && !/^https?:/i.test(articleAuthor) ? articleAuthor : undefined) ??
      ld.author,
    published: parseDate(
      metaContent('meta[property="article:published_time"]') ??
        ld.datePublished ??
        clean(timeEl?.getAttribute('datetime')),
    ),
    updated: parseDate(metaContent('meta[property="article:modified_time"]') ?? ld.dateModified),
    canonical: canonicalHref ? resolveUrl(canonicalHref, base) : undefined,
    tags: dedupeTags(tags),
  };
}

/** datePublished, dateModified and the author's name from JSON-LD blocks (schema.org). */
function jsonLdValues(document: Doc): { datePublished?: string; dateModified?: string; author?: string } {
  const found: { datePublished?: string; dateModified?: string; author?: string } = {};
  for (const script of document.querySelectorAll('script[type="application/ld+json"]')) {
    let data: unknown;
    try {
      data = JSON.parse(script.textContent ?? '');
    } catch {
      continue;
    }
    // Breadth-first over objects and arrays (@graph), bounded: JSON-LD is outside data.
    const queue: unknown[] = [data];
    for (let seen = 0; queue.length > 0 && seen < 1000; seen++) {
      const v = queue.shift();
      if (Array.isArray(v)) queue.push(...(v as unknown[]));
      else if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        if (typeof o.datePublished === 'string') found.datePublished ??= o.datePublished;
        if (typeof o.dateModified === 'string') found.dateModified ??= o.dateModified;
        const author = Array.isArray(o.author) ? (o.author as unknown[])[0] : o.author;
        const name =
          typeof author === 'string'
            ? author
            : typeof author === 'object' && author !== null
              ? (author as Record<string, unknown>).name
              : undefined;
        if (typeof name === 'string' && name.trim() !== '') found.author ??= name.trim();
        queue.push(...Object.values(o).filter((x) => typeof x === 'object'));
      }
    }
  }
  return found;
}

/**
 * Pages nested deeper than this skip Readability, which reads every element's text at
 * every level: 10,000 nested divs took it 17 s (quadratic), against 0.1 s for the fallback.
 */
const MAX_READABILITY_DEPTH = 512;

/** Whether some element of `document` lies more than `limit` elements deep. */
function deeperThan(document: Doc, limit: number): boolean {
  const root = document.documentElement;
  if (!root) return false;
  const stack: [El, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [el, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (let i = 0; i < el.children.length; i++) {
      const child = el.children[i];
      if (child) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Marks every element with its document-order index, so Readability's pick can be mapped back. */
const INDEX_ATTR = 'data-shelf-n';

/**
 * The blocks of the main content. Readability decides which part of the page is the
 * article, but it also rewrites what it keeps (it drops spans whose class says "header",
 * turns h1 into h2, removes headings it finds unlikely): for technical text that loses
 * section numbers and headings. So Readability runs on an indexed copy, and its pick is
 * mapped back to the untouched elements: the outermost elements it kept are read in full
 * from a second, pristine parse. Fallbacks: a landmark element, then the whole page.
 */
function mainContent(html: string, document: Doc, base: string | undefined): Block[] {
  const options = base === undefined ? {} : { baseUrl: base };
  try {
    const landmark =
      document.querySelector('main') ??
      document.querySelector('article') ??
      document.querySelector('[role="main"]');
    const picked = deeperThan(document, MAX_READABILITY_DEPTH) ? undefined : readabilityPick(html, document);
    if (picked !== undefined) {
      const blocks = htmlToBlocks(picked, options);
      if (blocks.length > 0) return blocks;
    }
    if (landmark) {
      const blocks = htmlToBlocks(landmark.outerHTML, options);
      if (blocks.length > 0) return blocks;
    }
  } catch {
    // Readability and linkedom recurse over the DOM; a pathological page can defeat them.
  }
  return htmlToBlocks(html, options);
}

/** The HTML of the elements Readability keeps, taken from an unmodified parse of the page. */
function readabilityPick(html: string, pristine: Doc): string | undefined {
  const working = (parseHTML(html) as unknown as { document: Doc }).document;
  const workingEls = [...working.querySelectorAll('*')];
  workingEls.forEach((el, i) => el.setAttribute(INDEX_ATTR, String(i)));
  const article = new Readability(working, {
    keepClasses: true,
  }).parse();
  if (!article?.content || (article.textContent ?? '').trim().length < MIN_READABLE_CHARS) return undefined;
  const kept = outermostIndexed(article.content);
  if (kept.length === 0) return undefined;
  const pristineEls = [...pristine.querySelectorAll('*')];
  if (pristineEls.length !== workingEls.length) return article.content;
  return kept.map((i) => pristineEls[i]?.outerHTML ?? '').join('\n');
}

/** Indices of the indexed elements in `html` that have no indexed ancestor, in order. */
function outermostIndexed(html: string): number[] {
  const doc = parseDocument(html);
  const out: number[] = [];
  const stack: AnyNode[] = [...doc.children].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node)) continue;
    const n = node.attribs[INDEX_ATTR];
    if (n !== undefined && /^\d+$/.test(n)) {
      out.push(Number(n));
      continue;
    }
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return out;
}

function clean(s: string | null | undefined): string | undefined {
  const t = (s ?? '').replace(/[\s\u00a0]+/g, ' ').trim();
  return t === '' ? undefined : t;
}
