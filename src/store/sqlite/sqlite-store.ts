/**
 * The embedded SQLite store (better-sqlite3, WAL). A thin adapter: it translates Store
 * calls into SQL and driver errors into the catalogue, nothing more. better-sqlite3 is
 * synchronous; the methods are async so both backends share one async Store contract.
 */
import { decodeOccurrences } from './occurrences.js';
import {
  clearDeleted,
  COMPACT_SUPPORTED,
  decodeChunkTable,
  decodeIds,
  decodeImpacts,
  decodePostingList,
  decodeSummary,
  encodeChunkTable,
  encodeImpacts,
  encodePostingList,
  encodeSummary,
  POSTING_FORMAT,
  withoutDeleted,
} from './posting-lists.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { ShelfError } from '../../core/errors.js';
import type { Clock } from '../../core/seams.js';
import { SYSTEM_CLOCK } from '../../core/seams.js';
import {
  DEFAULT_FIELD_WEIGHTS,
  FIELD_COUNT,
  INDEX_FIELDS,
  type ChunkInput,
  type ChunkTable,
  type ChunkWithDocument,
  type DenseHit,
  type DocumentVectors,
  type DocumentFilter,
  type DocumentInput,
  type DocumentRecord,
  type FieldWeights,
  type IntegrityReport,
  type JobProgress,
  type JobRecord,
  type KnowledgeBaseSummary,
  type LexicalHit,
  type LexicalQuery,
  type NewSource,
  type Page,
  type PageRequest,
  type PostingList,
  type SourcePatch,
  type Store,
  type TermStats,
  type UpsertOutcome,
  withinPostings,
} from '../store.js';
import {
  documentValues,
  escapeLike,
  toApiKey,
  toChunk,
  toDocument,
  toJob,
  toKb,
  toSource,
  type Row,
} from '../rows.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

type Db = Database.Database;

export interface SqliteStoreOptions {
  /** Database file, or ':memory:'. */
  readonly path: string;
  readonly clock?: Clock;
  readonly fieldWeights?: FieldWeights;
}

