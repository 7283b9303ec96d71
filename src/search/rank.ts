/**
 * The ranker under `search()`: BM25F over the weighted index fields, scored in memory from
 * the store's posting lists, with optional pseudo-relevance feedback (RM3).
 *
 * Why not FTS5's own `bm25()`: it fixes k1 = 1.2 and b = 0.75, normalises each field on its
 * own, and re-reads every posting on every query. Here posting lists and per-chunk field
 * lengths are loaded once per index version (Store.indexVersion) and kept in memory, so a
 * query is a pass over typed arrays; the cache empties itself when the index changes.
 *
 * Scoring (BM25F, Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework", §3.6):
 *   tf~(t, c) = Σ_f w_f · tf_f(t, c) / (1 − b + b · len_f(c) / avglen_f)
 *   score(c)  = Σ_t q_t · idf(t) · tf~ / (k1 + tf~),   idf = ln(1 + (N − df + 0.5) / (df + 0.5))
 * RM3 (Lavrenko & Croft 2001; Abdul-Jaleel et al., TREC 2004): the top documents' term
 * distributions, weighted by their scores, give expansion terms mixed with the query.
 */
import type { ChunkTable, DocumentFilter, FieldWeights, PostingList, Store } from '../store/store.js';
import { FIELD_COUNT } from '../store/store.js';
import { analyze, analyzeQuery, type QueryTerm } from '../text/analyze.js';
import type { ProximityOptions } from './proximity.js';
import { rerank, rerankMemo } from './rerank.js';

/** RM3 settings. */
export interface FeedbackOptions {
  /** Top documents read for expansion terms. */
  readonly docs: number;
  /** Expansion terms kept. */
  readonly terms: number;
  /** Weight of the original query in the mix (the rest goes to expansion terms). */
  readonly originalWeight: number;
}

export interface RankOptions {
  readonly k1: number;
  readonly b: number;
  readonly fieldWeights: FieldWeights;
  /** Pseudo-relevance feedback, or false for none. */
  readonly feedback: FeedbackOptions | false;
  /** Queries with more distinct terms keep the rarest this many. */
  readonly maxTerms: number;
  /**
   * Terms found in more than this share of all chunks are not scored (query pruning: their
   * idf is low and their posting lists are the longest). A query made only of such terms
   * keeps its rarest one. 1 = no pruning.
   */
  readonly maxChunkShare: number;
  /** The same bound for feedback expansion terms (usually tighter: they are only hints). */
  readonly maxExpansionShare: number;
  /**
   * Per-document ranking: a document scores its best chunk plus this share of its other
   * matching chunks' scores (0 = best chunk only).
   */
  readonly otherChunksWeight: number;
  /** Term-proximity bonus for the best `rerankDepth` hits (./proximity.ts), or false for none. */
  readonly proximity: ProximityOptions | false;
  /**
   * Per-document ranking: each document's score is (1 − this) · its best chunk's score +
   * this · BM25F of the whole document (./document-score.ts); 0 = best chunk only.
   */
  readonly documentWeight: number;
  /** Hits read back for the proximity bonus (the first stage ranks at least this many). */
  readonly rerankDepth: number;
}

/** Defaults chosen on the four public test collections (see bench/README.md). */
export const DEFAULT_RANK_OPTIONS: RankOptions = {
  k1: 2,
  b: 0.6,
  fieldWeights: { title: 3, heading: 2, body: 1, tags: 1.5 },
  feedback: { docs: 3, terms: 20, originalWeight: 0.8 },
  maxTerms: 32,
  maxChunkShare: 1,
  maxExpansionShare: 1,
  otherChunksWeight: 0,
  proximity: { window: 5, weight: 0.3 },
  documentWeight: 0.5,
  rerankDepth: 15,
};

export interface RankRequest {
  /** The query text (validated by the caller). */
  readonly query: string;
  /** Knowledge bases to search; empty = all. */
  readonly kbIds: readonly number[];
  readonly filter?: DocumentFilter;
  readonly limit: number;
  /** Keep only the best chunk of each document (default true). */
  readonly perDocument?: boolean;
  /** Overrides of DEFAULT_RANK_OPTIONS (evaluation and tuning). */
  readonly options?: Partial<RankOptions>;
}

export interface RankedChunk {
  readonly chunkId: number;
  readonly documentId: number;
  /** Higher is better; comparable only within one result list. */
  readonly score: number;
}

export interface RankResult {
  /** The analysed query terms that were scored (after pruning). */
  readonly terms: readonly string[];
  /** Expansion terms added by feedback, with their weights. */
  readonly expansion: readonly { term: string; weight: number }[];
  readonly hits: readonly RankedChunk[];
  /** Chunks that matched at least one scored term. */
  readonly candidates: number;
}

