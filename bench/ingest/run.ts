/**
 * bench/ingest: documents/s and chunks/s for shelf's full ingest path (`storeDocuments`:
 * content hash, chunking and analysis, ahead on a worker thread when there is a second
 * core, and one transaction per document into the SQLite store) on a synthetic corpus
 * of at least 100,000 chunks, beside raw FTS5 insertion of the same chunk text (porter
 * tokenizer, one transaction per document) in the same run. Prints the ratio of the
 * rates (wall clock, the target) and of the CPU seconds each side used: on a shared
 * machine the second moves less from run to run.
 *
 *   npx tsx bench/ingest/run.ts [documents=20000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chunkBlocks, DEFAULT_CHUNK_OPTIONS } from '../../src/chunk/chunk.js';
import type { ParsedDocument } from '../../src/core/document.js';
import { configFor } from '../../src/core/config.js';
import { NO_PROGRESS } from '../../src/core/seams.js';
import { emptyReport, storeDocuments } from '../../src/ingest/ingest.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { syntheticCorpus } from '../search/synthetic.js';

const documents = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-ingest-'));

// Prepare the corpus once, outside both timings: parsing is not what is compared.
const docs: ParsedDocument[] = [...syntheticCorpus({ documents }).documents()];

/** CPU seconds (user + system) of this process so far. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

interface Timing {
  readonly seconds: number;
  readonly cpu: number;
}

async function shelfIngest(): Promise<Timing & { chunks: number; texts: string[][]; bytes: number }> {
  const path = join(dir, 'shelf.db');
  const store = openSqliteStore({ path });
  const kb = await store.createKnowledgeBase('bench');
  const source = await store.addSource({ kbId: kb.id, kind: 'feed', location: 'bench' });
  // The chunk texts for raw FTS5; chunking only, so the analyser's caches stay cold.
  const texts = docs.map((doc) => chunkBlocks(doc.blocks, DEFAULT_CHUNK_OPTIONS).map((c) => c.text));
  const chunks = texts.reduce((n, t) => n + t.length, 0);
  const report = emptyReport('bench', 'feed', source.id);
  const started = performance.now();
  const cpuStarted = cpuSeconds();
  await storeDocuments({ store, config: configFor(dir), progress: NO_PROGRESS }, source, docs, report);
  if (report.added !== documents) throw new Error(`stored ${report.added} of ${documents} documents`);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds() - cpuStarted;
  await store.close();
  return { seconds, cpu, chunks, texts, bytes: statSync(path).size };
}

function rawFts(texts: readonly string[][]): Timing {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'porter unicode61')`);
  const insert = db.prepare('INSERT INTO fts (title, body) VALUES (?, ?)');
  const perDocument = db.transaction((title: string, bodies: readonly string[]) => {
    for (const b of bodies) insert.run(title, b);
  });
  const started = performance.now();
  const cpuStarted = cpuSeconds();
  docs.forEach((doc, i) => perDocument.immediate(doc.title, texts[i] ?? []));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds() - cpuStarted;
  db.close();
  return { seconds, cpu };
}

const shelf = await shelfIngest();
const raw = rawFts(shelf.texts);
const rate = (n: number, s: number): string => (n / s).toFixed(0).padStart(8);
console.log(`corpus: ${documents} documents, ${shelf.chunks} chunks`);
console.log(`                 docs/s   chunks/s   seconds   CPU s`);
for (const [name, t] of [
  ['raw FTS5', raw],
  ['shelf', shelf],
] as const)
  console.log(
    `${name.padEnd(14)} ${rate(documents, t.seconds)} ${rate(shelf.chunks, t.seconds)} ${t.seconds.toFixed(2).padStart(9)} ${t.cpu.toFixed(2).padStart(7)}`,
  );
console.log(
  `ratio shelf/raw: ${(raw.seconds / shelf.seconds).toFixed(2)}x the raw insertion rate (target >= 0.5x); ` +
    `CPU: ${(raw.cpu / shelf.cpu).toFixed(2)}x`,
);
console.log(`database size: ${(shelf.bytes / 1e6).toFixed(1)} MB`);
rmSync(dir, { recursive: true, force: true });
