/**
 * Retrieve: BM25 candidates from `search` (every matching chunk, top CANDIDATES), then
 * - rescoring: the index's BM25 (normalised to the best candidate) blended with the
 *   idf-weighted share of query terms in the chunk, title and heading matches, and term
 *   proximity (the tightest window holding the matched terms);
 * - pseudo-relevance feedback: the terms that stand out in the best few chunks (tf × idf
 *   within the candidate set) add a small bonus to chunks that share them;
 * - diversification by MMR (λ per route) on the chunks' term sets;
 * - grouping by document.
 * With an embedder (`dense`), the question's vector finds the nearest chunks too, and the
 * two candidate lists are fused by reciprocal rank (search/hybrid.ts); the fused rank then
 * stands in for BM25 in the rescoring, so a chunk found only by meaning can rank. The
 * evidence that decides whether to decline stays lexical.
 * The `summary` route ranks documents first (aggregate chunk evidence), then takes each
 * chosen document's most central chunks across its sections.
 *
 * It also measures the evidence the answer stage uses to decline (see `Evidence`):
 * coverage = best chunk's idf-weighted share of the query terms (body, heading or title);
 * strength = best chunk's BM25 (Robertson, k1 = 1.2, b = 0.75, idf from the index's chunk
 * counts) over the query's maximum possible BM25, Σ idf·(k1 + 1).
 */
