/**
 * Citation checks for generated answers.
 *
 * 1. `createCitationFilter`: a streaming filter over the model's text that removes every
 *    `[n]` (or the invalid numbers of `[n, m]`) that is not in the citation map, so an
 *    invented source never reaches the user, not even while tokens stream. It keeps its
 *    state across pieces, so a marker split over several pieces ("[", "9", "9]") is judged
 *    whole, and the output does not depend on how the text was cut into pieces. Code spans
 *    and fenced code pass through untouched (`a[0]` is not a citation). Whitespace before a
 *    removed marker is dropped before punctuation ("foo [99]." → "foo.") and collapsed
 *    otherwise ("foo [99] bar" → "foo bar").
 * 2. `checkSupport`: every sentence of the answer with the numbers it cites (a marker that
 *    opens a sentence belongs to the one before: "Foo. [1]") and a support score: the
 *    idf-weighted share of the sentence's content terms found in the cited blocks' text.
 *    A cited sentence under MIN_SUPPORT is flagged unsupported.
 */
import { analyze } from '../../text/analyze.js';
import { splitSentences } from '../../text/sentences.js';
import type { SentenceCheck } from '../types.js';

/** Longest marker body considered ("[12, 14, 15]"); longer brackets are plain text. */
const MAX_MARKER = 40;
const MARKER_BODY = /^\d{1,4}(?:\s*,\s*\d{1,4})*$/;
const CLOSING_PUNCTUATION = /[.,;:!?)]/;

export interface CitationFilter {
  /** Feeds a piece of model text; returns the text that may be shown now. */
  push(text: string): string;
  /** Ends the stream; returns whatever was held back. */
  end(): string;
  /** Invalid numbers removed so far, in order of appearance. */
  readonly removed: readonly number[];
}

export function createCitationFilter(valid: ReadonlySet<number>): CitationFilter {
  const removed: number[] = [];
  let pending = ''; // whitespace held until the next visible character
  let marker = ''; // a '[' and what followed it, while it may still be a marker
  let dropped = false; // a marker was just removed
  let ticks = 0; // length of the current run of backticks
  let fence = false;
  let inline = false;

  const visible = (s: string): string => {
    const out = pending + s;
    pending = '';
    dropped = false;
    return out;
  };

  const closeTicks = (): void => {
    if (ticks >= 3 && !inline) fence = !fence;
    else if (ticks > 0 && !fence) inline = !inline;
    ticks = 0;
  };

  const finishMarker = (): string => {
    const body = marker.slice(1);
    marker = '';
    if (!MARKER_BODY.test(body.trim())) return visible(`[${body}]`);
    const numbers = body.split(',').map((x) => Number(x.trim()));
    const kept = numbers.filter((n) => valid.has(n));
    for (const n of numbers) if (!valid.has(n)) removed.push(n);
    if (kept.length === numbers.length) return visible(`[${body}]`);
    if (kept.length > 0) return visible(`[${kept.join(', ')}]`);
    dropped = true;
    return '';
  };

  const step = (ch: string): string => {
    if (marker !== '') {
      if (ch === ']') return finishMarker();
      if (/[\d, ]/.test(ch) && marker.length < MAX_MARKER) {
        marker += ch;
        return '';
      }
      // Not a marker after all: show it as text and read `ch` afresh.
      const text = marker;
      marker = '';
      return visible(text) + step(ch);
    }
    if (ch === '`') {
      ticks++;
      return visible(ch);
    }
    if (ticks > 0) closeTicks();
    if (fence || inline) return visible(ch);
    if (ch === '[') {
      marker = '[';
      return '';
    }
    if (/\s/.test(ch)) {
      if (dropped && pending !== '') return '';
      pending += ch;
      return '';
    }
    if (dropped && CLOSING_PUNCTUATION.test(ch)) pending = '';
    return visible(ch);
  };

  return {
    removed,
    push(text) {
      let out = '';
      for (const ch of text) out += step(ch);
      return out;
    },
    end() {
      // Whitespace before a removed marker at the very end is not shown.
      const out = marker !== '' ? pending + marker : dropped ? '' : pending;
      pending = '';
      marker = '';
      return out;
    },
  };
}