/** Maps a driver error to the catalogue (SQLITE_BUSY → STORE_BUSY, …). */
function translate(e: Error, path: string): Error {
  if (e instanceof ShelfError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return e;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return new ShelfError('STORE_BUSY', {}, { cause: e });
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
    return new ShelfError('STORE_UNIQUE', { detail: e.message }, { cause: e });
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return new ShelfError('STORE_CORRUPT', { path, detail: e.message }, { cause: e });
  return e;
}

function migrate(db: Db, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > LATEST_VERSION) throw new ShelfError('STORE_NEWER', { path, version: current });
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** A vector as sqlite-vec reads it: the float32 bytes, little-endian (as on every supported CPU). */
function vectorBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** FTS5 MATCH expression: every term quoted (terms never contain quotes), OR-ed. */
function matchExpression(terms: readonly string[]): string {
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}

/** WHERE fragments for document filters over alias `d`, with their parameters. */
function filterSql(filter: DocumentFilter | undefined): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (!filter) return { sql: '', params };
  if (filter.author !== undefined) {
    parts.push(`d.author LIKE ? ESCAPE '\\'`);
    params.push(`%${escapeLike(filter.author)}%`);
  }
  if (filter.title !== undefined) {
    parts.push(`d.title LIKE ? ESCAPE '\\'`);
    params.push(`%${escapeLike(filter.title)}%`);
  }
  if (filter.tag !== undefined) {
    parts.push('d.id IN (SELECT document_id FROM document_tags WHERE tag = ?)');
    params.push(filter.tag);
  }
  if (filter.since !== undefined) {
    parts.push('COALESCE(d.published, d.created_at) >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    parts.push('COALESCE(d.published, d.created_at) < ?');
    params.push(filter.until);
  }
  if (filter.sourceId !== undefined) {
    parts.push('d.source_id = ?');
    params.push(filter.sourceId);
  }
  if (filter.kind !== undefined) {
    parts.push('d.kind = ?');
    params.push(filter.kind);
  }
  if (filter.problems === true) parts.push(`d.problems IS NOT NULL AND d.problems <> '[]'`);
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}

function kbClause(kbIds: readonly number[], column: string): { sql: string; params: number[] } {
  if (kbIds.length === 0) return { sql: '', params: [] };
  return { sql: ` AND ${column} IN (${kbIds.map(() => '?').join(',')})`, params: [...kbIds] };
}

/**
 * Decodes an FTS5 `_docsize` record: one SQLite varint per column, the column's token count
 * (fts5 source, fts5_storage.c "docsize" table). Writes FIELD_COUNT values at `at`.
 */
function decodeDocsize(sz: Uint8Array, out: Uint32Array, at: number): void {
  let pos = 0;
  for (let col = 0; col < FIELD_COUNT && pos < sz.length; col++) {
    // SQLite varint: big-endian groups of 7 bits, high bit set on all but the last byte.
    let value = 0;
    for (let i = 0; i < 9 && pos < sz.length; i++) {
      const byte = sz[pos++] ?? 0;
      if (i === 8) {
        value = value * 256 + byte;
        break;
      }
      value = value * 128 + (byte & 0x7f);
      if ((byte & 0x80) === 0) break;
    }
    out[at + col] = value;
  }
}

/**
 * tableStep: chunk ids compactPostings reads the chunk table for at a time, between yields.
 * A setting, not a constant, so tests can take several steps.
 */
export const COMPACTION_LIMITS = { tableStep: 100_000 };

/**
 * Postings compactPostings reads from the index and writes in one transaction, which holds
 * the event loop: `shelf serve` compacts while it answers searches. At 1M chunks, 1M
 * postings a run kept searches waiting 716-846 ms at the median of the rebuild (event-loop
 * delay, 2.3 s at p99); 200k, 185-199 ms (1.2-1.3 s), for a rebuild 10% longer. A run is
 * never less than one term's list.
 */
const COMPACT_RUN = 200_000;

/** Opens (creating and migrating if needed) the SQLite store at `options.path`. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const { path } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const w = options.fieldWeights ?? DEFAULT_FIELD_WEIGHTS;
  const rankFunction = `bm25(${[w.title, w.heading, w.body, w.tags].map((x) => x.toFixed(3)).join(', ')})`;
  let db: Db;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, path);
  } catch (e) {
    throw translate(e instanceof Error ? e : new Error(String(e)), path);
  }
  const now = (): string => clock.now().toISOString();
  // sqlite-vec gives vector distance functions; without it the store still works, lexically.
  let vectorError: string | undefined;
  try {
    sqliteVec.load(db);
  } catch (e) {
    vectorError = e instanceof Error ? e.message : String(e);
  }

  // Every call runs through `run` so driver errors come out translated.
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(translate(e instanceof Error ? e : new Error(String(e)), path));
    }
  };

  const statements = new Map<string, Database.Statement>();
  const stmt = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };

  const insertChunk = (): Database.Statement =>
    stmt(`INSERT INTO chunks (document_id, kb_id, ordinal, heading_path, anchor, text, page_start, page_end, tokens, has_code)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertIndex = (): Database.Statement =>
    stmt('INSERT INTO chunk_fts (rowid, title, heading, body, tags) VALUES (?, ?, ?, ?, ?)');

  const writeDocument = db.transaction(
    (
      kbId: number,
      sourceId: number,
      d: DocumentInput,
      chunks: readonly ChunkInput[],
      vectors?: DocumentVectors,
    ): { id: number; outcome: UpsertOutcome } => {
      if (vectors && vectors.values.length !== chunks.length)
        throw new ShelfError('INTERNAL', {
          detail: `${vectors.values.length} vectors for ${chunks.length} chunks of ${d.key}`,
        });
      const existing = stmt('SELECT id, hash FROM documents WHERE source_id = ? AND key = ?').get(
        sourceId,
        d.key,
      ) as { id: number; hash: string } | undefined;
      if (existing?.hash === d.hash) return { id: existing.id, outcome: 'unchanged' };
      const stamp = now();
      const values = documentValues(d, chunks.length);
      let id: number;
      if (existing) {
        id = existing.id;
        stmt('DELETE FROM chunks WHERE document_id = ?').run(id);
        stmt('DELETE FROM document_tags WHERE document_id = ?').run(id);
        stmt(
          `UPDATE documents SET kind = ?, title = ?, url = ?, author = ?, published = ?, updated = ?, tags = ?, hash = ?,
             page_count = ?, page_labels = ?, problems = ?, chunk_count = ?, updated_at = ? WHERE id = ?`,
        ).run(...values, stamp, id);
      } else {
        const info = stmt(
          `INSERT INTO documents (kind, title, url, author, published, updated, tags, hash, page_count, page_labels, problems,
             chunk_count, kb_id, source_id, key, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(...values, kbId, sourceId, d.key, stamp, stamp);
        id = Number(info.lastInsertRowid);
      }
      const tagStmt = stmt('INSERT OR IGNORE INTO document_tags (document_id, tag) VALUES (?, ?)');
      for (const tag of d.tags) tagStmt.run(id, tag);
      const ci = insertChunk();
      const ii = insertIndex();
      for (const [i, c] of chunks.entries()) {
        const info = ci.run(
          id,
          kbId,
          c.ordinal,
          JSON.stringify(c.headingPath),
          c.anchor ?? null,
          c.text,
          c.pageStart ?? null,
          c.pageEnd ?? null,
          c.tokens,
          c.hasCode ? 1 : 0,
        );
        ii.run(info.lastInsertRowid, c.index.title, c.index.heading, c.index.body, c.index.tags);
        const vector = vectors?.values[i];
        if (vectors && vector)
          stmt('INSERT INTO chunk_vectors (chunk_id, kb_id, model, vector) VALUES (?, ?, ?, ?)').run(
            info.lastInsertRowid,
            kbId,
            vectors.model,
            vectorBlob(vector),
          );
      }
      return { id, outcome: existing ? 'updated' : 'added' };
    },
  );

  // One occurrence of the term as chunk id * FIELD_COUNT + column index, all of them in one
  // comma-separated string: a row per occurrence through the driver costs several times
  // more than SQLite's own scan of the index (measured in bench/search).
  const code = `doc * ${FIELD_COUNT} + CASE col ${INDEX_FIELDS.map((f, i) => `WHEN '${f}' THEN ${i}`).join(' ')} END`;
  const occurrences = `SELECT group_concat(${code}) FROM chunk_instances WHERE term = ?`;
  const allOccurrences = `SELECT term, group_concat(${code}) FROM chunk_instances GROUP BY term`;
  const postingList = (term: string): PostingList => {
    const encoded = (stmt(occurrences).pluck().get(term) as string | null) ?? '';
    return decodeOccurrences(encoded);
  };

  // The compact posting lists (./posting-lists.ts), when they are exact for the current
  // index: `exists` marks the chunks still there when some covered chunk was deleted.
  interface CompactView {
    /** The highest chunk id the lists cover, and how many chunks they covered. */
    readonly covered: number;
    readonly chunks: number;
    readonly exists: Uint8Array | undefined;
    /** The key of the stored impacts, if any. */
    readonly impactKey: string | null;
  }
  const totalChanges = (): number => (stmt('SELECT total_changes() AS n').get() as { n: number }).n;
  // Rows this connection wrote to the compact lists: no change to the index, so the index
  // version leaves them out (a ranker keeps its cache while compactPostings runs).
  let compactionChanges = 0;
  const currentVersion = (): string => {
    // data_version moves when another connection commits; total_changes when this one writes.
    // One statement: every query asks.
    const { other, own } = stmt(
      'SELECT (SELECT data_version FROM pragma_data_version) AS other, total_changes() AS own',
    ).get() as { other: number; own: number };
    return `${other}:${own - compactionChanges}`;
  };
  let compactChecked: { version: string; view: CompactView | undefined } | undefined;
  /** Runs one of compactPostings' writes, uncounted in the index version. */
  const compactionWrite = <T>(fn: () => T): T => {
    const before = totalChanges();
    try {
      return fn();
    } finally {
      compactionChanges += totalChanges() - before;
      // The state may have changed under an unchanged version.
      compactChecked = undefined;
    }
  };
  const compactView = (): CompactView | undefined => {
    if (!COMPACT_SUPPORTED) return undefined;
    const version = currentVersion();
    if (compactChecked?.version === version) return compactChecked.view;
    let view: CompactView | undefined;
    const state = stmt(
      'SELECT format, covered, chunks, impact_key AS impactKey FROM posting_lists_state WHERE id = 1',
    ).get() as { format: number; covered: number; chunks: number; impactKey: string | null } | undefined;
    const maxId = (stmt('SELECT max(id) AS m FROM chunks').get() as { m: number | null }).m ?? 0;
    if (state?.format === POSTING_FORMAT && maxId <= state.covered) {
      // No chunk past the lists, none rewritten under them: only deletions can differ.
      const count = (stmt('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
      let exists: Uint8Array | undefined;
      if (count !== state.chunks) {
        exists = new Uint8Array(state.covered + 1);
        for (const id of stmt('SELECT id FROM chunks').pluck().iterate() as IterableIterator<number>)
          exists[id] = 1;
      }
      view = { covered: state.covered, chunks: state.chunks, exists, impactKey: state.impactKey };
    }
    compactChecked = { version, view };
    return view;
  };
  /** An empty chunk table for ids 0 .. max. */
  const emptyTable = (max: number): ChunkTable => ({
    size: max + 1,
    chunkCount: 0,
    documentId: new Uint32Array(max + 1),
    kbId: new Uint32Array(max + 1),
    fieldLengths: new Uint32Array((max + 1) * FIELD_COUNT),
  });
  /** Fills `table` with the chunks whose ids are in `from .. to`; returns how many. */
  const readTableRows = (table: ChunkTable, from: number, to: number): number => {
    const { documentId, kbId, fieldLengths } = table;
    let count = 0;
    const rows = stmt(
      'SELECT c.id, c.document_id, c.kb_id, s.sz FROM chunks c LEFT JOIN chunk_fts_docsize s ON s.id = c.id WHERE c.id BETWEEN ? AND ?',
    )
      .raw()
      .iterate(from, to) as IterableIterator<[number, number, number, Uint8Array | null]>;
    for (const [id, doc, kb, sz] of rows) {
      documentId[id] = doc;
      kbId[id] = kb;
      if (sz) decodeDocsize(sz, fieldLengths, id * FIELD_COUNT);
      count++;
    }
    return count;
  };
  /** The chunk table read row by row, in one statement. */
  const readTable = (): ChunkTable => {
    const max = (stmt('SELECT max(id) AS m FROM chunks').get() as { m: number | null }).m ?? 0;
    const table = emptyTable(max);
    return { ...table, chunkCount: readTableRows(table, 0, max) };
  };
  /**
   * The chunk table stored with the compact lists, when they are exact for the current index
   * (deleted chunks cleared), else undefined: one blob instead of a million rows (3.1-5.6 s
   * at a million chunks).
   */
  const storedTable = (): ChunkTable | undefined => {
    const view = compactView();
    if (!view) return undefined;
    const blob = stmt('SELECT chunk_table FROM posting_lists_state WHERE id = 1').pluck().get() as
      Uint8Array | null | undefined;
    const table = blob ? decodeChunkTable(blob, view.covered + 1) : undefined;
    if (!table) return undefined;
    if (view.exists) return clearDeleted(table, view.exists);
    // With no deletion, the table must hold every covered chunk.
    return table.chunkCount === view.chunks ? table : undefined;
  };
  /**
   * Stores the chunk table of the chunks with id ≤ `covered` with lists of that state
   * (`format`); a state replaced meanwhile keeps none. Read `tableStep` ids at a time,
   * yielding between (3 s in one go at 1M chunks, which would hold up a serving process);
   * a chunk deleted meanwhile is cleared as the table is read back, and none can be
   * written at a covered id without the state going (the trigger).
   */
  const storeTable = async (covered: number, format: number, signal?: AbortSignal): Promise<void> => {
    const table = emptyTable(covered);
    const step = Math.max(1, COMPACTION_LIMITS.tableStep);
    for (let from = 0; from <= covered; from += step) {
      signal?.throwIfAborted();
      await run(() => readTableRows(table, from, Math.min(covered, from + step - 1)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const blob = encodeChunkTable(table);
    await run(() =>
      compactionWrite(() =>
        stmt(
          'UPDATE posting_lists_state SET chunk_table = ? WHERE id = 1 AND covered = ? AND format = ?',
        ).run(blob, covered, format),
      ),
    );
  };
  /**
   * The compact list of `term` (empty when absent), with its impacts when stored under
   * `impactKey`, or undefined when it is unreadable. Without `counts`, a list with stored
   * impacts and summary comes without its per-field counts (PostingsRead).
   */
  const compactList = (
    view: CompactView,
    term: string,
    impactKey: string | undefined,
    counts: boolean,
  ): PostingList | undefined => {
    const withImpacts = impactKey !== undefined && impactKey === view.impactKey && !view.exists;
    if (withImpacts && !counts) {
      const bare = stmt('SELECT ids, impacts, summary FROM posting_lists WHERE term = ?').raw().get(term) as
        [Uint8Array, Uint8Array | null, Uint8Array | null] | undefined;
      if (!bare) return { chunkIds: new Uint32Array(0), fieldTf: new Uint16Array(0) };
      const chunkIds = decodeIds(bare[0]);
      const impacts = chunkIds && bare[1] ? decodeImpacts(bare[1], chunkIds.length) : undefined;
      const summary = impacts && bare[2] ? decodeSummary(bare[2]) : undefined;
      if (chunkIds && impacts && summary) return { chunkIds, fieldTf: new Uint16Array(0), impacts, summary };
      // Anything missing or malformed: the whole row, as with counts.
    }
    const row = (
      withImpacts
        ? stmt('SELECT ids, tf, impacts, summary FROM posting_lists WHERE term = ?')
        : stmt('SELECT ids, tf FROM posting_lists WHERE term = ?')
    )
      .raw()
      .get(term) as [Uint8Array, Uint8Array, Uint8Array | null, Uint8Array | null] | undefined;
    if (!row) return { chunkIds: new Uint32Array(0), fieldTf: new Uint16Array(0) };
    const list = decodePostingList(row[0], row[1]);
    if (!list) return undefined;
    if (view.exists) return withoutDeleted(list, view.exists);
    const impacts = row[2] ? decodeImpacts(row[2], list.chunkIds.length) : undefined;
    if (!impacts) return list;
    const summary = row[3] ? decodeSummary(row[3]) : undefined;
    return summary ? { ...list, impacts, summary } : { ...list, impacts };
  };

  const writeDocuments = db.transaction(
    (inputs: Parameters<Store['upsertDocuments']>[0]): { id: number; outcome: UpsertOutcome }[] =>
      inputs.map((i) => writeDocument(i.kbId, i.sourceId, i.document, i.chunks, i.vectors)),
  );

  /**
   * Chunks holding each term, over every knowledge base: the compact list's length while
   * the lists hold exactly the index's chunks (a leaf page a term), else the vocabulary
   * view's count, which reads the term's whole doclist (10-25 ms for a common term at 1M
   * chunks; long queries ask for their most common terms' counts at every search).
   */
  const frequenciesOf = (terms: Iterable<string>): Map<string, number> => {
    const view = compactView();
    const exact = view !== undefined && view.exists === undefined;
    // A list's row, with null for a malformed one (then the index counts it); no row, 0.
    const compact = stmt(
      'SELECT CASE WHEN length(ids) % 4 = 0 THEN length(ids) / 4 END FROM posting_lists WHERE term = ?',
    ).pluck();
    const indexed = stmt('SELECT doc FROM chunk_terms WHERE term = ?').pluck();
    const out = new Map<string, number>();
    for (const t of terms) {
      if (out.has(t)) continue;
      const listed = exact ? (compact.get(t) as number | null | undefined) : null;
      out.set(t, listed === undefined ? 0 : (listed ?? (indexed.get(t) as number | undefined) ?? 0));
    }
    return out;
  };

  const store: Store = {
    location: path,

    close: () => run(() => void db.close()),

    createKnowledgeBase: (name) =>
      run(() => {
        const info = stmt('INSERT INTO knowledge_bases (name, created_at) VALUES (?, ?)').run(name, now());
        return toKb(stmt('SELECT * FROM knowledge_bases WHERE id = ?').get(info.lastInsertRowid) as Row);
      }).catch((e: unknown) => {
        throw e instanceof ShelfError && e.code === 'STORE_UNIQUE'
          ? new ShelfError('KB_EXISTS', { name }, { cause: e })
          : e;
      }),

    getKnowledgeBase: (name) =>
      run(() => {
        const r = stmt('SELECT * FROM knowledge_bases WHERE name = ?').get(name) as Row | undefined;
        return r ? toKb(r) : undefined;
      }),

    listKnowledgeBases: () =>
      run(() =>
        (
          stmt(
            `SELECT k.*,
               (SELECT count(*) FROM sources s WHERE s.kb_id = k.id) AS source_count,
               (SELECT count(*) FROM documents d WHERE d.kb_id = k.id) AS document_count,
               (SELECT count(*) FROM chunks c WHERE c.kb_id = k.id) AS chunk_count
             FROM knowledge_bases k ORDER BY k.name`,
          ).all() as Row[]
        ).map((r): KnowledgeBaseSummary => ({
          ...toKb(r),
          sourceCount: r.source_count as number,
          documentCount: r.document_count as number,
          chunkCount: r.chunk_count as number,
        })),
      ),

    deleteKnowledgeBase: (id) => run(() => void stmt('DELETE FROM knowledge_bases WHERE id = ?').run(id)),

    setPrimer: (id, primer) =>
      run(() => void stmt('UPDATE knowledge_bases SET primer = ? WHERE id = ?').run(primer, id)),

    addSource: (s: NewSource) =>
      run(() => {
        const info = stmt(
          `INSERT INTO sources (kb_id, kind, location, title, parent_id, options, refresh_interval_s, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          s.kbId,
          s.kind,
          s.location,
          s.title ?? null,
          s.parentId ?? null,
          JSON.stringify(s.options ?? {}),
          s.refreshIntervalS ?? null,
          now(),
        );
        return toSource(stmt('SELECT * FROM sources WHERE id = ?').get(info.lastInsertRowid) as Row);
      }),

    getSource: (id) =>
      run(() => {
        const r = stmt('SELECT * FROM sources WHERE id = ?').get(id) as Row | undefined;
        return r ? toSource(r) : undefined;
      }),

    findSource: (kbId, location) =>
      run(() => {
        const r = stmt('SELECT * FROM sources WHERE kb_id = ? AND location = ?').get(kbId, location) as
          Row | undefined;
        return r ? toSource(r) : undefined;
      }),

    listSources: (kbId) =>
      run(() =>
        (kbId === undefined
          ? (stmt('SELECT * FROM sources ORDER BY id').all() as Row[])
          : (stmt('SELECT * FROM sources WHERE kb_id = ? ORDER BY id').all(kbId) as Row[])
        ).map(toSource),
      ),

    updateSource: (id, patch: SourcePatch) =>
      run(() => {
        const columns: Record<keyof SourcePatch, string> = {
          title: 'title',
          etag: 'etag',
          lastModified: 'last_modified',
          lastSyncedAt: 'last_synced_at',
          lastError: 'last_error',
        };
        const sets: string[] = [];
        const params: unknown[] = [];
        for (const [k, column] of Object.entries(columns)) {
          const v = patch[k as keyof SourcePatch];
          if (v === undefined) continue;
          sets.push(`${column} = ?`);
          params.push(v);
        }
        if (sets.length === 0) return;
        db.prepare(`UPDATE sources SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
      }),

    deleteSource: (id) => run(() => void stmt('DELETE FROM sources WHERE id = ?').run(id)),

    upsertDocument: ({ kbId, sourceId, document, chunks, vectors }) =>
      run(() => writeDocument.immediate(kbId, sourceId, document, chunks, vectors)),

    upsertDocuments: (inputs) => run(() => writeDocuments.immediate(inputs)),
    documentHashes: (sourceId) =>
      run(
        () =>
          new Map(
            (
              stmt('SELECT key, hash FROM documents WHERE source_id = ?').all(sourceId) as {
                key: string;
                hash: string;
              }[]
            ).map((r) => [r.key, r.hash]),
          ),
      ),

    getDocument: (id) =>
      run(() => {
        const r = stmt('SELECT * FROM documents WHERE id = ?').get(id) as Row | undefined;
        return r ? toDocument(r) : undefined;
      }),

    listDocuments: (kbIds, filter, page: PageRequest) =>
      run((): Page<DocumentRecord> => {
        const kb = kbClause(kbIds, 'd.kb_id');
        const f = filterSql(filter);
        const where = `WHERE 1 = 1${kb.sql}${f.sql}`;
        const params = [...kb.params, ...f.params];
        const total = (
          db.prepare(`SELECT count(*) AS n FROM documents d ${where}`).get(...params) as { n: number }
        ).n;
        const rows = db
          .prepare(
            `SELECT d.* FROM documents d ${where}
             ORDER BY COALESCE(d.published, d.created_at) DESC, d.id DESC LIMIT ? OFFSET ?`,
          )
          .all(...params, page.limit, page.offset) as Row[];
        return { items: rows.map((r) => toDocument(r)), total };
      }),

    getChunks: (documentId) =>
      run(() =>
        (stmt('SELECT * FROM chunks WHERE document_id = ? ORDER BY ordinal').all(documentId) as Row[]).map(
          (r) => toChunk(r),
        ),
      ),

    getChunksWithDocuments: (chunkIds) =>
      run(() => {
        if (chunkIds.length === 0) return [];
        const rows = stmt(
          `SELECT c.*, d.id AS d_id, d.kb_id AS d_kb_id, d.source_id AS d_source_id, d.key AS d_key, d.kind AS d_kind,
               d.title AS d_title, d.url AS d_url, d.author AS d_author, d.published AS d_published, d.updated AS d_updated,
               d.tags AS d_tags, d.hash AS d_hash, d.page_count AS d_page_count, d.page_labels AS d_page_labels,
               d.problems AS d_problems, d.chunk_count AS d_chunk_count, d.created_at AS d_created_at, d.updated_at AS d_updated_at
             FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.id IN (SELECT value FROM json_each(?))`,
        ).all(JSON.stringify(chunkIds)) as Row[];
        const byId = new Map(rows.map((r) => [r.id as number, r]));
        const out: ChunkWithDocument[] = [];
        for (const id of chunkIds) {
          const r = byId.get(id);
          if (r) out.push({ chunk: toChunk(r), document: toDocument(r, 'd_') });
        }
        return out;
      }),

    deleteDocument: (id) => run(() => void stmt('DELETE FROM documents WHERE id = ?').run(id)),

    deleteDocumentsExcept: (sourceId, keep) =>
      run(
        () =>
          stmt(
            'DELETE FROM documents WHERE source_id = ? AND key NOT IN (SELECT value FROM json_each(?))',
          ).run(sourceId, JSON.stringify(keep)).changes,
      ),

    searchLexical: (q: LexicalQuery) =>
      run((): LexicalHit[] => {
        if (q.terms.length === 0) return [];
        const kb = kbClause(q.kbIds, 'c.kb_id');
        const f = filterSql(q.filter);
        const needsDocuments = f.sql !== '';
        const sql = `SELECT f.rowid AS id, c.document_id AS documentId, f.rank AS rank FROM chunk_fts f
           JOIN chunks c ON c.id = f.rowid
           ${needsDocuments ? 'JOIN documents d ON d.id = c.document_id' : ''}
           WHERE chunk_fts MATCH ? AND f.rank MATCH ?${kb.sql}${f.sql}
           ORDER BY f.rank LIMIT ?`;
        const rows = stmt(sql).all(
          matchExpression(q.terms),
          rankFunction,
          ...kb.params,
          ...f.params,
          q.limit,
        ) as { id: number; documentId: number; rank: number }[];
        return rows.map((r) => ({ chunkId: r.id, documentId: r.documentId, score: -r.rank }));
      }),

    termStats: (terms, kbIds) =>
      run((): TermStats => {
        const kb = kbClause(kbIds, 'kb_id');
        const chunkCount = (
          db.prepare(`SELECT count(*) AS n FROM chunks WHERE 1 = 1${kb.sql}`).get(...kb.params) as {
            n: number;
          }
        ).n;
        return { chunkCount, df: frequenciesOf(terms) };
      }),

    listAuthors: (kbIds) =>
      run(() => {
        const kb = kbClause(kbIds, 'kb_id');
        return db
          .prepare(
            `SELECT author AS name, count(*) AS documents FROM documents WHERE author IS NOT NULL${kb.sql}
             GROUP BY author COLLATE NOCASE ORDER BY documents DESC, name`,
          )
          .all(...kb.params) as { name: string; documents: number }[];
      }),

    listTags: (kbIds) =>
      run(() => {
        const kb = kbClause(kbIds, 'd.kb_id');
        return db
          .prepare(
            `SELECT t.tag AS name, count(*) AS documents FROM document_tags t JOIN documents d ON d.id = t.document_id
             WHERE 1 = 1${kb.sql} GROUP BY t.tag COLLATE NOCASE ORDER BY documents DESC, name`,
          )
          .all(...kb.params) as { name: string; documents: number }[];
      }),

    indexVersion: () => run(currentVersion),
    chunkTable: () => run((): ChunkTable => storedTable() ?? readTable()),
    documentFrequencies: (terms) => run(() => frequenciesOf(terms)),
    postings: (terms, impactKey, read) =>
      run(() => {
        const view = compactView();
        const counts = read?.counts ?? true;
        const out = new Map<string, PostingList>();
        for (const t of terms)
          if (!out.has(t)) out.set(t, (view && compactList(view, t, impactKey, counts)) ?? postingList(t));
        return out;
      }),
    allPostings: (maxPostings) =>
      run(() => {
        const out = new Map<string, PostingList>();
        let total = 0;
        const view = compactView();
        if (view) {
          const bytes = (
            stmt('SELECT sum(length(ids)) AS n FROM posting_lists').get() as { n: number | null }
          ).n;
          if ((bytes ?? 0) / 4 > maxPostings) return undefined;
          const rows = stmt('SELECT term, ids, tf FROM posting_lists').raw().iterate() as IterableIterator<
            [string, Uint8Array, Uint8Array]
          >;
          for (const [term, ids, tf] of rows) {
            const list = decodePostingList(ids, tf) ?? postingList(term);
            out.set(term, view.exists ? withoutDeleted(list, view.exists) : list);
          }
          return out;
        }
        const rows = stmt(allOccurrences).raw().iterate() as IterableIterator<[string, string]>;
        for (const [term, encoded] of rows) {
          const list = decodeOccurrences(encoded);
          total += list.chunkIds.length;
          // Leaving the loop early resets the statement.
          if (total > maxPostings) return undefined;
          out.set(term, list);
        }
        return out;
      }),
    frequentTerms: (maxPostings) =>
      run(() => {
        if (!compactView()) return [];
        // length() of a blob reads no overflow page: one leaf page per term.
        const rows = stmt(
          'SELECT term, length(ids) / 4 AS n FROM posting_lists WHERE n > 0 AND n <= ? ORDER BY n DESC, term',
        )
          .raw()
          .all(maxPostings) as [string, number][];
        return withinPostings(rows, maxPostings);
      }),
    compactPostings: async (impacts, options) => {
      if (!COMPACT_SUPPORTED) return 0;
      const signal = options?.signal;
      signal?.throwIfAborted();
      const current = await run(compactView);
      if (current && !current.exists && current.impactKey === (impacts?.key ?? null)) {
        // Lists written before the chunk table was stored with them: add it.
        // (A current view means the state row is this format's.)
        const missing = await run(
          () =>
            stmt('SELECT 1 FROM posting_lists_state WHERE id = 1 AND chunk_table IS NULL').get() !==
            undefined,
        );
        if (missing) await storeTable(current.covered, POSTING_FORMAT);
        return 0;
      }
      // Written in short transactions, yielding between them, so writers and the event loop
      // are not held up for the whole pass. The state row goes in first, unusable (a
      // negative format, this pass's token): a chunk written at a covered id meanwhile
      // deletes it (the trigger), and another pass replaces it; either way the lists never
      // become usable. Chunks deleted meanwhile are dropped as lists are read.
      const token = -1 - Math.floor(Math.random() * 2 ** 31);
      const start = (): number =>
        db
          .transaction((): number => {
            stmt('DELETE FROM posting_lists_state').run();
            stmt('DELETE FROM posting_lists').run();
            const covered = (stmt('SELECT max(id) AS m FROM chunks').get() as { m: number | null }).m ?? 0;
            const chunks = (stmt('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
            stmt('INSERT INTO posting_lists_state (id, format, covered, chunks) VALUES (1, ?, ?, ?)').run(
              token,
              covered,
              chunks,
            );
            return covered;
          })
          .immediate();
      const covered = await run(() => compactionWrite(start));
      const after = stmt(
        `SELECT term, group_concat(${code}) FROM chunk_instances WHERE term > ? GROUP BY term`,
      );
      const insert = stmt(
        'INSERT OR REPLACE INTO posting_lists (term, ids, tf, impacts, summary) VALUES (?, ?, ?, ?, ?)',
      );
      // One run of terms (in term order, after `last`) read from the index, then written.
      const step = db.transaction((last: string): { last: string; written: number } | undefined => {
        const lists: [string, PostingList][] = [];
        let buffered = 0;
        // The connection cannot write while a statement reads: the run is read first.
        for (const [term, encoded] of after.raw().iterate(last) as IterableIterator<[string, string]>) {
          const list = decodeOccurrences(encoded);
          lists.push([term, list]);
          buffered += list.chunkIds.length;
          // Leaving the loop early resets the statement.
          if (buffered >= COMPACT_RUN) break;
        }
        if (lists.length === 0) return undefined;
        for (const [term, list] of lists) {
          const { ids, tf } = encodePostingList(list);
          const values = impacts?.of(list);
          const usable = values?.length === list.chunkIds.length ? values : undefined;
          const summary = usable && impacts?.summaryOf?.(list, usable);
          insert.run(
            term,
            ids,
            tf,
            usable ? encodeImpacts(usable) : null,
            summary ? encodeSummary(summary) : null,
          );
        }
        return { last: lists[lists.length - 1]?.[0] ?? last, written: buffered };
      });
      let written = 0;
      let last = '';
      for (;;) {
        // Stopped here, the state row stays unusable: the lists are read from the index.
        signal?.throwIfAborted();
        const done = await run(() => compactionWrite(() => step.immediate(last)));
        if (!done) break;
        written += done.written;
        last = done.last;
        await new Promise((resolve) => setImmediate(resolve));
      }
      // The chunk table goes in while the state is still unusable (read outside the write
      // lock: a chunk deleted meanwhile is cleared as the table is read back).
      await storeTable(covered, token, signal);
      signal?.throwIfAborted();
      await run(() =>
        compactionWrite(() =>
          stmt('UPDATE posting_lists_state SET format = ?, impact_key = ? WHERE id = 1 AND format = ?').run(
            POSTING_FORMAT,
            impacts?.key ?? null,
            token,
          ),
        ),
      );
      return written;
    },
    filterChunks: (chunkIds, filter) =>
      run(() => {
        if (chunkIds.length === 0) return new Set<number>();
        const f = filterSql(filter);
        const rows = db
          .prepare(
            `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.id IN (SELECT value FROM json_each(?))${f.sql}`,
          )
          .raw()
          .all(JSON.stringify(chunkIds), ...f.params) as [number][];
        return new Set(rows.map((r) => r[0]));
      }),
    enqueueJob: (job) =>
      run(() =>
        db
          .transaction((): { job: JobRecord; created: boolean } => {
            if (job.dedupeKey !== undefined) {
              const active = stmt(
                `SELECT * FROM jobs WHERE dedupe_key = ? AND state IN ('queued', 'running')`,
              ).get(job.dedupeKey) as Row | undefined;
              if (active) return { job: toJob(active), created: false };
            }
            const stamp = now();
            const info = stmt(
              `INSERT INTO jobs (kind, payload, state, max_attempts, run_at, dedupe_key, created_at, updated_at)
               VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)`,
            ).run(
              job.kind,
              JSON.stringify(job.payload),
              job.maxAttempts ?? 3,
              stamp,
              job.dedupeKey ?? null,
              stamp,
              stamp,
            );
            return {
              job: toJob(stmt('SELECT * FROM jobs WHERE id = ?').get(info.lastInsertRowid) as Row),
              created: true,
            };
          })
          .immediate(),
      ),

    getJob: (id) =>
      run(() => {
        const r = stmt('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
        return r ? toJob(r) : undefined;
      }),

    listJobs: (filter, page) =>
      run((): Page<JobRecord> => {
        const parts: string[] = [];
        const params: unknown[] = [];
        if (filter.state !== undefined) {
          parts.push('state = ?');
          params.push(filter.state);
        }
        if (filter.kind !== undefined) {
          parts.push('kind = ?');
          params.push(filter.kind);
        }
        const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
        const total = (db.prepare(`SELECT count(*) AS n FROM jobs ${where}`).get(...params) as { n: number })
          .n;
        const rows = db
          .prepare(`SELECT * FROM jobs ${where} ORDER BY id DESC LIMIT ? OFFSET ?`)
          .all(...params, page.limit, page.offset) as Row[];
        return { items: rows.map(toJob), total };
      }),

    claimJob: (workerId, leaseMs) =>
      run(() =>
        db
          .transaction((): JobRecord | undefined => {
            const at = clock.now();
            const stamp = at.toISOString();
            // A worker that died on the last attempt leaves a running job nobody may retry.
            stmt(
              `UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL, finished_at = ?, updated_at = ?,
                 error = COALESCE(error, ?)
               WHERE state = 'running' AND lease_until < ? AND attempts >= max_attempts`,
            ).run(
              stamp,
              stamp,
              JSON.stringify({
                code: 'INTERNAL',
                message: 'The worker stopped before finishing the last attempt.',
              }),
              stamp,
            );
            const due = stmt(
              `SELECT id FROM jobs
               WHERE (state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until < ?)
               ORDER BY run_at, id LIMIT 1`,
            ).get(stamp, stamp) as { id: number } | undefined;
            if (!due) return undefined;
            stmt(
              `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
               WHERE id = ?`,
            ).run(workerId, new Date(at.getTime() + leaseMs).toISOString(), stamp, due.id);
            return toJob(stmt('SELECT * FROM jobs WHERE id = ?').get(due.id) as Row);
          })
          .immediate(),
      ),

    heartbeatJob: (id, workerId, leaseMs, progress?: JobProgress) =>
      run(() => {
        const at = clock.now();
        const until = new Date(at.getTime() + leaseMs).toISOString();
        const info = progress
          ? stmt(
              `UPDATE jobs SET lease_until = ?, updated_at = ?, progress_done = ?, progress_total = ?, progress_label = ?
               WHERE id = ? AND lease_owner = ? AND state = 'running'`,
            ).run(
              until,
              at.toISOString(),
              progress.done,
              progress.total,
              progress.label ?? null,
              id,
              workerId,
            )
          : stmt(
              `UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`,
            ).run(until, at.toISOString(), id, workerId);
        return info.changes > 0;
      }),

    completeJob: (id, workerId, result) =>
      run(() => {
        const stamp = now();
        return (
          stmt(
            `UPDATE jobs SET state = 'succeeded', result = ?, error = NULL, lease_owner = NULL, lease_until = NULL,
               finished_at = ?, updated_at = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'`,
          ).run(JSON.stringify(result ?? null), stamp, stamp, id, workerId).changes > 0
        );
      }),

    failJob: (id, workerId, error, retryAt) =>
      run(() => {
        const stamp = now();
        const info =
          retryAt !== undefined
            ? stmt(
                `UPDATE jobs SET state = 'queued', run_at = ?, error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
                 WHERE id = ? AND lease_owner = ? AND state = 'running'`,
              ).run(retryAt, JSON.stringify(error), stamp, id, workerId)
            : stmt(
                `UPDATE jobs SET state = 'failed', error = ?, lease_owner = NULL, lease_until = NULL, finished_at = ?,
                   updated_at = ?
                 WHERE id = ? AND lease_owner = ? AND state = 'running'`,
              ).run(JSON.stringify(error), stamp, stamp, id, workerId);
        return info.changes > 0;
      }),

    createApiKey: (key) =>
      run(() => {
        const info = stmt('INSERT INTO api_keys (name, prefix, hash, created_at) VALUES (?, ?, ?, ?)').run(
          key.name,
          key.prefix,
          key.hash,
          now(),
        );
        return toApiKey(stmt('SELECT * FROM api_keys WHERE id = ?').get(info.lastInsertRowid) as Row);
      }),

    findApiKey: (hash) =>
      run(() => {
        const r = stmt('SELECT * FROM api_keys WHERE hash = ?').get(hash) as Row | undefined;
        return r ? toApiKey(r) : undefined;
      }),

    listApiKeys: () => run(() => (stmt('SELECT * FROM api_keys ORDER BY id').all() as Row[]).map(toApiKey)),

    revokeApiKey: (id) =>
      run(() => {
        const exists = stmt('SELECT 1 FROM api_keys WHERE id = ?').get(id) !== undefined;
        if (exists)
          stmt('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(now(), id);
        return exists;
      }),

    getKnowledgeBaseById: (id) =>
      run(() => {
        const r = stmt('SELECT * FROM knowledge_bases WHERE id = ?').get(id) as Row | undefined;
        return r ? toKb(r) : undefined;
      }),

    setEmbedding: (kbId, info) =>
      run(
        () =>
          void stmt(
            'UPDATE knowledge_bases SET embed_model = ?, embed_dimension = ?, embed_state = ? WHERE id = ?',
          ).run(info?.model ?? null, info?.dimension ?? null, info?.state ?? null, kbId),
      ),

    putVectors: (model, vectors) =>
      run(() =>
        db
          .transaction((): number => {
            const put = stmt(
              `INSERT INTO chunk_vectors (chunk_id, kb_id, model, vector)
               SELECT id, kb_id, ?, ? FROM chunks WHERE id = ?
               ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, vector = excluded.vector`,
            );
            let n = 0;
            for (const v of vectors) n += put.run(model, vectorBlob(v.vector), v.chunkId).changes;
            return n;
          })
          .immediate(),
      ),

    deleteVectors: (kbId, keepModel) =>
      run(
        () =>
          stmt('DELETE FROM chunk_vectors WHERE kb_id = ? AND model IS NOT ?').run(kbId, keepModel ?? null)
            .changes,
      ),

    missingVectors: (kbId, model, limit) =>
      run(() =>
        (
          stmt(
            `SELECT c.id FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = ?
             WHERE c.kb_id = ? AND v.chunk_id IS NULL ORDER BY c.id LIMIT ?`,
          )
            .raw()
            .all(model, kbId, limit) as [number][]
        ).map((r) => r[0]),
      ),

    vectorCounts: (kbId, model) =>
      run(() => {
        const chunks = (stmt('SELECT count(*) AS n FROM chunks WHERE kb_id = ?').get(kbId) as { n: number })
          .n;
        const embedded = (
          stmt('SELECT count(*) AS n FROM chunk_vectors WHERE kb_id = ? AND model = ?').get(kbId, model) as {
            n: number;
          }
        ).n;
        return { chunks, embedded };
      }),

    searchDense: (q) =>
      run((): DenseHit[] => {
        if (vectorError !== undefined) throw new ShelfError('VECTORS_UNAVAILABLE', { reason: vectorError });
        const kb = kbClause(q.kbIds, 'v.kb_id');
        const f = filterSql(q.filter);
        // Exact nearest neighbours: a scan with sqlite-vec's distance over this model's vectors.
        const rows = db
          .prepare(
            `SELECT v.chunk_id AS id, c.document_id AS documentId, vec_distance_cosine(v.vector, ?) AS distance
             FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
             ${f.sql !== '' ? 'JOIN documents d ON d.id = c.document_id' : ''}
             WHERE v.model = ? AND length(v.vector) = ?${kb.sql}${f.sql}
             ORDER BY distance, v.chunk_id LIMIT ?`,
          )
          .all(vectorBlob(q.vector), q.model, q.vector.byteLength, ...kb.params, ...f.params, q.limit) as {
          id: number;
          documentId: number;
          distance: number;
        }[];
        return rows.map((r) => ({ chunkId: r.id, documentId: r.documentId, score: 1 - r.distance }));
      }),

    integrityCheck: () =>
      run((): IntegrityReport => {
        const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
        return {
          documentsWithoutChunks: count(
            'SELECT count(*) AS n FROM documents d WHERE d.chunk_count > 0 AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)',
          ),
          chunksWithoutIndexRow: count(
            'SELECT count(*) AS n FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_fts f WHERE f.rowid = c.id)',
          ),
          indexRowsWithoutChunk: count(
            'SELECT count(*) AS n FROM chunk_fts f WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = f.rowid)',
          ),
          chunkCountMismatches: count(
            'SELECT count(*) AS n FROM documents d WHERE d.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)',
          ),
        };
      }),
  };
  return store;
}
