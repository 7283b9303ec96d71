/**
 * Copying a whole store between backends (`shelf migrate`). Each backend exposes its tables
 * as rows in one portable shape (the columns below, ids kept, times and JSON as the text
 * they are stored as, vectors as base64 float32); `transferStore` copies table by table in
 * foreign-key order, then reads both sides back and compares row counts and SHA-256
 * checksums of the canonical rows. Index statistics are not copied: each backend rebuilds
 * its own from the chunks' analysed terms, which are part of the chunk rows.
 */
import { createHash } from 'node:crypto';

export const TRANSFER_TABLES = [
  'knowledge_bases',
  'sources',
  'documents',
  'document_tags',
  'chunks',
  'chunk_vectors',
  'jobs',
  'api_keys',
] as const;
export type TransferTable = (typeof TRANSFER_TABLES)[number];

/** Columns of each table in transfer order; the first ones are the ordering key. */
export const TRANSFER_COLUMNS: Readonly<Record<TransferTable, readonly string[]>> = {
  knowledge_bases: ['id', 'name', 'primer', 'created_at', 'embed_model', 'embed_dimension', 'embed_state'],
  sources: [
    'id',
    'kb_id',
    'kind',
    'location',
    'title',
    'parent_id',
    'options',
    'etag',
    'last_modified',
    'last_synced_at',
    'last_error',
    'refresh_interval_s',
    'created_at',
  ],
  documents: [
    'id',
    'kb_id',
    'source_id',
    'key',
    'kind',
    'title',
    'url',
    'author',
    'published',
    'updated',
    'tags',
    'hash',
    'page_count',
    'page_labels',
    'problems',
    'chunk_count',
    'created_at',
    'updated_at',
  ],
  document_tags: ['document_id', 'tag'],
  chunks: [
    'id',
    'document_id',
    'kb_id',
    'ordinal',
    'heading_path',
    'anchor',
    'text',
    'page_start',
    'page_end',
    'tokens',
    'has_code',
    'index_title',
    'index_heading',
    'index_body',
    'index_tags',
  ],
  chunk_vectors: ['chunk_id', 'kb_id', 'model', 'vector'],
  jobs: [
    'id',
    'kind',
    'payload',
    'state',
    'attempts',
    'max_attempts',
    'run_at',
    'lease_owner',
    'lease_until',
    'progress_done',
    'progress_total',
    'progress_label',
    'result',
    'error',
    'dedupe_key',
    'created_at',
    'updated_at',
    'finished_at',
  ],
  api_keys: ['id', 'name', 'prefix', 'hash', 'created_at', 'revoked_at'],
};

/** Column values: text, numbers, booleans (has_code), null; vectors as base64 float32 text. */
export type TransferValue = string | number | boolean | null;
export type TransferRow = readonly TransferValue[];

/** One side of a transfer: a store's tables as portable rows. */
export interface TransferEndpoint {
  /** Where it is (a path or a redacted URL). */
  readonly location: string;
  /** The table's rows ordered by their key columns, in batches. */
  read(table: TransferTable): AsyncIterable<readonly TransferRow[]>;
  /** Writes rows as they are (ids kept) and rebuilds the index rows for chunks. */
  write(table: TransferTable, rows: readonly TransferRow[]): Promise<void>;
  /** Rows in the store's main tables, to refuse copying into a store that holds data. */
  rowCount(): Promise<number>;
  /** Runs `fn` in one transaction: the copy lands whole or not at all. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** After the writes: id sequences moved past the copied ids. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

/** Float32 vector ⇄ base64 of its little-endian bytes. */
export function vectorToBase64(v: Float32Array): string {
  const bytes = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

export function vectorFromBase64(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  const out = new Float32Array(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export interface TableFigures {
  readonly rows: number;
  /** SHA-256 (hex) of the canonical rows in key order. */
  readonly checksum: string;
}

/** Row count and checksum of one table as an endpoint reads it. */
export async function tableFigures(endpoint: TransferEndpoint, table: TransferTable): Promise<TableFigures> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const batch of endpoint.read(table))
    for (const row of batch) {
      hash.update(JSON.stringify(row) + '\n');
      rows++;
    }
  return { rows, checksum: hash.digest('hex') };
}

export interface TransferReport {
  readonly tables: readonly { table: TransferTable; source: TableFigures; target: TableFigures }[];
  /** True when every table has the same count and checksum on both sides. */
  readonly identical: boolean;
}

/** Copies every table from `source` into the empty `target`, then compares both sides. */
export async function transferStore(
  source: TransferEndpoint,
  target: TransferEndpoint,
  onTable: (table: TransferTable, rows: number) => void = () => undefined,
): Promise<TransferReport> {
  await target.transaction(async () => {
    for (const table of TRANSFER_TABLES) {
      let copied = 0;
      for await (const batch of source.read(table)) {
        await target.write(table, batch);
        copied += batch.length;
      }
      onTable(table, copied);
    }
    await target.finish();
  });
  const tables = [];
  for (const table of TRANSFER_TABLES)
    tables.push({
      table,
      source: await tableFigures(source, table),
      target: await tableFigures(target, table),
    });
  return {
    tables,
    identical: tables.every(
      (t) => t.source.rows === t.target.rows && t.source.checksum === t.target.checksum,
    ),
  };
}
