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
import { analyze, queryTermsOf, stemWord, type QueryTerm } from '../text/analyze.js';
import { STOP_WORDS } from '../text/stopwords.js';
import { activeDfr, inExpB2Factor, weightedOccurrences, type DfrOptions } from './dfr.js';
import { feedbackCounts, type ProximityOptions } from './proximity.js';
import { documentChunkCount, type CountedPostingList } from './document-score.js';
import { HitList, hitObjects, type RankedChunk, type RankedHits } from './hit-list.js';
import { readStreams, rerank, rerankMemo, StreamCache } from './rerank.js';
import { topK } from './top-k.js';

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
  /** Per-field length normalisation overriding `b` (BM25F proper: each field its own b). */
  readonly fieldB: Partial<Record<keyof FieldWeights, number>>;
  readonly fieldWeights: FieldWeights;
  /**
   * A divergence-from-randomness score (In_expB2, ./dfr.ts) added to every term's BM25F
   * score, chunk and whole document alike, or false for BM25F alone.
   */
  readonly dfr: DfrOptions | false;
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
  fieldB: { title: 0.8 },
  fieldWeights: { title: 3, heading: 2, body: 1, tags: 1.5 },
  dfr: { weight: 1, c: 0.7 },
  feedback: { docs: 3, terms: 20, originalWeight: 0.8 },
  maxTerms: 32,
  maxChunkShare: 1,
  maxExpansionShare: 1,
  otherChunksWeight: 0,
  proximity: { window: 5, weight: 0.6 },
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

export type { RankedChunk, RankedHits } from './hit-list.js';

export interface RankResult {
  /** The analysed query terms that were scored (after pruning). */
  readonly terms: readonly string[];
  /** Expansion terms added by feedback, with their weights. */
  readonly expansion: readonly { term: string; weight: number }[];
  /** The hits in columns, best first: what a caller reading many results should take. */
  readonly ranked: RankedHits;
  /** The same hits as objects, made when first read (./hit-list.ts says why not before). */
  readonly hits: readonly RankedChunk[];
  /**
   * Chunks scored: every chunk matching a scored term, except those matching only terms
   * that came after the best results were settled (MaxScore, see accumulate).
   */
  readonly candidates: number;
}

/**
 * fieldTfChunks: indexes of at most this many chunks keep each cached list's per-field
 * counts, which the second stage's whole-document score reads; larger ones keep 8 bytes a
 * posting instead of 16, so twice the lists fit, and read the counts again when a
 * multi-chunk document is among the hits. A setting, not a constant, so tests can take
 * either path.
 */
export const CACHE_LIMITS = {
  fieldTfChunks: 250_000,
  /**
   * Cached posting lists beyond this many bytes are evicted, least recently used terms
   * first (8 bytes a posting, 16 with per-field counts).
   */
  cachedBytes: 384 * 2 ** 20,
  /**
   * warmRanking analyses every chunk's text for the second stage when the index has at most
   * this many chunks, so the proximity bonus and relevance feedback never read a text back
   * at query time: about 5 KB a SciFact chunk (bench/README.md, Peers).
   */
  warmStreamChunks: 20_000,
};

/**
 * A term's posting list as the ranker keeps it: with each chunk's BM25F saturation
 * (k1 + 1) · tf~ / (k1 + tf~) (plus, with `dfr`, its In_expB2 weight divided by the term's
 * idf), precomputed for one setting of k1, b per field, field weights and dfr, so a query
 * multiplies by the term's weight and idf only.
 */
interface TermImpacts {
  /** Chunk ids, ascending. */
  readonly chunkIds: Uint32Array;
  readonly impacts: Float32Array;
  readonly maxImpact: number;
  /** Weighted occurrences in all chunks (In_expB2's F; 0 without dfr). */
  readonly occurrences: number;
  /** The per-field counts (PostingList.fieldTf), when kept (see CACHE_LIMITS.fieldTfChunks). */
  fieldTf: Uint16Array | undefined;
  /** When a query last asked for the list (IndexCache.clock), for evicting the least recent. */
  used: number;
}

/** Bytes a cached list holds. */
function entryBytes(entry: TermImpacts): number {
  return entry.chunkIds.byteLength + entry.impacts.byteLength + (entry.fieldTf?.byteLength ?? 0);
}

/** Whether the cache's lists keep their per-field counts (CACHE_LIMITS.fieldTfChunks). */
function keepsFieldTf(cache: IndexCache): boolean {
  return cache.table.chunkCount <= CACHE_LIMITS.fieldTfChunks;
}

/** Bytes one cached posting takes (entryBytes per posting): chunk id, impact, maybe counts. */
function postingBytes(cache: IndexCache): number {
  const counts = keepsFieldTf(cache) ? FIELD_COUNT * Uint16Array.BYTES_PER_ELEMENT : 0;
  return Uint32Array.BYTES_PER_ELEMENT + Float32Array.BYTES_PER_ELEMENT + counts;
}

interface IndexCache {
  readonly version: string;
  readonly table: ChunkTable;
  /** Length normaliser per chunk and field, computed for one `b` per field. */
  norms: Float32Array;
  normsB: string;
  /** In_expB2's log2(1 + c · avglen / len) per chunk and field, computed for one `c`. */
  dfrNorms: Float32Array;
  dfrNormsC: number;
  readonly avgLengths: Float64Array;
  /** The k1, b per field, field weights and dfr the cached impacts were computed for. */
  impactKey: string;
  /**
   * Lists by term. Recency is kept in each entry (`used`), not by moving entries to the
   * Map's end: a Map that is deleted from and added to on every query rebuilds its table
   * every few dozen queries, a pause of several ms with tens of thousands of terms.
   */
  readonly postings: Map<string, TermImpacts>;
  /** Counts the loadPostings calls: the `used` of the lists each one asked for. */
  clock: number;
  /** Bytes the cached lists hold (entryBytes). */
  cachedBytes: number;
  /**
   * Scratch score accumulators, indexed by chunk id / document id, kept zeroed between
   * queries, except while they hold a first pass's partial scores (PRIORS).
   */
  readonly scores: Float64Array;
  /** `scores` as 32-bit words, two a score (scoreDensely tests them for 0 without a branch). */
  readonly scoreWords: Int32Array;
  /** Scratch heap positions by chunk id for accumulate's Leaders, kept zeroed between queries. */
  readonly leaderSlots: Int32Array;
  /** Scratch for the Leaders heap's ids and values, grown to the largest `keep` asked. */
  leaderIds: Uint32Array;
  leaderValues: Float64Array;
  /** Scratch chunk ids (survivors). */
  readonly scratchIds: Uint32Array;
  /**
   * Scratch chunk ids: the chunks accumulate touched, in the order it touched them, or
   * ascending when scoring densely (each at most once, so table.size of them at most; a
   * buffer grown per query cost a fifth of accumulate's time at 1M chunks, in allocating,
   * zeroing and copying).
   */
  readonly touchedIds: Uint32Array;
  /** Scratch: a bit per chunk id, set for accumulate's contenders, kept zeroed between queries. */
  readonly contenderBits: Uint32Array;
  docScores: Float64Array;
  docSums: Float64Array;
  docChunk: Uint32Array;
  /** Scratch: 1 at each document id already among a pass's hits, kept zeroed between queries. */
  readonly docSeen: Uint8Array;
  /** Scratch document ids (groupDocuments). */
  readonly scratchDocs: Uint32Array;
  /** 1 at the index of every knowledge base id present (a chunk-table hole has kb 0). */
  readonly allKbs: Uint8Array;
  /** Candidates' token streams by chunk id, for proximity and feedback (./rerank.ts). */
  readonly tokenStreams: StreamCache;
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
  let maxKb = 0;
  for (const kb of table.kbId) if (kb > maxKb) maxKb = kb;
  const allKbs = new Uint8Array(maxKb + 1);
  for (const kb of table.kbId) if (kb !== 0) allKbs[kb] = 1;
  // Room for whole groups of eight (sweepScores); ids past the table never score.
  const scores = new Float64Array(Math.ceil(table.size / 8) * 8);
  const cache: IndexCache = {
    version,
    table,
    norms: new Float32Array(0),
    normsB: '',
    dfrNorms: new Float32Array(0),
    dfrNormsC: Number.NaN,
    avgLengths,
    impactKey: '',
    postings: new Map(),
    clock: 0,
    cachedBytes: 0,
    scores,
    scoreWords: new Int32Array(scores.buffer),
    leaderSlots: new Int32Array(Math.max(table.size, maxDoc + 1)),
    leaderIds: new Uint32Array(0),
    leaderValues: new Float64Array(0),
    scratchIds: new Uint32Array(table.size),
    touchedIds: new Uint32Array(table.size),
    contenderBits: new Uint32Array((table.size >>> 5) + 1),
    docScores: new Float64Array(maxDoc + 1),
    docSums: new Float64Array(maxDoc + 1),
    docChunk: new Uint32Array(maxDoc + 1),
    docSeen: new Uint8Array(maxDoc + 1),
    scratchDocs: new Uint32Array(maxDoc + 1),
    allKbs,
    tokenStreams: new StreamCache(),
  };
  CACHES.set(store, cache);
  return cache;
}

