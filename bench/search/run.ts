/**
 * bench/search: p50 and p99 latency of shelf's `search` (analysis, pruning, BM25 over
 * weighted fields, best chunk per document, snippets) over a synthetic corpus of at
 * least 100,000 chunks, beside raw FTS5 MATCH queries (porter tokenizer, bm25, top 10)
 * over the same chunk text in the same run. Prints the ratios.
 *
 *   npx tsx bench/search/run.ts [documents=20000] [queries=500]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_CHUNK_OPTIONS } from '../../src/chunk/chunk.js';
import { contentHash, documentInput, prepareChunks } from '../../src/ingest/prepare.js';
import { search } from '../../src/search/search.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { percentile, syntheticCorpus } from './synthetic.js';

const documents = Number(process.argv[2] ?? 20_000);
const queryCount = Number(process.argv[3] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-search-'));
const corpus = syntheticCorpus({ documents });

const store = openSqliteStore({ path: join(dir, 'shelf.db') });
const raw = new Database(join(dir, 'raw.db'));
raw.pragma('journal_mode = WAL');
raw.exec(`CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'porter unicode61')`);
const rawInsert = raw.prepare('INSERT INTO fts (title, body) VALUES (?, ?)');
const kb = await store.createKnowledgeBase('bench');
const source = await store.addSource({ kbId: kb.id, kind: 'feed', location: 'bench' });
let chunks = 0;
raw.exec('BEGIN');
for (const doc of corpus.documents()) {
  const prepared = prepareChunks(doc, doc.tags, DEFAULT_CHUNK_OPTIONS);
  chunks += prepared.length;
  for (const c of prepared) rawInsert.run(doc.title, c.text);
  await store.upsertDocument({
    kbId: kb.id,
    sourceId: source.id,
    document: documentInput(doc, doc.tags, contentHash(doc, doc.tags, DEFAULT_CHUNK_OPTIONS)),
    chunks: prepared,
  });
}
raw.exec('COMMIT');

const queries = corpus.queries(queryCount);
const rawQuery = raw.prepare(
  `SELECT rowid, bm25(fts, 2.0, 1.0) AS s FROM fts WHERE fts MATCH ? ORDER BY s LIMIT 10`,
);
const rawMatch = (q: string): string =>
  q
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => `"${w.replaceAll('"', '""')}"`)
    .join(' OR ');

// Warm both once, then interleave so noise from the shared machine hits both alike.
for (const q of queries.slice(0, 20)) {
  rawQuery.all(rawMatch(q));
  await search(store, { query: q, kbIds: [kb.id], limit: 10 });
}
/** One pass over the queries, interleaved so noise on the shared machine hits both alike. */
async function pass(): Promise<{ shelfMs: number[]; rawMs: number[]; hits: number }> {
  const shelfMs: number[] = [];
  const rawMs: number[] = [];
  let hits = 0;
  for (const q of queries) {
    let t = performance.now();
    rawQuery.all(rawMatch(q));
    rawMs.push(performance.now() - t);
    t = performance.now();
    hits += (await search(store, { query: q, kbIds: [kb.id], limit: 10 })).hits.length;
    shelfMs.push(performance.now() - t);
  }
  shelfMs.sort((a, b) => a - b);
  rawMs.sort((a, b) => a - b);
  return { shelfMs, rawMs, hits };
}

const p = (xs: number[], q: number): string => percentile(xs, q).toFixed(2).padStart(7);
const first = await pass();
// The same queries again: shelf's posting lists are now in memory, SQLite's pages in cache.
const warm = await pass();
console.log(
  `corpus: ${documents} documents, ${chunks} chunks; ${queries.length} queries (${first.hits} hits)`,
);
console.log(`                 first pass        warm pass`);
console.log(`                 p50 ms   p99 ms   p50 ms   p99 ms`);
console.log(
  `raw FTS5       ${p(first.rawMs, 50)}  ${p(first.rawMs, 99)}  ${p(warm.rawMs, 50)}  ${p(warm.rawMs, 99)}`,
);
console.log(
  `shelf search   ${p(first.shelfMs, 50)}  ${p(first.shelfMs, 99)}  ${p(warm.shelfMs, 50)}  ${p(warm.shelfMs, 99)}`,
);
for (const [name, r] of [
  ['first', first],
  ['warm', warm],
] as const)
  console.log(
    `ratio shelf/raw (${name}): p50 ${(percentile(r.shelfMs, 50) / percentile(r.rawMs, 50)).toFixed(2)}x, p99 ${(percentile(r.shelfMs, 99) / percentile(r.rawMs, 99)).toFixed(2)}x (target p50 < 10 ms and <= 2x raw)`,
  );
await store.close();
raw.close();
rmSync(dir, { recursive: true, force: true });
