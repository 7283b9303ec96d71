import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexText } from '../../text/analyze.js';
import { openPostgresStore } from '../../store/postgres/postgres-store.js';
import {
  dropSchema,
  POSTGRES_REQUIRED,
  probePostgres,
  TEST_DATABASE_URL,
  testSchemaName,
  unreachableMessage,
} from '../../store/postgres/test-database.js';
import { chunkInput, documentInput } from '../../store/store-contract.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { openSqliteTransfer } from '../../store/sqlite/sqlite-transfer.js';
import { tableFigures, TRANSFER_TABLES } from '../../store/transfer.js';
import { main } from '../main.js';

const unreachable = await probePostgres();

async function shelf(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** A SQLite store with one of everything: nested sources, tags, pages, vectors, jobs, keys. */
async function fillSqlite(path: string): Promise<void> {
  const store = openSqliteStore({ path });
  const kb = await store.createKnowledgeBase('default');
  await store.setPrimer(kb.id, 'You answer about kernels.');
  await store.setEmbedding(kb.id, { model: 'm1', dimension: 2, state: 'ready' });
  const opml = await store.addSource({
    kbId: kb.id,
    kind: 'opml',
    location: 'https://example.org/blogroll.opml',
  });
  const feed = await store.addSource({
    kbId: kb.id,
    kind: 'feed',
    location: 'https://example.org/feed',
    parentId: opml.id,
    options: { tags: ['Linux'] },
    refreshIntervalS: 3600,
  });
  await store.updateSource(feed.id, { etag: '"v1"', lastSyncedAt: '2024-10-01T00:00:00.000Z' });
  await store.upsertDocument({
    kbId: kb.id,
    sourceId: feed.id,
    document: documentInput('a', {
      author: 'Nicolas Mesa',
      tags: ['Linux', 'uart'],
      published: '2024-03-01T00:00:00.000Z',
      pageCount: 2,
      pageLabels: ['i', 'ii'],
      problems: [{ page: 2, kind: 'no-text' } as never],
    }),
    chunks: [
      chunkInput(0, 'Booting a kernel over the UART serial line, v1.2.3 and TcpListener::bind', {
        headingPath: ['Boot', 'Serial'],
        pageStart: 1,
        pageEnd: 2,
        anchor: 'serial',
        hasCode: true,
        index: {
          title: indexText('Doc a'),
          heading: indexText('Boot Serial'),
          body: indexText('Booting a kernel over the UART serial line, v1.2.3 and TcpListener::bind'),
          tags: indexText('Linux uart'),
        },
      }),
      chunkInput(1, 'Paging maps virtual addresses; paging again.'),
    ],
    vectors: { model: 'm1', values: [new Float32Array([0.6, 0.8]), new Float32Array([1 / 3, Math.SQRT1_2])] },
  });
  await store.upsertDocument({
    kbId: kb.id,
    sourceId: feed.id,
    document: documentInput('b'),
    chunks: [chunkInput(0, 'A short note on sockets')],
  });
  const { job } = await store.enqueueJob({
    kind: 'sync-source',
    payload: { sourceId: feed.id },
    dedupeKey: 'sync:2',
  });
  await store.claimJob('w1', 60_000);
  await store.completeJob(job.id, 'w1', { added: 2 });
  await store.enqueueJob({ kind: 'add-source', payload: { kb: 'default', location: '/x' } });
  await store.createApiKey({ name: 'ci', prefix: 'shelf_ab', hash: 'a'.repeat(64) });
  await store.close();
}

describe.runIf(unreachable !== undefined && POSTGRES_REQUIRED)('shelf migrate prerequisites', () => {
  it('reaches PostgreSQL, because CI requires the migrate tests', () => {
    throw new Error(unreachableMessage(unreachable ?? ''));
  });
});

describe.skipIf(unreachable !== undefined)('shelf migrate', () => {
  const schema = testSchemaName();
  const home = mkdtempSync(join(tmpdir(), 'shelf-migrate-'));
  afterAll(() => dropSchema(schema));

  it('copies SQLite to PostgreSQL and back without loss, printing counts and checksums', async () => {
    await fillSqlite(join(home, 'shelf.db'));
    const to = await shelf(['--home', home, 'migrate', '--to', TEST_DATABASE_URL, '--to-schema', schema]);
    expect(to.stderr).toBe('');
    expect(to.code).toBe(0);
    for (const table of TRANSFER_TABLES) expect(to.stdout).toMatch(new RegExp(`^${table} .* ok$`, 'm'));
    expect(to.stdout).toMatch(/^chunks\s+3\s+3 /m);

    // The copy searches and ranks from the same statistics as the original.
    const pgStore = openPostgresStore({ url: TEST_DATABASE_URL, schema });
    const sqlite = openSqliteStore({ path: join(home, 'shelf.db') });
    try {
      const terms = ['uart', '1.2.3', 'tcplistenerbind', 'page', 'linux', 'boot'];
      const a = await pgStore.postings(terms);
      const b = await sqlite.postings(terms);
      for (const t of terms) {
        expect([...(a.get(t)?.chunkIds ?? [])], t).toEqual([...(b.get(t)?.chunkIds ?? [])]);
        expect([...(a.get(t)?.fieldTf ?? [])], t).toEqual([...(b.get(t)?.fieldTf ?? [])]);
      }
      expect([...(await pgStore.chunkTable()).fieldLengths]).toEqual([
        ...(await sqlite.chunkTable()).fieldLengths,
      ]);
      expect(await pgStore.integrityCheck()).toEqual(await sqlite.integrityCheck());
      // New rows get ids after the copied ones.
      const kb = await pgStore.createKnowledgeBase('second');
      expect(kb.id).toBe(2);
      await pgStore.deleteKnowledgeBase(kb.id);
    } finally {
      await pgStore.close();
      await sqlite.close();
    }

    const back = join(home, 'back.db');
    const env = { SHELF_DATABASE_URL: TEST_DATABASE_URL, SHELF_DATABASE_SCHEMA: schema };
    const from = await shelf(['--home', home, 'migrate', '--to', back], env);
    expect(from.stderr).toBe('');
    expect(from.code).toBe(0);
    const original = await openSqliteTransfer(join(home, 'shelf.db'));
    const copy = await openSqliteTransfer(back);
    try {
      for (const table of TRANSFER_TABLES)
        expect(await tableFigures(copy, table), table).toEqual(await tableFigures(original, table));
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it('refuses a target that already holds data', async () => {
    const again = await shelf(['--home', home, 'migrate', '--to', TEST_DATABASE_URL, '--to-schema', schema]);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already holds data/);
  });
});
