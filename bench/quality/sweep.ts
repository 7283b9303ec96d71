/**
 * Parameter sweep: ingests each collection once, then scores every ranking configuration
 * given as JSON on the command line (one per argument), printing nDCG@10 per collection
 * and the mean. Used to pick DEFAULT_RANK_OPTIONS; no per-collection settings.
 *   npx tsx bench/quality/sweep.ts '{"k1":1.2}' '{"b":0.75}'
 */
import { join } from 'node:path';
import { evaluate, type Retrieved } from '../../src/eval/metrics.js';
import { ingestCorpus, loadBeir } from '../../src/eval/beir.js';
import { rankChunks, type RankOptions } from '../../src/search/rank.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { EVAL_DIR, COLLECTIONS } from '../lib/collections.js';

const configs: Partial<RankOptions>[] = process.argv
  .slice(2)
  .map((a) => JSON.parse(a) as Partial<RankOptions>);
if (configs.length === 0) configs.push({});
const loaded = [];
for (const c of COLLECTIONS) {
  const collection = await loadBeir(join(EVAL_DIR, c.name), c.qrels);
  const store = openSqliteStore({ path: ':memory:' });
  const { kbId, ids } = await ingestCorpus(store, collection.corpus);
  loaded.push({ name: c.name, collection, store, kbId, ids });
}
for (const config of configs) {
  const row: string[] = [];
  let sum = 0;
  let mapCacm = 0;
  for (const l of loaded) {
    const run = new Map<string, Retrieved[]>();
    for (const qid of l.collection.qrels.keys()) {
      const text = l.collection.queries.get(qid);
      if (text === undefined) continue;
      const r = await rankChunks(l.store, { query: text, kbIds: [l.kbId], limit: 1000, options: config });
      run.set(
        qid,
        r.hits
          .map((h) => ({ docId: l.ids.get(h.documentId) ?? '', score: h.score }))
          .filter((x) => x.docId !== qid),
      );
    }
    const m = evaluate(run, l.collection.qrels);
    if (l.name === 'cacm') mapCacm = m.map;
    sum += m.ndcg10;
    row.push(`${l.name} ${m.ndcg10.toFixed(4)}`);
  }
  console.log(
    `mean ${(sum / loaded.length).toFixed(4)} | ${row.join(' | ')} | cacm MAP ${mapCacm.toFixed(4)} | ${JSON.stringify(config)}`,
  );
}
