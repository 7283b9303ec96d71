import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { fillKnowledgeBase, type TextDoc } from '../test-support/ranking.js';
import { rankChunks, type RankOptions } from './rank.js';
import { readStreams, startOver, StreamCache } from './rerank.js';

/** One knowledge base of documents given as title and chunk texts; returns their ids. */
async function fill(store: Store, docs: readonly TextDoc[]): Promise<number[]> {
  return (await fillKnowledgeBase(store, docs)).ids;
}

const FILLER = ['notes on old ships', 'a list of harbour names', 'weather at sea', 'rope and knots'].map(
  (title) => ({
    title,
    chunks: [`${title} and other things`],
  }),
);

async function order(store: Store, query: string, options: Partial<RankOptions>): Promise<number[]> {
  const result = await rankChunks(store, {
    query,
    kbIds: [],
    limit: 10,
    options: { feedback: false, ...options },
  });
  return result.hits.map((h) => h.documentId);
}

describe('second-stage ranking (rerank)', () => {
  let store: Store;
  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('ranks a document whose chunks together hold every query word above one whose best chunk is better', async () => {
    const [split, single] = await fill(store, [
      { title: 'Report', chunks: ['turbine blade cracks were seen', 'the compressor stage was fine'] },
      { title: 'Memo', chunks: ['turbine turbine blade notes'] },
      ...FILLER,
    ]);
    // BM25F alone: In_expB2 would already put the rarer "compressor" chunk first.
    const options = { proximity: false as const, dfr: false as const };
    expect((await order(store, 'turbine compressor', { ...options, documentWeight: 0 })).slice(0, 2)).toEqual(
      [single, split],
    );
    expect((await order(store, 'turbine compressor', options)).slice(0, 2)).toEqual([split, single]);
  });

  it('leaves one-chunk documents scored by their chunk alone', async () => {
    await fill(store, [
      { title: 'Alpha', chunks: ['turbine blade cracks'] },
      { title: 'Beta', chunks: ['compressor turbine stage'] },
      ...FILLER,
    ]);
    const scores = async (documentWeight: number): Promise<number[]> =>
      (
        await rankChunks(store, {
          query: 'turbine compressor',
          kbIds: [],
          limit: 10,
          options: { feedback: false, proximity: false, documentWeight },
        })
      ).hits.map((h) => h.score);
    expect(await scores(0.5)).toEqual(await scores(0));
  });

  it('ranks the document where the query words stand together first', async () => {
    const [apart, together] = await fill(store, [
      { title: 'Plate', chunks: ['heat flows through the thin plate and its transfer is slow'] },
      { title: 'Plate', chunks: ['the heat transfer through the thin plate and its flow is slow'] },
      ...FILLER,
    ]);
    // Same words and lengths: without proximity the tie goes to the lower chunk id.
    expect((await order(store, 'heat transfer', { proximity: false })).slice(0, 2)).toEqual([
      apart,
      together,
    ]);
    expect((await order(store, 'heat transfer', {})).slice(0, 2)).toEqual([together, apart]);
    expect((await order(store, 'heat and plate transfer', {})).slice(0, 2)).toEqual([apart, together]);
  });

  it('gives the same hits and scores every time', async () => {
    await fill(store, [
      { title: 'Heat', chunks: ['heat transfer in plates', 'transfer of heat by radiation'] },
      { title: 'Plates', chunks: ['thin plates under heat'] },
      ...FILLER,
    ]);
    const run = (): Promise<unknown> =>
      rankChunks(store, { query: 'heat transfer plates', kbIds: [], limit: 10 });
    expect(await run()).toEqual(await run());
  });

  it('keeps the streams a query is about to read when a full cache starts over', async () => {
    await fill(store, [
      { title: 'Heat', chunks: ['heat transfer in plates', 'transfer of heat by radiation'] },
      { title: 'Plates', chunks: ['thin plates under heat'] },
      ...FILLER,
    ]);
    const ids = (await store.chunkTable()).documentId.reduce<number[]>(
      (out, doc, id) => (doc !== 0 ? [...out, id] : out),
      [],
    );
    expect(ids.length).toBeGreaterThan(4);
    const cache = new StreamCache();
    cache.limit = 4;
    await readStreams(store, cache, ids.slice(0, 3));
    // Two of these are cached, two are not; the cache cannot hold all of them and starts over.
    const wanted = ids.slice(1, 5);
    await readStreams(store, cache, wanted);
    expect([...cache.byChunk.keys()].sort((a, b) => a - b)).toEqual(wanted);

    const map = new Map([1, 2, 3, 4].map((k) => [k, `v${k}`]));
    startOver(map, [2, 4, 9]);
    expect([...map]).toEqual([
      [2, 'v2'],
      [4, 'v4'],
    ]);
  });
});
