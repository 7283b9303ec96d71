/**
 * Scale: N synthetic chunks (default 1,000,000) through shelf's real ingest path, then the
 * real search path. Text is drawn from the test collections' vocabulary, each word sampled
 * by its observed frequency (a Zipf-like distribution), with a fixed seed; one document of
 * one chunk per row, like the BEIR corpora, written 1000 documents per transaction
 * (Store.upsertDocuments) while the next 1000 are chunked and analysed on a worker thread,
 * as `shelf eval beir` ingests. Queries are the collections' real test queries.
 * Reports ingest time, the time to write the compact posting lists (Store.compactPostings),
 * database size, query p50/p99 and peak RSS. Three passes over the queries: on a fresh
 * handle (posting lists read as queries need them, as a one-shot `shelf search` would),
 * the same again with the lists in memory, and on another fresh handle after warmRanking
 * (what `shelf serve` does at start: it preloads the longest lists).
 * On SQLite a reference runs last, in the same process: the same queries through raw FTS5
 * over shelf's own full-text index (bm25(), title weighted 2, the query's analysed terms
 * OR-ed), and shelf's p50 and p99 are printed as ratios of its (the machine is shared and
 * its speed moves from day to day; the ratios move less).
 *   npx tsx bench/scale/run.ts [chunks] [queries] [--backend postgres] [--db PATH]
 * With `--backend postgres` the same chunks and queries run on SQLite, then on PostgreSQL.
 * With `--db PATH` (SQLite only) the database is kept there: built when the file does not
 * exist, reused as it is (no ingest) when it does, so query-side changes can be measured
 * again without the ingest.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_CHUNK_OPTIONS } from '../../src/chunk/chunk.js';
import type { ParsedDocument } from '../../src/core/document.js';
import { loadBeir } from '../../src/eval/beir.js';
import { openPreparer, preparedBatches } from '../../src/ingest/prepare-pool.js';
import { contentHash, documentInput } from '../../src/ingest/prepare.js';
import { compactRanking, warmRanking } from '../../src/search/rank.js';
import { search } from '../../src/search/search.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { analyzeQuery } from '../../src/text/analyze.js';
import type { Store } from '../../src/store/store.js';
import { COLLECTIONS, EVAL_DIR } from '../lib/collections.js';
import { fmb, fms, percentiles } from '../lib/measure.js';
import { prng } from '../search/synthetic.js';
import {
  benchBackends,
  openBenchPostgres,
  positionalArgs,
  schemaBytes,
  type Backend,
} from '../lib/postgres.js';

const argv = [...process.argv];
const dbAt = argv.indexOf('--db');
const keptDb = dbAt >= 0 ? argv.splice(dbAt, 2)[1] : undefined;
if (dbAt >= 0 && !keptDb) throw new Error('--db needs a path');
const args = positionalArgs(argv);
const total = Number(args[2] ?? 1_000_000);
const queryCount = Number(args[3] ?? 200);
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(queryCount) || queryCount < 1)
  throw new Error('usage: bench/scale/run.ts [chunks] [queries]');

// Vocabulary and real queries from the four collections.
const counts = new Map<string, number>();
const allQueries: string[] = [];
for (const spec of COLLECTIONS) {
  const c = await loadBeir(join(EVAL_DIR, spec.name), spec.qrels);
  for (const d of c.corpus)
    for (const w of `${d.title} ${d.text}`.match(/\p{L}[\p{L}'-]*/gu) ?? [])
      counts.set(w, (counts.get(w) ?? 0) + 1);
  for (const qid of c.qrels.keys()) {
    const q = c.queries.get(qid);
    if (q !== undefined) allQueries.push(q);
  }
}
// An even spread over the collections' judged queries, `queryCount` of them.
const step = Math.max(1, Math.floor(allQueries.length / queryCount));
const queries = allQueries.filter((_, i) => i % step === 0).slice(0, queryCount);
const vocab = [...counts].sort((a, b) => b[1] - a[1]);
const words = vocab.map(([w]) => w);
const cumulative = new Float64Array(vocab.length);
let acc = 0;
vocab.forEach(([, n], i) => (cumulative[i] = acc += n));
let random = prng(42);
const word = (): string => {
  const x = random() * acc;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return words[lo] ?? '';
};
const sentence = (n: number): string => Array.from({ length: n }, word).join(' ');
console.log(`vocabulary ${words.length} words; ${queries.length} queries; ${total} chunks`);