/** Each field's b in INDEX_FIELDS order: `fieldB` where given, else `b`. */
function fieldBs(options: RankOptions): number[] {
  const { b, fieldB } = options;
  return [fieldB.title ?? b, fieldB.heading ?? b, fieldB.body ?? b, fieldB.tags ?? b];
}

/** 1 / (1 − b_f + b_f · len / avglen) per chunk and field, for the requested b per field. */
function norms(cache: IndexCache, bs: readonly number[]): Float32Array {
  const key = bs.join(' ');
  if (cache.normsB === key) return cache.norms;
  const { table, avgLengths } = cache;
  const out = new Float32Array(table.size * FIELD_COUNT);
  for (let id = 0; id < table.size; id++)
    for (let f = 0; f < FIELD_COUNT; f++) {
      const avg = avgLengths[f] ?? 0;
      if (avg === 0) continue;
      const len = table.fieldLengths[id * FIELD_COUNT + f] ?? 0;
      const b = bs[f] ?? 0;
      out[id * FIELD_COUNT + f] = 1 / (1 - b + (b * len) / avg);
    }
  cache.norms = out;
  cache.normsB = key;
  return out;
}

/** log2(1 + c · avglen / len) per chunk and field (0 for an empty field), for the requested c. */
function dfrNorms(cache: IndexCache, c: number): Float32Array {
  if (cache.dfrNormsC === c) return cache.dfrNorms;
  const { table, avgLengths } = cache;
  const out = new Float32Array(table.size * FIELD_COUNT);
  for (let id = 0; id < table.size; id++)
    for (let f = 0; f < FIELD_COUNT; f++) {
      const avg = avgLengths[f] ?? 0;
      const len = table.fieldLengths[id * FIELD_COUNT + f] ?? 0;
      if (avg > 0 && len > 0) out[id * FIELD_COUNT + f] = Math.log2(1 + (c * avg) / len);
    }
  cache.dfrNorms = out;
  cache.dfrNormsC = c;
  return out;
}

function impactKey(options: RankOptions): string {
  const w = options.fieldWeights;
  const dfr = options.dfr ? [options.dfr.weight, options.dfr.c] : [];
  return [options.k1, ...fieldBs(options), w.title, w.heading, w.body, w.tags, ...dfr].join(' ');
}

/**
 * What impacts stored with the compact posting lists depend on (compactRanking): the
 * parameters, and the chunk table through its size, chunk count and average lengths (the
 * store hands them back only while the lists are exact, so no covered chunk changed).
 */
function storedImpactKey(cache: IndexCache, options: RankOptions): string {
  const { size, chunkCount } = cache.table;
  return ['bm25f+dfr/3', impactKey(options), size, chunkCount, ...cache.avgLengths].join(' ');
}

/** Empties the posting cache if it holds impacts for other ranking parameters. */
function useImpactKey(cache: IndexCache, options: RankOptions): void {
  const key = impactKey(options);
  if (cache.impactKey === key) return;
  cache.postings.clear();
  cache.cachedBytes = 0;
  cache.impactKey = key;
}

/** The saturated, length-normalised term frequency of every posting, for `options`. */
function impactsOf(cache: IndexCache, list: PostingList, options: RankOptions): TermImpacts {
  const { table } = cache;
  const normal = norms(cache, fieldBs(options));
  const w = options.fieldWeights;
  const [w0, w1, w2, w3] = [w.title, w.heading, w.body, w.tags];
  const k1 = options.k1;
  const { chunkIds, fieldTf } = list;
  const impacts = new Float32Array(chunkIds.length);
  let maxImpact = 0;
  // In_expB2 rides on BM25F's idf factor (accumulate): its weight is stored divided by the idf.
  const dfr = activeDfr(options.dfr);
  const n = table.chunkCount;
  const df = chunkIds.length;
  const occurrences = occurrencesOf(list, options);
  const dfrScale = dfr
    ? (dfr.weight * inExpB2Factor(df, occurrences, n)) / Math.log(1 + (n - df + 0.5) / (df + 0.5))
    : 0;
  const logNorm = dfr ? dfrNorms(cache, dfr.c) : normal;
  for (let i = 0; i < chunkIds.length; i++) {
    const id = chunkIds[i] ?? 0;
    // A chunk written after the table was loaded (a concurrent ingest) waits for the next
    // version; one deleted since (a hole) scores nothing. Either way its impact stays 0.
    if (id >= table.size || table.documentId[id] === 0) continue;
    const at = i * FIELD_COUNT;
    const nat = id * FIELD_COUNT;
    const tf =
      w0 * (fieldTf[at] ?? 0) * (normal[nat] ?? 0) +
      w1 * (fieldTf[at + 1] ?? 0) * (normal[nat + 1] ?? 0) +
      w2 * (fieldTf[at + 2] ?? 0) * (normal[nat + 2] ?? 0) +
      w3 * (fieldTf[at + 3] ?? 0) * (normal[nat + 3] ?? 0);
    if (tf <= 0) continue;
    let extra = 0;
    if (dfrScale > 0) {
      const tfn =
        w0 * (fieldTf[at] ?? 0) * (logNorm[nat] ?? 0) +
        w1 * (fieldTf[at + 1] ?? 0) * (logNorm[nat + 1] ?? 0) +
        w2 * (fieldTf[at + 2] ?? 0) * (logNorm[nat + 2] ?? 0) +
        w3 * (fieldTf[at + 3] ?? 0) * (logNorm[nat + 3] ?? 0);
      extra = (dfrScale * tfn) / (tfn + 1);
    }
    // The bound must hold for the stored (single-precision) value.
    const impact = Math.fround(((k1 + 1) * tf) / (k1 + tf) + extra);
    impacts[i] = impact;
    if (impact > maxImpact) maxImpact = impact;
  }
  return cachedList(cache, list, impacts, maxImpact, occurrences);
}

/**
 * A list whose impacts were stored for this cache's key (see storedImpactKey), with their
 * maximum and In_expB2's F from the stored summary (listSummary) when there is one.
 */
function storedImpacts(
  cache: IndexCache,
  list: PostingList,
  impacts: Float32Array,
  options: RankOptions,
): TermImpacts {
  const [maxImpact, occurrences] = list.summary ?? listSummary(list, impacts, options);
  return cachedList(cache, list, impacts, maxImpact ?? 0, occurrences ?? 0);
}

/** What compactRanking stores with a list's impacts: their maximum, and In_expB2's F. */
function listSummary(list: PostingList, impacts: Float32Array, options: RankOptions): Float64Array {
  let maxImpact = 0;
  for (const v of impacts) if (v > maxImpact) maxImpact = v;
  return Float64Array.of(maxImpact, occurrencesOf(list, options));
}

/** In_expB2's F of a list (0 when it does not count). */
function occurrencesOf(list: PostingList, options: RankOptions): number {
  const w = options.fieldWeights;
  return activeDfr(options.dfr) ? weightedOccurrences(list.fieldTf, [w.title, w.heading, w.body, w.tags]) : 0;
}

/** A list as the cache keeps it: per-field counts only on indexes small enough (CACHE_LIMITS). */
function cachedList(
  cache: IndexCache,
  list: PostingList,
  impacts: Float32Array,
  maxImpact: number,
  occurrences: number,
): TermImpacts {
  return {
    chunkIds: list.chunkIds,
    impacts,
    maxImpact,
    occurrences,
    // Empty when read without counts (PostingsRead); an empty list's empty counts are its
    // counts (leaving them out made fieldCounts read the list again).
    fieldTf:
      keepsFieldTf(cache) && (list.fieldTf.length > 0 || list.chunkIds.length === 0)
        ? list.fieldTf
        : undefined,
    used: cache.clock,
  };
}

