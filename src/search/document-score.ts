/**
 * Whole-document evidence for documents split into several chunks.
 *
 * The ranker scores chunks, and a document ranks by its best chunk: a long abstract cut in
 * two loses the query terms that fell into its other half. Callan (SIGIR 1994, "Passage-level
 * evidence in document retrieval") found that mixing the best passage's score with the
 * whole document's score beats either alone. Here the document score is BM25F over the
 * document taken as one unit: title and tags (repeated in every chunk) counted once,
 * heading and body occurrences and lengths summed over the chunks, normalised with the
 * chunk-level average lengths. A one-chunk document therefore scores exactly its chunk's
 * score, and only multi-chunk documents move. With `dfr`, each term's In_expB2 weight
 * (./dfr.ts) over the same summed counts and lengths is added, as the chunk scores add it.
 */
import type { ChunkTable, PostingList } from '../store/store.js';
import { FIELD_COUNT } from '../store/store.js';
import { activeDfr, inExpB2, normalisedTf, weightedOccurrences, type DfrOptions } from './dfr.js';

/** Fields whose text every chunk of a document repeats (title, tags): counted once. */
const REPEATED_FIELD = [true, false, false, true] as const;

/**
 * Every document's chunk ids (ascending), built once per chunk table: document d's are
 * `ids[start[d] .. start[d + 1] - 1]` (two typed arrays rather than an array per document:
 * at a million documents, 8 MB instead of tens).
 */
interface DocumentChunks {
  readonly start: Uint32Array;
  readonly ids: Uint32Array;
}

const CHUNKS_BY_DOCUMENT = new WeakMap<ChunkTable, DocumentChunks>();

function chunksByDocument(table: ChunkTable): DocumentChunks {
  const cached = CHUNKS_BY_DOCUMENT.get(table);
  if (cached) return cached;
  let maxDoc = 0;
  for (const doc of table.documentId) if (doc > maxDoc) maxDoc = doc;
  const start = new Uint32Array(maxDoc + 2);
  for (const doc of table.documentId) if (doc !== 0) start[doc + 1] = (start[doc + 1] ?? 0) + 1;
  for (let d = 1; d < start.length; d++) start[d] = (start[d] ?? 0) + (start[d - 1] ?? 0);
  const ids = new Uint32Array(start[maxDoc + 1] ?? 0);
  const next = start.slice(0, maxDoc + 1);
  for (let id = 0; id < table.size; id++) {
    const doc = table.documentId[id] ?? 0;
    if (doc === 0) continue;
    ids[next[doc] ?? 0] = id;
    next[doc] = (next[doc] ?? 0) + 1;
  }
  const out = { start, ids };
  CHUNKS_BY_DOCUMENT.set(table, out);
  return out;
}

/**
 * Where document `documentId`'s chunk ids (ascending) are in `ids`: from `first` up to
 * `end` (empty for a document the table lacks). Indexes, not a subarray: a view object a
 * call was 2 KB of garbage a query.
 */
function documentChunks(
  table: ChunkTable,
  documentId: number,
): { ids: Uint32Array; first: number; end: number } {
  const { start, ids } = chunksByDocument(table);
  if (documentId <= 0 || documentId + 1 >= start.length) return { ids, first: 0, end: 0 };
  return { ids, first: start[documentId] ?? 0, end: start[documentId + 1] ?? 0 };
}

/** The first index at or after `from` of the ascending `ids` whose id is at least `id`. */
function lowerBound(ids: Uint32Array, id: number, from: number): number {
  let lo = from;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] ?? 0) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A posting list, with its weighted occurrences in all chunks when the caller has them. */
export interface CountedPostingList extends PostingList {
  /** Σ over postings of Σ_f w_f · tf_f for the same field weights (computed when absent). */
  readonly occurrences?: number;
}

