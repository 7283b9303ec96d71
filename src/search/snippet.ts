/**
 * Snippets and citations for results: the densest window of query-term matches in a
 * chunk, with the character ranges to highlight, and the human form of a citation
 * ("Title, p. 12", "Title, pp. 12-13", "Title § Section").
 */
import type { ChunkRecord, DocumentRecord } from '../store/store.js';
import { RAW_TOKEN } from '../text/analyze.js';
import { analyseToken } from './proximity.js';

export interface Snippet {
  readonly text: string;
  /** [start, end) character ranges of `text` to highlight. */
  readonly highlights: readonly (readonly [number, number])[];
}

const FENCE = /^`{3,}.*$/gm;

/**
 * The window of about `width` characters with the most query-term matches, widened to
 * word boundaries, code fences removed, whitespace folded.
 */
export function makeSnippet(text: string, queryTerms: ReadonlySet<string>, width = 240): Snippet {
  const plain = text.replace(FENCE, '').replace(/\s+/g, ' ').trim();
  // The raw tokens with a query term among their terms (parts and compounds share the
  // token's span), in order. Each token's terms come from the second stage's memo (which
  // has usually just walked the hit's text): analysing it whole into term objects at every
  // search took ~1 ms of a 20 ms query at 1M chunks.
  const spans: [number, number][] = [];
  for (const m of plain.matchAll(RAW_TOKEN))
    if (analyseToken(m[0]).terms.some((t) => queryTerms.has(t))) spans.push([m.index, m.index + m[0].length]);
  let bestStart = 0;
  let bestCount = 0;
  for (let i = 0, j = 0; i < spans.length; i++) {
    const start = spans[i]?.[0] ?? 0;
    while (j < spans.length && (spans[j]?.[1] ?? 0) - start <= width) j++;
    if (j - i > bestCount) {
      bestCount = j - i;
      bestStart = start;
    }
  }
  let from = Math.max(0, bestStart - Math.floor(width / 4));
  if (from > 0) {
    const space = plain.lastIndexOf(' ', from);
    from = space < 0 ? 0 : space + 1;
  }
  let to = Math.min(plain.length, from + width);
  if (to < plain.length) {
    const space = plain.indexOf(' ', to);
    to = space < 0 ? plain.length : space;
  }
  const prefix = from > 0 ? '…' : '';
  const suffix = to < plain.length ? '…' : '';
  const body = plain.slice(from, to);
  const highlights = spans
    .filter(([s, e]) => s >= from && e <= to)
    .map(([s, e]) => [s - from + prefix.length, e - from + prefix.length] as const);
  return { text: prefix + body + suffix, highlights };
}

/** "p. 12" / "pp. 12-13", using printed page labels when the document has them. */
export function pageLabel(chunk: ChunkRecord, document: DocumentRecord): string | undefined {
  if (chunk.pageStart === undefined) return undefined;
  const label = (p: number): string => document.pageLabels?.[p - 1] ?? String(p);
  const end = chunk.pageEnd ?? chunk.pageStart;
  return end === chunk.pageStart
    ? `p. ${label(chunk.pageStart)}`
    : `pp. ${label(chunk.pageStart)}-${label(end)}`;
}

/** The citation a person reads: "Title, p. 12" for books, "Title § Section" for articles. */
export function citationText(chunk: ChunkRecord, document: DocumentRecord): string {
  const pages = pageLabel(chunk, document);
  if (pages) return `${document.title}, ${pages}`;
  const section = chunk.headingPath[chunk.headingPath.length - 1];
  return section && section !== document.title ? `${document.title} § ${section}` : document.title;
}

/** The document URL with the chunk's section anchor (or PDF page fragment). */
export function chunkUrl(chunk: ChunkRecord, document: DocumentRecord): string | undefined {
  if (document.url === undefined) return undefined;
  const base = document.url.split('#')[0] ?? document.url;
  if (chunk.pageStart !== undefined) return `${base}#page=${chunk.pageStart}`;
  if (chunk.anchor !== undefined) return `${base}#${chunk.anchor}`;
  return document.url;
}