async function loadPostings(
  store: Store,
  cache: IndexCache,
  terms: readonly string[],
  options: RankOptions,
): Promise<void> {
  useImpactKey(cache, options);
  const now = ++cache.clock;
  for (const t of terms) {
    const hit = cache.postings.get(t);
    if (hit && hit !== NO_POSTINGS) hit.used = now;
  }
  const missing = terms.filter((t) => !cache.postings.has(t));
  if (missing.length === 0) return;
  // Per-field counts are read only where the cache keeps them: a stored list's summary gives
  // the rest (compactRanking).
  const loaded = await store.postings(missing, storedImpactKey(cache, options), {
    counts: keepsFieldTf(cache),
  });
  const wanted = new Set(terms);
  for (const [term, list] of loaded) {
    if (cache.postings.has(term)) continue;
    const entry = list.impacts
      ? storedImpacts(cache, list, list.impacts, options)
      : impactsOf(cache, list, options);
    const bytes = entryBytes(entry);
    if (cache.cachedBytes + bytes > CACHE_LIMITS.cachedBytes) evict(cache, bytes, wanted);
    cache.postings.set(term, entry);
    cache.cachedBytes += bytes;
  }
  // A term the index lacks is kept as an empty list for this index version, so a query
  // with an unknown word does not ask the store again each time (bounded: a list costs
  // nothing, but every entry costs a map slot).
  for (const term of missing)
    if (!cache.postings.has(term) && cache.postings.size < MAX_CACHED_TERMS)
      cache.postings.set(term, NO_POSTINGS);
}

/**
 * An eviction frees the cache down to this share of its bound, so that it comes once per
 * many lists loaded rather than for each (it sorts every cached list by recency).
 */
const EVICT_TO = 0.9;

/**
 * Makes room for `bytes` more in the posting cache: the least recently used lists go
 * first, never one of `wanted` (the lists the query at hand needs).
 */
function evict(cache: IndexCache, bytes: number, wanted: ReadonlySet<string>): void {
  const target = CACHE_LIMITS.cachedBytes * EVICT_TO - bytes;
  const candidates: [string, TermImpacts][] = [];
  for (const [term, entry] of cache.postings)
    if (entryBytes(entry) > 0 && !wanted.has(term)) candidates.push([term, entry]);
  candidates.sort((a, b) => a[1].used - b[1].used);
  for (const [term, entry] of candidates) {
    if (cache.cachedBytes <= target) break;
    cache.postings.delete(term);
    cache.cachedBytes -= entryBytes(entry);
  }
}

/** Cached terms at most, counting the empty lists of terms the index lacks. */
const MAX_CACHED_TERMS = 1_000_000;

/** The cached list of a term the index lacks. */
const NO_POSTINGS: TermImpacts = {
  chunkIds: new Uint32Array(0),
  impacts: new Float32Array(0),
  maxImpact: 0,
  occurrences: 0,
  fieldTf: new Uint16Array(0),
  used: 0,
};

/**
 * The cached lists of `terms` with their per-field counts, read again from the store where
 * the cache dropped them, and In_expB2's F (the second stage's whole-document score needs
 * both).
 */
async function fieldCounts(
  store: Store,
  cache: IndexCache,
  terms: readonly string[],
): Promise<Map<string, CountedPostingList>> {
  const out = new Map<string, CountedPostingList>();
  const missing: string[] = [];
  for (const t of terms) {
    const entry = cache.postings.get(t);
    if (!entry) continue;
    const { chunkIds, fieldTf, occurrences } = entry;
    if (fieldTf) out.set(t, { chunkIds, fieldTf, occurrences });
    else missing.push(t);
  }
  if (missing.length === 0) return out;
  for (const [t, list] of await store.postings(missing)) {
    const entry = cache.postings.get(t);
    const same = entry !== undefined && list.chunkIds.length === entry.chunkIds.length;
    out.set(t, same ? { ...list, occurrences: entry.occurrences } : list);
    // Kept while the list is the one cached (the index may have changed since).
    if (same && !entry.fieldTf) {
      entry.fieldTf = list.fieldTf;
      cache.cachedBytes += list.fieldTf.byteLength;
    }
  }
  return out;
}

interface WeightedTerm {
  readonly term: string;
  readonly weight: number;
}

/**
 * Filtering the contenders against the k-th best score costs a pass over them: after one,
 * the next waits until the remaining terms' bound has shrunk to this share (measured on
 * bench/search: re-checking after every term spent a third of the scoring time there).
 */
const RECHECK_SHRINK = 0.5;

/**
 * Scoring turns to completing the contenders' scores only once what the remaining terms
 * could add is at most this share of the k-th best partial score: switching as soon as it
 * is below (floor just above 0) leaves most chunks in contention, and completing them by
 * search costs more than scoring the lists through.
 */
const SWITCH_FLOOR = 0.5;

/**
 * After the switch, a list at least this many times longer than the contenders is searched
 * for each contender (galloping); a shorter one is read through, testing each posting's bit
 * in `contenderBits`.
 */
const GALLOP_RATIO = 16;

/**
 * MaxScore runs only when the hits wanted are fewer than 1 / this of the chunks (1,000 hits
 * out of Cranfield's 1,600 chunks: scoring every posting through was 25% faster).
 */
const MAXSCORE_MIN_SHARE = 4;

/**
 * denseShare: lists holding at least one posting per `denseShare` chunks of the table, all
 * together, are scored densely: no list of the chunks touched is kept as postings are added
 * (the test of whether a chunk is new mispredicts about every other posting when the lists
 * overlap), and one pass over the score array finds them instead, the whole array zeroed
 * after. At 1M chunks (bench/scale, 200 queries, alternating runs) the warm pass took
 * 4.1-7.8 s of CPU against 5.6-9.0 s listing the chunks touched, and 7.1-9.4 s listing
 * them without a branch (the count as here, each id written whether new or not).
 *
 * reuseFirstPass: with feedback, the final pass starts from the first pass's partial scores
 * over the query's own terms (PriorScores) when the first pass scored densely, instead of
 * scoring those lists again. At 1M chunks (bench/scale's 200 queries after warmRanking)
 * 24% fewer postings were scored densely (156M against 205M), and alternating query by
 * query with the code before in one process, 200 queries took 3.4-3.7 s against 3.8-4.1 s
 * (four rounds).
 *
 * Settings, not constants, so tests can take either path.
 */
export const SCORING_LIMITS = { denseShare: 4, reuseFirstPass: true };

/** Relative slack on score bounds, so float rounding can never prune a chunk that belongs. */
const BOUND_SLACK = 1 + 1e-9;

interface Accumulated {
  /** How many chunks were given a score. */
  readonly matched: number;
  /** Scored densely (SCORING_LIMITS): zero the whole score array after, not the contenders. */
  readonly dense: boolean;
  /**
   * The chunks that can still be among the best `keep`, scored in full: unless pruned,
   * every chunk given a score (a view of the cache's scratch `touchedIds`, valid until the
   * next accumulate). Unless dense, their scores are the only ones not zeroed already.
   */
  readonly contenders: Uint32Array;
  readonly pruned: boolean;
  /** The partial scores kept (AccumulateOptions.keepPrior), if scored densely. */
  readonly kept?: KeptScores | undefined;
}

/**
 * Scores the chunks holding query terms into `cache.scores`. Synchronous, so concurrent
 * queries cannot interleave on the scratch arrays.
 *
 * Terms go from the highest possible contribution (weight · idf · best impact) down. Once
 * the `keep`-th best partial score exceeds what all the remaining terms together could add,
 * no chunk that has not matched yet can reach the best `keep`, nor can one whose partial
 * score plus that bound falls short (MaxScore, Turtle & Flood 1995): the remaining terms
 * then only complete the scores of the chunks still in contention, found by galloping
 * search in their posting lists. The best `keep` chunks and their scores are exactly those
 * of scoring every posting.
 */
