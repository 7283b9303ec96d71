/**
 * Second-stage evidence for the ranker's first-stage hits (per-chunk BM25F plus feedback):
 * - whole-document BM25F mixed into each document's best-chunk score (./document-score.ts),
 *   for every hit, so the list stays in one consistent order;
 * - a term-proximity bonus (./proximity.ts) for the best `depth` hits, read back from the
 *   store; the bonus is never negative, so those hits stay above the ones not re-read.
 * Both are deterministic: ties go to the lower chunk id, as in the first stage.
 */
import type { ChunkTable, Store } from '../store/store.js';
import type { DfrOptions } from './dfr.js';
import {
  documentChunkCount,
  documentScore,
  type CountedPostingList,
  type DocumentScoreInput,
} from './document-score.js';
import {
  proximityBonus,
  proximityFields,
  queryPairs,
  type ProximityOptions,
  occurrencesIn,
  tokenStream,
  TermIds,
  type TokenStream,
  type Occurrences,
  type ProximityTerm,
} from './proximity.js';

/** Hits given the whole-document score: past these, ranking depth costs more than it moves. */
const DOCUMENT_DEPTH = 100;

/** Candidates whose token streams are kept across queries, unless raised (see StreamCache). */
const MAX_STREAMS = 4096;

/** Distinct terms numbered for the cached streams before the numbering starts over. */
const MAX_TERM_IDS = 1_000_000;

/**
 * Chunks' token streams, kept across queries by chunk id for as long as the index does not
 * change: proximity reads them for the best hits, relevance feedback for the best few. A
 * full cache starts over. `limit` may be raised to hold every chunk of a small index
 * (warmRanking), so that no query reads a text back. `ids` numbers the streams' terms; it
 * only grows, so it starts over (and the streams with it) past MAX_TERM_IDS terms.
 */
export class StreamCache {
  readonly byChunk = new Map<number, TokenStream>();
  ids = new TermIds();
  limit = MAX_STREAMS;
}

/** Makes sure `cache` holds the streams of `ids`, reading and analysing the texts it lacks. */
export async function readStreams(store: Store, cache: StreamCache, ids: readonly number[]): Promise<void> {
  if (cache.ids.size > MAX_TERM_IDS) {
    // A stream keeps the numbering it was built with, so one still in use stays valid.
    cache.byChunk.clear();
    cache.ids = new TermIds();
  }
  const unread = ids.filter((id) => !cache.byChunk.has(id));
  if (unread.length === 0) return;
  const rows = await store.getChunksWithDocuments(unread);
  if (cache.byChunk.size + rows.length > cache.limit) startOver(cache.byChunk, ids);
  for (const row of rows) cache.byChunk.set(row.chunk.id, tokenStream(proximityFields(row), cache.ids));
}

/**
 * Empties a full per-chunk cache but for the entries of `ids`, which the caller is about to
 * read: emptying it all would leave some of them missing, and change that query's ranking.
 */
export function startOver<V>(cache: Map<number, V>, ids: readonly number[]): void {
  const kept: [number, V][] = [];
  for (const id of ids) {
    const v = cache.get(id);
    if (v !== undefined) kept.push([id, v]);
  }
  cache.clear();
  for (const [id, v] of kept) cache.set(id, v);
}

/**
 * What one query's second stages share: the candidates' occurrences of its terms, the
 * query's pairs of neighbouring terms (worked out by the first), and the streams.
 */
export interface RerankMemo {
  readonly occurrences: Map<number, Occurrences>;
  pairs: Set<number> | undefined;
  readonly streams: StreamCache;
}

export function rerankMemo(streams: StreamCache = new StreamCache()): RerankMemo {
  return { occurrences: new Map(), pairs: undefined, streams };
}