/** Cached postings beyond this many entries are dropped (about 6 bytes each per field set). */
const MAX_CACHED_POSTINGS = 24_000_000;

interface IndexCache {
  readonly version: string;
  readonly table: ChunkTable;
  /** Length normaliser per chunk and field, computed for one `b`. */
  norms: Float32Array;
  normsB: number;
  readonly avgLengths: Float64Array;
  readonly postings: Map<string, PostingList>;
  cachedPostings: number;
  /** Scratch score accumulators, indexed by chunk id / document id, kept zeroed between queries. */
  readonly scores: Float64Array;
  docScores: Float64Array;
  docSums: Float64Array;
  docChunk: Uint32Array;
}

const CACHES = new WeakMap<Store, IndexCache>();

async function indexCache(store: Store): Promise<IndexCache> {
  const version = await store.indexVersion();
  const cached = CACHES.get(store);
  if (cached?.version === version) return cached;
  const table = await store.chunkTable();
  const totals = new Float64Array(FIELD_COUNT);
  let maxDoc = 0;
  for (let id = 0; id < table.size; id++) {
    const doc = table.documentId[id] ?? 0;
    if (doc === 0) continue;
    if (doc > maxDoc) maxDoc = doc;
    for (let f = 0; f < FIELD_COUNT; f++)
      totals[f] = (totals[f] ?? 0) + (table.fieldLengths[id * FIELD_COUNT + f] ?? 0);
  }
  const avgLengths = totals.map((t) => (table.chunkCount > 0 ? t / table.chunkCount : 0));
  const cache: IndexCache = {
    version,
    table,
    norms: new Float32Array(0),
    normsB: Number.NaN,
    avgLengths,
    postings: new Map(),
    cachedPostings: 0,
    scores: new Float64Array(table.size),
    docScores: new Float64Array(maxDoc + 1),
    docSums: new Float64Array(maxDoc + 1),
    docChunk: new Uint32Array(maxDoc + 1),
  };
  CACHES.set(store, cache);
  return cache;
}

/** 1 / (1 − b + b · len / avglen) per chunk and field, for the requested b. */
function norms(cache: IndexCache, b: number): Float32Array {
  if (cache.normsB === b) return cache.norms;
  const { table, avgLengths } = cache;
  const out = new Float32Array(table.size * FIELD_COUNT);
  for (let id = 0; id < table.size; id++)
    for (let f = 0; f < FIELD_COUNT; f++) {
      const avg = avgLengths[f] ?? 0;
      if (avg === 0) continue;
      const len = table.fieldLengths[id * FIELD_COUNT + f] ?? 0;
      out[id * FIELD_COUNT + f] = 1 / (1 - b + (b * len) / avg);
    }
  cache.norms = out;
  cache.normsB = b;
  return out;
}

async function loadPostings(store: Store, cache: IndexCache, terms: readonly string[]): Promise<void> {
  const missing = terms.filter((t) => !cache.postings.has(t));
  if (missing.length === 0) return;
  const loaded = await store.postings(missing);
  for (const [term, list] of loaded) {
    if (cache.cachedPostings + list.chunkIds.length > MAX_CACHED_POSTINGS) {
      cache.postings.clear();
      cache.cachedPostings = 0;
    }
    if (!cache.postings.has(term)) cache.cachedPostings += list.chunkIds.length;
    cache.postings.set(term, list);
  }
}

interface WeightedTerm {
  readonly term: string;
  readonly weight: number;
}

/**
 * Scores every chunk holding a query term into `cache.scores` and returns the touched
 * chunk ids. Synchronous, so concurrent queries cannot interleave on the scratch arrays.
 */
