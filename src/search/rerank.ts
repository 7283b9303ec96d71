/**
 * Second-stage evidence for the ranker's first-stage hits (per-chunk BM25F plus feedback):
 * - whole-document BM25F mixed into each document's best-chunk score (./document-score.ts),
 *   for every hit, so the list stays in one consistent order;
 * - a term-proximity bonus (./proximity.ts) for the best `depth` hits, read back from the
 *   store; the bonus is never negative, so those hits stay above the ones not re-read.
 * Both are deterministic: ties go to the lower chunk id, as in the first stage.
 */
import type { ChunkTable, Store } from '../store/store.js';
import type { Term } from '../text/analyze.js';
import type { HitList } from './hit-list.js';
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
  tokenStream,
  TermIds,
  type TokenStream,
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
 * What one query's second stages share: the query's pairs of neighbouring terms (worked out
 * by the first) and the streams.
 */
export interface RerankMemo {
  pairs: Set<number> | undefined;
  readonly streams: StreamCache;
}

export function rerankMemo(streams: StreamCache = new StreamCache()): RerankMemo {
  return { pairs: undefined, streams };
}

export interface RerankInput {
  /** The query's text analysed (for its pairs of neighbouring terms). */
  readonly query: readonly Term[];
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

/** Whether hit `a` ranks below hit `b`: a lower score, or the same and a higher chunk id. */
function below(hits: HitList, a: number, b: number): boolean {
  const sa = hits.scores[a] ?? 0;
  const sb = hits.scores[b] ?? 0;
  return sa < sb || (sa === sb && (hits.chunkIds[a] ?? 0) > (hits.chunkIds[b] ?? 0));
}

/**
 * Sorts the first `n` hits in place by score (ties to the lower chunk id). Insertion sort:
 * a re-scored head is short and mostly in order already.
 */
function sortHead(hits: HitList, n: number): void {
  for (let i = 1; i < n; i++) {
    if (!below(hits, i - 1, i)) continue;
    const chunkId = hits.chunkIds[i] ?? 0;
    const documentId = hits.documentIds[i] ?? 0;
    const score = hits.scores[i] ?? 0;
    let j = i - 1;
    for (; j >= 0; j--) {
      const s = hits.scores[j] ?? 0;
      if (s > score || (s === score && (hits.chunkIds[j] ?? 0) < chunkId)) break;
      hits.move(j, j + 1);
    }
    hits.chunkIds[j + 1] = chunkId;
    hits.documentIds[j + 1] = documentId;
    hits.scores[j + 1] = score;
  }
}

/** Re-scores and re-sorts the hits in place (see the module comment). */
export async function rerank(
  store: Store,
  hits: HitList,
  input: RerankInput,
  memo: RerankMemo = rerankMemo(),
): Promise<void> {
  const mu = input.documentWeight;
  if (input.perDocument && mu > 0) {
    const scoring: DocumentScoreInput = { ...input, terms: input.scoredTerms };
    // A one-chunk document's score is its chunk's score: only longer documents move. Only
    // the best DOCUMENT_DEPTH are re-scored and stay above the rest, in their first order.
    const n = Math.min(DOCUMENT_DEPTH, hits.length);
    for (let i = 0; i < n; i++) {
      const doc = hits.documentIds[i] ?? 0;
      if (documentChunkCount(input.table, doc) > 1)
        hits.scores[i] = (1 - mu) * (hits.scores[i] ?? 0) + mu * documentScore(scoring, doc);
    }
    sortHead(hits, n);
  }
  const proximity = input.proximity;
  if (proximity && proximity.weight > 0 && input.depth > 0 && hits.length > 0) {
    const pairs = (memo.pairs ??= queryPairs(input.query, input.queryTerms));
    if (pairs.size === 0) return;
    const n = Math.min(input.depth, hits.length);
    const head = Array.from(hits.chunkIds.subarray(0, n));
    await readStreams(store, memo.streams, head);
    const [title = 0, heading = 0, body = 0] = Array.from(input.avgLengths);
    const query = {
      terms: input.queryTerms,
      pairs,
      k1: input.k1,
      b: input.b,
      averageLength: title + heading + body,
    };
    // The hits were not reordered while the streams were read: `head` is still theirs. A
    // chunk deleted meanwhile has no stream, and no bonus.
    head.forEach((chunkId, i) => {
      const stream = memo.streams.byChunk.get(chunkId);
      const bonus = stream ? proximityBonus(stream, query, proximity) : 0;
      if (bonus > 0) hits.scores[i] = (hits.scores[i] ?? 0) + proximity.weight * bonus;
    });
    sortHead(hits, n);
  }
}
