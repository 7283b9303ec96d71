/**
 * Builds the synthetic corpus of bench/search into a shelf home, for measuring the CLI
 * itself (a fresh process per query, as a person runs it):
 *   npx tsx bench/search/build-db.ts DIR [documents=20000]
 *   hyperfine 'node dist/cli/shelf.js --home DIR search "kernel queue"'
 */
import { join } from 'node:path';
import { DEFAULT_CHUNK_OPTIONS } from '../../src/chunk/chunk.js';
import { contentHash, documentInput, prepareChunks } from '../../src/ingest/prepare.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { syntheticCorpus } from './synthetic.js';

const home = process.argv[2];
if (!home) throw new Error('usage: build-db.ts DIR [documents]');
const documents = Number(process.argv[3] ?? 20_000);
const store = openSqliteStore({ path: join(home, 'shelf.db') });
const kb = await store.createKnowledgeBase('default');
const source = await store.addSource({ kbId: kb.id, kind: 'feed', location: 'bench' });
for (const doc of syntheticCorpus({ documents }).documents())
  await store.upsertDocument({
    kbId: kb.id,
    sourceId: source.id,
    document: documentInput(doc, doc.tags, contentHash(doc, doc.tags, DEFAULT_CHUNK_OPTIONS)),
    chunks: prepareChunks(doc, doc.tags, DEFAULT_CHUNK_OPTIONS),
  });
await store.close();
console.log(`built ${documents} documents in ${home}`);