function accumulate(
  cache: IndexCache,
  terms: readonly WeightedTerm[],
  allowedKbs: Uint8Array,
  keep: number,
  more: AccumulateOptions = {},
): Accumulated {
  const { groups, prior, scale = 1 } = more;
  const { table, scores } = cache;
  const kbOf = table.kbId;
  const n = table.chunkCount;
  const lists: ScoredList[] = [];
  for (const t of terms) {
    const list = cache.postings.get(t.term);
    const df = list?.chunkIds.length ?? 0;
    // From a prior: what the term weighs beyond it, in units of `scale`. (A weight mixed as
    // scale · w computes to exactly scale · w, so a term the prior covers that gained no
    // weight leaves nothing.)
    const weight = prior ? (t.weight - scale * (prior.weights.get(t.term) ?? 0)) / scale : t.weight;
    if (!list || df === 0 || !(weight > 0)) continue;
    const factor = weight * Math.log(1 + (n - df + 0.5) / (df + 0.5));
    lists.push({ term: t.term, weight, list, factor, bound: factor * list.maxImpact });
  }
  // A comparator returning -1, 0 or 1: a difference of doubles was boxed at every call.
  lists.sort((a, b) => (a.bound < b.bound ? 1 : a.bound > b.bound ? -1 : 0));
  // after[i]: what the terms after the i-th could add at most (summed from the end, so never
  // below zero through rounding).
  const after = new Float64Array(lists.length);
  for (let i = lists.length - 2; i >= 0; i--) after[i] = (after[i + 1] ?? 0) + (lists[i + 1]?.bound ?? 0);
  const someKbs = allowedKbs !== cache.allKbs;
  let postings = 0;
  for (const entry of lists) postings += entry.list.chunkIds.length;
  // Partial scores already in the array are found only by a sweep: dense.
  const dense = prior !== undefined || postings * SCORING_LIMITS.denseShare >= table.size;
  const touched = cache.touchedIds;
  let count = prior?.count ?? 0;
  // The best `keep` partial scores (of chunks, or of groups' best chunks) as they grow; none
  // kept when every chunk is wanted.
  const leaders = Number.isFinite(keep) ? new Leaders(keep, cache, groups) : undefined;
  let least = leaders ? 0 : Number.POSITIVE_INFINITY;
  let contenders: Uint32Array | undefined;
  // Whether `contenders` are in ascending order (sorted only once a list is to be galloped).
  let sorted = false;
  const bits = cache.contenderBits;
  // Contenders are filtered again only once the bound has shrunk this much more.
  let nextCheck = Number.POSITIVE_INFINITY;
  let kept: KeptScores | undefined;
  for (let index = 0; index < lists.length; index++) {
    const entry = lists[index];
    if (!entry) continue;
    const { list, factor } = entry;
    const remaining = after[index] ?? 0;
    const { chunkIds, impacts } = list;
    const df = chunkIds.length;
    if (contenders && leaders) {
      if (contenders.length * GALLOP_RATIO < df) {
        if (!sorted) contenders.sort();
        sorted = true;
        completeScores(scores, contenders, chunkIds, impacts, factor, leaders);
      } else completeMarked(scores, bits, chunkIds, impacts, factor, leaders);
      // Fewer terms left, a higher floor: drop the contenders that fell out of reach.
      if (contenders.length > keep && remaining <= nextCheck) {
        const floor = leaders.least - remaining * BOUND_SLACK;
        if (floor > 0) contenders = survivors(scores, contenders, floor, cache.scratchIds, bits);
        nextCheck = remaining * RECHECK_SHRINK;
      }
      continue;
    }
    if (dense) {
      count += scoreDensely(cache, chunkIds, impacts, factor, someKbs ? allowedKbs : undefined, leaders);
      if (leaders) least = leaders.least;
    } else {
      for (let i = 0; i < df; i++) {
        const id = chunkIds[i] ?? 0;
        // A hole in the chunk table or a chunk past its end has impact 0 (impactsOf); another
        // knowledge base is skipped, unless all are searched.
        const add = factor * (impacts[i] ?? 0);
        if (add <= 0 || (someKbs && allowedKbs[kbOf[id] ?? 0] !== 1)) continue;
        const previous = scores[id] ?? 0;
        if (previous === 0) touched[count++] = id;
        const total = previous + add;
        scores[id] = total;
        if (total > least && leaders) {
          leaders.offer(id, total);
          least = leaders.least;
        }
      }
    }
    const slack = remaining * BOUND_SLACK;
    if (leaders && count > keep && slack <= least * SWITCH_FLOOR) {
      if (dense) {
        // Ascending, as the sweep finds them: no sort before galloping.
        contenders = cache.scratchIds.slice(0, sweepScores(scores, least - slack, cache.scratchIds));
        sorted = true;
        if (more.keepPrior) kept = keptScores(scores, lists.slice(0, index + 1), count, contenders);
      } else contenders = survivors(scores, touched.subarray(0, count), least - slack, cache.scratchIds);
      for (const id of contenders) bits[id >>> 5] = (bits[id >>> 5] ?? 0) | (1 << (id & 31));
      nextCheck = remaining * RECHECK_SHRINK;
    }
  }
  if (contenders) for (const id of contenders) bits[id >>> 5] = 0;
  else if (dense && more.keepPrior) kept = keptScores(scores, lists, count, new Uint32Array(0));
  leaders?.clear();
  // Never pruned: no leaders (every chunk wanted), or no more chunks scored than wanted
  // (with more, the last list always prunes: nothing remains to add).
  if (dense && !contenders) sweepScores(scores, 0, touched);
  return {
    matched: count,
    contenders: contenders ?? touched.subarray(0, count),
    pruned: contenders !== undefined,
    dense,
    kept,
  };
}

interface ScoredList {
  readonly term: string;
  readonly weight: number;
  readonly list: TermImpacts;
  /** weight · idf. */
  readonly factor: number;
  /** The most the list can add to a score. */
  readonly bound: number;
}

interface AccumulateOptions {
  /** A group id by chunk id: `keep` groups by their best chunk instead of `keep` chunks. */
  readonly groups?: Uint32Array | undefined;
  /**
   * `cache.scores` holds these partial scores (a first pass's): the terms' lists add to
   * them what each weighs beyond them, divided by `scale` (rankChunks).
   */
  readonly prior?: PriorScores | undefined;
  readonly scale?: number | undefined;
  /** Scoring densely, keep the partial scores of the lists scored through (keptScores). */
  readonly keepPrior?: boolean | undefined;
}

/**
 * A pass's partial scores, kept for the next pass of the same query (feedback's final pass
 * scores the query's terms again, with the expansion terms): every chunk's score over the
 * lists of `weights`' terms, the lists a dense pass scored through before completing only
 * its contenders.
 */
interface PriorScores {
  /** The terms whose lists the scores cover, with the weight each was scored at. */
  readonly weights: ReadonlyMap<string, number>;
  /** Chunks with a score. */
  readonly count: number;
}

/**
 * The partial scores a cache's `scores` hold between a query's first pass and its final
 * pass: taken by that final pass, or zeroed by any other pass that comes first. Kept
 * beside the cache rather than in it: as a field of the cache, set and cleared by each
 * query, it changed the cache's hidden class after the warm-up, and V8 threw away code
 * compiled for the old one at users' queries (--trace-deopt on bench/peers' Cranfield
 * queries: "wrong map" in loadPostings, fieldCounts or queryPairs in 3 runs of 4, none in
 * 4 runs kept beside it).
 */
const PRIORS = new WeakMap<IndexCache, PriorScores>();

/**
 * What it takes to keep a dense pass's partial scores over `lists`: the scores then change
 * only for the `contenders` (completed with the remaining lists, or zeroed as they fall
 * out), so their scores now are all there is to put back (scorePass does).
 */
interface KeptScores {
  readonly prior: PriorScores;
  readonly ids: Uint32Array;
  readonly values: Float64Array;
}

function keptScores(
  scores: Float64Array,
  lists: readonly ScoredList[],
  count: number,
  contenders: Uint32Array,
): KeptScores {
  const values = new Float64Array(contenders.length);
  for (let i = 0; i < contenders.length; i++) values[i] = scores[contenders[i] ?? 0] ?? 0;
  return {
    prior: { weights: new Map(lists.map((l) => [l.term, l.weight])), count },
    ids: contenders,
    values,
  };
}

/**
 * Adds one list's contributions to the cache's scores without noting which chunks are new
 * (dense scoring, see SCORING_LIMITS), offering each rising score to `leaders`. Returns how
 * many chunks got their first score: a score is 0 exactly when both of its 32-bit words
 * are, counted as integers without a branch (a branch on it mispredicts about every other
 * posting when the lists overlap).
 */
function scoreDensely(
  cache: IndexCache,
  chunkIds: Uint32Array,
  impacts: Float32Array,
  factor: number,
  allowedKbs: Uint8Array | undefined,
  leaders: Leaders | undefined,
): number {
  const { scores, scoreWords } = cache;
  const kbOf = cache.table.kbId;
  let least = leaders ? leaders.least : Number.POSITIVE_INFINITY;
  let fresh = 0;
  const df = chunkIds.length;
  for (let i = 0; i < df; i++) {
    const id = chunkIds[i] ?? 0;
    // As in accumulate: impact 0 for holes, other knowledge bases skipped.
    const add = factor * (impacts[i] ?? 0);
    if (add <= 0 || (allowedKbs && allowedKbs[kbOf[id] ?? 0] !== 1)) continue;
    const w = (scoreWords[2 * id] ?? 0) | (scoreWords[2 * id + 1] ?? 0);
    fresh += 1 - ((w | -w) >>> 31);
    const total = (scores[id] ?? 0) + add;
    scores[id] = total;
    if (total > least && leaders) {
      leaders.offer(id, total);
      least = leaders.least;
    }
  }
  return fresh;
}

/**
 * One pass over the score array (dense scoring): the chunks scoring at least `floor` (with
 * floor 0, every chunk with a score) go to `out` in ascending order; returns how many.
 * Scores below the floor stay: dense scoring zeroes the whole array at the end (scorePass).
 *
 * Eight scores are tested in one condition and only a group with a score at the floor is
 * looked at again: one branch per eight scores instead of one per score. At 1M scores,
 * 0.53 ms a sweep against 1.0-1.1 ms a score at a time (a few hundred passing the floor).
 * `scores.length` is a multiple of eight (indexCache pads it): a loop for the last few
 * scores, rarely reaching its `kept++`, had no type feedback when V8 compiled the sweep
 * in the middle of its main loop, and threw the code away there, 118 times in two passes
 * of SciFact's queries (--trace-deopt).
 */
