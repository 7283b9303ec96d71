/**
 * Peers: shelf against MiniSearch, Orama, FlexSearch, Lunr and raw SQLite FTS5, on every
 * collection in ../shared/eval, in one run: nDCG@10, build time, query p50/p99 (top 1000
 * per query; first pass and a second, warm pass), how many of the queries at or above p99
 * a garbage collection paused, and heap growth after building (measured on a second build)
 * and after querying (in-memory caches count).
 *
 * Each engine is measured on each collection in a process of its own, one after the other:
 * in one shared process, every engine's garbage and heap size weighed on the garbage
 * collection of the engines after it (bench/README.md, Peers). Ratios are against raw FTS5
 * measured in the same run.
 *
 * With `--rounds N` (default 3) every engine is measured N times, the engines taking turns,
 * and latencies are percentiles of all rounds' queries together: a collection of 52 or 76
 * queries has no p99 of its own (the nearest rank is its slowest query, so one pause of
 * the machine decides it); over three rounds it is the second or third slowest.
 *   NODE_OPTIONS=--expose-gc npx tsx bench/peers/run.ts [collection,...] [engine,...] [--rounds N]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadBeir } from '../../src/eval/beir.js';
import { queryMetrics, type Retrieved } from '../../src/eval/metrics.js';
import { COLLECTIONS, EVAL_DIR, REFERENCE_NDCG, type CollectionSpec } from '../lib/collections.js';
import { f4, fmb, fms, heapBytes, percentiles, table, type Percentiles } from '../lib/measure.js';
import { ENGINES, type Engine, type Ranking } from './engines.js';

const HITS = 1000;
/** The argument that makes this script measure one engine on one collection and print it. */
const ONE = '--one';

interface Row {
  engine: string;
  /** The collection's size, as the child read it (the parent reads no collection). */
  docs: number;
  queries: number;
  ndcg10: number;
  buildMs: number;
  /** Each query's time in ms, first pass and warm pass. */
  coldTimes: number[];
  warmTimes: number[];
  /** The garbage collection pause time in ms during each query, first pass and warm pass. */
  coldGc: number[];
  warmGc: number[];
  heap: number;
  heapAfter: number;
}

/** One row from the rounds of one engine: latencies pooled, the rest their median. */
interface Pooled {
  engine: string;
  docs: number;
  queries: number;
  ndcg10: number;
  rounds: number;
  buildMs: number;
  cold: Percentiles;
  warm: Percentiles;
  /** Of the queries at or above p99, those a garbage collection paused, and all of them. */
  coldTail: Tail;
  warmTail: Tail;
  heap: number;
  heapAfter: number;
}

interface Tail {
  readonly paused: number;
  readonly queries: number;
}

/** How many of the queries at or above `p99` a garbage collection paused. */
function tail(times: readonly number[], gc: readonly number[], p99: number): Tail {
  let paused = 0;
  let queries = 0;
  times.forEach((ms, i) => {
    if (ms < p99) return;
    queries++;
    if ((gc[i] ?? 0) > 0) paused++;
  });
  return { paused, queries };
}

const median = (xs: readonly number[]): number => percentiles(xs).p50;

function pool(rounds: readonly Row[]): Pooled {
  const first = rounds[0];
  if (!first) throw new Error('no rounds');
  // The same index and queries every round: a different score would mean a bug.
  for (const r of rounds)
    if (r.ndcg10 !== first.ndcg10) throw new Error(`${first.engine}: nDCG@10 moved between rounds`);
  const coldTimes = rounds.flatMap((r) => r.coldTimes);
  const warmTimes = rounds.flatMap((r) => r.warmTimes);
  const cold = percentiles(coldTimes);
  const warm = percentiles(warmTimes);
  return {
    engine: first.engine,
    docs: first.docs,
    queries: first.queries,
    ndcg10: first.ndcg10,
    rounds: rounds.length,
    buildMs: median(rounds.map((r) => r.buildMs)),
    cold,
    warm,
    coldTail: tail(
      coldTimes,
      rounds.flatMap((r) => r.coldGc),
      cold.p99,
    ),
    warmTail: tail(
      warmTimes,
      rounds.flatMap((r) => r.warmGc),
      warm.p99,
    ),
    heap: median(rounds.map((r) => r.heap)),
    heapAfter: median(rounds.map((r) => r.heapAfter)),
  };
}

