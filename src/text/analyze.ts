/**
 * Code-aware text analysis, the same at index time and query time.
 *
 * A raw token is a run of letters, digits and underscores, joined by the connectors
 * `::`, `.`, `-`, `'` when letters or digits stand on both sides (`TcpListener::bind`,
 * `Content-Type`, `v1.2.3`, `snake_case`). Each raw token yields:
 * - its parts, split at connectors, underscores and camelCase humps, lower-cased,
 *   diacritics folded and English words stemmed (Porter2): `tcp`, `listen`, `bind`;
 * - for a compound, each connector-separated segment joined whole (`tcplistener`) and
 *   the whole token joined (`tcplistenerbind`), unstemmed, so an exact identifier
 *   outranks a document that merely mentions its parts;
 * - a version (`1.2.3`, `v2.0`) whole, with its dots.
 * Terms contain only lower-case letters, digits and (versions only) dots, which is what the
 * FTS5 tokenizer (`unicode61 tokenchars '.'`) keeps as one token.
 */
import stem from 'wink-porter2-stemmer';
import { STOP_WORDS } from './stopwords.js';

/** A term with the character span of the raw token it came from. */
export interface Term {
  readonly term: string;
  /** Position of the raw token (0-based count of raw tokens), for proximity. */
  readonly position: number;
  readonly start: number;
  readonly end: number;
  /** True for the unstemmed joined form of a compound (`tcplistener`). */
  readonly compound: boolean;
  /** True when the word, before stemming, is an English stop word. */
  readonly stop: boolean;
}

/** One raw token: a word, number or code identifier with its inner connectors. */
export const RAW_TOKEN = /[\p{L}\p{N}_]+(?:(?:::|[.\-'’])[\p{L}\p{N}_]+)*/gu;
const VERSION = /^v?\d+(?:\.\d+)+[a-z]?$/;
const CAMEL_HUMP = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{N}+/gu;
const MARKS = /\p{M}+/gu;
const MAX_TERM_LENGTH = 64;

/** Lower-cases and folds diacritics (é → e, ü → u), keeping other letters as they are. */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(MARKS, '').toLowerCase();
}

/**
 * `compute` (a pure function of a word or token) with its results kept: vocabularies repeat
 * heavily. At most `limit` are kept; a full cache starts over rather than tracking recency:
 * cheap, and bounded.
 */
export function memoised<V>(limit: number, compute: (key: string) => V): (key: string) => V {
  const cache = new Map<string, V>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      if (cache.size >= limit) cache.clear();
      cache.set(key, value);
    }
    return value;
  };
}

/** Words and raw tokens whose analysis is kept, per cache. */
export const MEMO_LIMIT = 200_000;

/** Porter2 costs ~5 µs a word. */
const cachedStem = memoised(MEMO_LIMIT, stem);
const LOWER_WORD = /^[a-z]+$/;
/** A Capitalised word or an all-capitals one: a single camelCase hump. */
const SIMPLE_WORD = /^(?:[A-Z][a-z]*|[A-Z]+)$/;

/** Porter2 for alphabetic words of three letters or more; other terms unchanged. */
export function stemWord(word: string): string {
  return word.length < 3 || !LOWER_WORD.test(word) ? word : cachedStem(word);
}

function splitHumps(segment: string): string[] {
  const parts: string[] = [];
  for (const piece of segment.split('_')) {
    if (piece === '') continue;
    const humps = piece.match(CAMEL_HUMP);
    if (humps) parts.push(...humps);
    else parts.push(piece);
  }
  return parts;
}

function clean(term: string): string {
  return term.length > MAX_TERM_LENGTH ? term.slice(0, MAX_TERM_LENGTH) : term;
}

/** Receives the terms of one raw token; `stop` only for parts (never for compounds). */
type Emit = (term: string, compound: boolean, stop: boolean) => void;

/**
 * The common case, a plain ASCII word (lower-case, Capitalised or an ACRONYM), lower-cased:
 * its one term is the word stemmed, with no compounds and nothing to fold. Otherwise undefined.
 */
function plainWord(raw: string): string | undefined {
  return LOWER_WORD.test(raw) || SIMPLE_WORD.test(raw) ? raw.toLowerCase() : undefined;
}

