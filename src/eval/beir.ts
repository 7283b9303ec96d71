/**
 * Runs a BEIR-layout test collection (corpus.jsonl, queries.jsonl, qrels-test.tsv; see
 * shared/eval/README.md) through shelf's own ingest and ranking, and scores the run with
 * trec_eval's definitions (./metrics.ts).
 *
 * The corpus goes into a throw-away knowledge base in a temporary SQLite store: one
 * document per entry (title as the document title, text as one paragraph), chunked and
 * analysed exactly as `shelf add` would. Results are per document (best chunk wins), 1000
 * deep, and a document whose id equals the query id is dropped (Anserini's
 * `--remove-query`, BEIR's `ignore_identical_ids`).
 */
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_CHUNK_OPTIONS } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import { openPreparer, preparedBatches } from '../ingest/prepare-pool.js';
import { contentHash, documentInput } from '../ingest/prepare.js';
import { rankChunks, type RankOptions } from '../search/rank.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { evaluate, type Metrics, type Qrels, type Retrieved } from './metrics.js';

export interface CorpusEntry {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

export interface BeirCollection {
  readonly corpus: readonly CorpusEntry[];
  /** Query id → text (every query in the file, test or not). */
  readonly queries: ReadonlyMap<string, string>;
  readonly qrels: Qrels;
}

/** Calls `visit` for each non-blank line with its 1-based number, streaming the file. */
async function eachLine(path: string, visit: (line: string, number: number) => void): Promise<number> {
  if (!existsSync(path)) throw new ShelfError('EVAL_MISSING', { path });
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  let visited = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    visit(line, number);
    visited++;
  }
  return visited;
}