/**
 * A ranking's ten best hits in trec_eval's order (score descending, then document id
 * descending), the query's own document left out: nDCG@10 over them is nDCG@10 over all.
 * Picked in one pass that makes an object only for a hit entering the ten, where building
 * a thousand objects a query in the timed loop (or keeping them for later) fed the garbage
 * collections that paused the next queries. Not "the first ten": shelf's whole-document
 * score re-scores only its best hundred, so its scores need not descend past them.
 */
function trecTopTen({ docIds, scores }: Ranking, qid: string): Retrieved[] {
  const best: Retrieved[] = [];
  const before = (score: number, docId: string, other: Retrieved): boolean =>
    score > other.score || (score === other.score && docId > other.docId);
  for (const [i, docId] of docIds.entries()) {
    const score = scores[i] ?? 0;
    const last = best[best.length - 1];
    if (docId === qid || (best.length === 10 && last && !before(score, docId, last))) continue;
    let at = best.length;
    for (let prev = best[at - 1]; prev && before(score, docId, prev); prev = best[at - 1]) at--;
    best.splice(at, 0, { docId, score });
    if (best.length > 10) best.pop();
  }
  return best;
}

/** Builds `engine` over the collection, runs its judged queries twice, and measures. */
async function measure(spec: CollectionSpec, engine: Engine): Promise<Row> {
  const c = await loadBeir(join(EVAL_DIR, spec.name), spec.qrels);
  const judged = [...c.qrels.keys()].filter((q) => c.queries.has(q));
  const heapBefore = heapBytes();
  const started = performance.now();
  const built = await engine.build(c.corpus);
  const buildMs = performance.now() - started;
  // No forced GC between building and querying: a forced full GC throws away much of what
  // the JIT compiled (measured: shelf's next queries took 4-12 ms instead of 1-2 ms), which
  // never happens in a running server. The heap after building is measured on a second
  // build, after the timed passes.
  //
  // Of each query's hits only those that can be among its ten best are kept for scoring
  // (trecTopTen): keeping every query's thousand hit objects for a final evaluation,
  // as a run map did, made each young-generation collection copy all of them (2-12 ms pauses
  // instead of about 1 ms), inside whichever engine's query it fell, which no server
  // answering and forgetting does; and scoring all of them between queries made a thousand
  // objects of garbage a query.
  //
  // Garbage collections are recorded as they come (PerformanceObserver 'gc' entries, on the
  // same clock), to tell how many of the slowest queries one paused.
  const judgedOf = (qid: string): ReadonlyMap<string, number> => c.qrels.get(qid) ?? new Map();
  const pauses: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  /** Each query's start and end (ms), and the pass's nDCG@10 when asked to score it. */
  const pass = async (score: boolean): Promise<{ ndcg10: number; spans: [number, number][] }> => {
    const spans: [number, number][] = [];
    // Only the hits that can be among a query's ten best are kept, and scored after the pass.
    const kept: [string, Retrieved[]][] = [];
    for (const qid of judged) {
      const t0 = performance.now();
      const ranking = await built.search(c.queries.get(qid) ?? '', HITS);
      spans.push([t0, performance.now()]);
      if (score) kept.push([qid, trecTopTen(ranking, qid)]);
    }
    const ndcgSum = kept.reduce((sum, [qid, run]) => sum + queryMetrics(run, judgedOf(qid)).ndcg10, 0);
    // As evaluate does: the mean over every query in the qrels (one without text scores 0).
    return { ndcg10: c.qrels.size > 0 ? ndcgSum / c.qrels.size : 0, spans };
  };
  const cold = await pass(true);
  const warm = await pass(false);
  // The observer is told of the last collections on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 10));
  observer.disconnect();
  const times = (spans: readonly [number, number][]): number[] => spans.map(([t0, t1]) => t1 - t0);
  const paused = (spans: readonly [number, number][]): number[] =>
    spans.map(([t0, t1]) =>
      pauses.reduce((ms, p) => ms + Math.max(0, Math.min(t1, p.end) - Math.max(t0, p.start)), 0),
    );
  const heapAfter = heapBytes() - heapBefore;
  await built.close();
  const heapBeforeSecond = heapBytes();
  const second = await engine.build(c.corpus);
  const heap = heapBytes() - heapBeforeSecond;
  await second.close();
  return {
    engine: engine.name,
    docs: c.corpus.length,
    queries: judged.length,
    ndcg10: cold.ndcg10,
    buildMs,
    coldTimes: times(cold.spans),
    warmTimes: times(warm.spans),
    coldGc: paused(cold.spans),
    warmGc: paused(warm.spans),
    heap,
    heapAfter,
  };
}

