/**
 * The PostgreSQL store, chosen when SHELF_DATABASE_URL is set, so several `shelf serve`
 * processes can share one database. A thin adapter: it translates Store calls into SQL and
 * driver errors into the catalogue. The `pg` driver is loaded with a dynamic import on
 * first use, so installs that never name a PostgreSQL URL never load it; the store opens
 * (connects, migrates, looks for pgvector) lazily on its first call, which keeps opening it
 * synchronous like the SQLite store.
 *
 * Ranking parity with SQLite: the in-memory ranker (search/rank.ts) reads the same posting
 * lists, field lengths and document frequencies from either backend, so it scores the same.
 * `searchLexical` computes FTS5's own bm25() (k1 1.2, b 0.75, weighted field frequencies,
 * whole-row length, idf floored at 1e-6) from the same statistics, over candidates found
 * with the GIN index.
 *
 * Jobs are claimed with `FOR UPDATE SKIP LOCKED`; every write that touches chunks first
 * locks the one `index_state` row, so writers take locks in one order and cannot deadlock.
 */
import type * as Pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { ShelfError } from '../../core/errors.js';
import { SILENT_LOGGER, SYSTEM_CLOCK, type Clock, type Logger } from '../../core/seams.js';
import {
  DEFAULT_FIELD_WEIGHTS,
  FIELD_COUNT,
  type ChunkInput,
  type ChunkTable,
  type ChunkWithDocument,
  type DocumentFilter,
  type DocumentRecord,
  type FieldWeights,
  type IntegrityReport,
  type KnowledgeBaseSummary,
  type LexicalHit,
  type Page,
  type PostingList,
  type SourcePatch,
  type Store,
  type UpsertOutcome,
  withinPostings,
} from '../store.js';
import {
  documentValues,
  escapeLike,
  str,
  toApiKey,
  toChunk,
  toDocument,
  toJob,
  toKb,
  toSource,
  type Row,
} from '../rows.js';
import { PG_LATEST_VERSION, PG_MIGRATIONS } from './migrations.js';

export interface PostgresStoreOptions {
  /** A postgres:// URL (libpq style; `?options=-csearch_path%3D...` is honoured). */
  readonly url: string;
  /** Schema holding shelf's tables, created when missing. Default: the connection's search_path. */
  readonly schema?: string;
  readonly clock?: Clock;
  /** Receives the notice when pgvector is missing. */
  readonly logger?: Logger;
  readonly fieldWeights?: FieldWeights;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
}

/** FTS5's bm25() constants (fts5_aux.c), so searchLexical scores as the SQLite backend does. */
const FTS5_K1 = 1.2;
const FTS5_B = 0.75;
/** Chunk ids per chunk-table query: keeps each binary aggregate well under a few MB. */
const TABLE_SLICE = 262_144;
/** Advisory lock namespace for migrations (per schema: the schema name is the second key). */
const MIGRATION_LOCK = 0x5e1f;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL without its password, for messages and `Store.location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** True for the URLs this backend takes (postgres:// or postgresql://). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  '57P03', // cannot_connect_now
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: no such database
  '53300', // too_many_connections
]);

/** Maps a driver error to the catalogue (SQLSTATE 23505 → STORE_UNIQUE, 40P01 → STORE_BUSY, …). */
function translate(e: unknown, location: string): unknown {
  if (e instanceof ShelfError || !(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return e;
  if (code === '23505') return new ShelfError('STORE_UNIQUE', { detail: e.message }, { cause: e });
  if (code === '40P01' || code === '40001' || code === '55P03')
    return new ShelfError('STORE_BUSY', {}, { cause: e });
  if (CONNECTION_CODES.has(code))
    return new ShelfError('STORE_UNREACHABLE', { url: location, detail: e.message || code }, { cause: e });
  return e;
}

/** Positional parameters ($1, $2, …) collected while a statement is built. */
class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** WHERE fragments for document filters over alias `d`. */
function filterSql(filter: DocumentFilter | undefined, p: Params): string {
  if (!filter) return '';
  const parts: string[] = [];
  if (filter.author !== undefined) parts.push(`d.author ILIKE ${p.add(`%${escapeLike(filter.author)}%`)}`);
  if (filter.title !== undefined) parts.push(`d.title ILIKE ${p.add(`%${escapeLike(filter.title)}%`)}`);
  if (filter.tag !== undefined)
    parts.push(
      `d.id IN (SELECT document_id FROM document_tags WHERE lower(tag) = lower(${p.add(filter.tag)}))`,
    );
  if (filter.since !== undefined) parts.push(`COALESCE(d.published, d.created_at) >= ${p.add(filter.since)}`);
  if (filter.until !== undefined) parts.push(`COALESCE(d.published, d.created_at) < ${p.add(filter.until)}`);
  if (filter.sourceId !== undefined) parts.push(`d.source_id = ${p.add(filter.sourceId)}`);
  if (filter.kind !== undefined) parts.push(`d.kind = ${p.add(filter.kind)}`);
  if (filter.problems === true) parts.push(`d.problems IS NOT NULL AND d.problems <> '[]'`);
  return parts.map((x) => ` AND ${x}`).join('');
}

function kbSql(kbIds: readonly number[], column: string, p: Params): string {
  return kbIds.length === 0 ? '' : ` AND ${column} = ANY(${p.add([...kbIds])}::int[])`;
}

/** A tsquery literal OR-ing the terms verbatim (quoted lexemes are not normalised). */
function tsquery(terms: readonly string[]): string {
  return terms.map((t) => `'${t.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`).join(' | ');
}

