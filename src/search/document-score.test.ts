import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { FIELD_COUNT, type Store } from '../store/store.js';
import { fillKnowledgeBase } from '../test-support/ranking.js';
import { analyzeQuery } from '../text/analyze.js';
import { documentScore } from './document-score.js';
import { DEFAULT_RANK_OPTIONS, rankChunks } from './rank.js';

describe('documentScore', () => {
  let store: Store;
  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives a one-chunk document its chunk score, In_expB2 included', async () => {
    await fillKnowledgeBase(store, [
      { title: 'Turbines', chunks: ['turbine blade cracks turbine'] },
      { title: 'Compressors', chunks: ['compressor stage and turbine inlet'] },
      { title: 'Ships', chunks: ['notes on old ships and their turbine rooms at sea'] },
      { title: 'Rope', chunks: ['rope and knots'] },
    ]);
    const query = 'turbine compressor';
    const options = {
      ...DEFAULT_RANK_OPTIONS,
      feedback: false as const,
      proximity: false as const,
      documentWeight: 0,
    };
    expect(options.dfr).not.toBe(false);
    const ranked = await rankChunks(store, { query, kbIds: [], limit: 10, options });
    expect(ranked.hits).toHaveLength(3);

    const table = await store.chunkTable();
    const avgLengths = new Float64Array(FIELD_COUNT);
    for (let id = 0; id < table.size; id++)
      if ((table.documentId[id] ?? 0) !== 0)
        for (let f = 0; f < FIELD_COUNT; f++)
          avgLengths[f] =
            (avgLengths[f] ?? 0) + (table.fieldLengths[id * FIELD_COUNT + f] ?? 0) / table.chunkCount;
    const terms = analyzeQuery(query);
    const total = terms.reduce((s, t) => s + t.count, 0);
    const w = options.fieldWeights;
    const input = {
      table,
      avgLengths,
      postings: await store.postings(terms.map((t) => t.term)),
      terms: terms.map((t) => ({ term: t.term, weight: t.count / total })),
      k1: options.k1,
      fieldB: [options.fieldB.title ?? options.b, options.b, options.b, options.b],
      fieldWeights: [w.title, w.heading, w.body, w.tags],
      dfr: options.dfr,
    };
    for (const hit of ranked.hits) expect(documentScore(input, hit.documentId)).toBeCloseTo(hit.score, 4);
    // Without In_expB2 the document score is BM25F alone, and lower.
    const [first] = ranked.hits;
    expect(documentScore({ ...input, dfr: false }, first!.documentId)).toBeLessThan(first!.score);
  });
});