export interface DocumentScoreInput {
  readonly table: ChunkTable;
  /** Mean length of each field over all chunks. */
  readonly avgLengths: ArrayLike<number>;
  readonly postings: ReadonlyMap<string, CountedPostingList>;
  readonly terms: readonly { readonly term: string; readonly weight: number }[];
  readonly k1: number;
  /** Each field's b, in INDEX_FIELDS order. */
  readonly fieldB: readonly number[];
  readonly fieldWeights: readonly number[];
  /** In_expB2 added to BM25F (as in the chunk scores), or false. */
  readonly dfr: DfrOptions | false;
}

/** Scratch per field for documentScore (synchronous, so one set serves every call). */
const LENGTHS = new Float64Array(FIELD_COUNT);
const NORM = new Float64Array(FIELD_COUNT);
const TF = new Float64Array(FIELD_COUNT);

/**
 * BM25F of the whole document `documentId`, scored as one unit (see the module comment).
 * The idf is the chunk-level idf the chunk scores use.
 */
export function documentScore(input: DocumentScoreInput, documentId: number): number {
  const { table, avgLengths, postings, terms, k1, fieldB, fieldWeights } = input;
  const dfr = activeDfr(input.dfr);
  const { ids: chunkIds, first, end } = documentChunks(table, documentId);
  if (first >= end) return 0;
  const lengths = LENGTHS.fill(0);
  for (let n = first; n < end; n++) {
    const id = chunkIds[n] ?? 0;
    for (let f = 0; f < FIELD_COUNT; f++)
      if (n === first || !REPEATED_FIELD[f])
        lengths[f] = (lengths[f] ?? 0) + (table.fieldLengths[id * FIELD_COUNT + f] ?? 0);
  }
  const norm = NORM;
  for (let f = 0; f < FIELD_COUNT; f++) {
    const avg = avgLengths[f] ?? 0;
    const b = fieldB[f] ?? 0;
    norm[f] = avg === 0 ? 0 : 1 / (1 - b + (b * (lengths[f] ?? 0)) / avg);
  }
  const n = table.chunkCount;
  let score = 0;
  const tf = TF;
  for (const { term, weight } of terms) {
    const list = postings.get(term);
    if (!list || list.chunkIds.length === 0) continue;
    tf.fill(0);
    // The document's chunks ascend, so each search starts where the last one ended.
    let from = 0;
    for (let n = first; n < end; n++) {
      const id = chunkIds[n] ?? 0;
      const at = lowerBound(list.chunkIds, id, from);
      if (at >= list.chunkIds.length) break;
      from = at;
      if (list.chunkIds[at] !== id) continue;
      for (let f = 0; f < FIELD_COUNT; f++) {
        const count = list.fieldTf[at * FIELD_COUNT + f] ?? 0;
        tf[f] = REPEATED_FIELD[f] ? Math.max(tf[f] ?? 0, count) : (tf[f] ?? 0) + count;
      }
    }
    let weighted = 0;
    for (let f = 0; f < FIELD_COUNT; f++) weighted += (fieldWeights[f] ?? 0) * (tf[f] ?? 0) * (norm[f] ?? 0);
    if (weighted <= 0) continue;
    const df = list.chunkIds.length;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    score += (weight * idf * (k1 + 1) * weighted) / (k1 + weighted);
    if (dfr) {
      const occurrences = list.occurrences ?? weightedOccurrences(list.fieldTf, fieldWeights);
      const tfn = normalisedTf(tf, lengths, avgLengths, fieldWeights, dfr.c);
      score += weight * dfr.weight * inExpB2(tfn, df, occurrences, n);
    }
  }
  return score;
}

/** How many chunks document `documentId` has. */
export function documentChunkCount(table: ChunkTable, documentId: number): number {
  const { start } = chunksByDocument(table);
  if (documentId <= 0 || documentId + 1 >= start.length) return 0;
  return (start[documentId + 1] ?? 0) - (start[documentId] ?? 0);
}