/** A float4 array literal for a vector. */
function vectorLiteral(v: Float32Array): string {
  return `{${Array.from(v).join(',')}}`;
}

type WriteInput = Parameters<Store['upsertDocuments']>[0][number];

interface Session {
  readonly pool: Pool;
  /** Schema-qualified name prefix of pgvector's objects, or undefined without it. */
  readonly vectorSchema: string | undefined;
  readonly vectorError: string | undefined;
}

/** Opens the PostgreSQL store; connection, migrations and the pgvector check happen on first use. */
export function openPostgresStore(options: PostgresStoreOptions): Store {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const logger = options.logger ?? SILENT_LOGGER;
  const w = options.fieldWeights ?? DEFAULT_FIELD_WEIGHTS;
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new ShelfError('INVALID_CONFIG', {
      detail: `database.schema: "${schema}" is not a plain lower-case identifier`,
    });
  const location = redactUrl(options.url) + (schema !== undefined ? ` (schema ${schema})` : '');
  const now = (): string => clock.now().toISOString();

  let opening: Promise<Session> | undefined;
  let closed = false;

  const connect = async (): Promise<Session> => {
    let pg: typeof Pg;
    try {
      pg = await import('pg');
    } catch (e) {
      throw new ShelfError(
        'STORE_UNREACHABLE',
        { url: location, detail: 'the pg driver is not installed' },
        { cause: e },
      );
    }
    const Pool = pg.default.Pool;
    const pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // Per-connection search_path: every pooled connection sees shelf's schema first.
      ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle connection that dies (server restart) must not crash the process.
    pool.on('error', (e) => logger.warn('postgres connection lost', { error: e.message }));
    try {
      const client = await pool.connect();
      try {
        await migrate(client);
        const vectors = await detectVectors(client);
        if (vectors.error !== undefined)
          logger.warn('pgvector is not installed: search stays lexical', {
            database: location,
            reason: vectors.error,
          });
        return { pool, vectorSchema: vectors.schema, vectorError: vectors.error };
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw translate(e, location);
    }
  };

  const migrate = async (client: PoolClient): Promise<void> => {
    // One migrator per schema at a time; the others wait here, then find nothing to do.
    const lockArgs = [MIGRATION_LOCK, schema ?? null];
    const lockKey = 'hashtext(coalesce($2::text, current_schema()))';
    await client.query(`SELECT pg_advisory_lock($1, ${lockKey})`, lockArgs);
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS shelf_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at text NOT NULL)`,
      );
      const current =
        (
          (await client.query('SELECT max(version) AS v FROM shelf_migrations')).rows[0] as {
            v: number | null;
          }
        ).v ?? 0;
      if (current > PG_LATEST_VERSION)
        throw new ShelfError('STORE_NEWER', { path: location, version: current });
      for (const m of PG_MIGRATIONS) {
        if (m.version <= current) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO shelf_migrations VALUES ($1, $2, $3)', [
            m.version,
            m.description,
            now(),
          ]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock($1, ${lockKey})`, lockArgs);
    }
  };

  /** pgvector if the server has it (creating the extension when allowed), else why not. */
  const detectVectors = async (
    client: PoolClient,
  ): Promise<{ schema: string | undefined; error: string | undefined }> => {
    let createError: string | undefined;
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    } catch (e) {
      createError = e instanceof Error ? e.message : String(e);
    }
    const found = await client.query(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`,
    );
    const where = str((found.rows[0] as Row | undefined)?.schema);
    if (where !== undefined) return { schema: where, error: undefined };
    return {
      schema: undefined,
      error: `the PostgreSQL server has no pgvector extension (${createError ?? 'not installed'}); install pgvector there (e.g. the postgresql-15-pgvector package) and restart shelf`,
    };
  };

  const session = (): Promise<Session> => {
    if (closed) return Promise.reject(new ShelfError('INTERNAL', { detail: 'the store is closed' }));
    if (!opening) {
      opening = connect();
      // A failed open is tried again on the next call (the server may come up later).
      opening.catch(() => {
        opening = undefined;
      });
    }
    return opening;
  };

  const query = async <R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> => {
    const { pool } = await session();
    try {
      return (await pool.query<R>(sql, [...params])).rows;
    } catch (e) {
      throw translate(e, location);
    }
  };

  const count = async (sql: string, params: readonly unknown[] = []): Promise<number> =>
    Number((await query<{ n: string | number }>(sql, params))[0]?.n ?? 0);

  /** Posting lists of the terms `where` selects, ids ascending. */
  const postingLists = async (
    where: string,
    params: readonly unknown[],
  ): Promise<Map<string, PostingList>> => {
    const rows = await query<{ term: string; ids: Buffer | null; tf: Buffer | null }>(
      `SELECT term, string_agg(int4send(chunk_id), ''::bytea ORDER BY chunk_id) AS ids,
         string_agg(int4send(least(tf_title, 65535)) || int4send(least(tf_heading, 65535))
           || int4send(least(tf_body, 65535)) || int4send(least(tf_tags, 65535)), ''::bytea ORDER BY chunk_id) AS tf
       FROM postings ${where} GROUP BY term`,
      params,
    );
    const out = new Map<string, PostingList>();
    for (const r of rows) {
      const n = (r.ids?.byteLength ?? 0) / 4;
      const chunkIds = new Uint32Array(n);
      int32s(r.ids, chunkIds);
      const tf32 = new Uint32Array(n * FIELD_COUNT);
      int32s(r.tf, tf32);
      out.set(r.term, { chunkIds, fieldTf: Uint16Array.from(tf32) });
    }
    return out;
  };

  /** Runs `fn` in one transaction on one connection; rolls back on any error. */
  const transaction = async <T>(fn: (c: PoolClient) => Promise<T>): Promise<T> => {
    const { pool } = await session();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw translate(e, location);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(e, location);
    } finally {
      client.release();
    }
  };

  /** Every write touching documents or chunks locks the index row first: one lock order for all. */
  const lockIndex = (c: PoolClient): Promise<unknown> =>
    c.query('SELECT 1 FROM index_state WHERE id = 1 FOR UPDATE');

  const writeDocuments = async (
    c: PoolClient,
    inputs: readonly WriteInput[],
  ): Promise<{ id: number; outcome: UpsertOutcome }[]> => {
    for (const i of inputs)
      if (i.vectors && i.vectors.values.length !== i.chunks.length)
        throw new ShelfError('INTERNAL', {
          detail: `${i.vectors.values.length} vectors for ${i.chunks.length} chunks of ${i.document.key}`,
        });
    await lockIndex(c);
    const results: { id: number; outcome: UpsertOutcome }[] = [];
    const written: { id: number; input: WriteInput }[] = [];
    for (const input of inputs) {
      const { kbId, sourceId, document: d, chunks } = input;
      const stamp = now();
      const values = documentValues(d, chunks.length);
      // New documents (the bulk case) take one round trip; existing ones are compared by hash.
      const inserted = await c.query<{ id: number }>(
        `INSERT INTO documents (kind, title, url, author, published, updated, tags, hash, page_count, page_labels, problems,
           chunk_count, kb_id, source_id, key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
         ON CONFLICT (source_id, key) DO NOTHING RETURNING id`,
        [...values, kbId, sourceId, d.key, stamp],
      );
      let id = inserted.rows[0]?.id;
      let outcome: UpsertOutcome = 'added';
      if (id === undefined) {
        const existing = (
          await c.query<{ id: number; hash: string }>(
            'SELECT id, hash FROM documents WHERE source_id = $1 AND key = $2 FOR UPDATE',
            [sourceId, d.key],
          )
        ).rows[0];
        if (!existing)
          throw new ShelfError('INTERNAL', { detail: `document ${d.key} vanished while written` });
        if (existing.hash === d.hash) {
          results.push({ id: existing.id, outcome: 'unchanged' });
          continue;
        }
        id = existing.id;
        outcome = 'updated';
        await c.query('DELETE FROM chunks WHERE document_id = $1', [id]);
        await c.query('DELETE FROM document_tags WHERE document_id = $1', [id]);
        await c.query(
          `UPDATE documents SET kind = $1, title = $2, url = $3, author = $4, published = $5, updated = $6, tags = $7,
             hash = $8, page_count = $9, page_labels = $10, problems = $11, chunk_count = $12, updated_at = $13
           WHERE id = $14`,
          [...values, stamp, id],
        );
      }
      if (d.tags.length > 0)
        await c.query(
          `INSERT INTO document_tags (document_id, tag) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
          [id, [...d.tags]],
        );
      results.push({ id, outcome });
      written.push({ id, input });
    }
    await insertChunks(c, written);
    return results;
  };

  /** All chunks of the written documents in one statement (the trigger fills postings). */
  const insertChunks = async (
    c: PoolClient,
    written: readonly { id: number; input: WriteInput }[],
  ): Promise<void> => {
    const cols = {
      document: [] as number[],
      kb: [] as number[],
      ordinal: [] as number[],
      heading: [] as string[],
      anchor: [] as (string | null)[],
      text: [] as string[],
      pageStart: [] as (number | null)[],
      pageEnd: [] as (number | null)[],
      tokens: [] as number[],
      hasCode: [] as boolean[],
      title: [] as string[],
      headingTerms: [] as string[],
      body: [] as string[],
      tags: [] as string[],
    };
    const vectorOf = new Map<string, { model: string; vector: Float32Array }>();
    for (const { id, input } of written)
      input.chunks.forEach((ch: ChunkInput, i) => {
        cols.document.push(id);
        cols.kb.push(input.kbId);
        cols.ordinal.push(ch.ordinal);
        cols.heading.push(JSON.stringify(ch.headingPath));
        cols.anchor.push(ch.anchor ?? null);
        cols.text.push(ch.text);
        cols.pageStart.push(ch.pageStart ?? null);
        cols.pageEnd.push(ch.pageEnd ?? null);
        cols.tokens.push(ch.tokens);
        cols.hasCode.push(ch.hasCode);
        cols.title.push(ch.index.title);
        cols.headingTerms.push(ch.index.heading);
        cols.body.push(ch.index.body);
        cols.tags.push(ch.index.tags);
        const vector = input.vectors?.values[i];
        if (input.vectors && vector)
          vectorOf.set(`${id}:${ch.ordinal}`, { model: input.vectors.model, vector });
      });
    if (cols.document.length === 0) return;
    const rows = await c.query<{ id: number; document_id: number; ordinal: number; kb_id: number }>(
      `INSERT INTO chunks (document_id, kb_id, ordinal, heading_path, anchor, text, page_start, page_end, tokens, has_code,
         index_title, index_heading, index_body, index_tags)
       SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
         $9::int[], $10::boolean[], $11::text[], $12::text[], $13::text[], $14::text[])
       RETURNING id, document_id, ordinal, kb_id`,
      Object.values(cols),
    );
    if (vectorOf.size === 0) return;
    const ids: number[] = [];
    const kbs: number[] = [];
    const models: string[] = [];
    const literals: string[] = [];
    for (const r of rows.rows) {
      const v = vectorOf.get(`${r.document_id}:${r.ordinal}`);
      if (!v) continue;
      ids.push(r.id);
      kbs.push(r.kb_id);
      models.push(v.model);
      literals.push(vectorLiteral(v.vector));
    }
    await c.query(
      `INSERT INTO chunk_vectors (chunk_id, kb_id, model, vector)
       SELECT i, k, m, v::real[] FROM unnest($1::int[], $2::int[], $3::text[], $4::text[]) AS t(i, k, m, v)`,
      [ids, kbs, models, literals],
    );
  };

  /** Decodes big-endian int32 values (int4send) from a bytea. */
  const int32s = (buf: Buffer | null | undefined, out: Uint32Array, stride = 1, offset = 0): void => {
    if (!buf) return;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let i = 0, at = offset; i * 4 < buf.byteLength; i++, at += stride) out[at] = view.getInt32(i * 4);
  };

  const store: Store = {
    location,

    close: async () => {
      closed = true;
      const current = opening;
      opening = undefined;
      if (!current) return;
      const s = await current.catch(() => undefined);
      await s?.pool.end();
    },

    createKnowledgeBase: async (name) => {
      try {
        const [r] = await query(
          'INSERT INTO knowledge_bases (name, created_at) VALUES ($1, $2) RETURNING *',
          [name, now()],
        );
        return toKb(r ?? {});
      } catch (e) {
        throw e instanceof ShelfError && e.code === 'STORE_UNIQUE'
          ? new ShelfError('KB_EXISTS', { name }, { cause: e })
          : e;
      }
    },

    getKnowledgeBase: async (name) => {
      const [r] = await query('SELECT * FROM knowledge_bases WHERE name = $1', [name]);
      return r ? toKb(r) : undefined;
    },

    getKnowledgeBaseById: async (id) => {
      const [r] = await query('SELECT * FROM knowledge_bases WHERE id = $1', [id]);
      return r ? toKb(r) : undefined;
    },

    listKnowledgeBases: async () =>
      (
        await query(
          `SELECT k.*,
             (SELECT count(*)::int FROM sources s WHERE s.kb_id = k.id) AS source_count,
             (SELECT count(*)::int FROM documents d WHERE d.kb_id = k.id) AS document_count,
             (SELECT count(*)::int FROM chunks c WHERE c.kb_id = k.id) AS chunk_count
           FROM knowledge_bases k ORDER BY k.name COLLATE "C"`,
        )
      ).map((r): KnowledgeBaseSummary => ({
        ...toKb(r),
        sourceCount: r.source_count as number,
        documentCount: r.document_count as number,
        chunkCount: r.chunk_count as number,
      })),

    deleteKnowledgeBase: (id) =>
      transaction(async (c) => {
        await lockIndex(c);
        await c.query('DELETE FROM knowledge_bases WHERE id = $1', [id]);
      }),

    setPrimer: async (id, primer) => {
      await query('UPDATE knowledge_bases SET primer = $1 WHERE id = $2', [primer, id]);
    },

    addSource: async (s) => {
      const [r] = await query(
        `INSERT INTO sources (kb_id, kind, location, title, parent_id, options, refresh_interval_s, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          s.kbId,
          s.kind,
          s.location,
          s.title ?? null,
          s.parentId ?? null,
          JSON.stringify(s.options ?? {}),
          s.refreshIntervalS ?? null,
          now(),
        ],
      );
      return toSource(r ?? {});
    },

    getSource: async (id) => {
      const [r] = await query('SELECT * FROM sources WHERE id = $1', [id]);
      return r ? toSource(r) : undefined;
    },

    findSource: async (kbId, location) => {
      const [r] = await query('SELECT * FROM sources WHERE kb_id = $1 AND location = $2', [kbId, location]);
      return r ? toSource(r) : undefined;
    },

    listSources: async (kbId) =>
      (kbId === undefined
        ? await query('SELECT * FROM sources ORDER BY id')
        : await query('SELECT * FROM sources WHERE kb_id = $1 ORDER BY id', [kbId])
      ).map(toSource),

    updateSource: async (id, patch: SourcePatch) => {
      const columns: Record<keyof SourcePatch, string> = {
        title: 'title',
        etag: 'etag',
        lastModified: 'last_modified',
        lastSyncedAt: 'last_synced_at',
        lastError: 'last_error',
      };
      const p = new Params();
      const sets: string[] = [];
      for (const [k, column] of Object.entries(columns)) {
        const v = patch[k as keyof SourcePatch];
        if (v !== undefined) sets.push(`${column} = ${p.add(v)}`);
      }
      if (sets.length === 0) return;
      await query(`UPDATE sources SET ${sets.join(', ')} WHERE id = ${p.add(id)}`, p.values);
    },

    deleteSource: (id) =>
      transaction(async (c) => {
        await lockIndex(c);
        await c.query('DELETE FROM sources WHERE id = $1', [id]);
      }),

    upsertDocument: async (input) => {
      const [r] = await transaction((c) => writeDocuments(c, [input]));
      if (!r) throw new ShelfError('INTERNAL', { detail: 'no result for an upsert' });
      return r;
    },

    upsertDocuments: (inputs) => transaction((c) => writeDocuments(c, inputs)),

    documentHashes: async (sourceId) =>
      new Map(
        (
          await query<{ key: string; hash: string }>('SELECT key, hash FROM documents WHERE source_id = $1', [
            sourceId,
          ])
        ).map((r) => [r.key, r.hash]),
      ),

    getDocument: async (id) => {
      const [r] = await query('SELECT * FROM documents WHERE id = $1', [id]);
      return r ? toDocument(r) : undefined;
    },

    listDocuments: async (kbIds, filter, page): Promise<Page<DocumentRecord>> => {
      const p = new Params();
      const where = `WHERE true${kbSql(kbIds, 'd.kb_id', p)}${filterSql(filter, p)}`;
      const total = await count(`SELECT count(*) AS n FROM documents d ${where}`, p.values);
      const rows = await query(
        `SELECT d.* FROM documents d ${where}
         ORDER BY COALESCE(d.published, d.created_at) DESC, d.id DESC LIMIT ${p.add(page.limit)} OFFSET ${p.add(page.offset)}`,
        p.values,
      );
      return { items: rows.map((r) => toDocument(r)), total };
    },

    getChunks: async (documentId) =>
      (await query('SELECT * FROM chunks WHERE document_id = $1 ORDER BY ordinal', [documentId])).map((r) =>
        toChunk(r),
      ),

    getChunksWithDocuments: async (chunkIds) => {
      if (chunkIds.length === 0) return [];
      const rows = await query(
        `SELECT c.id, c.document_id, c.kb_id, c.ordinal, c.heading_path, c.anchor, c.text, c.page_start, c.page_end,
           c.tokens, c.has_code,
           d.id AS d_id, d.kb_id AS d_kb_id, d.source_id AS d_source_id, d.key AS d_key, d.kind AS d_kind,
           d.title AS d_title, d.url AS d_url, d.author AS d_author, d.published AS d_published, d.updated AS d_updated,
           d.tags AS d_tags, d.hash AS d_hash, d.page_count AS d_page_count, d.page_labels AS d_page_labels,
           d.problems AS d_problems, d.chunk_count AS d_chunk_count, d.created_at AS d_created_at, d.updated_at AS d_updated_at
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::int[])`,
        [[...chunkIds]],
      );
      const byId = new Map(rows.map((r) => [r.id as number, r]));
      const out: ChunkWithDocument[] = [];
      for (const id of chunkIds) {
        const r = byId.get(id);
        if (r) out.push({ chunk: toChunk(r), document: toDocument(r, 'd_') });
      }
      return out;
    },

    deleteDocument: (id) =>
      transaction(async (c) => {
        await lockIndex(c);
        await c.query('DELETE FROM documents WHERE id = $1', [id]);
      }),

    deleteDocumentsExcept: (sourceId, keep) =>
      transaction(async (c) => {
        await lockIndex(c);
        const r = await c.query(
          'DELETE FROM documents WHERE source_id = $1 AND NOT (key = ANY($2::text[]))',
          [sourceId, [...keep]],
        );
        return r.rowCount ?? 0;
      }),

    searchLexical: async (q): Promise<LexicalHit[]> => {
      const terms = q.terms.filter((t) => t !== '');
      if (terms.length === 0) return [];
      const p = new Params();
      const termsParam = p.add(terms);
      const match = p.add(tsquery(terms));
      const kb = kbSql(q.kbIds, 'c.kb_id', p);
      const f = filterSql(q.filter, p);
      const weights = [w.title, w.heading, w.body, w.tags].map((x) => p.add(x));
      // FTS5 bm25(): per query phrase, idf · f(k1 + 1) / (f + k1 (1 − b + b · |row| / avg|row|)),
      // f the weighted sum of the phrase's counts per column, |row| all columns' tokens.
      const sql = `
        WITH q AS (
          SELECT t.term, t.n, greatest(ln((s.chunk_count - df.df + 0.5) / (df.df + 0.5)), 1e-6) AS idf
          FROM (SELECT term, count(*) AS n FROM unnest(${termsParam}::text[]) term GROUP BY term) t
          JOIN term_df df ON df.term = t.term CROSS JOIN index_state s
        ),
        avg AS (
          SELECT (total_title + total_heading + total_body + total_tags)::float8 / greatest(chunk_count, 1) AS dl
          FROM index_state
        ),
        cand AS (
          SELECT c.id, c.document_id, (c.len_title + c.len_heading + c.len_body + c.len_tags)::float8 AS dl
          FROM chunks c ${f !== '' ? 'JOIN documents d ON d.id = c.document_id' : ''}
          WHERE c.terms @@ ${match}::tsquery${kb}${f}
        )
        SELECT cand.id, cand.document_id, sum(q.n * q.idf * (x.f * ${FTS5_K1 + 1}) /
                 (x.f + ${FTS5_K1} * (1 - ${FTS5_B} + ${FTS5_B} * cand.dl / nullif(avg.dl, 0)))) AS score
        FROM cand
        JOIN postings p ON p.chunk_id = cand.id
        JOIN q ON q.term = p.term
        CROSS JOIN avg
        CROSS JOIN LATERAL (SELECT ${weights[0]}::float8 * p.tf_title + ${weights[1]}::float8 * p.tf_heading
          + ${weights[2]}::float8 * p.tf_body + ${weights[3]}::float8 * p.tf_tags AS f) x
        GROUP BY cand.id, cand.document_id
        ORDER BY score DESC, cand.id
        LIMIT ${p.add(q.limit)}`;
      const rows = await query<{ id: number; document_id: number; score: number }>(sql, p.values);
      return rows.map((r) => ({ chunkId: r.id, documentId: r.document_id, score: Number(r.score) }));
    },

    termStats: async (terms, kbIds) => {
      const p = new Params();
      const chunkCount = await count(
        `SELECT count(*) AS n FROM chunks c WHERE true${kbSql(kbIds, 'c.kb_id', p)}`,
        p.values,
      );
      return { chunkCount, df: await store.documentFrequencies([...new Set(terms)]) };
    },

    listAuthors: async (kbIds) => {
      const p = new Params();
      return (
        await query<{ name: string; documents: number }>(
          `SELECT min(author) AS name, count(*)::int AS documents FROM documents d WHERE author IS NOT NULL${kbSql(kbIds, 'd.kb_id', p)}
           GROUP BY lower(author) ORDER BY documents DESC, min(author) COLLATE "C"`,
          p.values,
        )
      ).map((r) => ({ name: r.name, documents: r.documents }));
    },

    listTags: async (kbIds) => {
      const p = new Params();
      return (
        await query<{ name: string; documents: number }>(
          `SELECT min(t.tag) AS name, count(*)::int AS documents FROM document_tags t JOIN documents d ON d.id = t.document_id
           WHERE true${kbSql(kbIds, 'd.kb_id', p)} GROUP BY lower(t.tag) ORDER BY documents DESC, min(t.tag) COLLATE "C"`,
          p.values,
        )
      ).map((r) => ({ name: r.name, documents: r.documents }));
    },

    integrityCheck: async (): Promise<IntegrityReport> => {
      const [r] = await query<Record<keyof IntegrityReport, number>>(`
        SELECT
          (SELECT count(*)::int FROM documents d WHERE d.chunk_count > 0
             AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)) AS "documentsWithoutChunks",
          (SELECT count(*)::int FROM chunks c WHERE c.len_title + c.len_heading + c.len_body + c.len_tags > 0
             AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.chunk_id = c.id)) AS "chunksWithoutIndexRow",
          (SELECT count(DISTINCT p.chunk_id)::int FROM postings p
             WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = p.chunk_id)) AS "indexRowsWithoutChunk",
          (SELECT count(*)::int FROM documents d
             WHERE d.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)) AS "chunkCountMismatches"`);
      return {
        documentsWithoutChunks: r?.documentsWithoutChunks ?? 0,
        chunksWithoutIndexRow: r?.chunksWithoutIndexRow ?? 0,
        indexRowsWithoutChunk: r?.indexRowsWithoutChunk ?? 0,
        chunkCountMismatches: r?.chunkCountMismatches ?? 0,
      };
    },

    enqueueJob: async (job) => {
      // ON CONFLICT against the partial unique index: one active job per dedupe key, race-free.
      for (;;) {
        const stamp = now();
        const [created] = await query(
          `INSERT INTO jobs (kind, payload, state, max_attempts, run_at, dedupe_key, created_at, updated_at)
           VALUES ($1, $2, 'queued', $3, $4, $5, $4, $4)
           ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running') DO NOTHING
           RETURNING *`,
          [job.kind, JSON.stringify(job.payload), job.maxAttempts ?? 3, stamp, job.dedupeKey ?? null],
        );
        if (created) return { job: toJob(created), created: true };
        const [active] = await query(
          `SELECT * FROM jobs WHERE dedupe_key = $1 AND state IN ('queued', 'running')`,
          [job.dedupeKey],
        );
        // The holder finished in between: try again.
        if (active) return { job: toJob(active), created: false };
      }
    },

    getJob: async (id) => {
      const [r] = await query('SELECT * FROM jobs WHERE id = $1', [id]);
      return r ? toJob(r) : undefined;
    },

    listJobs: async (filter, page) => {
      const p = new Params();
      const parts: string[] = [];
      if (filter.state !== undefined) parts.push(`state = ${p.add(filter.state)}`);
      if (filter.kind !== undefined) parts.push(`kind = ${p.add(filter.kind)}`);
      const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
      const total = await count(`SELECT count(*) AS n FROM jobs ${where}`, p.values);
      const rows = await query(
        `SELECT * FROM jobs ${where} ORDER BY id DESC LIMIT ${p.add(page.limit)} OFFSET ${p.add(page.offset)}`,
        p.values,
      );
      return { items: rows.map(toJob), total };
    },

    claimJob: async (workerId, leaseMs) => {
      const at = clock.now();
      const stamp = at.toISOString();
      // A worker that died on the last attempt leaves a running job nobody may retry.
      await query(
        `UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL, finished_at = $1, updated_at = $1,
           error = COALESCE(error, $2)
         WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts
                      FOR UPDATE SKIP LOCKED)`,
        [
          stamp,
          JSON.stringify({
            code: 'INTERNAL',
            message: 'The worker stopped before finishing the last attempt.',
          }),
        ],
      );
      // SKIP LOCKED: concurrent claimers each take a different row instead of waiting.
      const [r] = await query(
        `UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3, attempts = attempts + 1, updated_at = $1
         WHERE id = (SELECT id FROM jobs
                     WHERE (state = 'queued' AND run_at <= $1)
                        OR (state = 'running' AND lease_until < $1 AND attempts < max_attempts)
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [stamp, workerId, new Date(at.getTime() + leaseMs).toISOString()],
      );
      return r ? toJob(r) : undefined;
    },

    heartbeatJob: async (id, workerId, leaseMs, progress) => {
      const at = clock.now();
      const until = new Date(at.getTime() + leaseMs).toISOString();
      const rows = progress
        ? await query(
            `UPDATE jobs SET lease_until = $1, updated_at = $2, progress_done = $3, progress_total = $4, progress_label = $5
             WHERE id = $6 AND lease_owner = $7 AND state = 'running' RETURNING id`,
            [until, at.toISOString(), progress.done, progress.total, progress.label ?? null, id, workerId],
          )
        : await query(
            `UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running' RETURNING id`,
            [until, at.toISOString(), id, workerId],
          );
      return rows.length > 0;
    },

    completeJob: async (id, workerId, result) => {
      const stamp = now();
      const rows = await query(
        `UPDATE jobs SET state = 'succeeded', result = $1, error = NULL, lease_owner = NULL, lease_until = NULL,
           finished_at = $2, updated_at = $2
         WHERE id = $3 AND lease_owner = $4 AND state = 'running' RETURNING id`,
        [JSON.stringify(result ?? null), stamp, id, workerId],
      );
      return rows.length > 0;
    },

    failJob: async (id, workerId, error, retryAt) => {
      const stamp = now();
      const rows =
        retryAt !== undefined
          ? await query(
              `UPDATE jobs SET state = 'queued', run_at = $1, error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3
               WHERE id = $4 AND lease_owner = $5 AND state = 'running' RETURNING id`,
              [retryAt, JSON.stringify(error), stamp, id, workerId],
            )
          : await query(
              `UPDATE jobs SET state = 'failed', error = $1, lease_owner = NULL, lease_until = NULL, finished_at = $2,
                 updated_at = $2
               WHERE id = $3 AND lease_owner = $4 AND state = 'running' RETURNING id`,
              [JSON.stringify(error), stamp, id, workerId],
            );
      return rows.length > 0;
    },

    createApiKey: async (key) => {
      const [r] = await query(
        'INSERT INTO api_keys (name, prefix, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
        [key.name, key.prefix, key.hash, now()],
      );
      return toApiKey(r ?? {});
    },

    findApiKey: async (hash) => {
      const [r] = await query('SELECT * FROM api_keys WHERE hash = $1', [hash]);
      return r ? toApiKey(r) : undefined;
    },

    listApiKeys: async () => (await query('SELECT * FROM api_keys ORDER BY id')).map(toApiKey),

    revokeApiKey: async (id) =>
      (
        await query('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING id', [
          now(),
          id,
        ])
      ).length > 0,

    indexVersion: async () => {
      const [r] = await query<{ version: string }>(
        'SELECT version::text AS version FROM index_state WHERE id = 1',
      );
      return r?.version ?? '0';
    },

    chunkTable: async (): Promise<ChunkTable> => {
      const [bounds] = await query<{ max: number | null; n: number }>(
        'SELECT max(id) AS max, count(*)::int AS n FROM chunks',
      );
      const size = (bounds?.max ?? 0) + 1;
      const documentId = new Uint32Array(size);
      const kbId = new Uint32Array(size);
      const fieldLengths = new Uint32Array(size * FIELD_COUNT);
      let chunkCount = 0;
      // Binary aggregates (int4send) instead of one row per chunk: a million chunks decode in ms.
      for (let from = 0; from < size; from += TABLE_SLICE) {
        const [r] = await query<{
          ids: Buffer | null;
          docs: Buffer | null;
          kbs: Buffer | null;
          lens: Buffer | null;
        }>(
          `SELECT string_agg(int4send(id), ''::bytea ORDER BY id) AS ids,
             string_agg(int4send(document_id), ''::bytea ORDER BY id) AS docs,
             string_agg(int4send(kb_id), ''::bytea ORDER BY id) AS kbs,
             string_agg(int4send(len_title) || int4send(len_heading) || int4send(len_body) || int4send(len_tags),
               ''::bytea ORDER BY id) AS lens
           FROM chunks WHERE id >= $1 AND id < $2`,
          [from, from + TABLE_SLICE],
        );
        if (!r?.ids) continue;
        const n = r.ids.byteLength / 4;
        const ids = new Uint32Array(n);
        const docs = new Uint32Array(n);
        const kbs = new Uint32Array(n);
        const lens = new Uint32Array(n * FIELD_COUNT);
        int32s(r.ids, ids);
        int32s(r.docs, docs);
        int32s(r.kbs, kbs);
        int32s(r.lens, lens);
        for (let i = 0; i < n; i++) {
          const id = ids[i] ?? 0;
          if (id >= size) continue;
          documentId[id] = docs[i] ?? 0;
          kbId[id] = kbs[i] ?? 0;
          fieldLengths.set(lens.subarray(i * FIELD_COUNT, (i + 1) * FIELD_COUNT), id * FIELD_COUNT);
          chunkCount++;
        }
      }
      return { size, chunkCount, documentId, kbId, fieldLengths };
    },

    documentFrequencies: async (terms) => {
      const unique = [...new Set(terms)];
      const rows = await query<{ term: string; df: number }>(
        'SELECT term, df FROM term_df WHERE term = ANY($1::text[])',
        [unique],
      );
      const found = new Map(rows.map((r) => [r.term, r.df]));
      return new Map(unique.map((t) => [t, found.get(t) ?? 0]));
    },

    postings: async (terms) => {
      const unique = [...new Set(terms)];
      const out = await postingLists('WHERE term = ANY($1::text[])', [unique]);
      for (const t of unique)
        if (!out.has(t)) out.set(t, { chunkIds: new Uint32Array(0), fieldTf: new Uint16Array(0) });
      return out;
    },

    // The postings table is already one row per posting, read by term through its index.
    compactPostings: () => Promise.resolve(0),

    allPostings: async (maxPostings) => {
      if ((await count('SELECT count(*) AS n FROM postings')) > maxPostings) return undefined;
      return postingLists('', []);
    },

    frequentTerms: async (maxPostings) => {
      const rows = await query<{ term: string; df: number }>(
        'SELECT term, df FROM term_df WHERE df > 0 AND df <= $1 ORDER BY df DESC, term LIMIT 100000',
        [maxPostings],
      );
      return withinPostings(
        rows.map((r) => [r.term, r.df]),
        maxPostings,
      );
    },

    filterChunks: async (chunkIds, filter) => {
      if (chunkIds.length === 0) return new Set<number>();
      const p = new Params();
      const ids = p.add([...chunkIds]);
      const rows = await query<{ id: number }>(
        `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(${ids}::int[])${filterSql(filter, p)}`,
        p.values,
      );
      return new Set(rows.map((r) => r.id));
    },

    setEmbedding: async (kbId, info) => {
      await query(
        'UPDATE knowledge_bases SET embed_model = $1, embed_dimension = $2, embed_state = $3 WHERE id = $4',
        [info?.model ?? null, info?.dimension ?? null, info?.state ?? null, kbId],
      );
    },

    putVectors: async (model, vectors) => {
      if (vectors.length === 0) return 0;
      const rows = await query(
        `INSERT INTO chunk_vectors (chunk_id, kb_id, model, vector)
         SELECT c.id, c.kb_id, $1, t.v::real[] FROM unnest($2::int[], $3::text[]) AS t(i, v) JOIN chunks c ON c.id = t.i
         ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, vector = excluded.vector
         RETURNING chunk_id`,
        [model, vectors.map((v) => v.chunkId), vectors.map((v) => vectorLiteral(v.vector))],
      );
      return rows.length;
    },

    deleteVectors: async (kbId, keepModel) =>
      (
        await query(
          'DELETE FROM chunk_vectors WHERE kb_id = $1 AND model IS DISTINCT FROM $2 RETURNING chunk_id',
          [kbId, keepModel ?? null],
        )
      ).length,

    missingVectors: async (kbId, model, limit) =>
      (
        await query<{ id: number }>(
          `SELECT c.id FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = $1
           WHERE c.kb_id = $2 AND v.chunk_id IS NULL ORDER BY c.id LIMIT $3`,
          [model, kbId, limit],
        )
      ).map((r) => r.id),

    vectorCounts: async (kbId, model) => {
      const [r] = await query<{ chunks: number; embedded: number }>(
        `SELECT (SELECT count(*)::int FROM chunks WHERE kb_id = $1) AS chunks,
           (SELECT count(*)::int FROM chunk_vectors WHERE kb_id = $1 AND model = $2) AS embedded`,
        [kbId, model],
      );
      return { chunks: r?.chunks ?? 0, embedded: r?.embedded ?? 0 };
    },

    searchDense: async (q) => {
      const s = await session();
      if (s.vectorSchema === undefined)
        throw new ShelfError('VECTORS_UNAVAILABLE', { reason: s.vectorError ?? 'pgvector is missing' });
      const v = `"${s.vectorSchema.replaceAll('"', '""')}"`;
      const p = new Params();
      const vector = p.add(`[${Array.from(q.vector).join(',')}]`);
      const model = p.add(q.model);
      const dim = p.add(q.vector.length);
      const kb = kbSql(q.kbIds, 'v.kb_id', p);
      const f = filterSql(q.filter, p);
      // Exact nearest neighbours by pgvector's cosine distance, as the SQLite backend scans.
      const rows = await query<{ id: number; document_id: number; distance: number }>(
        `SELECT v.chunk_id AS id, c.document_id,
           v.vector::${v}.vector OPERATOR(${v}.<=>) ${vector}::${v}.vector AS distance
         FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
         ${f !== '' ? 'JOIN documents d ON d.id = c.document_id' : ''}
         WHERE v.model = ${model} AND cardinality(v.vector) = ${dim}${kb}${f}
         ORDER BY distance, v.chunk_id LIMIT ${p.add(q.limit)}`,
        p.values,
      );
      return rows.map((r) => ({ chunkId: r.id, documentId: r.document_id, score: 1 - Number(r.distance) }));
    },
  };
  return store;
}