function accumulate(
  cache: IndexCache,
  terms: readonly WeightedTerm[],
  options: RankOptions,
  kbs: ReadonlySet<number> | undefined,
): Uint32Array {
  const { table, scores } = cache;
  const normal = norms(cache, options.b);
  const w = options.fieldWeights;
  const weights = [w.title, w.heading, w.body, w.tags];
  const [w0, w1, w2, w3] = weights as [number, number, number, number];
  const k1 = options.k1;
  const n = table.chunkCount;
  let touched = new Uint32Array(1024);
  let count = 0;
  for (const { term, weight } of terms) {
    const list = cache.postings.get(term);
    if (!list) continue;
    const df = list.chunkIds.length;
    if (df === 0) continue;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const factor = weight * idf * (k1 + 1);
    const { chunkIds, fieldTf } = list;
    for (let i = 0; i < df; i++) {
      const id = chunkIds[i] ?? 0;
      // A chunk written after the table was loaded (a concurrent ingest) waits for the next version.
      if (id >= table.size || (table.documentId[id] ?? 0) === 0) continue;
      if (kbs && !kbs.has(table.kbId[id] ?? 0)) continue;
      const at = i * FIELD_COUNT;
      const nat = id * FIELD_COUNT;
      const tf =
        w0 * (fieldTf[at] ?? 0) * (normal[nat] ?? 0) +
        w1 * (fieldTf[at + 1] ?? 0) * (normal[nat + 1] ?? 0) +
        w2 * (fieldTf[at + 2] ?? 0) * (normal[nat + 2] ?? 0) +
        w3 * (fieldTf[at + 3] ?? 0) * (normal[nat + 3] ?? 0);
      if (tf <= 0) continue;
      const previous = scores[id] ?? 0;
      if (previous === 0) {
        if (count === touched.length) {
          const grown = new Uint32Array(touched.length * 2);
          grown.set(touched);
          touched = grown;
        }
        touched[count++] = id;
      }
      scores[id] = previous + (factor * tf) / (k1 + tf);
    }
  }
  return touched.subarray(0, count);
}

/** A bounded min-heap keeping the `capacity` best (score, id) pairs; ties favour the lower id. */
function topK(ids: ArrayLike<number>, score: (id: number) => number, capacity: number): number[] {
  const heapIds: number[] = [];
  const heapScores: number[] = [];
  // "a is worse than b": lower score, or equal score and higher id.
  const worse = (i: number, j: number): boolean =>
    (heapScores[i] ?? 0) < (heapScores[j] ?? 0) ||
    ((heapScores[i] ?? 0) === (heapScores[j] ?? 0) && (heapIds[i] ?? 0) > (heapIds[j] ?? 0));
  const swap = (i: number, j: number): void => {
    [heapIds[i], heapIds[j]] = [heapIds[j] ?? 0, heapIds[i] ?? 0];
    [heapScores[i], heapScores[j]] = [heapScores[j] ?? 0, heapScores[i] ?? 0];
  };
  const down = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heapIds.length && worse(l, m)) m = l;
      if (r < heapIds.length && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k] ?? 0;
    const s = score(id);
    if (heapIds.length < capacity) {
      heapIds.push(id);
      heapScores.push(s);
      let i = heapIds.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (capacity > 0) {
      const rootScore = heapScores[0] ?? 0;
      if (s > rootScore || (s === rootScore && id < (heapIds[0] ?? 0))) {
        heapIds[0] = id;
        heapScores[0] = s;
        down(0);
      }
    }
  }
  const order = heapIds.map((id, i) => ({ id, s: heapScores[i] ?? 0 }));
  order.sort((a, b) => b.s - a.s || a.id - b.id);
  return order.map((o) => o.id);
}

/**
 * One scoring pass: the best `capacity` chunks (or documents' best chunks), then the scratch
 * arrays are zeroed again. Returns hits best first and how many candidates matched.
 */
function scorePass(
  cache: IndexCache,
  terms: readonly WeightedTerm[],
  options: RankOptions,
  kbs: ReadonlySet<number> | undefined,
  perDocument: boolean,
  capacity: number,
): { hits: RankedChunk[]; candidates: number } {
  const { table, scores } = cache;
  const touched = accumulate(cache, terms, options, kbs);
  let hits: RankedChunk[];
  let candidates: number;
  if (!perDocument) {
    const best = topK(touched, (id) => scores[id] ?? 0, capacity);
    hits = best.map((id) => ({ chunkId: id, documentId: table.documentId[id] ?? 0, score: scores[id] ?? 0 }));
    candidates = touched.length;
  } else if (options.otherChunksWeight === 0 && touched.length > capacity * 4) {
    // The best few chunks usually already hold `capacity` distinct documents: then those
    // are the top documents by best chunk, and grouping every touched chunk is not needed.
    const fetched = topK(touched, (id) => scores[id] ?? 0, Math.max(capacity * 4, 64));
    const seen = new Set<number>();
    hits = [];
    for (const id of fetched) {
      const doc = table.documentId[id] ?? 0;
      if (seen.has(doc)) continue;
      seen.add(doc);
      hits.push({ chunkId: id, documentId: doc, score: scores[id] ?? 0 });
      if (hits.length === capacity) break;
    }
    if (hits.length < capacity) hits = groupDocuments(cache, touched, options, capacity).hits;
    candidates = touched.length;
  } else {
    ({ hits, candidates } = groupDocuments(cache, touched, options, capacity));
  }
  for (const id of touched) scores[id] = 0;
  return { hits, candidates };
}