import { toShelfError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import { fuseRanks } from '../search/hybrid.js';
import { rankChunks } from '../search/rank.js';
import { validateQuery } from '../search/search.js';
import type { ChunkRecord, DocumentFilter, DocumentRecord, Store } from '../store/store.js';
import { analyze, analyzeQuery, type Term } from '../text/analyze.js';
import type { AskFilters, Candidate, Evidence, Route, RouteType } from './types.js';

/** BM25 candidates taken from the index. */
export const CANDIDATES = 150;
const K1 = 1.2;
const B = 0.75;

interface Depth {
  /** Chunks kept after MMR. */
  readonly keep: number;
  /** MMR trade-off: 1 = relevance only. */
  readonly lambda: number;
}

const DEPTH: Record<RouteType, Depth> = {
  lookup: { keep: 8, lambda: 0.8 },
  howto: { keep: 10, lambda: 0.75 },
  code: { keep: 10, lambda: 0.75 },
  summary: { keep: 10, lambda: 0.6 },
  comparison: { keep: 12, lambda: 0.6 },
  list: { keep: 12, lambda: 0.6 },
  catalog: { keep: 20, lambda: 0.5 },
  vague: { keep: 0, lambda: 1 },
};

export interface RetrieveRequest {
  readonly store: Store;
  readonly kbIds: readonly number[];
  readonly route: Route;
  /** Dense candidates: the embedder whose vectors the knowledge bases hold. */
  readonly dense?: DenseRequest;
}

export interface DenseRequest {
  readonly embedder: Embedder;
  /** Nearest chunks fetched (default 100). */
  readonly candidates?: number;
}

/** What hybrid retrieval did, for the trace: both candidate lists and the fusion. */
export interface HybridReport {
  readonly model: string;
  /** Top of the BM25 list: chunk ids, best first. */
  readonly bm25: readonly number[];
  /** Top of the dense list: chunk ids with cosine similarity, best first. */
  readonly dense: readonly { readonly chunkId: number; readonly score: number }[];
  /** Top of the fused list, with each list's rank. */
  readonly fused: readonly {
    readonly chunkId: number;
    readonly score: number;
    readonly ranks: Readonly<Record<string, number>>;
  }[];
  readonly counts: { readonly bm25: number; readonly dense: number; readonly fused: number };
  /** Set when the dense side failed and retrieval stayed lexical. */
  readonly error?: string;
}

export interface DocumentGroup {
  readonly document: DocumentRecord;
  readonly score: number;
  readonly chunks: number;
}

export interface Retrieval {
  /** Chosen chunks, best first. */
  readonly candidates: readonly Candidate[];
  /** Documents of the chosen chunks, best first. */
  readonly documents: readonly DocumentGroup[];
  /** Documents of all BM25 candidates, best first (named when the answer declines). */
  readonly nearest: readonly DocumentGroup[];
  readonly evidence: Evidence;
  readonly queryTerms: readonly string[];
  /** Terms added by pseudo-relevance feedback. */
  readonly expansion: readonly string[];
  readonly counts: { readonly bm25: number; readonly rescored: number; readonly kept: number };
  /** Summary route: the documents chosen by aggregate evidence. */
  readonly summaryDocuments?: readonly string[];
  /** Set when dense candidates were asked for. */
  readonly hybrid?: HybridReport;
}

/** Entries of each list shown in the trace. */
const TRACE_TOP = 10;

export function toDocumentFilter(f: AskFilters): DocumentFilter {
  return {
    ...(f.author !== undefined ? { author: f.author } : {}),
    ...(f.tag !== undefined ? { tag: f.tag } : {}),
    ...(f.since !== undefined ? { since: f.since } : {}),
    ...(f.until !== undefined ? { until: f.until } : {}),
    ...(f.sourceId !== undefined ? { sourceId: f.sourceId } : {}),
  };
}

/** A chunk's analysed text: term positions and the set of content terms. */
interface Analysed {
  readonly positions: Map<string, number[]>;
  readonly length: number;
  readonly terms: Set<string>;
}

/** Raw tokens as `analyze` sees them; each is analysed once per request through the memo. */
const RAW_TOKEN = /[\p{L}\p{N}_]+(?:(?:::|[.\-'’])[\p{L}\p{N}_]+)*/gu;

/** Per-request memo of analysed raw tokens: 150 chunks share most of their words. */
export type TokenMemo = Map<string, readonly Term[]>;

function analyseText(text: string, memo: TokenMemo = new Map()): Analysed {
  const positions = new Map<string, number[]>();
  const terms = new Set<string>();
  let length = 0;
  let position = 0;
  const all: { term: string; position: number; compound: boolean; stop: boolean }[] = [];
  for (const m of text.matchAll(RAW_TOKEN)) {
    let parts = memo.get(m[0]);
    if (!parts) memo.set(m[0], (parts = analyze(m[0])));
    for (const t of parts) all.push({ term: t.term, position, compound: t.compound, stop: t.stop });
    position++;
  }
  for (const t of all) {
    if (!t.compound) length++;
    let list = positions.get(t.term);
    if (!list) positions.set(t.term, (list = []));
    list.push(t.position);
    if (!t.stop && !t.compound && t.term.length > 2 && !/^\d+$/.test(t.term)) terms.add(t.term);
  }
  return { positions, length, terms };
}

/** Table-of-contents pages, index pages and number tables make poor evidence. */
export function junkFactor(text: string): number {
  const leaders = (text.match(/(?:\. ){4,}|\.{5,}/g) ?? []).length;
  if (leaders >= 2) return 0.3;
  const tokens = text.split(/\s+/).filter((w) => w !== '');
  if (tokens.length === 0) return 0.3;
  const numeric = tokens.filter((w) => /^[\d.,:;()-]+$/.test(w)).length;
  return numeric / tokens.length > 0.35 ? 0.5 : 1;
}

/** Smallest window (in token positions) holding one occurrence of each term present. */
function minWindow(lists: readonly number[][]): number {
  const events: [number, number][] = [];
  lists.forEach((l, i) => l.forEach((p) => events.push([p, i])));
  events.sort((a, b) => a[0] - b[0]);
  const need = lists.length;
  const count = new Map<number, number>();
  let best = Infinity;
  let left = 0;
  for (let right = 0; right < events.length; right++) {
    const [, ri] = events[right] ?? [0, 0];
    count.set(ri, (count.get(ri) ?? 0) + 1);
    while (count.size === need) {
      const [lp, li] = events[left] ?? [0, 0];
      best = Math.min(best, (events[right]?.[0] ?? 0) - lp + 1);
      const c = (count.get(li) ?? 1) - 1;
      if (c === 0) count.delete(li);
      else count.set(li, c);
      left++;
    }
  }
  return best;
}

/** Token positions within which query terms count as said together (cohesion). */
export const COHESION_WINDOW = 20;

/**
 * The idf-weighted share of the query's terms said together: in one window of
 * COHESION_WINDOW positions of the chunk, or in its title or heading (which frame the
 * whole chunk). Scattered mentions of each word ("web" here, "API" there) are not
 * evidence that the chunk is about the question.
 */
function cohesion(
  hits: readonly { term: string; positions: readonly number[] }[],
  framing: ReadonlySet<string>,
  idf: ReadonlyMap<string, number>,
  idfTotal: number,
): number {
  let base = 0;
  for (const t of framing) base += idf.get(t) ?? 0;
  const events: [number, string][] = [];
  for (const h of hits) if (!framing.has(h.term)) for (const p of h.positions) events.push([p, h.term]);
  events.sort((a, b) => a[0] - b[0]);
  let best = 0;
  const count = new Map<string, number>();
  let inWindow = 0;
  let left = 0;
  for (const [pos, term] of events) {
    const c = count.get(term) ?? 0;
    count.set(term, c + 1);
    if (c === 0) inWindow += idf.get(term) ?? 0;
    while ((events[left]?.[0] ?? pos) <= pos - COHESION_WINDOW) {
      const lt = events[left]?.[1] ?? '';
      const lc = (count.get(lt) ?? 1) - 1;
      count.set(lt, lc);
      if (lc === 0) inWindow -= idf.get(lt) ?? 0;
      left++;
    }
    best = Math.max(best, inWindow);
  }
  return idfTotal > 0 ? Math.min(1, (base + best) / idfTotal) : 0;
}

/** A document is about a term when its title or a heading names it, or this many of its chunks use it. */
export const TOPICAL_MIN_CHUNKS = 3;

/**
 * How well the best document is *about* the query, for overview questions: the
 * idf-weighted share of query terms that its title or headings name, or that recur across
 * at least TOPICAL_MIN_CHUNKS of its candidate chunks. A book that says "API" once and
 * "design" here and there is not an overview of web API design.
 */
function topicality(
  scored: readonly Scored[],
  queryTerms: readonly { term: string }[],
  idf: ReadonlyMap<string, number>,
  idfTotal: number,
): number {
  const byDocument = new Map<number, Scored[]>();
  for (const s of scored) {
    const list = byDocument.get(s.document.id);
    if (list) list.push(s);
    else byDocument.set(s.document.id, [s]);
  }
  let best = 0;
  for (const chunks of byDocument.values()) {
    let share = 0;
    for (const { term } of queryTerms) {
      const named = chunks.some((c) => c.framing.has(term));
      const uses = chunks.filter((c) => c.analysed.positions.has(term)).length;
      if (named || uses >= TOPICAL_MIN_CHUNKS) share += idf.get(term) ?? 0;
    }
    best = Math.max(best, idfTotal > 0 ? share / idfTotal : 0);
  }
  return best;
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

interface Scored {
  chunk: ChunkRecord;
  document: DocumentRecord;
  bm25: number;
  score: number;
  coverage: number;
  /** Share of the query said together in one window, title or heading (see cohesion). */
  cohesion: number;
  /** Query terms in the chunk's document title or heading path. */
  framing: ReadonlySet<string>;
  strength: number;
  analysed: Analysed;
}

const EMPTY_EVIDENCE: Evidence = { coverage: 0, strength: 0, cohesion: 0, topical: 0, missingTerms: [] };

export async function retrieve(request: RetrieveRequest): Promise<Retrieval> {
  const { store, kbIds, route } = request;
  const depth = DEPTH[route.type];
  // Compound forms (`tcplistener`) ride along in the BM25 query; evidence counts the parts.
  const allTerms = analyzeQuery(route.query);
  const queryTerms = allTerms.some((t) => !t.compound) ? allTerms.filter((t) => !t.compound) : allTerms;
  const empty: Retrieval = {
    candidates: [],
    documents: [],
    nearest: [],
    evidence: EMPTY_EVIDENCE,
    queryTerms: queryTerms.map((t) => t.term),
    expansion: [],
    counts: { bm25: 0, rescored: 0, kept: 0 },
  };
  if (queryTerms.length === 0 || route.query.trim() === '') return empty;

  const filter = toDocumentFilter(route.filters);
  const [ranked, stats] = await Promise.all([
    rankChunks(store, {
      query: validateQuery(route.query),
      kbIds,
      filter,
      limit: CANDIDATES,
      perDocument: false,
    }),
    store.termStats(
      queryTerms.map((t) => t.term),
      kbIds,
    ),
  ]);
  let ids = ranked.hits.map((h) => h.chunkId);
  let fusedScore: Map<number, number> | undefined;
  let hybrid: HybridReport | undefined;
  if (request.dense) {
    const model = request.dense.embedder.model;
    try {
      const [vector] = await request.dense.embedder.embed([route.query]);
      if (!vector) throw new Error('the embedder returned no vector for the question');
      const dense = await store.searchDense({
        vector,
        model,
        kbIds,
        filter,
        limit: request.dense.candidates ?? 100,
      });
      const fused = fuseRanks([
        { name: 'bm25', ids },
        { name: 'dense', ids: dense.map((d) => d.chunkId) },
      ]).slice(0, CANDIDATES);
      fusedScore = new Map(fused.map((f) => [f.id, f.score]));
      ids = fused.map((f) => f.id);
      hybrid = {
        model,
        bm25: ranked.hits.slice(0, TRACE_TOP).map((h) => h.chunkId),
        dense: dense.slice(0, TRACE_TOP).map((d) => ({ chunkId: d.chunkId, score: round3(d.score) })),
        fused: fused
          .slice(0, TRACE_TOP)
          .map((f) => ({ chunkId: f.id, score: round3(f.score * 1000) / 1000, ranks: f.ranks })),
        counts: { bm25: ranked.hits.length, dense: dense.length, fused: fused.length },
      };
    } catch (e) {
      hybrid = {
        model,
        bm25: ranked.hits.slice(0, TRACE_TOP).map((h) => h.chunkId),
        dense: [],
        fused: [],
        counts: { bm25: ranked.hits.length, dense: 0, fused: 0 },
        error: toShelfError(e).message,
      };
    }
  }
  const rows = await store.getChunksWithDocuments(ids);
  const scoreOf = new Map(ranked.hits.map((h) => [h.chunkId, h.score]));
  const result = {
    candidates: ranked.candidates,
    hits: rows.map((r) => ({ ...r, score: scoreOf.get(r.chunk.id) ?? 0 })),
  };
  const memo: TokenMemo = new Map();
  const n = Math.max(stats.chunkCount, 1);
  const idf = new Map<string, number>();
  for (const t of queryTerms) {
    const df = stats.df.get(t.term) ?? 0;
    idf.set(t.term, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
  }
  const idfTotal = [...idf.values()].reduce((a, b) => a + b, 0) || 1;
  const maxBm25 = idfTotal * (K1 + 1);
  const missingTerms = queryTerms.filter((t) => (stats.df.get(t.term) ?? 0) === 0).map((t) => t.term);
  if (result.hits.length === 0) return { ...empty, evidence: { ...EMPTY_EVIDENCE, missingTerms } };

  const titleCache = new Map<number, Analysed>();
  const analysed = result.hits.map((h) => analyseText(h.chunk.text, memo));
  const avgLength = analysed.reduce((a, x) => a + x.length, 0) / analysed.length || 1;
  const topBm25 = Math.max(...result.hits.map((h) => h.score), 1e-9);
  const topFused = fusedScore ? Math.max(...fusedScore.values(), 1e-9) : 1;
  // The first-stage signal: BM25 against the best, or (hybrid) the fused rank score.
  const firstStage = (h: { chunk: ChunkRecord; score: number }): number =>
    fusedScore ? (fusedScore.get(h.chunk.id) ?? 0) / topFused : h.score / topBm25;

  const scored: Scored[] = result.hits.map((h, i) => {
    const a = analysed[i] ?? analyseText(h.chunk.text, memo);
    let title = titleCache.get(h.document.id);
    if (!title) titleCache.set(h.document.id, (title = analyseText(h.document.title, memo)));
    const heading = analyseText(h.chunk.headingPath.join(' '), memo);
    let covered = 0;
    let titleShare = 0;
    let headingShare = 0;
    let bm25 = 0;
    const present: number[][] = [];
    const hitsForCohesion: { term: string; positions: readonly number[] }[] = [];
    const framing = new Set<string>();
    for (const t of queryTerms) {
      const w = idf.get(t.term) ?? 0;
      const pos = a.positions.get(t.term);
      const tf = pos?.length ?? 0;
      if (tf > 0) {
        bm25 += (w * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * a.length) / avgLength));
        present.push(pos ?? []);
        hitsForCohesion.push({ term: t.term, positions: pos ?? [] });
      }
      const inTitle = title.positions.has(t.term);
      const inHeading = heading.positions.has(t.term);
      if (inTitle || inHeading) framing.add(t.term);
      if (tf > 0 || inTitle || inHeading) covered += w;
      if (inTitle) titleShare += w;
      if (inHeading) headingShare += w;
    }
    const coverage = covered / idfTotal;
    const proximity = present.length >= 2 ? Math.min(1, present.length / minWindow(present)) : 0;
    let score =
      0.45 * firstStage(h) +
      0.25 * coverage +
      0.1 * (titleShare / idfTotal) +
      0.1 * (headingShare / idfTotal) +
      0.1 * proximity;
    if (route.type === 'code' && h.chunk.hasCode) score += 0.08;
    if (route.type === 'howto' && h.chunk.hasCode) score += 0.04;
    score *= junkFactor(h.chunk.text);
    return {
      chunk: h.chunk,
      document: h.document,
      bm25: h.score,
      score,
      coverage,
      cohesion: cohesion(hitsForCohesion, framing, idf, idfTotal),
      framing,
      strength: bm25 / maxBm25,
      analysed: a,
    };
  });

  // Pseudo-relevance feedback over the best few chunks.
  const expansion = feedbackTerms(scored, new Set(queryTerms.map((t) => t.term)));
  const expansionWeight = expansion.reduce((a, e) => a + e.weight, 0) || 1;
  for (const s of scored) {
    let share = 0;
    for (const e of expansion) if (s.analysed.terms.has(e.term)) share += e.weight;
    s.score += (0.1 * share) / expansionWeight;
  }
  scored.sort((a, b) => b.score - a.score);

  // Coverage over each document's two best chunks: an answer may draw on neighbouring
  // chunks, but a long book must not collect the query's words from distant chapters.
  const docCoverage = new Map<number, Set<string>>();
  const perDoc = new Map<number, number>();
  for (const s of scored.slice(0, 30)) {
    const seen = perDoc.get(s.document.id) ?? 0;
    if (seen >= 2) continue;
    perDoc.set(s.document.id, seen + 1);
    let set = docCoverage.get(s.document.id);
    if (!set) docCoverage.set(s.document.id, (set = new Set()));
    const title = titleCache.get(s.document.id);
    for (const t of queryTerms)
      if (
        s.analysed.positions.has(t.term) ||
        title?.positions.has(t.term) ||
        s.chunk.headingPath.some((h) => h.toLowerCase().includes(t.term))
      )
        set.add(t.term);
  }
  const bestDocCoverage = Math.max(
    0,
    ...[...docCoverage.values()].map((set) => [...set].reduce((a, t) => a + (idf.get(t) ?? 0), 0) / idfTotal),
  );
  const evidence: Evidence = {
    coverage: Math.max(bestDocCoverage, ...scored.slice(0, 10).map((s) => s.coverage)),
    strength: Math.max(...scored.slice(0, 10).map((s) => s.strength)),
    cohesion: queryTerms.length < 2 ? 1 : Math.max(0, ...scored.slice(0, 10).map((s) => s.cohesion)),
    topical: route.type === 'summary' ? topicality(scored, queryTerms, idf, idfTotal) : 1,
    missingTerms,
  };
  const nearest = groupByDocument(scored);

  let chosen: Scored[];
  let summaryDocuments: string[] | undefined;
  if (route.type === 'summary') {
    const summary = await summaryChunks(store, scored, idf, memo);
    chosen = summary.chunks;
    summaryDocuments = summary.documents.map((d) => d.title);
  } else {
    chosen = mmr(scored, depth);
    if (route.type === 'comparison' && route.sides) chosen = coverSides(chosen, scored, route.sides);
  }
  const candidates: Candidate[] = chosen.map((s) => ({
    chunk: s.chunk,
    document: s.document,
    bm25: s.bm25,
    score: s.score,
    coverage: s.coverage,
  }));
  return {
    candidates,
    documents: groupByDocument(chosen),
    nearest,
    evidence,
    queryTerms: queryTerms.map((t) => t.term),
    expansion: expansion.map((e) => e.term),
    counts: { bm25: result.candidates, rescored: scored.length, kept: candidates.length },
    ...(summaryDocuments ? { summaryDocuments } : {}),
    ...(hybrid ? { hybrid } : {}),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function feedbackTerms(
  scored: readonly Scored[],
  query: ReadonlySet<string>,
): { term: string; weight: number }[] {
  const top = [...scored].sort((a, b) => b.score - a.score).slice(0, 5);
  if (top.length < 2) return [];
  const df = new Map<string, number>();
  for (const s of scored) for (const t of s.analysed.terms) df.set(t, (df.get(t) ?? 0) + 1);
  const weight = new Map<string, number>();
  for (const s of top)
    for (const t of s.analysed.terms) {
      if (query.has(t)) continue;
      const tf = s.analysed.positions.get(t)?.length ?? 0;
      weight.set(t, (weight.get(t) ?? 0) + tf * Math.log(1 + scored.length / (df.get(t) ?? 1)));
    }
  // Only terms shared by at least two of the top chunks: one chunk's quirks are not feedback.
  return [...weight]
    .filter(([t]) => top.filter((s) => s.analysed.terms.has(t)).length >= 2)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([term, w]) => ({ term, weight: w }));
}

/** Maximal marginal relevance on term-set similarity. */
function mmr(scored: readonly Scored[], depth: Depth): Scored[] {
  const pool = scored.slice(0, 60);
  const out: Scored[] = [];
  const top = pool[0]?.score ?? 1;
  while (out.length < depth.keep && pool.length > 0) {
    let bestIndex = 0;
    let bestValue = -Infinity;
    pool.forEach((c, i) => {
      const sim = out.reduce((m, o) => Math.max(m, jaccard(c.analysed.terms, o.analysed.terms)), 0);
      const value = depth.lambda * (c.score / top) - (1 - depth.lambda) * sim;
      if (value > bestValue) {
        bestValue = value;
        bestIndex = i;
      }
    });
    const [picked] = pool.splice(bestIndex, 1);
    if (picked) out.push(picked);
  }
  return out;
}

/** Comparison: makes sure each side has its best chunks among the chosen. */
function coverSides(chosen: Scored[], scored: readonly Scored[], sides: readonly [string, string]): Scored[] {
  const out = [...chosen];
  for (const side of sides) {
    const stems = analyzeQuery(side).map((t) => t.term);
    const mentions = (s: Scored): boolean => stems.some((t) => s.analysed.positions.has(t));
    const have = out.filter(mentions).length;
    for (const s of scored.filter(mentions).slice(0, Math.max(0, 3 - have)))
      if (!out.includes(s)) out.push(s);
  }
  return out;
}

function groupByDocument(scored: readonly { document: DocumentRecord; score: number }[]): DocumentGroup[] {
  const groups = new Map<number, { document: DocumentRecord; score: number; chunks: number }>();
  for (const s of scored) {
    const g = groups.get(s.document.id);
    if (g) {
      g.chunks++;
      g.score = Math.max(g.score, s.score);
    } else groups.set(s.document.id, { document: s.document, score: s.score, chunks: 1 });
  }
  return [...groups.values()].sort((a, b) => b.score - a.score);
}

/** Book apparatus that never makes a good overview sentence. */
const APPARATUS =
  /^(references|bibliography|index|contents|table of contents|further reading|acknowledg|credits|contributors|license|changes and corrections|issues and where)/i;

/** Chunks per chosen document for an overview. */
const SUMMARY_CHUNKS_PER_DOCUMENT = 8;

/**
 * Documents ranked by aggregate evidence (their best chunks with decreasing weights, plus
 * how much of the query the document covers as a whole); the first is kept, and the next
 * ones only while they come close (≥ 75 % of the first). From each, the best chunk of each
 * section by centrality (cosine to the document's term centroid) blended with relevance.
 */
async function summaryChunks(
  store: Store,
  scored: readonly Scored[],
  idf: ReadonlyMap<string, number>,
  memo: TokenMemo,
): Promise<{ documents: DocumentRecord[]; chunks: Scored[] }> {
  const byDoc = new Map<number, Scored[]>();
  for (const s of scored) {
    const list = byDoc.get(s.document.id);
    if (list) list.push(s);
    else byDoc.set(s.document.id, [s]);
  }
  const idfTotal = [...idf.values()].reduce((a, b) => a + b, 0) || 1;
  const ranked = [...byDoc.values()]
    .map((list) => {
      const best = list.map((s) => s.score).sort((a, b) => b - a);
      const aggregate = (best[0] ?? 0) + 0.5 * (best[1] ?? 0) + 0.25 * (best[2] ?? 0);
      let covered = 0;
      for (const [t, w] of idf) if (list.some((s) => s.analysed.positions.has(t))) covered += w;
      return { document: list[0]?.document, list, value: aggregate + 0.5 * (covered / idfTotal) };
    })
    .filter((d): d is { document: DocumentRecord; list: Scored[]; value: number } => d.document !== undefined)
    .sort((a, b) => b.value - a.value);
  const first = ranked[0]?.value ?? 0;
  const chosenDocs = ranked.filter((d, i) => i === 0 || (i < 3 && d.value >= 0.75 * first));

  const out: Scored[] = [];
  for (const d of chosenDocs) {
    const all = await store.getChunks(d.document.id);
    const known = new Map(d.list.map((s) => [s.chunk.id, s]));
    // An overview of the document itself (its title answers the query) spans every section;
    // otherwise only the sections where the query's evidence was found.
    const title = analyseText(d.document.title, memo);
    let titleCovered = 0;
    for (const [t, w] of idf) if (title.positions.has(t)) titleCovered += w;
    const whole = titleCovered / idfTotal >= 0.5;
    const sectionOf = (c: ChunkRecord): string => c.headingPath.slice(0, 2).join(' > ');
    const evidenceSections = new Set(
      d.list.slice(0, SUMMARY_CHUNKS_PER_DOCUMENT).map((s) => sectionOf(s.chunk)),
    );
    const chunks = whole ? all : all.filter((c) => evidenceSections.has(sectionOf(c)));
    const weights = whole ? [0.4, 0.3, 0.3] : [0.2, 0.4, 0.4];
    const analysedChunks = chunks.map((c) => known.get(c.id)?.analysed ?? analyseText(c.text, memo));
    const centroid = new Map<string, number>();
    for (const a of analysedChunks)
      for (const t of a.terms) centroid.set(t, (centroid.get(t) ?? 0) + (a.positions.get(t)?.length ?? 0));
    const norm = Math.sqrt([...centroid.values()].reduce((s, v) => s + v * v, 0)) || 1;
    const rows = chunks.map((c, i) => {
      const a = analysedChunks[i] ?? analyseText(c.text, memo);
      let dot = 0;
      let self = 0;
      for (const t of a.terms) {
        const tf = a.positions.get(t)?.length ?? 0;
        dot += tf * (centroid.get(t) ?? 0);
        self += tf * tf;
      }
      const centrality = self > 0 ? dot / (Math.sqrt(self) * norm) : 0;
      let covered = 0;
      for (const [t, w] of idf) if (a.positions.has(t)) covered += w;
      const relevance = known.get(c.id)?.score ?? 0;
      const short = c.tokens < 25 ? 0.5 : 1;
      const apparatus = APPARATUS.test(c.headingPath[c.headingPath.length - 1] ?? '') ? 0.3 : 1;
      const [wc = 0, wv = 0, wr = 0] = weights;
      const value =
        (wc * centrality + wv * (covered / idfTotal) + wr * relevance) *
        junkFactor(c.text) *
        short *
        apparatus;
      return { c, a, value, coverage: covered / idfTotal };
    });
    // Best chunk per top-level section, best sections first.
    const bySection = new Map<string, (typeof rows)[number]>();
    for (const r of rows) {
      const key = r.c.headingPath.slice(0, 2).join(' > ');
      const prev = bySection.get(key);
      if (!prev || r.value > prev.value) bySection.set(key, r);
    }
    const picks = [...bySection.values()]
      .sort((a, b) => b.value - a.value)
      .slice(0, SUMMARY_CHUNKS_PER_DOCUMENT);
    for (const r of picks)
      out.push({
        chunk: r.c,
        document: d.document,
        bm25: known.get(r.c.id)?.bm25 ?? 0,
        score: r.value,
        coverage: r.coverage,
        cohesion: 0,
        framing: new Set<string>(),
        strength: 0,
        analysed: r.a,
      });
  }
  return { documents: chosenDocs.map((d) => d.document), chunks: out };
}
