/**
 * Term-proximity bonus for the ranker's best candidates (BM25TP).
 *
 * BM25 scores each query term on its own, so a chunk that says "heat transfer" scores the
 * same as one that mentions "heat" in its first sentence and "transfer" in its last. Here
 * the best candidates are read back and their words matched again (the index keeps no
 * positions the ranker can read cheaply), and each gets a bonus for query terms that stand
 * close together (Rasolofo & Savoy, ECIR 2003, in the form of Büttcher, Clarke & Lushman,
 * SIGIR 2006):
 *   walking the query-term occurrences of a field in order, each pair of consecutive
 *   occurrences of different terms t, u at distance d ≤ window adds idf(u) / d² to acc(t)
 *   and idf(t) / d² to acc(u);
 *   bonus(c) = Σ_t q_t · min(1, idf(t)) · (k1 + 1) · acc(t) / (acc(t) + K),
 *   K = k1 · (1 − b + b · len(c) / avglen).
 * Only pairs of terms that are neighbours in the query count (as in the sequential
 * dependence model, Metzler & Croft, SIGIR 2005): in a long, wordy request any two of its
 * words are often near each other in on-topic and off-topic text alike, and counting every
 * pair cost CISI 0.02 nDCG@10 (bench/README.md).
 */
import type { ChunkWithDocument } from '../store/store.js';
import { analyze, MEMO_LIMIT, memoised, RAW_TOKEN, type Term } from '../text/analyze.js';

/** BM25TP settings. */
export interface ProximityOptions {
  /** Occurrences further apart than this many words are not a pair. */
  readonly window: number;
  /** Scale of the bonus against the BM25F score (0 = off). */
  readonly weight: number;
}

/** A query term as the proximity bonus sees it. */
export interface ProximityTerm {
  readonly term: string;
  /** Query weight (the query's weights sum to 1). */
  readonly weight: number;
  readonly idf: number;
}

/** The query's terms, which pairs of them count, and the BM25 length normalisation. */
export interface ProximityQuery {
  readonly terms: readonly ProximityTerm[];
  /** Pairs of term indices that count, as `i * PAIR_KEY + j` (both orders); see queryPairs. */
  readonly pairs: ReadonlySet<number>;
  readonly k1: number;
  readonly b: number;
  /** Mean analysed length of a chunk over the fields proximity reads. */
  readonly averageLength: number;
}

const PAIR_KEY = 1 << 16;

/** Occurrences in different fields are never near each other. */
const FIELD_GAP = 1_000_000;

/**
 * The pairs of `terms` (by index) that are neighbours among the query's content words (the
 * query as `analyze` gives it); a stop word between them does not separate them, a word
 * that is not in `terms` does.
 */
export function queryPairs(query: readonly Term[], terms: readonly ProximityTerm[]): Set<number> {
  const index = new Map(terms.map((t, i) => [t.term, i]));
  const pairs = new Set<number>();
  let previous = -1;
  let previousPosition = -1;
  for (const t of query) {
    if (t.stop || t.compound) continue;
    const i = index.get(t.term);
    if (i === undefined) {
      previous = -1;
      continue;
    }
    if (previous >= 0 && previous !== i && t.position !== previousPosition) {
      pairs.add(previous * PAIR_KEY + i);
      pairs.add(i * PAIR_KEY + previous);
    }
    previous = i;
    previousPosition = t.position;
  }
  return pairs;
}

/**
 * A raw token's analysed terms (distinct), the terms relevance feedback counts (content
 * words: no stop words, no compound wholes, starting with a letter; as often as analysis
 * gives them), and its length (how many terms the index counts for it).
 */
export interface AnalysedToken {
  readonly terms: readonly string[];
  readonly feedback: readonly string[];
  readonly length: number;
}

/** Feedback terms must start with a letter (no citation numbers or years) and be short. */
const FEEDBACK_TERM = /^[a-z][a-z0-9]{1,19}$/;

/**
 * A raw token analysed (pure, so kept: see memoised). Candidates' texts share most of their
 * words, so after the first queries almost every token is a hit. Snippets (./snippet.ts)
 * look their tokens up here too.
 */
export const analyseToken = memoised(MEMO_LIMIT, (raw): AnalysedToken => {
  const analysed = analyze(raw);
  return {
    terms: [...new Set(analysed.map((t) => t.term))],
    feedback: analysed.filter((t) => !t.stop && !t.compound && FEEDBACK_TERM.test(t.term)).map((t) => t.term),
    length: analysed.length,
  };
});

/**
 * Analysed terms numbered, so that a token stream holds integers and finding a query's
 * terms in it is one array read a word rather than a string lookup (once per chunk when
 * the stream is built, not once per query).
 */
export class TermIds {
  private readonly ids = new Map<string, number>();
  readonly terms: string[] = [];
  /** Scratch by term number, all zero between calls (proximityBonus, feedbackCounts). */
  private scratch = new Int32Array(1024);
  /** Scratch weights by term number, all zero between calls (the ranker's feedback terms). */
  private scratchWeights = new Float64Array(1024);
  /** Scratch for a list of distinct term numbers (the ranker's feedback terms). */
  private scratchList = new Int32Array(1024);

  /** The scratch array, grown to hold every term numbered so far. */
  get marks(): Int32Array {
    if (this.scratch.length < this.terms.length)
      this.scratch = new Int32Array(Math.max(this.terms.length, 2 * this.scratch.length));
    return this.scratch;
  }

  /** The scratch weights, grown to hold every term numbered so far. */
  get weights(): Float64Array {
    if (this.scratchWeights.length < this.terms.length)
      this.scratchWeights = new Float64Array(Math.max(this.terms.length, 2 * this.scratchWeights.length));
    return this.scratchWeights;
  }