function sweepScores(scores: Float64Array, floor: number, out: Uint32Array): number {
  const size = scores.length;
  // Above 0, few pass the floor, so the branch is predictable; floor 0 comes only when few
  // chunks have a score at all (accumulate).
  const least = floor > 0 ? floor : Number.MIN_VALUE;
  let kept = 0;
  for (let id = 0; id < size; id += 8)
    if (
      (scores[id] ?? 0) >= least ||
      (scores[id + 1] ?? 0) >= least ||
      (scores[id + 2] ?? 0) >= least ||
      (scores[id + 3] ?? 0) >= least ||
      (scores[id + 4] ?? 0) >= least ||
      (scores[id + 5] ?? 0) >= least ||
      (scores[id + 6] ?? 0) >= least ||
      (scores[id + 7] ?? 0) >= least
    )
      for (let j = id; j < id + 8; j++) if ((scores[j] ?? 0) >= least) out[kept++] = j;
  return kept;
}

/**
 * The `k` best chunks by partial score so far, as a min-heap of distinct chunk ids that
 * follows every score rising above its least: `least` is always the k-th best partial
 * score (0 until k chunks have one), a lower bound of the k-th best final score. With
 * `groups` (a group id by chunk id, e.g. its document), the k best groups by their best
 * chunk's partial score instead.
 */
class Leaders {
  private readonly ids: Uint32Array;
  private readonly values: Float64Array;
  /** Heap position + 1 by chunk or group id (0 = not in the heap), all 0 outside a query. */
  private readonly slots: Int32Array;
  private size = 0;
  least = 0;

  /** The heap lives in the cache's scratch (accumulate is synchronous), grown to `k`. */
  constructor(
    private readonly k: number,
    cache: IndexCache,
    private readonly groups?: Uint32Array,
  ) {
    if (cache.leaderIds.length < k) {
      cache.leaderIds = new Uint32Array(k);
      cache.leaderValues = new Float64Array(k);
    }
    this.ids = cache.leaderIds;
    this.values = cache.leaderValues;
    this.slots = cache.leaderSlots;
  }

  /** Records chunk `chunk`'s score `value`, above `least`. */
  offer(chunk: number, value: number): void {
    const { ids, values, slots } = this;
    const id = this.groups ? (this.groups[chunk] ?? 0) : chunk;
    let at = (slots[id] ?? 0) - 1;
    // A group keeps its best chunk's score.
    if (at >= 0 && value <= (values[at] ?? 0)) return;
    if (at < 0) {
      if (this.size < this.k) {
        // Not full: add at the end, move up.
        at = this.size++;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          const v = values[parent] ?? 0;
          if (v <= value) break;
          const pid = ids[parent] ?? 0;
          ids[at] = pid;
          values[at] = v;
          slots[pid] = at + 1;
          at = parent;
        }
        ids[at] = id;
        values[at] = value;
        slots[id] = at + 1;
        if (this.size === this.k) this.least = values[0] ?? 0;
        return;
      }
      // Full: the new chunk takes the least one's place.
      slots[ids[0] ?? 0] = 0;
      at = 0;
    }
    // The value at `at` grew: move it down.
    const size = this.size;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && (values[child + 1] ?? 0) < (values[child] ?? 0)) child++;
      const v = values[child] ?? 0;
      if (v >= value) break;
      const cid = ids[child] ?? 0;
      ids[at] = cid;
      values[at] = v;
      slots[cid] = at + 1;
      at = child;
    }
    ids[at] = id;
    values[at] = value;
    slots[id] = at + 1;
    if (size === this.k) this.least = values[0] ?? 0;
  }

  /** Zeroes the slots of the chunks held. */
  clear(): void {
    for (let i = 0; i < this.size; i++) this.slots[this.ids[i] ?? 0] = 0;
    this.size = 0;
    this.least = 0;
  }
}

/**
 * Adds one term's contribution to each contender (ascending ids) found in its posting list,
 * searching for each (galloping: the list is much longer than the contenders).
 */
function completeScores(
  scores: Float64Array,
  contenders: Uint32Array,
  chunkIds: Uint32Array,
  impacts: Float32Array,
  factor: number,
  leaders: Leaders,
): void {
  const df = chunkIds.length;
  let pos = 0;
  for (const target of contenders) {
    if ((chunkIds[pos] ?? 0) < target) {
      // Double the step past smaller ids, then binary search the last step.
      let low = pos;
      let step = 1;
      let high = pos + 1;
      while (high < df && (chunkIds[high] ?? 0) < target) {
        low = high;
        step *= 2;
        high = low + step;
      }
      let lo = low + 1;
      let hi = Math.min(high, df);
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((chunkIds[mid] ?? 0) < target) lo = mid + 1;
        else hi = mid;
      }
      pos = lo;
    }
    if (pos >= df) return;
    if (chunkIds[pos] === target) {
      const total = (scores[target] ?? 0) + factor * (impacts[pos] ?? 0);
      scores[target] = total;
      if (total > leaders.least) leaders.offer(target, total);
      pos++;
    }
  }
}

/**
 * Adds one term's contribution to each contender in its posting list, reading the list
 * through: a contender is a chunk whose bit is set in `bits` (a bit per chunk id, an eighth
 * of a byte where `scores` takes eight, so the test mostly hits the processor's cache).
 */
function completeMarked(
  scores: Float64Array,
  bits: Uint32Array,
  chunkIds: Uint32Array,
  impacts: Float32Array,
  factor: number,
  leaders: Leaders,
): void {
  const df = chunkIds.length;
  for (let i = 0; i < df; i++) {
    const id = chunkIds[i] ?? 0;
    if (((bits[id >>> 5] ?? 0) & (1 << (id & 31))) === 0) continue;
    const total = (scores[id] ?? 0) + factor * (impacts[i] ?? 0);
    scores[id] = total;
    if (total > leaders.least) leaders.offer(id, total);
  }
}

/**
 * The chunks whose score is at least `floor`, in the order of `ids`; the others' scores are
 * zeroed (out of contention, they are not read again) and, given `bits`, their contender
 * bits cleared. `scratch` holds at least ids.length values.
 */
function survivors(
  scores: Float64Array,
  ids: Uint32Array,
  floor: number,
  scratch: Uint32Array,
  bits?: Uint32Array,
): Uint32Array {
  let n = 0;
  for (const id of ids)
    if ((scores[id] ?? 0) >= floor) scratch[n++] = id;
    else {
      scores[id] = 0;
      if (bits) bits[id >>> 5] = (bits[id >>> 5] ?? 0) & ~(1 << (id & 31));
    }
  return scratch.slice(0, n);
}

interface PassOptions {
  /** Rank every candidate: no MaxScore. */
  readonly exhaustive?: boolean;
  /** See AccumulateOptions. */
  readonly keepPrior?: boolean;
  /**
   * Start from `prior` (if the cache still holds it) and score only what `terms` weigh
   * beyond it, divided by `scale`; the hits' scores are multiplied by `scale` at the end
   * (see rankChunks).
   */
  readonly reuse?: { prior: PriorScores; scale: number } | undefined;
}

interface Pass {
  readonly hits: HitList;
  readonly candidates: number;
  /** The partial scores this pass kept (PassOptions.keepPrior), if it scored densely. */
  readonly prior: PriorScores | undefined;
}

/**
 * One scoring pass: the best `capacity` chunks (or documents' best chunks), then the scratch
 * arrays are zeroed again. Returns hits best first and how many candidates matched.
 */