/** Every touched chunk grouped by document; the best `capacity` documents (by best chunk). */
function groupDocuments(
  cache: IndexCache,
  touched: Uint32Array,
  options: RankOptions,
  capacity: number,
): { hits: RankedChunk[]; candidates: number } {
  const { table, scores, docScores, docSums, docChunk } = cache;
  let hits: RankedChunk[];
  let candidates: number;
  {
    const docs: number[] = [];
    for (const id of touched) {
      const doc = table.documentId[id] ?? 0;
      const s = scores[id] ?? 0;
      const current = docScores[doc] ?? 0;
      if (current === 0) docs.push(doc);
      docSums[doc] = (docSums[doc] ?? 0) + s;
      if (s > current || (s === current && id < (docChunk[doc] ?? 0))) {
        docScores[doc] = s;
        docChunk[doc] = id;
      }
    }
    const gamma = options.otherChunksWeight;
    if (gamma > 0)
      for (const doc of docs) {
        const bestScore = docScores[doc] ?? 0;
        docScores[doc] = bestScore + gamma * ((docSums[doc] ?? 0) - bestScore);
      }
    const best = topK(docs, (doc) => docScores[doc] ?? 0, capacity);
    hits = best.map((doc) => ({ chunkId: docChunk[doc] ?? 0, documentId: doc, score: docScores[doc] ?? 0 }));
    candidates = touched.length;
    for (const doc of docs) {
      docScores[doc] = 0;
      docSums[doc] = 0;
      docChunk[doc] = 0;
    }
  }
  return { hits, candidates };
}

/**
 * Drops terms held by more than `maxChunkShare` of the chunks (keeping the rarest if none
 * is left), then keeps the `maxTerms` rarest (highest idf: they move scores most, cost least).
 */
function prune(
  terms: readonly QueryTerm[],
  df: ReadonlyMap<string, number>,
  chunkCount: number,
  options: RankOptions,
): QueryTerm[] {
  const rarestFirst = [...terms].sort((a, b) => (df.get(a.term) ?? 0) - (df.get(b.term) ?? 0));
  const limit = options.maxChunkShare * chunkCount;
  const bounded = rarestFirst.filter((t) => (df.get(t.term) ?? 0) <= limit);
  return (bounded.length > 0 ? bounded : rarestFirst.slice(0, 1)).slice(0, options.maxTerms);
}

const FEEDBACK_TERM = /^[a-z][a-z0-9]{1,19}$/;

/** RM3 expansion terms from the feedback hits' text, weighted by the hits' scores. */
async function expansionTerms(
  store: Store,
  hits: readonly RankedChunk[],
  feedback: FeedbackOptions,
): Promise<WeightedTerm[]> {
  const top = hits.slice(0, feedback.docs);
  if (top.length === 0) return [];
  const rows = await store.getChunksWithDocuments(top.map((h) => h.chunkId));
  const total = top.reduce((sum, h) => sum + h.score, 0);
  const relevance = new Map<string, number>();
  rows.forEach(({ chunk, document }, i) => {
    const docWeight = total > 0 ? (top[i]?.score ?? 0) / total : 1 / top.length;
    const counts = new Map<string, number>();
    let length = 0;
    for (const text of [document.title, chunk.headingPath.join(' '), chunk.text])
      for (const t of analyze(text)) {
        if (t.stop || t.compound || !FEEDBACK_TERM.test(t.term)) continue;
        counts.set(t.term, (counts.get(t.term) ?? 0) + 1);
        length++;
      }
    if (length === 0) return;
    for (const [term, c] of counts)
      relevance.set(term, (relevance.get(term) ?? 0) + (docWeight * c) / length);
  });
  const chosen = [...relevance]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, feedback.terms);
  const sum = chosen.reduce((s, [, v]) => s + v, 0);
  return sum > 0 ? chosen.map(([term, v]) => ({ term, weight: v / sum })) : [];
}

/**
 * Loads the in-memory ranking state (chunk table, length norms) ahead of the first query,
 * e.g. right after a bulk load or at server start. Optional: rankChunks loads it on demand.
 */
export async function warmRanking(store: Store, options: Partial<RankOptions> = {}): Promise<void> {
  const cache = await indexCache(store);
  norms(cache, options.b ?? DEFAULT_RANK_OPTIONS.b);
}

/**
 * Ranks chunks for a query: BM25F over the in-memory index, optional RM3 feedback, then
 * document filters. Hits come best first, at most `limit` of them, ties by lower chunk id.
 */