  /** The scratch list, grown to hold every term numbered so far. */
  get list(): Int32Array {
    if (this.scratchList.length < this.terms.length)
      this.scratchList = new Int32Array(Math.max(this.terms.length, 2 * this.scratchList.length));
    return this.scratchList;
  }

  /** The term's number, given one if it has none. */
  idOf(term: string): number {
    let id = this.ids.get(term);
    if (id === undefined) {
      id = this.terms.length;
      this.ids.set(term, id);
      this.terms.push(term);
    }
    return id;
  }

  /** The term's number, if any stream holds it. */
  find(term: string): number | undefined {
    return this.ids.get(term);
  }

  get size(): number {
    return this.terms.length;
  }
}

/**
 * A text's words as proximity and feedback read them, independent of any query: each raw
 * token's distinct analysed terms with the token's position (fields FIELD_GAP apart), and
 * the feedback terms, all numbered by `ids`. Worth keeping per chunk: the same candidates
 * come back across queries.
 */
export interface TokenStream {
  readonly ids: TermIds;
  /** Term numbers, each raw token's distinct terms in turn. */
  readonly terms: Int32Array;
  /** The position of the raw token each entry of `terms` comes from. */
  readonly positions: Uint32Array;
  /** The feedback terms' numbers, as often as analysis gives them. */
  readonly feedback: Int32Array;
  /** The text's analysed length (all terms, as the index counts them). */
  readonly length: number;
}

export function tokenStream(fields: readonly string[], ids: TermIds = new TermIds()): TokenStream {
  const terms: number[] = [];
  const positions: number[] = [];
  const feedback: number[] = [];
  let length = 0;
  const rawToken = new RegExp(RAW_TOKEN.source, RAW_TOKEN.flags);
  fields.forEach((text, f) => {
    let position = f * FIELD_GAP;
    for (let match = rawToken.exec(text); match !== null; match = rawToken.exec(text)) {
      const token = analyseToken(match[0]);
      length += token.length;
      for (const term of token.terms) {
        terms.push(ids.idOf(term));
        positions.push(position);
      }
      for (const term of token.feedback) feedback.push(ids.idOf(term));
      position++;
    }
  });
  return {
    ids,
    terms: Int32Array.from(terms),
    positions: Uint32Array.from(positions),
    feedback: Int32Array.from(feedback),
    length,
  };
}

/**
 * Calls `each` with the number (in `stream.ids`) of every feedback term of a token stream's
 * text and its count, in order of first occurrence (the same counts as analysing the text
 * again). Their total is `stream.feedback.length`.
 */
export function feedbackCounts(stream: TokenStream, each: (id: number, count: number) => void): void {
  const { ids, feedback } = stream;
  // marks is all zero outside a call: count in it, then zero it again.
  const { marks } = ids;
  for (const id of feedback) marks[id] = (marks[id] ?? 0) + 1;
  // In order of first occurrence: a term is told when first met again, and its mark zeroed.
  for (const id of feedback) {
    const count = marks[id] ?? 0;
    if (count === 0) continue;
    each(id, count);
    marks[id] = 0;
  }
}

/** Per-term scratch for proximityBonus (synchronous, so one array serves every call). */
let ACC = new Float64Array(64);

/**
 * The proximity bonus of one text, walking its token stream: each entry that is one of the
 * query's terms is an occurrence, paired with the occurrence before it. Nothing is
 * allocated (the stream's scratch marks the query's terms, and is zeroed again).
 */
export function proximityBonus(
  stream: TokenStream,
  query: ProximityQuery,
  options: ProximityOptions,
): number {
  const { terms, pairs } = query;
  if (pairs.size === 0) return 0;
  const { ids } = stream;
  const marks = ids.marks;
  // marks[id] = query index + 1 for the query's terms (the first index of a repeated one).
  for (let i = 0; i < terms.length; i++) {
    const id = ids.find(terms[i]?.term ?? '');
    if (id !== undefined && marks[id] === 0) marks[id] = i + 1;
  }
  if (ACC.length < terms.length) ACC = new Float64Array(2 * terms.length);
  const acc = ACC.fill(0, 0, terms.length);
  const { terms: streamTerms, positions } = stream;
  let last = -1;
  let lastPosition = 0;
  for (let n = 0; n < streamTerms.length; n++) {
    const i = (marks[streamTerms[n] ?? 0] ?? 0) - 1;
    if (i < 0) continue;
    const position = positions[n] ?? 0;
    if (last >= 0 && last !== i && pairs.has(last * PAIR_KEY + i)) {
      // Parts of one compound share a position: count them as neighbours.
      const d = Math.max(1, position - lastPosition);
      if (d <= options.window) {
        acc[i] = (acc[i] ?? 0) + (terms[last]?.idf ?? 0) / (d * d);
        acc[last] = (acc[last] ?? 0) + (terms[i]?.idf ?? 0) / (d * d);
      }
    }
    last = i;
    lastPosition = position;
  }
  for (const t of terms) {
    const id = ids.find(t.term);
    if (id !== undefined) marks[id] = 0;
  }
  const { k1, b, averageLength } = query;
  const k = k1 * (1 - b + (averageLength > 0 ? (b * stream.length) / averageLength : 0));
  let bonus = 0;
  for (let i = 0; i < terms.length; i++) {
    const a = acc[i] ?? 0;
    const t = terms[i];
    if (a > 0 && t) bonus += (t.weight * Math.min(1, t.idf) * (k1 + 1) * a) / (a + k);
  }
  return bonus;
}

/** The texts proximity is measured in: title, heading path, body. */
export function proximityFields({ chunk, document }: ChunkWithDocument): string[] {
  return [document.title, chunk.headingPath.join(' '), chunk.text];
}