function scorePass(
  cache: IndexCache,
  terms: readonly WeightedTerm[],
  options: RankOptions,
  allowedKbs: Uint8Array,
  perDocument: boolean,
  capacity: number,
  more: PassOptions = {},
): Pass {
  const { exhaustive = false, reuse } = more;
  const { table, scores } = cache;
  // Scores kept by a first pass are this pass's to start from, or else are zeroed (another
  // query's, whose final pass then scores its terms afresh).
  const held = PRIORS.get(cache);
  const prior = reuse && held === reuse.prior ? held : undefined;
  if (held) {
    if (!prior) scores.fill(0);
    PRIORS.delete(cache);
  }
  // Chunks needed: `capacity` of them, or enough to hold `capacity` documents' best chunks.
  const fetch = Math.max(capacity * 4, 64);
  const grouped = perDocument && options.otherChunksWeight > 0;
  // Per document, the bound is the capacity-th best document's best chunk: a chunk below
  // it is neither among the best chunks nor the best chunk of one of the best documents.
  // Asked for a large share of the index, MaxScore prunes next to nothing, and keeping the
  // best `capacity` in a heap as scores grow costs more than selecting them at the end.
  const keep =
    exhaustive || grouped || capacity * MAXSCORE_MIN_SHARE >= table.chunkCount
      ? Number.POSITIVE_INFINITY
      : capacity;
  const { matched, contenders, pruned, dense, kept } = accumulate(cache, terms, allowedKbs, keep, {
    groups: perDocument ? table.documentId : undefined,
    prior,
    scale: reuse?.scale,
    keepPrior: more.keepPrior,
  });
  const score = (id: number): number => scores[id] ?? 0;
  const hits = new HitList(Math.min(capacity, matched));
  let complete = true;
  if (!perDocument) {
    for (const id of topK(contenders, score, capacity)) hits.push(id, table.documentId[id] ?? 0, score(id));
  } else if (!grouped && (pruned || matched > capacity * 4)) {
    // The best few chunks usually already hold `capacity` distinct documents: then those
    // are the top documents by best chunk, and grouping every touched chunk is not needed.
    const seen = cache.docSeen;
    for (const id of topK(contenders, score, fetch)) {
      const doc = table.documentId[id] ?? 0;
      if (seen[doc] === 1) continue;
      seen[doc] = 1;
      hits.push(id, doc, score(id));
      if (hits.length === capacity) break;
    }
    for (let i = 0; i < hits.length; i++) seen[hits.documentIds[i] ?? 0] = 0;
    if (hits.length < capacity) {
      // Too few documents: group them all, which needs every chunk's full score.
      hits.truncate(0);
      // Unpruned, the contenders are every chunk scored.
      if (pruned) complete = false;
      else groupDocuments(cache, contenders, options, capacity, hits);
    }
  } else {
    groupDocuments(cache, contenders, options, capacity, hits);
  }
  const candidates = matched;
  if (kept && complete) {
    // Back to the partial scores kept, for the final pass.
    const { ids, values } = kept;
    for (let i = 0; i < ids.length; i++) scores[ids[i] ?? 0] = values[i] ?? 0;
    PRIORS.set(cache, kept.prior);
  } else if (dense) scores.fill(0);
  else for (const id of contenders) scores[id] = 0;
  if (!complete)
    return scorePass(cache, terms, options, allowedKbs, perDocument, capacity, { exhaustive: true });
  if (prior && reuse)
    for (let i = 0; i < hits.length; i++) hits.scores[i] = (hits.scores[i] ?? 0) * reuse.scale;
  return { hits, candidates, prior: kept?.prior };
}

/**
 * Every touched chunk grouped by document; the best `capacity` documents (by best chunk),
 * pushed onto `hits`.
 */
function groupDocuments(
  cache: IndexCache,
  touched: Uint32Array,
  options: RankOptions,
  capacity: number,
  hits: HitList,
): void {
  const { table, scores, docScores, docSums, docChunk } = cache;
  let count = 0;
  const seen = cache.scratchDocs;
  for (const id of touched) {
    const doc = table.documentId[id] ?? 0;
    const s = scores[id] ?? 0;
    const current = docScores[doc] ?? 0;
    if (current === 0) seen[count++] = doc;
    docSums[doc] = (docSums[doc] ?? 0) + s;
    if (s > current || (s === current && id < (docChunk[doc] ?? 0))) {
      docScores[doc] = s;
      docChunk[doc] = id;
    }
  }
  const docs = seen.subarray(0, count);
  const gamma = options.otherChunksWeight;
  if (gamma > 0)
    for (const doc of docs) {
      const bestScore = docScores[doc] ?? 0;
      docScores[doc] = bestScore + gamma * ((docSums[doc] ?? 0) - bestScore);
    }
  for (const doc of topK(docs, (doc) => docScores[doc] ?? 0, capacity))
    hits.push(docChunk[doc] ?? 0, doc, docScores[doc] ?? 0);
  for (const doc of docs) {
    docScores[doc] = 0;
    docSums[doc] = 0;
    docChunk[doc] = 0;
  }
}