export async function rankChunks(store: Store, request: RankRequest): Promise<RankResult> {
  const options: RankOptions = { ...DEFAULT_RANK_OPTIONS, ...request.options };
  const perDocument = request.perDocument ?? true;
  const queryTerms = analyzeQuery(request.query);
  let cache = await indexCache(store);
  const df = await store.documentFrequencies(queryTerms.map((t) => t.term));
  const kept = prune(queryTerms, df, cache.table.chunkCount, options);
  await loadPostings(
    store,
    cache,
    kept.map((t) => t.term),
  );
  const totalCount = kept.reduce((s, t) => s + t.count, 0);
  let weighted: WeightedTerm[] = kept.map((t) => ({ term: t.term, weight: t.count / (totalCount || 1) }));
  const kbs = request.kbIds.length > 0 ? new Set(request.kbIds) : undefined;
  const filter = request.filter && Object.keys(request.filter).length > 0 ? request.filter : undefined;
  // With a document filter, over-fetch and filter afterwards; the filter runs in SQL.
  const depth = options.proximity || options.documentWeight > 0 ? options.rerankDepth : 0;
  const capacity = Math.max(filter ? Math.max(request.limit * 8, 400) : request.limit, depth);
  const n = cache.table.chunkCount;
  const w = options.fieldWeights;
  const proximityTerms = kept.map((t) => {
    const d = df.get(t.term) ?? 0;
    return {
      term: t.term,
      weight: t.count / (totalCount || 1),
      idf: Math.log(1 + (n - d + 0.5) / (d + 0.5)),
    };
  });
  const memo = rerankMemo();
  const secondStage = (first: readonly RankedChunk[], scored: readonly WeightedTerm[], perDoc: boolean) =>
    rerank(
      store,
      first,
      {
        query: request.query,
        queryTerms: proximityTerms,
        scoredTerms: scored,
        table: cache.table,
        avgLengths: cache.avgLengths,
        postings: cache.postings,
        k1: options.k1,
        b: options.b,
        fieldWeights: [w.title, w.heading, w.body, w.tags],
        perDocument: perDoc,
        documentWeight: options.documentWeight,
        proximity: options.proximity,
        depth,
      },
      memo,
    );
  let expansion: WeightedTerm[] = [];
  if (options.feedback && options.feedback.docs > 0 && options.feedback.terms > 0) {
    // Feedback documents are the best of the full first ranking (both stages).
    const first = scorePass(cache, weighted, options, kbs, true, Math.max(depth, options.feedback.docs));
    const firstHits = filter ? await keep(store, first.hits, filter) : first.hits;
    const feedbackHits = await secondStage(firstHits, weighted, true);
    expansion = await expansionTerms(store, feedbackHits, options.feedback);
    if (options.maxExpansionShare < 1 && expansion.length > 0) {
      const expansionDf = await store.documentFrequencies(expansion.map((t) => t.term));
      const limit = options.maxExpansionShare * cache.table.chunkCount;
      expansion = expansion.filter((t) => (expansionDf.get(t.term) ?? 0) <= limit);
    }
    if (expansion.length > 0) {
      const alpha = options.feedback.originalWeight;
      const mixed = new Map<string, number>();
      for (const t of weighted) mixed.set(t.term, alpha * t.weight);
      for (const t of expansion) mixed.set(t.term, (mixed.get(t.term) ?? 0) + (1 - alpha) * t.weight);
      weighted = [...mixed].map(([term, weight]) => ({ term, weight }));
      // The index may have changed while feedback text was read: score on the current one.
      cache = await indexCache(store);
      await loadPostings(
        store,
        cache,
        weighted.map((t) => t.term),
      );
    }
  }
  let pass = scorePass(cache, weighted, options, kbs, perDocument, capacity);
  let hits = pass.hits;
  if (filter) {
    hits = await keep(store, pass.hits, filter);
    // A selective filter can reject every over-fetched hit: then rank every candidate.
    if (hits.length < request.limit && pass.candidates > capacity) {
      pass = scorePass(cache, weighted, options, kbs, perDocument, pass.candidates);
      hits = await keep(store, pass.hits, filter);
    }
  }
  hits = await secondStage(hits, weighted, perDocument);
  hits = hits.slice(0, request.limit);
  return {
    terms: kept.map((t) => t.term),
    expansion,
    hits,
    candidates: pass.candidates,
  };
}

/** The hits whose documents pass the filter, in order. */
async function keep(
  store: Store,
  hits: readonly RankedChunk[],
  filter: DocumentFilter,
): Promise<RankedChunk[]> {
  const allowed = await store.filterChunks(
    hits.map((h) => h.chunkId),
    filter,
  );
  return hits.filter((h) => allowed.has(h.chunkId));
}
