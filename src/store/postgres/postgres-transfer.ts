/**
 * The PostgreSQL side of `shelf migrate` (see store/transfer.ts): the store's tables as
 * portable rows over one connection, so a copy into PostgreSQL is one transaction. Chunk
 * rows carry their analysed terms; the schema's triggers rebuild postings, document
 * frequencies and totals from them as the rows go in.
 */
import type { Client } from 'pg';
import { ShelfError } from '../../core/errors.js';
import {
  TRANSFER_COLUMNS,
  vectorFromBase64,
  vectorToBase64,
  type TransferEndpoint,
  type TransferRow,
  type TransferTable,
  type TransferValue,
} from '../transfer.js';
import { openPostgresStore, redactUrl } from './postgres-store.js';

const BATCH = 2000;
const ID_TABLES = ['knowledge_bases', 'sources', 'documents', 'chunks', 'jobs', 'api_keys'] as const;

/** Opens (creating and migrating if needed) the store at `url` / `schema` for a transfer. */
export async function openPostgresTransfer(options: {
  readonly url: string;
  readonly schema?: string;
}): Promise<TransferEndpoint> {
  const { url, schema } = options;
  const store = openPostgresStore({ url, ...(schema !== undefined ? { schema } : {}) });
  try {
    await store.listKnowledgeBases();
  } finally {
    await store.close();
  }
  const pg = (await import('pg')).default;
  const client: Client = new pg.Client({
    connectionString: url,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  await client.connect();
  const location = redactUrl(url) + (schema !== undefined ? ` (schema ${schema})` : '');

  const rows = async (sql: string, params: unknown[] = []): Promise<unknown[][]> =>
    (await client.query({ text: sql, values: params, rowMode: 'array' })).rows as unknown[][];

  const toRow = (table: TransferTable, raw: unknown[]): TransferRow =>
    (table === 'chunk_vectors'
      ? [raw[0], raw[1], raw[2], vectorToBase64(Float32Array.from(raw[3] as number[]))]
      : raw) as TransferValue[];

  return {
    location,
    async *read(table) {
      const columns = TRANSFER_COLUMNS[table].join(', ');
      if (table === 'document_tags') {
        const all = await rows(`SELECT ${columns} FROM document_tags ORDER BY document_id, tag COLLATE "C"`);
        for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH).map((r) => toRow(table, r));
        return;
      }
      // Keyset pagination on the integer key (the first column).
      const key = TRANSFER_COLUMNS[table][0] ?? 'id';
      let after = -1;
      for (;;) {
        const batch = await rows(
          `SELECT ${columns} FROM ${table} WHERE ${key} > $1 ORDER BY ${key} LIMIT ${BATCH}`,
          [after],
        );
        if (batch.length === 0) return;
        after = batch[batch.length - 1]?.[0] as number;
        yield batch.map((r) => toRow(table, r));
      }
    },
    async write(table, batch) {
      if (batch.length === 0) return;
      const columns = TRANSFER_COLUMNS[table];
      const params: unknown[] = [];
      const tuples = batch.map((r) => {
        const values =
          table === 'chunk_vectors' ? [r[0], r[1], r[2], [...vectorFromBase64(String(r[3]))]] : r;
        const placeholders = values.map((v) => {
          params.push(v);
          return `$${params.length}`;
        });
        return `(${placeholders.join(', ')})`;
      });
      await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
    },
    async rowCount() {
      const [r] = await rows(
        'SELECT (SELECT count(*) FROM knowledge_bases) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM api_keys)',
      );
      return Number(r?.[0] ?? 0);
    },
    async transaction(fn) {
      await client.query('BEGIN');
      try {
        // Writers lock the index row first (see postgres-store.ts): so does the copy.
        await client.query('SELECT 1 FROM index_state WHERE id = 1 FOR UPDATE');
        const out = await fn();
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e instanceof ShelfError ? e : new ShelfError('INTERNAL', { detail: String(e) }, { cause: e });
      }
    },
    async finish() {
      // Ids were written explicitly: move each identity past them.
      for (const t of ID_TABLES)
        await client.query(
          `SELECT setval(pg_get_serial_sequence('${t}', 'id'), coalesce(max(id), 0) + 1, false) FROM ${t}`,
        );
    },
    close: () => client.end(),
  };
}
