/**
 * The PostgreSQL backend for benchmarks: `--backend postgres` (or SHELF_BENCH_BACKEND=postgres)
 * runs a bench on SQLite and PostgreSQL in the same run. Each PostgreSQL store lives in a
 * fresh schema that is dropped when the store is closed. The server is
 * SHELF_BENCH_DATABASE_URL, else SHELF_DATABASE_URL, else the local test server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';

export const BENCH_DATABASE_URL =
  process.env.SHELF_BENCH_DATABASE_URL ??
  process.env.SHELF_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

export type Backend = 'sqlite' | 'postgres';

/** The backends a bench runs on: always SQLite (the reference), plus PostgreSQL when asked. */
export function benchBackends(argv: readonly string[] = process.argv): Backend[] {
  const at = argv.indexOf('--backend');
  const named = at >= 0 ? argv[at + 1] : process.env.SHELF_BENCH_BACKEND;
  return named === 'postgres' || named === 'both' ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** argv without `--backend NAME`, so positional arguments keep their places. */
export function positionalArgs(argv: readonly string[] = process.argv): string[] {
  const at = argv.indexOf('--backend');
  return at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : [...argv];
}

/** A PostgreSQL store in a new schema; closing it drops the schema. */
export function openBenchPostgres(): { store: Store; schema: string } {
  const schema = `shelf_bench_${randomBytes(5).toString('hex')}`;
  const store = openPostgresStore({ url: BENCH_DATABASE_URL, schema });
  return {
    schema,
    store: {
      ...store,
      close: async () => {
        await store.close();
        const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      },
    },
  };
}

/** Bytes on disk of a schema's tables and indexes. */
export async function schemaBytes(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS n FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [schema],
    );
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}
