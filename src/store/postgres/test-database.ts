/**
 * Test support for the PostgreSQL backend: where the test server is, whether tests must
 * have it, and a fresh schema per test run so parallel test files never share tables.
 *
 * The server is SHELF_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 * (trust auth, as CI runs it). In CI (CI=true) or with SHELF_REQUIRE_POSTGRES=1 the tests
 * fail when it does not answer; elsewhere they are skipped with a message saying so.
 */
import { randomBytes } from 'node:crypto';

export const TEST_DATABASE_URL =
  process.env.SHELF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const POSTGRES_REQUIRED = process.env.CI === 'true' || process.env.SHELF_REQUIRE_POSTGRES === '1';

/** Runs SQL on a short-lived connection (schema housekeeping, checks from outside the store). */
export async function adminQuery<R = Record<string, unknown>>(
  sql: string,
  params: readonly unknown[] = [],
): Promise<R[]> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query(sql, [...params])).rows as R[];
  } finally {
    await client.end();
  }
}

/** Undefined when the server answers, else why it does not. */
export async function probePostgres(): Promise<string | undefined> {
  try {
    await adminQuery('SELECT 1');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message || String((e as { code?: unknown }).code) : String(e);
  }
}

/** A new schema name, shelf_test_<random>, unique across parallel runs. */
export function testSchemaName(): string {
  return `shelf_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  if (!/^shelf_test_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop ${schema}`);
  await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** Whether the server has pgvector (installed in the database or available to install). */
export async function hasPgvector(): Promise<boolean> {
  const rows = await adminQuery<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'`,
  );
  return (rows[0]?.n ?? 0) > 0;
}

/** The message shown when the tests are skipped, or the error thrown when they are required. */
export function unreachableMessage(reason: string): string {
  return (
    `PostgreSQL at ${TEST_DATABASE_URL} did not answer (${reason}). ` +
    (POSTGRES_REQUIRED
      ? 'It is required here (CI=true or SHELF_REQUIRE_POSTGRES=1).'
      : 'Skipping the PostgreSQL tests; set SHELF_TEST_DATABASE_URL to run them.')
  );
}