/** Chunks holding each term: the cached list's length, else the index's count. */
async function frequencies(
  store: Store,
  cache: IndexCache,
  terms: readonly QueryTerm[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of terms) {
    const list = cache.postings.get(t.term);
    if (list) out.set(t.term, list.chunkIds.length);
  }
  const missing = terms.map((t) => t.term).filter((t) => !out.has(t));
  if (missing.length > 0) for (const [t, n] of await store.documentFrequencies(missing)) out.set(t, n);
  return out;
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

/** RM3 expansion terms from the feedback hits' text, weighted by the hits' scores. */
async function expansionTerms(
  store: Store,
  cache: IndexCache,
  hits: RankedHits,
  feedback: FeedbackOptions,
): Promise<WeightedTerm[]> {
  const docs = Math.min(feedback.docs, hits.length);
  if (docs <= 0 || feedback.terms <= 0) return [];
  const chunkIds = Array.from(hits.chunkIds.subarray(0, docs));
  // Each hit's term counts come from its token stream (one read and one analysis per chunk,
  // shared with proximity); a chunk deleted meanwhile adds nothing.
  await readStreams(store, cache.tokenStreams, chunkIds);
  let total = 0;
  for (let i = 0; i < docs; i++) total += hits.scores[i] ?? 0;
  // Relevance by term number, in the streams' scratch (every cached stream is numbered by
  // the cache's TermIds): a Map by term allocated a few hundred entries and boxed numbers
  // a query. A term is listed in `order` when first met; each is worth more than 0 then.
  const { ids } = cache.tokenStreams;
  const relevance = ids.weights;
  const order = ids.list;
  let listed = 0;
  for (const [i, chunkId] of chunkIds.entries()) {
    const stream = cache.tokenStreams.byChunk.get(chunkId);
    if (!stream || stream.feedback.length === 0) continue;
    if (stream.ids !== ids) throw new Error('a cached token stream is numbered by another TermIds');
    const docWeight = total > 0 ? (hits.scores[i] ?? 0) / total : 1 / docs;
    // A hit scoring 0 among scoring ones brings nothing (its terms would weigh 0).
    if (!(docWeight > 0)) continue;
    const length = stream.feedback.length;
    feedbackCounts(stream, (id, c) => {
      if (relevance[id] === 0) order[listed++] = id;
      relevance[id] = (relevance[id] ?? 0) + (docWeight * c) / length;
    });
  }
  // The best `feedback.terms` by relevance, ties to the term first in code-unit order, kept
  // in order as they come (a few hundred candidates, a list of 20).
  const k = feedback.terms;
  const terms = new Array<string>(k).fill('');
  const values = new Float64Array(k);
  let kept = 0;
  for (let n = 0; n < listed; n++) {
    const id = order[n] ?? 0;
    const v = relevance[id] ?? 0;
    relevance[id] = 0;
    const term = ids.terms[id] ?? '';
    // Written out rather than a comparing closure, which boxed `v` at every call.
    if (kept === k) {
      const w = values[k - 1] ?? 0;
      if (!(v > w || (v === w && term < (terms[k - 1] ?? '')))) continue;
    }
    // Shift the ones it beats down a place (the last one falls off a full list).
    let at = Math.min(kept, k - 1);
    for (; at > 0; at--) {
      const w = values[at - 1] ?? 0;
      if (!(v > w || (v === w && term < (terms[at - 1] ?? '')))) break;
      terms[at] = terms[at - 1] ?? '';
      values[at] = w;
    }
    terms[at] = term;
    values[at] = v;
    if (kept < k) kept++;
  }
  let sum = 0;
  for (let i = 0; i < kept; i++) sum += values[i] ?? 0;
  const out: WeightedTerm[] = [];
  if (sum > 0)
    for (let i = 0; i < kept; i++) out.push({ term: terms[i] ?? '', weight: (values[i] ?? 0) / sum });
  return out;
}

/**
 * Has the store write its compact posting lists (Store.compactPostings) with this ranker's
 * impacts for `options` (defaults: DEFAULT_RANK_OPTIONS), so that loading a list costs no
 * computation while the index does not change; returns the postings written (0: current).
 * Stops, throwing its reason, once `signal` is aborted.
 */
export async function compactRanking(
  store: Store,
  options: Partial<RankOptions> = {},
  signal?: AbortSignal,
): Promise<number> {
  const o: RankOptions = { ...DEFAULT_RANK_OPTIONS, ...options };
  const cache = await indexCache(store);
  return store.compactPostings(
    {
      key: storedImpactKey(cache, o),
      // None for a list holding a chunk written after this table was loaded (no norms here).
      of: (list) =>
        (list.chunkIds[list.chunkIds.length - 1] ?? 0) < cache.table.size
          ? impactsOf(cache, list, o).impacts
          : undefined,
      summaryOf: (list, impacts) => listSummary(list, impacts, o),
    },
    signal ? { signal } : {},
  );
}

/** warmRanking reads every posting list when the index holds at most this many postings. */
export const WARM_POSTINGS = 4_000_000;

/**
 * Queries warmRanking runs, drawn from the index's own text, and the time they may take in
 * all. A query path that has never run is interpreted, then compiled as it gets hot: on the
 * four test collections the first 20 or so queries took 3–13 ms against about 1 ms after
 * (bench/README.md, Peers), so the first users of a fresh server would wait for the JIT.
 */
export const WARM_QUERIES = { count: 400, maxMs: 1000 };

/** How much warmRanking does (defaults: WARM_POSTINGS, WARM_QUERIES.count). */
export interface WarmLimits {
  /** Every posting list is read when the index holds at most this many postings. */
  readonly maxPostings?: number;
  /** Warm-up queries run at most (0: none). */
  readonly queries?: number;
  /**
   * Stops the warm-up (e.g. a server shutting down), a compaction under way included
   * (between two of its transactions); what is already loaded stays.
   */
  readonly signal?: AbortSignal;
}

/** What warmRanking loaded and ran. */
export interface WarmSummary {
  /** Posting lists cached. */
  readonly lists: number;
  /** Chunks whose text is analysed and cached for the second stage. */
  readonly streams: number;
  /** Warm-up queries run. */
  readonly queries: number;
}

/**
 * Loads the in-memory ranking state ahead of the first query, e.g. right after a bulk load
 * or at server start: the store's compact posting lists, written if stale
 * (compactRanking), the chunk table and length norms, every posting list when the index
 * holds at most `maxPostings` (one pass over the index instead of one lookup per term on
 * first use), every chunk's token stream for a small index, and then a few queries made of
 * the index's own sentences (WARM_QUERIES), so that the query path is compiled before the
 * first real query. Optional: rankChunks loads what it needs on demand; the warm-up queries
 * change no ranking, only what is cached.
 */
export async function warmRanking(
  store: Store,
  options: Partial<RankOptions> = {},
  limits: WarmLimits = {},
): Promise<WarmSummary> {
  const o: RankOptions = { ...DEFAULT_RANK_OPTIONS, ...options };
  try {
    await compactRanking(store, o, limits.signal);
  } catch (e) {
    if (!limits.signal?.aborted) throw e;
  }
  const cache = await indexCache(store);
  // Stopped (e.g. while compacting): what is already loaded stays.
  if (limits.signal?.aborted)
    return { lists: cache.postings.size, streams: cache.tokenStreams.byChunk.size, queries: 0 };
  norms(cache, fieldBs(o));
  // What is already cached counts against the cache's bound.
  const room = Math.floor((CACHE_LIMITS.cachedBytes - cache.cachedBytes) / postingBytes(cache));
  const all = await store.allPostings(Math.min(limits.maxPostings ?? WARM_POSTINGS, room));
  // Nothing to add when the index changed while it was read.
  if (all && CACHES.get(store) === cache) {
    useImpactKey(cache, o);
    for (const [term, list] of all) {
      if (cache.postings.has(term)) continue;
      const entry = impactsOf(cache, list, o);
      cache.postings.set(term, entry);
      cache.cachedBytes += entryBytes(entry);
    }
  } else if (!all) {
    // Too large to read whole: the longest lists, which cost most to read at query time
    // (a common word's at 1M chunks: 2-4 MB, a few ms), up to a share of the cache's room,
    // so the rarer lists queries load later do not push them out. Query stop words are
    // left out: no query scores them.
    const frequent = await store.frequentTerms(Math.floor(room * PRELOAD_SHARE));
    const stops = queryStopTerms();
    const terms = frequent.filter((t) => !stops.has(t));
    for (let at = 0; at < terms.length; at += PRELOAD_BATCH) {
      if (limits.signal?.aborted || CACHES.get(store) !== cache) break;
      await loadPostings(store, cache, terms.slice(at, at + PRELOAD_BATCH), o);
    }
  }
  const sample = await warmQueryTexts(store, cache.table, limits.queries ?? WARM_QUERIES.count);
  await warmStreams(store, cache, o);
  let queries = 0;
  const started = performance.now();
  for (const [i, query] of sample.entries()) {
    if (
      limits.signal?.aborted ||
      CACHES.get(store) !== cache ||
      performance.now() - started > WARM_QUERIES.maxMs
    )
      break;
    await rankChunks(store, {
      query,
      kbIds: [],
      limit: WARM_QUERY_LIMITS[i % WARM_QUERY_LIMITS.length] ?? 10,
      options,
    });
    queries++;
  }
  return { lists: cache.postings.size, streams: cache.tokenStreams.byChunk.size, queries };
}

/**
 * warmRanking loads the longest lists of an index too large to read whole up to this share
 * of the posting cache's room (Store.frequentTerms), leaving the rest to the lists queries
 * ask for.
 */
export const PRELOAD_SHARE = 0.5;

/** Lists warmRanking loads per store call when preloading (it checks for a stop between). */
const PRELOAD_BATCH = 32;

let stopTerms: ReadonlySet<string> | undefined;

/**
 * The indexed forms of the query stop words (analyzeQuery drops them from every query),
 * worked out on first use: stemming them costs ~2 ms, which every CLI run importing this
 * module would otherwise pay.
 */
function queryStopTerms(): ReadonlySet<string> {
  return (stopTerms ??= new Set([...STOP_WORDS].map(stemWord)));
}

/** A warm-up query's length at most, in characters (a long one's: WARM_LONG_CHARS). */
const WARM_QUERY_CHARS = 300;

/**
 * Every WARM_LONG_EVERY-th warm-up query is a chunk's opening, up to WARM_LONG_CHARS: real
 * queries pasted from a paragraph (CISI's, CACM's) hold more terms than a ranking keeps
 * (maxTerms), and pruning them is a path the short ones never take. Left uncompiled, it
 * cost the first such query 3-4 ms (a deoptimisation in rankChunks and fieldCounts).
 */
const WARM_LONG_EVERY = 8;
const WARM_LONG_CHARS = 1200;

/**
 * Every WARM_UNSEEN_EVERY-th warm-up query also holds a made-up word (unseenWord), as real
 * queries hold words the index lacks: when every list is preloaded, only such a word makes
 * a query read the store, a path that otherwise first runs (and deoptimises loadPostings)
 * at a user's query.
 */
const WARM_UNSEEN_EVERY = 3;

/** A word of letters no language uses together, different for each `i`. */
export function unseenWord(i: number): string {
  let tail = '';
  for (let n = i; ; n = Math.floor(n / 26) - 1) {
    tail = String.fromCharCode(97 + (n % 26)) + tail;
    if (n < 26) break;
  }
  return `qxzjv${tail}`;
}

/** Hits asked for by the warm-up queries in turn (a page of results, a long list, a deep one). */
const WARM_QUERY_LIMITS = [10, 100, 1000];

/**
 * Up to `count` queries for warmRanking, from chunks spread evenly over `table` (real
 * sentences: stop words, compounds and all), found without listing every live chunk first
 * (a million-entry array at a million chunks): mostly runs of 4 to 15 words from a chunk's
 * middle, some a long opening (WARM_LONG_EVERY), some with a word the index lacks
 * (WARM_UNSEEN_EVERY).
 */
export async function warmQueryTexts(store: Store, table: ChunkTable, count: number): Promise<string[]> {
  if (count <= 0 || table.chunkCount === 0) return [];
  // The first live chunk of each of `count` equal, disjoint stretches of the table (holes
  // skipped; each scan stops at its stretch's end, so the table is read at most once).
  const picked: number[] = [];
  for (let i = 0; i < count; i++) {
    const end = Math.min(table.size, Math.floor(((i + 1) * table.size) / count));
    let id = Math.floor((i * table.size) / count);
    while (id < end && (table.documentId[id] ?? 0) === 0) id++;
    if (id < end) picked.push(id);
  }
  const rows = await store.getChunksWithDocuments(picked);
  return rows.flatMap((row, i) => {
    const words = row.chunk.text.split(/\s+/).filter((w) => w.length > 0);
    const long = i % WARM_LONG_EVERY === WARM_LONG_EVERY - 1;
    const length = long ? words.length : 4 + (i % 12);
    const at = long ? 0 : Math.max(0, Math.floor(words.length / 2) - Math.floor(length / 2));
    // Capped: a chunk of one long unbroken token (a data blob) must not make a huge query.
    const text = words
      .slice(at, at + length)
      .join(' ')
      .slice(0, long ? WARM_LONG_CHARS : WARM_QUERY_CHARS);
    if (text.length === 0) return [];
    return [i % WARM_UNSEEN_EVERY === WARM_UNSEEN_EVERY - 1 ? `${text} ${unseenWord(i)}` : text];
  });
}

/** Reads and analyses every chunk of a small index into the token stream cache (CACHE_LIMITS). */
async function warmStreams(store: Store, cache: IndexCache, options: RankOptions): Promise<void> {
  const secondStage = options.proximity || options.feedback;
  const { table } = cache;
  if (!secondStage || table.chunkCount > CACHE_LIMITS.warmStreamChunks) return;
  const streams = cache.tokenStreams;
  streams.limit = Math.max(streams.limit, table.chunkCount);
  const ids: number[] = [];
  for (let id = 0; id < table.size; id++) if ((table.documentId[id] ?? 0) !== 0) ids.push(id);
  for (let at = 0; at < ids.length; at += WARM_BATCH) {
    // Stop when the index changed meanwhile: the next version starts its own cache.
    if (CACHES.get(store) !== cache) return;
    await readStreams(store, streams, ids.slice(at, at + WARM_BATCH));
  }
}

/** Chunks read back per store call while warming. */
const WARM_BATCH = 500;

/**
 * Ranks chunks for a query: BM25F over the in-memory index, optional RM3 feedback, then
 * document filters. Hits come best first, at most `limit` of them, ties by lower chunk id.
 */
export async function rankChunks(store: Store, request: RankRequest): Promise<RankResult> {
  const options: RankOptions = { ...DEFAULT_RANK_OPTIONS, ...request.options };
  const perDocument = request.perDocument ?? true;
  // Analysed once: the terms to score, and (for proximity) where they stand in the query.
  const analysed = analyze(request.query);
  const queryTerms = queryTermsOf(analysed);
  let cache = await indexCache(store);
  // Document frequencies come from the index only when terms must be dropped before their
  // posting lists are read; otherwise the lists themselves give them (the index's count of
  // a common term costs as much as reading its list).
  const mustPrune = queryTerms.length > options.maxTerms || options.maxChunkShare < 1;
  let kept = mustPrune
    ? prune(queryTerms, await frequencies(store, cache, queryTerms), cache.table.chunkCount, options)
    : queryTerms;
  await loadPostings(
    store,
    cache,
    kept.map((t) => t.term),
    options,
  );
  if (!mustPrune) {
    const df = (t: QueryTerm): number => cache.postings.get(t.term)?.chunkIds.length ?? 0;
    kept = [...kept].sort((a, b) => df(a) - df(b));
  }
  const totalCount = kept.reduce((s, t) => s + t.count, 0);
  let weighted: WeightedTerm[] = kept.map((t) => ({ term: t.term, weight: t.count / (totalCount || 1) }));
  let kbs = allowedKbs(cache, request.kbIds);
  const filter = request.filter && Object.keys(request.filter).length > 0 ? request.filter : undefined;
  // With a document filter, over-fetch and filter afterwards; the filter runs in SQL.
  const depth = options.proximity || options.documentWeight > 0 ? options.rerankDepth : 0;
  const capacity = Math.max(filter ? Math.max(request.limit * 8, 400) : request.limit, depth);
  const n = cache.table.chunkCount;
  const w = options.fieldWeights;
  const proximityTerms = kept.map((t) => {
    const d = cache.postings.get(t.term)?.chunkIds.length ?? 0;
    return {
      term: t.term,
      weight: t.count / (totalCount || 1),
      idf: Math.log(1 + (n - d + 0.5) / (d + 0.5)),
    };
  });
  const memo = rerankMemo(cache.tokenStreams);
  /** Re-scores and re-sorts `first` in place. */
  const secondStage = async (
    first: HitList,
    scored: readonly WeightedTerm[],
    perDoc: boolean,
  ): Promise<void> => {
    // The whole-document score reads per-field counts, for documents of several chunks only.
    const longer = perDoc && options.documentWeight > 0 && hasLongerDocument(cache.table, first);
    const postings = longer
      ? await fieldCounts(
          store,
          cache,
          scored.map((t) => t.term),
        )
      : new Map();
    await rerank(
      store,
      first,
      {
        query: analysed,
        queryTerms: proximityTerms,
        scoredTerms: scored,
        table: cache.table,
        avgLengths: cache.avgLengths,
        postings,
        k1: options.k1,
        b: options.b,
        fieldB: fieldBs(options),
        fieldWeights: [w.title, w.heading, w.body, w.tags],
        dfr: options.dfr,
        perDocument: perDoc,
        documentWeight: options.documentWeight,
        proximity: options.proximity,
        depth,
      },
      memo,
    );
  };
  let expansion: WeightedTerm[] = [];
  let reuse: PassOptions['reuse'];
  if (options.feedback && options.feedback.docs > 0 && options.feedback.terms > 0) {
    // Feedback documents are the best of the full first ranking (both stages).
    const first = scorePass(cache, weighted, options, kbs, true, Math.max(depth, options.feedback.docs), {
      keepPrior: SCORING_LIMITS.reuseFirstPass,
    });
    if (filter) await keep(store, first.hits, filter);
    await secondStage(first.hits, weighted, true);
    expansion = await expansionTerms(store, cache, first.hits, options.feedback);
    if (options.maxExpansionShare < 1 && expansion.length > 0) {
      const expansionDf = await store.documentFrequencies(expansion.map((t) => t.term));
      const limit = options.maxExpansionShare * cache.table.chunkCount;
      expansion = expansion.filter((t) => (expansionDf.get(t.term) ?? 0) <= limit);
    }
    // Without expansion terms the final pass scores the same terms again.
    let scale = 1;
    if (expansion.length > 0) {
      const alpha = options.feedback.originalWeight;
      scale = alpha;
      const mixed = new Map<string, number>();
      for (const t of weighted) mixed.set(t.term, alpha * t.weight);
      for (const t of expansion) mixed.set(t.term, (mixed.get(t.term) ?? 0) + (1 - alpha) * t.weight);
      weighted = [...mixed].map(([term, weight]) => ({ term, weight }));
      // The index may have changed while feedback text was read: score on the current one.
      cache = await indexCache(store);
      kbs = allowedKbs(cache, request.kbIds);
      await loadPostings(
        store,
        cache,
        weighted.map((t) => t.term),
        options,
      );
    }
    // The first pass's scores over the query's terms are the final pass's, times `scale`,
    // for the lists it scored through: the final pass adds only what the rest weigh.
    if (first.prior && scale > 0) reuse = { prior: first.prior, scale };
  }
  let pass = scorePass(cache, weighted, options, kbs, perDocument, capacity, { reuse });
  if (filter) {
    await keep(store, pass.hits, filter);
    // A selective filter can reject every over-fetched hit: then rank every candidate.
    if (pass.hits.length < request.limit && pass.candidates > capacity) {
      pass = scorePass(cache, weighted, options, kbs, perDocument, pass.candidates, { exhaustive: true });
      await keep(store, pass.hits, filter);
    }
  }
  await secondStage(pass.hits, weighted, perDocument);
  pass.hits.truncate(request.limit);
  return new Ranking(
    kept.map((t) => t.term),
    expansion,
    pass.hits,
    pass.candidates,
  );
}

/** A RankResult whose hit objects are made on first read. */
class Ranking implements RankResult {
  #objects: readonly RankedChunk[] | undefined;

  constructor(
    readonly terms: readonly string[],
    readonly expansion: readonly { term: string; weight: number }[],
    readonly ranked: RankedHits,
    readonly candidates: number,
  ) {}

  get hits(): readonly RankedChunk[] {
    return (this.#objects ??= hitObjects(this.ranked));
  }
}

/** Whether a hit's document has several chunks. */
function hasLongerDocument(table: ChunkTable, hits: RankedHits): boolean {
  for (let i = 0; i < hits.length; i++)
    if (documentChunkCount(table, hits.documentIds[i] ?? 0) > 1) return true;
  return false;
}

/** 1 at each knowledge base id searched (all when none is named). */
function allowedKbs(cache: IndexCache, kbIds: readonly number[]): Uint8Array {
  if (kbIds.length === 0) return cache.allKbs;
  const allowed = new Uint8Array(cache.allKbs.length);
  for (const kb of kbIds) if (kb > 0 && kb < allowed.length) allowed[kb] = cache.allKbs[kb] ?? 0;
  // Every knowledge base there is: the same as none named (accumulate skips the test).
  return allowed.every((v, kb) => v === cache.allKbs[kb]) ? cache.allKbs : allowed;
}

/** Keeps the hits whose documents pass the filter, in order. */
async function keep(store: Store, hits: HitList, filter: DocumentFilter): Promise<void> {
  const allowed = await store.filterChunks(hits.chunkIdList(), filter);
  hits.retain((chunkId) => allowed.has(chunkId));
}