/** Removes invalid citations from a whole text (the filter run over one piece). */
export function filterCitations(
  text: string,
  valid: ReadonlySet<number>,
): { text: string; removed: number[] } {
  const f = createCitationFilter(valid);
  const out = f.push(text) + f.end();
  return { text: out, removed: [...f.removed] };
}

/** Sentences citing blocks with less support than this are flagged. */
export const MIN_SUPPORT = 0.5;

/** A sentence with the numbers it cites and its support (see SentenceCheck). */
export type SentenceSupport = SentenceCheck;

export interface SupportRequest {
  readonly text: string;
  /** Block number → the block's text. */
  readonly blocks: ReadonlyMap<number, string>;
  /** Inverse document frequency of an analysed term (unknown terms: the highest). */
  readonly idf: (term: string) => number;
}

const MARKER = /\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]/g;
const LEADING_MARKERS = /^(?:\s*\[\d{1,4}(?:\s*,\s*\d{1,4})*\])+/;

/** A text's distinct analysed content terms (no stop words, no compound forms). */
export function contentTerms(text: string): Set<string> {
  const out = new Set<string>();
  for (const t of analyze(text)) if (!t.stop && !t.compound && t.term.length > 1) out.add(t.term);
  return out;
}

/** Scores each sentence of a generated answer against the blocks it cites. */
export function checkSupport(request: SupportRequest): SentenceSupport[] {
  const sentences = splitSentences(request.text).map((s) => ({ ...s, cites: [] as number[] }));
  // "Foo. [1] Bar." splits as "Foo." / "[1] Bar.": the leading marker cites the sentence before.
  for (let i = 1; i < sentences.length; i++) {
    const s = sentences[i];
    const prev = sentences[i - 1];
    if (!s || !prev) continue;
    const lead = LEADING_MARKERS.exec(s.text);
    if (!lead) continue;
    for (const m of lead[0].matchAll(MARKER)) prev.cites.push(...numbers(m[1] ?? ''));
    prev.end = s.start + lead[0].length;
    s.text = s.text.slice(lead[0].length).trim();
    s.start = request.text.indexOf(s.text, s.start);
  }
  const blockTerms = new Map<number, Set<string>>();
  const termsOf = (n: number): Set<string> => {
    let t = blockTerms.get(n);
    if (!t) blockTerms.set(n, (t = contentTerms(request.blocks.get(n) ?? '')));
    return t;
  };
  const out: SentenceSupport[] = [];
  for (const s of sentences) {
    if (s.text === '') continue;
    for (const m of s.text.matchAll(MARKER)) s.cites.push(...numbers(m[1] ?? ''));
    const cites = [...new Set(s.cites)].sort((a, b) => a - b);
    const claim = contentTerms(s.text.replace(MARKER, ' '));
    const question = /\?\s*$/.test(s.text.replace(MARKER, '').trim());
    const base = { text: s.text, start: s.start, end: s.end, cites };
    if (cites.length === 0) {
      out.push({ ...base, unsupported: false, uncited: claim.size > 0 && !question });
      continue;
    }
    let total = 0;
    let found = 0;
    const cited = cites.map(termsOf);
    for (const t of claim) {
      const w = request.idf(t);
      total += w;
      if (cited.some((set) => set.has(t))) found += w;
    }
    const support = total > 0 ? found / total : 1;
    out.push({
      ...base,
      support: Math.round(support * 1000) / 1000,
      unsupported: support < MIN_SUPPORT,
      uncited: false,
    });
  }
  return out;
}

function numbers(body: string): number[] {
  return body.split(',').map((x) => Number(x.trim()));
}