/** Measures `engine` on `spec` in a child process running this script (see ONE). */
function measureApart(spec: CollectionSpec, engine: Engine): Row {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ONE, spec.name, engine.name],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 },
  );
  const last = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Row;
}

function report(spec: CollectionSpec, rows: readonly Pooled[]): void {
  const fts = rows.find((r) => r.engine === 'fts5');
  const ratio = (x: number, base: number | undefined): string => (base ? `${(x / base).toFixed(2)}x` : '-');
  const { docs = 0, queries = 0, rounds = 0 } = rows[0] ?? {};
  console.log(
    `\n## ${spec.name} (${docs} docs, ${queries} queries × ${rounds} round${rounds === 1 ? '' : 's'}, top ${HITS})\n`,
  );
  console.log(
    table([
      [
        'engine',
        'nDCG@10',
        'issue',
        'build ms',
        'p50 ms',
        'p99 ms',
        'warm p50',
        'warm p99',
        'p50/fts5',
        'p99/fts5',
        'warm p50/fts5',
        'warm p99/fts5',
        'heap built',
        'heap queried',
        'p99+ in GC',
        'warm p99+ in GC',
      ],
      ...rows.map((r) => [
        r.engine,
        f4(r.ndcg10),
        f4(REFERENCE_NDCG[spec.name]?.[r.engine]),
        fms(r.buildMs),
        fms(r.cold.p50),
        fms(r.cold.p99),
        fms(r.warm.p50),
        fms(r.warm.p99),
        ratio(r.cold.p50, fts?.cold.p50),
        ratio(r.cold.p99, fts?.cold.p99),
        ratio(r.warm.p50, fts?.warm.p50),
        ratio(r.warm.p99, fts?.warm.p99),
        fmb(r.heap),
        fmb(r.heapAfter),
        `${r.coldTail.paused}/${r.coldTail.queries}`,
        `${r.warmTail.paused}/${r.warmTail.queries}`,
      ]),
    ]),
  );
}

const byName = <T extends { readonly name: string }>(list: readonly T[], name: string | undefined): T => {
  const found = list.find((x) => x.name === name);
  if (!found)
    throw new Error(`unknown name ${name ?? '(none)'}: one of ${list.map((x) => x.name).join(', ')}`);
  return found;
};

if (process.argv[2] === ONE) {
  const row = await measure(byName(COLLECTIONS, process.argv[3]), byName(ENGINES, process.argv[4]));
  console.log(JSON.stringify(row));
} else {
  const args = process.argv.slice(2);
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args.splice(roundsAt, 2)[1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of at least 1');
  const onlyCollections = args[0]?.split(',');
  const onlyEngines = args[1]?.split(',');
  const engines = ENGINES.filter((e) => !onlyEngines || onlyEngines.includes(e.name));
  for (const spec of COLLECTIONS) {
    if (onlyCollections && !onlyCollections.includes(spec.name)) continue;
    const runs = engines.map((): Row[] => []);
    // Engines take turns, so a slow spell of the machine falls on all of them.
    for (let r = 0; r < rounds; r++)
      engines.forEach((engine, i) => runs[i]?.push(measureApart(spec, engine)));
    report(spec, runs.map(pool));
  }
}