export interface RerankInput {
  readonly query: string;
  /** The query's own terms (before feedback) with their weights and idf, for proximity. */
  readonly queryTerms: readonly ProximityTerm[];
  /** Every scored term (after feedback) with its weight, for the document score. */
  readonly scoredTerms: readonly { readonly term: string; readonly weight: number }[];
  readonly table: ChunkTable;
  /** Mean length of each index field over all chunks. */
  readonly avgLengths: ArrayLike<number>;
  readonly postings: ReadonlyMap<string, CountedPostingList>;
  readonly k1: number;
  /** BM25's b over a whole text (proximity). */
  readonly b: number;
  /** Each field's b in INDEX_FIELDS order (document score). */
  readonly fieldB: readonly number[];
  /** Field weights in INDEX_FIELDS order. */
  readonly fieldWeights: readonly number[];
  /** In_expB2 added to BM25F in the document score, or false. */
  readonly dfr: DfrOptions | false;
  /** Hits are documents' best chunks (the document score applies only then). */
  readonly perDocument: boolean;
  /** Weight of the whole-document score against the best chunk's (0 = off). */
  readonly documentWeight: number;
  readonly proximity: ProximityOptions | false;
  /** Hits given the proximity bonus. */
  readonly depth: number;
}

interface Hit {
  readonly chunkId: number;
  readonly documentId: number;
  readonly score: number;
}

const byScore = (a: Hit, b: Hit): number => b.score - a.score || a.chunkId - b.chunkId;

/**
 * Sorts `hits[0 .. n − 1]` in place by score (ties to the lower chunk id). Insertion sort:
 * a re-scored head is short and mostly in order already.
 */
function sortHead(hits: Hit[], n: number): void {
  for (let i = 1; i < n; i++) {
    const h = hits[i];
    if (!h) continue;
    let j = i - 1;
    for (; j >= 0; j--) {
      const prev = hits[j];
      if (!prev || byScore(prev, h) <= 0) break;
      hits[j + 1] = prev;
    }
    hits[j + 1] = h;
  }
}

/** The hits re-scored and re-sorted (see the module comment). */
export async function rerank<T extends Hit>(
  store: Store,
  hits: readonly T[],
  input: RerankInput,
  memo: RerankMemo = rerankMemo(),
): Promise<T[]> {
  const out = hits.slice();
  const mu = input.documentWeight;
  if (input.perDocument && mu > 0) {
    const scoring: DocumentScoreInput = { ...input, terms: input.scoredTerms };
    // A one-chunk document's score is its chunk's score: only longer documents move. Only
    // the best DOCUMENT_DEPTH are re-scored and stay above the rest, in their first order.
    const n = Math.min(DOCUMENT_DEPTH, out.length);
    for (let i = 0; i < n; i++) {
      const h = out[i];
      if (h && documentChunkCount(input.table, h.documentId) > 1)
        out[i] = { ...h, score: (1 - mu) * h.score + mu * documentScore(scoring, h.documentId) };
    }
    sortHead(out, n);
  }
  const proximity = input.proximity;
  if (proximity && proximity.weight > 0 && input.depth > 0 && out.length > 0) {
    const pairs = (memo.pairs ??= queryPairs(input.query, input.queryTerms));
    if (pairs.size === 0) return out;
    const n = Math.min(input.depth, out.length);
    const head = out.slice(0, n);
    await readStreams(
      store,
      memo.streams,
      head.map((h) => h.chunkId),
    );
    for (const h of head) {
      const stream = memo.streams.byChunk.get(h.chunkId);
      if (stream && !memo.occurrences.has(h.chunkId))
        memo.occurrences.set(h.chunkId, occurrencesIn(stream, input.queryTerms));
    }
    const [title = 0, heading = 0, body = 0] = Array.from(input.avgLengths);
    const query = {
      terms: input.queryTerms,
      pairs,
      k1: input.k1,
      b: input.b,
      averageLength: title + heading + body,
    };
    head.forEach((h, i) => {
      const found = memo.occurrences.get(h.chunkId);
      const bonus = found ? proximityBonus(found, query, proximity) : 0;
      if (bonus > 0) out[i] = { ...h, score: h.score + proximity.weight * bonus };
    });
    sortHead(out, n);
  }
  return out;
}
