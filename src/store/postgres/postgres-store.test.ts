import { describe, expect, it } from 'vitest';
import { indexText } from '../../text/analyze.js';
import { chunkInput, describeStoreContract, documentInput } from '../store-contract.js';
import type { Store } from '../store.js';
import { openPostgresStore, redactUrl } from './postgres-store.js';
import {
  adminQuery,
  dropSchema,
  hasPgvector,
  POSTGRES_REQUIRED,
  probePostgres,
  TEST_DATABASE_URL,
  testSchemaName,
  unreachableMessage,
} from './test-database.js';

const unreachable = await probePostgres();
if (unreachable !== undefined) console.warn(unreachableMessage(unreachable));
const vectors = unreachable === undefined && (await hasPgvector());

/** A store in a schema of its own, dropped when the store is closed. */
function openFresh(): Promise<Store> {
  const schema = testSchemaName();
  const store = openPostgresStore({ url: TEST_DATABASE_URL, schema });
  return Promise.resolve({
    ...store,
    close: async () => {
      await store.close();
      await dropSchema(schema);
    },
  });
}

describe.runIf(unreachable !== undefined && POSTGRES_REQUIRED)('PostgreSQL for the store tests', () => {
  it('answers, because CI requires the PostgreSQL backend to be tested', () => {
    throw new Error(unreachableMessage(unreachable ?? ''));
  });
});

describe.skipIf(unreachable !== undefined)('PostgreSQL store', () => {
  // Skipped without pgvector only: every other case runs as on SQLite.
  describeStoreContract(
    'postgres',
    openFresh,
    vectors
      ? []
      : [
          // Dense search needs pgvector, which this server lacks: vectors are still stored,
          // counted and deleted (the other vector cases run), but cannot be searched.
          'writes vectors with the chunks and finds the nearest by cosine, per model and filter',
        ],
  );

  describe('openPostgresStore', () => {
    it('migrates once when several processes open the same schema at the same time', async () => {
      const schema = testSchemaName();
      const stores = Array.from({ length: 4 }, () => openPostgresStore({ url: TEST_DATABASE_URL, schema }));
      try {
        const names = await Promise.all(stores.map((s, i) => s.createKnowledgeBase(`kb${i}`)));
        expect(names).toHaveLength(4);
        const applied = await adminQuery<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${schema}.shelf_migrations`,
        );
        expect(applied[0]?.n).toBe(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await dropSchema(schema);
      }
    });

    it('keeps version-like terms with their dots and matches them exactly', async () => {
      const store = await openFresh();
      try {
        const kb = await store.createKnowledgeBase('default');
        const source = await store.addSource({ kbId: kb.id, kind: 'text', location: '/notes' });
        await store.upsertDocument({
          kbId: kb.id,
          sourceId: source.id,
          document: documentInput('a'),
          chunks: [chunkInput(0, 'Upgrade to v1.2.3 before 1.2.4 ships')],
        });
        expect(indexText('v1.2.3')).toBe('1.2.3');
        const hits = await store.searchLexical({ terms: ['1.2.3'], kbIds: [], limit: 5 });
        expect(hits).toHaveLength(1);
        expect(await store.searchLexical({ terms: ['1.2'], kbIds: [], limit: 5 })).toEqual([]);
        expect([...(await store.documentFrequencies(['1.2.3', '1.2.4', '1']))]).toEqual([
          ['1.2.3', 1],
          ['1.2.4', 1],
          ['1', 0],
        ]);
      } finally {
        await store.close();
      }
    });

    it('treats quotes and backslashes in terms as text, not tsquery syntax', async () => {
      const store = await openFresh();
      try {
        expect(
          await store.searchLexical({ terms: ["it's", 'a\\b', "'|!", '&'], kbIds: [], limit: 5 }),
        ).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('says the server cannot be reached, naming the URL without its password', async () => {
      const store = openPostgresStore({ url: 'postgres://shelf:secret@127.0.0.1:1/none' });
      await expect(store.listKnowledgeBases()).rejects.toMatchObject({ code: 'STORE_UNREACHABLE' });
      await expect(store.listKnowledgeBases()).rejects.toThrow(/\*\*\*/);
      await store.close();
      expect(redactUrl('postgres://u:pw@h/db')).toBe('postgres://u:***@h/db');
    });

    it('refuses a schema name that is not a plain identifier', () => {
      expect(() => openPostgresStore({ url: TEST_DATABASE_URL, schema: 'x; DROP TABLE y' })).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }),
      );
    });

    it('refuses a schema written by a newer shelf', async () => {
      const schema = testSchemaName();
      const first = openPostgresStore({ url: TEST_DATABASE_URL, schema });
      await first.listKnowledgeBases();
      await first.close();
      await adminQuery(`INSERT INTO ${schema}.shelf_migrations VALUES (999, 'future', 'now')`);
      const second = openPostgresStore({ url: TEST_DATABASE_URL, schema });
      try {
        await expect(second.listKnowledgeBases()).rejects.toMatchObject({ code: 'STORE_NEWER' });
      } finally {
        await second.close();
        await dropSchema(schema);
      }
    });

    it.skipIf(vectors)('says dense search is unavailable without pgvector, and why', async () => {
      const store = await openFresh();
      try {
        await expect(
          store.searchDense({ vector: new Float32Array([1, 0]), model: 'm', kbIds: [], limit: 3 }),
        ).rejects.toMatchObject({ code: 'VECTORS_UNAVAILABLE', message: expect.stringMatching(/pgvector/) });
      } finally {
        await store.close();
      }
    });
  });
});