/** Ingests the synthetic chunks into a fresh store of `backend` and runs the queries. */
async function runScale(backend: Backend): Promise<void> {
  // The same text on every backend.
  random = prng(42);
  const reuse = backend === 'sqlite' && keptDb !== undefined && existsSync(keptDb);
  const dir = keptDb && backend === 'sqlite' ? dirname(keptDb) : mkdtempSync(join(tmpdir(), 'shelf-scale-'));
  const path = keptDb && backend === 'sqlite' ? keptDb : join(dir, 'shelf.db');
  const pgStore = backend === 'postgres' ? openBenchPostgres() : undefined;
  let store: Store = pgStore?.store ?? openSqliteStore({ path });
  const kb = reuse
    ? ((await store.listKnowledgeBases())[0] ?? { id: 0 })
    : await store.createKnowledgeBase('scale');
  const source = reuse
    ? { id: 0 }
    : await store.addSource({ kbId: kb.id, kind: 'text', location: 'synthetic' });
  const BATCH = 1000;
  const started = performance.now();
  // The next batch is chunked and analysed on a worker thread while this one is written,
  // as in `shelf eval beir` (src/ingest/prepare-pool.ts); documents are drawn a batch at a
  // time, so the corpus is never all in memory.
  function* batches(): Generator<ParsedDocument[]> {
    for (let first = 0; first < (reuse ? 0 : total); first += BATCH)
      yield Array.from({ length: Math.min(BATCH, total - first) }, (_, j): ParsedDocument => {
        const length = 60 + Math.floor(random() * 80);
        return {
          key: `s${first + j}`,
          kind: 'text',
          title: sentence(4 + Math.floor(random() * 6)),
          tags: [],
          blocks: [{ kind: 'paragraph', text: sentence(length) + '.' }],
        };
      });
  }
  const preparer = openPreparer(reuse ? 0 : total);
  let written = 0;
  try {
    for await (const prepared of preparedBatches(preparer, batches(), (doc) => ({
      doc,
      tags: [],
      options: DEFAULT_CHUNK_OPTIONS,
    }))) {
      await store.upsertDocuments(
        prepared.map(([doc, chunks]) => ({
          kbId: kb.id,
          sourceId: source.id,
          document: documentInput(doc, [], contentHash(doc, [], DEFAULT_CHUNK_OPTIONS)),
          chunks,
        })),
      );
      written += prepared.length;
      if (written % 100_000 === 0)
        console.log(`  ${written} chunks, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    await preparer.close();
  }
  const ingestMs = performance.now() - started;
  // The compact posting lists with the ranker's impacts (SQLite), as `shelf serve` writes
  // them at start; then a fresh handle, so the first pass loads the ranking state itself.
  const compactStarted = performance.now();
  const compacted = await compactRanking(store);
  const compactMs = performance.now() - compactStarted;
  if (!pgStore) {
    await store.close();
    store = openSqliteStore({ path });
  }
  const chunks = (await store.listKnowledgeBases())[0]?.chunkCount ?? 0;
  const size = pgStore
    ? await schemaBytes(pgStore.schema)
    : readdirSync(dir)
        .filter((f) => join(dir, f).startsWith(path))
        .reduce((s, f) => s + statSync(join(dir, f)).size, 0);

  let cpuMs = 0;
  const pass = async (): Promise<number[]> => {
    const times: number[] = [];
    const cpu = process.cpuUsage();
    for (const q of queries) {
      const t0 = performance.now();
      await search(store, { query: q.slice(0, 4000), kbIds: [kb.id], limit: 10 });
      times.push(performance.now() - t0);
    }
    const used = process.cpuUsage(cpu);
    cpuMs = (used.user + used.system) / 1000;
    return times;
  };
  const firstStarted = performance.now();
  const cold = percentiles(await pass());
  const firstPassMs = performance.now() - firstStarted;
  const firstCpuMs = cpuMs;
  const warm = percentiles(await pass());
  const warmCpuMs = cpuMs;
  // As `shelf serve` starts: a fresh handle (on PostgreSQL, whose handle drops the schema
  // as it closes, a copy of it: rankers key their caches on the handle), warmRanking, then
  // the queries.
  if (pgStore) store = { ...store };
  else {
    await store.close();
    store = openSqliteStore({ path });
  }
  const warmingStarted = performance.now();
  const warmed = await warmRanking(store);
  const warmingMs = performance.now() - warmingStarted;
  const served = percentiles(await pass());
  await (pgStore?.store ?? store).close();
  const reference = pgStore ? undefined : percentiles(fts5Times(path));
  if (!keptDb || backend !== 'sqlite') rmSync(dir, { recursive: true, force: true });
  const peakRss = process.resourceUsage().maxRSS * 1024;

  console.log(`\n## scale (${backend}): ${chunks} chunks\n`);
  console.log(
    reuse
      ? `ingest        none (reused ${path})`
      : `ingest        ${(ingestMs / 1000).toFixed(1)} s (${Math.round(chunks / (ingestMs / 1000))} chunks/s)`,
  );
  console.log(
    `compact lists ${(compactMs / 1000).toFixed(1)} s (${compacted} postings written${compacted === 0 ? ': current or none' : ''})`,
  );
  console.log(`database      ${fmb(size)}`);
  console.log(
    `first pass    p50 ${fms(cold.p50)} ms, p99 ${fms(cold.p99)} ms (${queries.length} queries in ${(firstPassMs / 1000).toFixed(1)} s, ${(firstCpuMs / 1000).toFixed(1)} s CPU, index loaded on first use)`,
  );
  console.log(
    `warm pass     p50 ${fms(warm.p50)} ms, p99 ${fms(warm.p99)} ms (${(warmCpuMs / 1000).toFixed(1)} s CPU)`,
  );
  console.log(
    `served pass   p50 ${fms(served.p50)} ms, p99 ${fms(served.p99)} ms (${(cpuMs / 1000).toFixed(1)} s CPU; after warmRanking: ${(warmingMs / 1000).toFixed(1)} s, ${warmed.lists} lists, ${warmed.queries} warm-up queries)`,
  );
  if (reference) {
    const ratio = (x: number, base: number): string => `${(x / base).toFixed(2)}x`;
    console.log(
      `raw FTS5      p50 ${fms(reference.p50)} ms, p99 ${fms(reference.p99)} ms (the same index and terms, bm25(), title x2, terms OR-ed)`,
    );
    console.log(
      `of raw FTS5   p50: first ${ratio(cold.p50, reference.p50)}, warm ${ratio(warm.p50, reference.p50)}, served ${ratio(served.p50, reference.p50)}; p99: first ${ratio(cold.p99, reference.p99)}, warm ${ratio(warm.p99, reference.p99)}, served ${ratio(served.p99, reference.p99)}`,
    );
  }
  console.log(`peak RSS      ${fmb(peakRss)} (whole process so far)`);
}

/**
 * Each query's time through raw FTS5 on shelf's own full-text index (chunk_fts: the
 * analysed text, title first), as a front end over FTS5 alone would rank: the query's
 * analysed terms OR-ed, bm25() with the title weighted 2, the ten best.
 */
function fts5Times(path: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    const best = db.prepare(
      'SELECT rowid FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY bm25(chunk_fts, 2.0, 1.0, 1.0, 1.0) LIMIT 10',
    );
    return queries.map((q) => {
      const terms = analyzeQuery(q.slice(0, 4000)).map((t) => `"${t.term.replaceAll('"', '""')}"`);
      const t0 = performance.now();
      if (terms.length > 0) best.all(terms.join(' OR '));
      return performance.now() - t0;
    });
  } finally {
    db.close();
  }
}

for (const backend of benchBackends()) await runScale(backend);
