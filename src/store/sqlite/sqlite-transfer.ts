/**
 * The SQLite side of `shelf migrate` (see store/transfer.ts): the store's tables as portable
 * rows. The full-text index is contentless, so a chunk's analysed terms are read back from
 * the per-occurrence vocabulary (`chunk_instances`: term, chunk, column, offset), which
 * gives each field's terms in their original order; writing a chunk writes its index row.
 */
import Database from 'better-sqlite3';
import { ShelfError } from '../../core/errors.js';
import {
  TRANSFER_COLUMNS,
  type TransferEndpoint,
  type TransferRow,
  type TransferTable,
  type TransferValue,
} from '../transfer.js';
import { openSqliteStore } from './sqlite-store.js';

const BATCH = 2000;
const FIELDS = ['title', 'heading', 'body', 'tags'] as const;

/** Key order per table; tags compare bytewise so both backends list them alike. */
const ORDER: Readonly<Record<TransferTable, string>> = {
  knowledge_bases: 'id',
  sources: 'id',
  documents: 'id',
  document_tags: 'document_id, tag COLLATE BINARY',
  chunks: 'id',
  chunk_vectors: 'chunk_id',
  jobs: 'id',
  api_keys: 'id',
};

/** Opens (creating and migrating if needed) the SQLite file at `path` for a transfer. */
export async function openSqliteTransfer(path: string): Promise<TransferEndpoint> {
  await openSqliteStore({ path }).close();
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');

  /** chunk id → the four fields' terms, rebuilt from the index on first need. */
  let terms: Map<number, string[][]> | undefined;
  const indexTerms = (): Map<number, string[][]> => {
    if (terms) return terms;
    terms = new Map();
    const rows = db
      .prepare('SELECT term, doc, col, "offset" FROM chunk_instances')
      .raw()
      .iterate() as IterableIterator<[string, number, string, number]>;
    for (const [term, doc, col, offset] of rows) {
      let fields = terms.get(doc);
      if (!fields) {
        fields = [[], [], [], []];
        terms.set(doc, fields);
      }
      const f = fields[FIELDS.indexOf(col as (typeof FIELDS)[number])];
      if (f) f[offset] = term;
    }
    return terms;
  };

  const toRow = (table: TransferTable, raw: unknown[]): TransferRow => {
    if (table === 'chunks') {
      const id = raw[0] as number;
      const fields = indexTerms().get(id) ?? [[], [], [], []];
      return [
        ...raw.slice(0, 10),
        raw[10] === 1,
        ...fields.map((f) => f.filter((t) => t !== undefined).join(' ')),
      ] as TransferValue[];
    }
    if (table === 'chunk_vectors')
      return [raw[0], raw[1], raw[2], (raw[3] as Buffer).toString('base64')] as TransferValue[];
    return raw as TransferValue[];
  };

  return {
    location: path,
    // eslint-disable-next-line @typescript-eslint/require-await -- better-sqlite3 reads synchronously; the endpoint contract is async.
    async *read(table) {
      const columns = table === 'chunks' ? TRANSFER_COLUMNS.chunks.slice(0, 11) : TRANSFER_COLUMNS[table];
      const rows = db
        .prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${ORDER[table]}`)
        .raw()
        .iterate() as IterableIterator<unknown[]>;
      let batch: TransferRow[] = [];
      for (const raw of rows) {
        batch.push(toRow(table, raw));
        if (batch.length === BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
    write(table, rows) {
      const columns = TRANSFER_COLUMNS[table];
      if (table === 'chunks') {
        const chunk = db.prepare(
          `INSERT INTO chunks (${columns.slice(0, 11).join(', ')}) VALUES (${columns
            .slice(0, 11)
            .map(() => '?')
            .join(', ')})`,
        );
        const index = db.prepare(
          'INSERT INTO chunk_fts (rowid, title, heading, body, tags) VALUES (?, ?, ?, ?, ?)',
        );
        for (const r of rows) {
          chunk.run(...r.slice(0, 10), r[10] === true ? 1 : 0);
          index.run(r[0], ...r.slice(11, 15));
        }
      } else {
        const insert = db.prepare(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        );
        for (const r of rows)
          insert.run(
            ...(table === 'chunk_vectors' ? [r[0], r[1], r[2], Buffer.from(String(r[3]), 'base64')] : r),
          );
      }
      return Promise.resolve();
    },
    rowCount: () =>
      Promise.resolve(
        (
          db
            .prepare(
              'SELECT (SELECT count(*) FROM knowledge_bases) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM api_keys) AS n',
            )
            .get() as { n: number }
        ).n,
      ),
    async transaction(fn) {
      // The writes inside are synchronous better-sqlite3 calls, so nothing else interleaves.
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn();
        db.exec('COMMIT');
        return out;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e instanceof ShelfError ? e : new ShelfError('INTERNAL', { detail: String(e) }, { cause: e });
      }
    },
    finish: () => Promise.resolve(),
    close: () => Promise.resolve(void db.close()),
  };
}