function parseJsonLine(path: string, line: string, number: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new ShelfError('EVAL_INVALID', { path, line: number, detail: 'not JSON' }, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ShelfError('EVAL_INVALID', { path, line: number, detail: 'not a JSON object' });
  return value as Record<string, unknown>;
}

function stringField(
  record: Record<string, unknown>,
  field: string,
  where: { path: string; line: number },
  required: boolean,
): string {
  const v = record[field];
  if (typeof v === 'string') return v;
  // Some BEIR exports write numeric ids; accept them as their decimal text.
  if (typeof v === 'number' && Number.isFinite(v) && field === '_id') return String(v);
  if (v === undefined && !required) return '';
  throw new ShelfError('EVAL_INVALID', {
    ...where,
    detail: v === undefined ? `the "${field}" field is missing` : `"${field}" is not a string`,
  });
}

/** Reads corpus.jsonl: `{"_id", "title", "text"}` per line; ids must be unique and non-empty. */
export async function readCorpus(path: string): Promise<CorpusEntry[]> {
  const corpus: CorpusEntry[] = [];
  const seen = new Set<string>();
  await eachLine(path, (line, number) => {
    const record = parseJsonLine(path, line, number);
    const where = { path, line: number };
    const id = stringField(record, '_id', where, true);
    if (id === '') throw new ShelfError('EVAL_INVALID', { ...where, detail: 'the "_id" is empty' });
    if (seen.has(id)) throw new ShelfError('EVAL_INVALID', { ...where, detail: `duplicate id "${id}"` });
    seen.add(id);
    corpus.push({
      id,
      title: stringField(record, 'title', where, false),
      text: stringField(record, 'text', where, true),
    });
  });
  if (corpus.length === 0) throw new ShelfError('EVAL_EMPTY', { path, what: 'documents' });
  return corpus;
}

/** Reads queries.jsonl: `{"_id", "text"}` per line. */
export async function readQueries(path: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  await eachLine(path, (line, number) => {
    const record = parseJsonLine(path, line, number);
    const where = { path, line: number };
    queries.set(stringField(record, '_id', where, true), stringField(record, 'text', where, true));
  });
  if (queries.size === 0) throw new ShelfError('EVAL_EMPTY', { path, what: 'queries' });
  return queries;
}

/** Reads a qrels TSV (`query-id`, `corpus-id`, `score`; the header line is optional). */
export async function readQrels(path: string): Promise<Map<string, Map<string, number>>> {
  const qrels = new Map<string, Map<string, number>>();
  await eachLine(path, (line, number) => {
    const fields = line.split('\t').map((f) => f.trim());
    if (number === 1 && fields[0] === 'query-id') return;
    const [qid, docId, score] = fields;
    if (fields.length !== 3 || !qid || !docId || score === undefined || !/^-?\d+$/.test(score))
      throw new ShelfError('EVAL_INVALID', {
        path,
        line: number,
        detail: 'expected query-id, corpus-id and an integer score separated by tabs',
      });
    let judged = qrels.get(qid);
    if (!judged) {
      judged = new Map<string, number>();
      qrels.set(qid, judged);
    }
    judged.set(docId, Number(score));
  });
  if (qrels.size === 0) throw new ShelfError('EVAL_EMPTY', { path, what: 'judgments' });
  return qrels;
}

/** Loads a BEIR directory; `qrels` names the judgments file inside it. */
export async function loadBeir(dir: string, qrels = 'qrels-test.tsv'): Promise<BeirCollection> {
  return {
    corpus: await readCorpus(join(dir, 'corpus.jsonl')),
    queries: await readQueries(join(dir, 'queries.jsonl')),
    qrels: await readQrels(join(dir, qrels)),
  };
}

const INGEST_BATCH = 500;

/** Ingests a corpus as shelf would, returning the knowledge base id and document id → corpus id. */
export async function ingestCorpus(
  store: Store,
  corpus: readonly CorpusEntry[],
): Promise<{ kbId: number; ids: Map<number, string>; chunks: number }> {
  const kb = await store.createKnowledgeBase('eval');
  const source = await store.addSource({ kbId: kb.id, kind: 'text', location: 'beir:corpus' });
  const ids = new Map<number, string>();
  let chunks = 0;
  const docs = corpus.map((entry): ParsedDocument => ({
    key: entry.id,
    kind: 'text',
    title: entry.title,
    tags: [],
    blocks: entry.text.trim() === '' ? [] : [{ kind: 'paragraph', text: entry.text }],
  }));
  // Batches keep each transaction (and each full-text index segment) a useful size; the
  // next batch is chunked on the worker thread while this one is written.
  function* batches(): Generator<ParsedDocument[]> {
    for (let at = 0; at < docs.length; at += INGEST_BATCH) yield docs.slice(at, at + INGEST_BATCH);
  }
  const preparer = openPreparer(docs.length);
  try {
    for await (const prepared of preparedBatches(preparer, batches(), (d) => ({
      doc: d,
      tags: [],
      options: DEFAULT_CHUNK_OPTIONS,
    }))) {
      const written = await store.upsertDocuments(
        prepared.map(([doc, docChunks]) => {
          chunks += docChunks.length;
          return {
            kbId: kb.id,
            sourceId: source.id,
            document: documentInput(doc, [], contentHash(doc, [], DEFAULT_CHUNK_OPTIONS)),
            chunks: docChunks,
          };
        }),
      );
      written.forEach((w, i) => ids.set(w.id, prepared[i]?.[0].key ?? ''));
    }
  } finally {
    await preparer.close();
  }
  return { kbId: kb.id, ids, chunks };
}

export interface BeirOptions {
  /** Judgments file inside the directory (default qrels-test.tsv). */
  readonly qrels?: string;
  /** Documents retrieved per query (default 1000, trec_eval's depth). */
  readonly hits?: number;
  /** Ranking overrides (tuning experiments); defaults are what `shelf search` uses. */
  readonly rank?: Partial<RankOptions>;
  /** The empty store to index into, closed afterwards (default: a temporary SQLite file). */
  readonly openStore?: () => Store;
}

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

export interface BeirReport {
  /** The directory's name (scifact, cacm, …). */
  readonly name: string;
  readonly qrels: string;
  readonly documents: number;
  readonly chunks: number;
  /** Judged queries that were run (those with text in queries.jsonl). */
  readonly queries: number;
  /** Judged query ids with no text in queries.jsonl (they score 0). */
  readonly missingQueries: number;
  readonly metrics: Metrics;
  /** Ingest wall time: analysis, chunking and SQLite writes. */
  readonly indexMs: number;
  /** Per-query ranking time, first pass (posting lists loaded on first use). */
  readonly queryMs: Latency;
  /** The same queries run again, with every posting list already in memory. */
  readonly warmQueryMs: Latency;
}

/** Nearest-rank percentile of ascending `sorted` values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? 0;
}

export function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

/** Indexes the collection in a temporary store, runs its judged queries and scores them. */
export async function runBeir(dir: string, options: BeirOptions = {}): Promise<BeirReport> {
  const qrelsFile = options.qrels ?? 'qrels-test.tsv';
  const hits = options.hits ?? 1000;
  const collection = await loadBeir(dir, qrelsFile);
  const scratch = mkdtempSync(join(tmpdir(), 'shelf-eval-'));
  const store = options.openStore?.() ?? openSqliteStore({ path: join(scratch, 'eval.db') });
  try {
    const indexStarted = performance.now();
    const { kbId, ids, chunks } = await ingestCorpus(store, collection.corpus);
    const indexMs = performance.now() - indexStarted;
    const judged = [...collection.qrels.keys()].filter((q) => collection.queries.has(q));
    const runOnce = async (): Promise<{ run: Map<string, Retrieved[]>; times: number[] }> => {
      const run = new Map<string, Retrieved[]>();
      const times: number[] = [];
      for (const qid of judged) {
        const started = performance.now();
        const ranked = await rankChunks(store, {
          query: collection.queries.get(qid) ?? '',
          kbIds: [kbId],
          limit: hits,
          perDocument: true,
          ...(options.rank ? { options: options.rank } : {}),
        });
        times.push(performance.now() - started);
        const retrieved: Retrieved[] = [];
        for (const h of ranked.hits) {
          const docId = ids.get(h.documentId);
          if (docId !== undefined && docId !== qid) retrieved.push({ docId, score: h.score });
        }
        run.set(qid, retrieved);
      }
      return { run, times };
    };
    const cold = await runOnce();
    const warm = await runOnce();
    return {
      name: basename(resolve(dir)),
      qrels: qrelsFile,
      documents: collection.corpus.length,
      chunks,
      queries: judged.length,
      missingQueries: collection.qrels.size - judged.length,
      metrics: evaluate(cold.run, collection.qrels),
      indexMs,
      queryMs: latency(cold.times),
      warmQueryMs: latency(warm.times),
    };
  } finally {
    await store.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