/**
 * The terms of a raw token that is not a plain word, in order: parts first, then segment
 * and whole compounds. A function of the token alone, which is what lets `indexText`
 * cache it.
 */
function compoundTerms(raw: string, emit: Emit): void {
  const push = (term: string, compound: boolean, stop = false): void => {
    if (term !== '') emit(clean(term), compound, stop);
  };
  const folded = fold(raw);
  if (VERSION.test(folded)) {
    push(folded.startsWith('v') ? folded.slice(1) : folded, false);
    return;
  }
  const segments = raw.split(/::|[.\-'’]/).filter((s) => s !== '');
  const wholes: string[] = [];
  let partCount = 0;
  for (const segment of segments) {
    const parts = splitHumps(segment);
    for (const part of parts) {
      const word = fold(part);
      push(stemWord(word), false, STOP_WORDS.has(word));
      partCount++;
    }
    wholes.push(fold(parts.join('')));
  }
  if (partCount > 1) {
    // Segment wholes for segments that had humps or underscores (`TcpListener` in
    // `TcpListener::bind`), then the token whole.
    const seen = new Set<string>();
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] ?? '';
      const whole = wholes[i] ?? '';
      if (splitHumps(segment).length > 1 && !seen.has(whole)) {
        seen.add(whole);
        push(whole, true);
      }
    }
    const all = wholes.join('');
    if (!seen.has(all)) push(all, true);
  }
}

/** Analyses `text` into terms, each with the position and span of its raw token. */
export function analyze(text: string): Term[] {
  const out: Term[] = [];
  let position = 0;
  let start = 0;
  let end = 0;
  const emit: Emit = (term, compound, stop) => {
    out.push({ term, position, start, end, compound, stop });
  };
  for (const match of text.matchAll(RAW_TOKEN)) {
    const raw = match[0];
    start = match.index;
    end = start + raw.length;
    const word = plainWord(raw);
    if (word !== undefined) emit(clean(stemWord(word)), false, STOP_WORDS.has(word));
    else compoundTerms(raw, emit);
    position++;
  }
  return out;
}

/**
 * A raw token's terms as indexed, space-separated ('' for none). Ingest analyses every
 * word of every chunk: one lookup per token replaces the case tests, the stem lookup, a
 * Term object and the string building per token (`indexText` over the ingest benchmark's
 * chunks: about a third less CPU).
 */
const indexedToken = memoised(MEMO_LIMIT, (raw): string => {
  const word = plainWord(raw);
  if (word !== undefined) return clean(stemWord(word));
  const out: string[] = [];
  compoundTerms(raw, (term) => out.push(term));
  return out.join(' ');
});

/** The analysed terms of `text`, space-separated, as stored in the full-text index. */
export function indexText(text: string): string {
  const tokens = text.match(RAW_TOKEN);
  if (tokens === null) return '';
  const out: string[] = [];
  for (const raw of tokens) {
    const terms = indexedToken(raw);
    if (terms !== '') out.push(terms);
  }
  return out.join(' ');
}

/** A query term with its weight. */
export interface QueryTerm {
  readonly term: string;
  /** How many times it occurs in the query (after stop-word removal). */
  readonly count: number;
  readonly compound: boolean;
}

/**
 * Analyses a query the way documents are analysed, then drops stop words (unless that
 * would leave nothing) and merges repeats.
 */
export function analyzeQuery(text: string): QueryTerm[] {
  return queryTermsOf(analyze(text));
}

/** analyzeQuery over terms already analysed (a caller that also needs their positions). */
export function queryTermsOf(terms: readonly Term[]): QueryTerm[] {
  const content = terms.filter((t) => !t.stop);
  const kept = content.length > 0 ? content : terms;
  const out: { term: string; count: number; compound: boolean }[] = [];
  const at = new Map<string, number>();
  for (const t of kept) {
    const i = at.get(t.term);
    const prev = i === undefined ? undefined : out[i];
    if (prev) prev.count++;
    else {
      at.set(t.term, out.length);
      out.push({ term: t.term, count: 1, compound: t.compound });
    }
  }
  return out;
}
