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
import { analyze, RAW_TOKEN } from '../text/analyze.js';

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
 * The pairs of `terms` (by index) that are neighbours among the query's content words;
 * a stop word between them does not separate them, a word that is not in `terms` does.
 */
export function queryPairs(query: string, terms: readonly ProximityTerm[]): Set<number> {
  const index = new Map(terms.map((t, i) => [t.term, i]));
  const pairs = new Set<number>();
  let previous = -1;
  let previousPosition = -1;
  for (const t of analyze(query)) {
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

/** A raw token's analysed length and the query terms it yields; see proximityBonus. */
export type TokenCache = Map<string, { readonly terms: readonly number[]; readonly length: number }>;

/**
 * The proximity bonus of one text given its fields (title, heading, body). `tokens` caches
 * each distinct raw token's analysis across calls for one query.
 */
export function proximityBonus(
  fields: readonly string[],
  query: ProximityQuery,
  options: ProximityOptions,
  tokens: TokenCache = new Map(),
): number {
  const { terms, pairs } = query;
  if (pairs.size === 0) return 0;
  const index = new Map(terms.map((t, i) => [t.term, i]));
  const acc = new Float64Array(terms.length);
  let length = 0;
  let last = -1;
  let lastPosition = 0;
  fields.forEach((text, f) => {
    let position = f * FIELD_GAP;
    // analyze() works one raw token at a time, so analysing each distinct token once
    // yields the same terms and positions at a fraction of the cost.
    for (const match of text.matchAll(RAW_TOKEN)) {
      const raw = match[0];
      let token = tokens.get(raw);
      if (!token) {
        const analysed = analyze(raw);
        const found = new Set<number>();
        for (const t of analysed) {
          const i = index.get(t.term);
          if (i !== undefined) found.add(i);
        }
        token = { terms: [...found], length: analysed.length };
        tokens.set(raw, token);
      }
      length += token.length;
      for (const i of token.terms) {
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
      position++;
    }
  });
  const { k1, b, averageLength } = query;
  const k = k1 * (1 - b + (averageLength > 0 ? (b * length) / averageLength : 0));
  let bonus = 0;
  terms.forEach((t, i) => {
    const a = acc[i] ?? 0;
    if (a > 0) bonus += (t.weight * Math.min(1, t.idf) * (k1 + 1) * a) / (a + k);
  });
  return bonus;
}

/** The texts proximity is measured in: title, heading path, body. */
export function proximityFields({ chunk, document }: ChunkWithDocument): string[] {
  return [document.title, chunk.headingPath.join(' '), chunk.text];
}
