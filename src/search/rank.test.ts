import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { fillKnowledgeBase as fill, type TextDoc as Doc } from '../test-support/ranking.js';
import { chunkInput, documentInput } from '../store/store-contract.js';
import type { Store } from '../store/store.js';
import { analyzeQuery, indexText } from '../text/analyze.js';
import {
  CACHE_LIMITS,
  compactRanking,
  DEFAULT_RANK_OPTIONS,
  rankChunks,
  SCORING_LIMITS,
  WARM_QUERIES,
  unseenWord,
  warmQueryTexts,
  warmRanking,
  type RankOptions,
} from './rank.js';

/**
 * BM25F plus In_expB2 (when `o.dfr` is set) written out from the texts, independently of the
 * posting lists (title and body only).
 */
function oracle(docs: readonly Doc[], query: string, o: RankOptions): Map<string, number> {
  const rows = docs.flatMap((d, di) =>
    d.chunks.map((text, ci) => ({
      key: `${di}/${ci}`,
      title: indexText(d.title).split(' ').filter(Boolean),
      body: indexText(text).split(' ').filter(Boolean),
    })),
  );
  const n = rows.length;
  const avgTitle = rows.reduce((s, r) => s + r.title.length, 0) / n;
  const avgBody = rows.reduce((s, r) => s + r.body.length, 0) / n;
  const terms = analyzeQuery(query);
  const totalCount = terms.reduce((s, t) => s + t.count, 0);
  const scores = new Map<string, number>();
  for (const t of terms) {
    const df = rows.filter((r) => r.title.includes(t.term) || r.body.includes(t.term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const count = (words: readonly string[]): number => words.filter((x) => x === t.term).length;
    // In_expB2: F weighted occurrences, n_e the df expected of F random occurrences.
    const occurrences = rows.reduce(
      (s, r) => s + o.fieldWeights.title * count(r.title) + o.fieldWeights.body * count(r.body),
      0,
    );
    const expectedDf = n * (1 - ((n - 1) / n) ** occurrences);
    for (const r of rows) {
      const tfTitle = r.title.filter((x) => x === t.term).length;
      const tfBody = r.body.filter((x) => x === t.term).length;
      const norm = (len: number, avg: number, b: number): number =>
        avg === 0 ? 0 : 1 / (1 - b + (b * len) / avg);
      const tf =
        o.fieldWeights.title * tfTitle * norm(r.title.length, avgTitle, o.fieldB.title ?? o.b) +
        o.fieldWeights.body * tfBody * norm(r.body.length, avgBody, o.fieldB.body ?? o.b);
      if (tf <= 0) continue;
      let add = (t.count / totalCount) * idf * (o.k1 + 1) * (tf / (o.k1 + tf));
      if (o.dfr) {
        const c = o.dfr.c;
        const norm2 = (len: number, avg: number): number => (len === 0 ? 0 : Math.log2(1 + (c * avg) / len));
        const tfn =
          o.fieldWeights.title * tfTitle * norm2(r.title.length, avgTitle) +
          o.fieldWeights.body * tfBody * norm2(r.body.length, avgBody);
        const weight = ((occurrences + 1) / (df * (tfn + 1))) * tfn * Math.log2((n + 1) / (expectedDf + 0.5));
        add += (t.count / totalCount) * o.dfr.weight * Math.max(0, weight);
      }
      scores.set(r.key, (scores.get(r.key) ?? 0) + add);
    }
  }
  return scores;
}

/**
 * Documents and queries drawn from `words`, a word listed more often drawn more often: with
 * skewed frequencies and many chunks, a few rare words settle the top results and the
 * common words only complete the contenders' scores.
 */
function skewedCorpus(words: readonly string[], docs: { minLength: number; maxLength: number }) {
  const word = fc.constantFrom(...words);
  const text = fc.array(word, { minLength: 1, maxLength: 10 }).map((w) => w.join(' '));
  return {
    docs: fc.array(fc.record({ title: text, chunks: fc.array(text, { minLength: 1, maxLength: 2 }) }), docs),
    query: fc.array(word, { minLength: 2, maxLength: 6 }).map((w) => w.join(' ')),
  };
}

describe('rankChunks', () => {
  let store: Store;
  beforeEach(() => {
    store = openSqliteStore({ path: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('scores chunks exactly as BM25F plus In_expB2 written out from the texts', async () => {
    const word = fc.constantFrom('kernel', 'uart', 'boot', 'loader', 'flash', 'timer', 'the', 'driver');
    const text = fc.array(word, { minLength: 1, maxLength: 12 }).map((w) => w.join(' '));
    const docsArb = fc.array(
      fc.record({ title: text, chunks: fc.array(text, { minLength: 1, maxLength: 3 }) }),
      { minLength: 1, maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(docsArb, text, async (docs, query) => {
        const s = openSqliteStore({ path: ':memory:' });
        try {
          const { kbId, ids } = await fill(s, docs);
          // The first stage alone: the proximity bonus has its own tests (proximity.test.ts).
          const options = { ...DEFAULT_RANK_OPTIONS, feedback: false as const, proximity: false as const };
          const got = await rankChunks(s, { query, kbIds: [kbId], limit: 100, perDocument: false, options });
          const want = oracle(docs, query, options);
          expect(got.hits).toHaveLength(want.size);
          // The columns and the objects made from them are the same hits.
          expect(got.ranked.length).toBe(got.hits.length);
          got.hits.forEach((h, i) => {
            expect(got.ranked.chunkIds[i]).toBe(h.chunkId);
            expect(got.ranked.documentIds[i]).toBe(h.documentId);
            expect(got.ranked.scores[i]).toBe(h.score);
          });
          for (const h of got.hits) {
            const chunks = await s.getChunks(h.documentId);
            const ordinal = chunks.find((c) => c.id === h.chunkId)?.ordinal;
            const key = `${ids.indexOf(h.documentId)}/${ordinal}`;
            expect(h.score).toBeCloseTo(want.get(key) ?? Number.NaN, 4);
          }
          for (let i = 1; i < got.hits.length; i++)
            expect(got.hits[i - 1]!.score).toBeGreaterThanOrEqual(got.hits[i]!.score);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('returns the exact best chunks and documents when it stops scoring early (MaxScore)', async () => {
    const denseShareKept = SCORING_LIMITS.denseShare;
    const { docs: docsArb, query } = skewedCorpus(
      [
        'the',
        'kernel',
        'kernel',
        'kernel',
        'kernel',
        'driver',
        'driver',
        'driver',
        'boot',
        'boot',
        'uart',
        'gdt',
      ],
      { minLength: 70, maxLength: 110 },
    );
    await fc.assert(
      fc.asyncProperty(docsArb, query, fc.integer({ min: 1, max: 12 }), async (docs, q, limit) => {
        const s = openSqliteStore({ path: ':memory:' });
        try {
          const { kbId } = await fill(s, docs);
          const options = {
            ...DEFAULT_RANK_OPTIONS,
            feedback: false as const,
            proximity: false as const,
            documentWeight: 0,
          };
          const want = oracle(docs, q, options);
          const chunkScores = [...want.values()].sort((a, b) => b - a).slice(0, limit);
          const perDoc = new Map<string, number>();
          for (const [key, v] of want) {
            const doc = key.split('/')[0] ?? '';
            perDoc.set(doc, Math.max(perDoc.get(doc) ?? 0, v));
          }
          const docScores = [...perDoc.values()].sort((a, b) => b - a).slice(0, limit);
          for (const [perDocument, expected] of [
            [false, chunkScores],
            [true, docScores],
          ] as const) {
            // Scored with a list of the chunks touched, and densely (SCORING_LIMITS): the
            // same hits, scores and count of candidates.
            const runs = [];
            for (const denseShare of [0, Number.POSITIVE_INFINITY]) {
              SCORING_LIMITS.denseShare = denseShare;
              runs.push(await rankChunks(s, { query: q, kbIds: [kbId], limit, perDocument, options }));
            }
            const [sparse, dense] = runs;
            expect(dense?.hits).toEqual(sparse?.hits);
            expect(dense?.candidates).toBe(sparse?.candidates);
            const got = sparse?.hits ?? [];
            expect(got.map((h) => h.score)).toHaveLength(expected.length);
            got.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i] ?? Number.NaN, 4));
          }
        } finally {
          SCORING_LIMITS.denseShare = denseShareKept;
          await s.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  describe('feedback starting its final pass from the first pass', () => {
    // Skewed, so the first pass stops scoring through before its last list and keeps partial
    // scores that its contenders' scores went past.
    const { docs: docsArb, query } = skewedCorpus(
      [
        'the',
        'kernel',
        'kernel',
        'kernel',
        'driver',
        'driver',
        'boot',
        'boot',
        'uart',
        'gdt',
        'flash',
        'timer',
      ],
      { minLength: 60, maxLength: 100 },
    );
    const kept = { ...SCORING_LIMITS };
    afterEach(() => Object.assign(SCORING_LIMITS, kept));
    // Every pass dense, so every first pass keeps its scores.
    beforeEach(() => (SCORING_LIMITS.denseShare = Number.POSITIVE_INFINITY));

    /** The hits, their scores rounded to 9 digits (the two ways add in different orders). */
    const rounded = (r: Awaited<ReturnType<typeof rankChunks>>): [number, number, string][] =>
      r.hits.map((h) => [h.chunkId, h.documentId, h.score.toFixed(9)]);

    it('ranks as scoring every term again', async () => {
      await fc.assert(
        fc.asyncProperty(docsArb, query, fc.integer({ min: 1, max: 12 }), async (docs, q, limit) => {
          const s = openSqliteStore({ path: ':memory:' });
          try {
            const { kbId } = await fill(s, docs);
            for (const perDocument of [false, true]) {
              const request = { query: q, kbIds: [kbId], limit, perDocument };
              SCORING_LIMITS.reuseFirstPass = false;
              const want = await rankChunks(s, request);
              SCORING_LIMITS.reuseFirstPass = true;
              const got = await rankChunks(s, request);
              expect(got.expansion).toEqual(want.expansion);
              expect(rounded(got)).toEqual(rounded(want));
            }
          } finally {
            await s.close();
          }
        }),
        { numRuns: 25 },
      );
    });

    it('ranks each of several concurrent queries as it ranks alone', async () => {
      await fc.assert(
        fc.asyncProperty(docsArb, fc.array(query, { minLength: 2, maxLength: 4 }), async (docs, queries) => {
          const s = openSqliteStore({ path: ':memory:' });
          try {
            const { kbId } = await fill(s, docs);
            const rank = (q: string): ReturnType<typeof rankChunks> =>
              rankChunks(s, { query: q, kbIds: [kbId], limit: 5 });
            const alone = [];
            for (const q of queries) alone.push(rounded(await rank(q)));
            // Each query's first pass comes before any query's final pass.
            const together = await Promise.all(queries.map(rank));
            expect(together.map(rounded)).toEqual(alone);
          } finally {
            await s.close();
          }
        }),
        { numRuns: 15 },
      );
    });
  });

  it('ranks the same from compact lists, and when cached lists drop their per-field counts', async () => {
    const word = fc.constantFrom(
      'the',
      'kernel',
      'kernel',
      'driver',
      'driver',
      'boot',
      'uart',
      'gdt',
      'timer',
    );
    const text = fc.array(word, { minLength: 1, maxLength: 10 }).map((w) => w.join(' '));
    const docsArb = fc.array(
      fc.record({ title: text, chunks: fc.array(text, { minLength: 1, maxLength: 3 }) }),
      { minLength: 20, maxLength: 60 },
    );
    const query = fc.array(word, { minLength: 1, maxLength: 5 }).map((w) => w.join(' '));
    const kept = CACHE_LIMITS.fieldTfChunks;
    await fc.assert(
      fc.asyncProperty(docsArb, query, async (docs, q) => {
        const plain = openSqliteStore({ path: ':memory:' });
        const compact = openSqliteStore({ path: ':memory:' });
        try {
          const { kbId } = await fill(plain, docs);
          await fill(compact, docs);
          // Compact lists with the ranker's impacts (the lists are read on first use).
          expect(await compactRanking(compact)).toBeGreaterThan(0);
          const want = await rankChunks(plain, { query: q, kbIds: [kbId], limit: 10 });
          CACHE_LIMITS.fieldTfChunks = 0;
          const got = await rankChunks(compact, { query: q, kbIds: [kbId], limit: 10 });
          expect(got).toEqual(want);
        } finally {
          CACHE_LIMITS.fieldTfChunks = kept;
          await plain.close();
          await compact.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('keeps the best chunk of each document unless asked for every chunk', async () => {
    const { kbId, ids } = await fill(store, [
      { title: 'Serial', chunks: ['uart uart uart baud', 'uart once', 'nothing here'] },
      { title: 'Other', chunks: ['uart'] },
    ]);
    const options = { feedback: false as const };
    const perDoc = await rankChunks(store, { query: 'uart', kbIds: [kbId], limit: 10, options });
    expect(perDoc.hits.map((h) => h.documentId)).toEqual([ids[0], ids[1]]);
    const all = await rankChunks(store, {
      query: 'uart',
      kbIds: [kbId],
      limit: 10,
      perDocument: false,
      options,
    });
    expect(all.hits).toHaveLength(3);
    expect(all.hits[0]!.chunkId).toBe(perDoc.hits[0]!.chunkId);
  });

  it('searches only the requested knowledge bases', async () => {
    await fill(store, [{ title: 'A', chunks: ['walrus'] }], 'one');
    const two = await fill(store, [{ title: 'B', chunks: ['walrus walrus'] }], 'two');
    const hits = await rankChunks(store, { query: 'walrus', kbIds: [two.kbId], limit: 10 });
    expect(hits.hits.map((h) => h.documentId)).toEqual(two.ids);
    expect((await rankChunks(store, { query: 'walrus', kbIds: [], limit: 10 })).hits).toHaveLength(2);
  });

  it('applies document filters, even when they reject every over-fetched hit', async () => {
    // 500 strong matches by "Even Author" would fill the over-fetch window; the one weak
    // match by "Odd Author" must still be found.
    const docs: Doc[] = Array.from({ length: 1001 }, (_, i) =>
      i % 2 === 0
        ? { title: 'engine engine', chunks: ['engine engine engine'] }
        : { title: 'x', chunks: ['nothing'] },
    );
    docs[1] = { title: 'weak', chunks: ['engine and many other words that dilute the match'] };
    const { kbId, ids } = await fill(store, docs);
    const odd = await rankChunks(store, {
      query: 'engine',
      kbIds: [kbId],
      limit: 5,
      filter: { author: 'odd' },
    });
    expect(odd.hits.map((h) => h.documentId)).toEqual([ids[1]]);
  });

  it('sees documents written after an earlier query', async () => {
    const { kbId } = await fill(store, [{ title: 'A', chunks: ['alpha'] }]);
    expect((await rankChunks(store, { query: 'beta', kbIds: [kbId], limit: 10 })).hits).toEqual([]);
    const source = (await store.listSources(kbId))[0]!;
    const { id } = await store.upsertDocument({
      kbId,
      sourceId: source.id,
      document: documentInput('late'),
      chunks: [chunkInput(0, 'beta')],
    });
    const after = await rankChunks(store, { query: 'beta', kbIds: [kbId], limit: 10 });
    expect(after.hits.map((h) => h.documentId)).toEqual([id]);
    await store.deleteDocument(id);
    expect((await rankChunks(store, { query: 'beta', kbIds: [kbId], limit: 10 })).hits).toEqual([]);
  });

  it('adds feedback terms from the top documents and can then find documents without a query term', async () => {
    const { kbId, ids } = await fill(store, [
      { title: 'Bootloader', chunks: ['bootloader flash firmware update'] },
      { title: 'Bootloader notes', chunks: ['bootloader firmware signing'] },
      { title: 'Firmware', chunks: ['firmware image layout'] },
      { title: 'Unrelated', chunks: ['garden soil compost'] },
    ]);
    const feedback = { docs: 2, terms: 5, originalWeight: 0.5 };
    const plain = await rankChunks(store, {
      query: 'bootloader',
      kbIds: [kbId],
      limit: 10,
      options: { feedback: false },
    });
    expect(plain.hits.map((h) => h.documentId)).not.toContain(ids[2]);
    const expanded = await rankChunks(store, {
      query: 'bootloader',
      kbIds: [kbId],
      limit: 10,
      options: { feedback },
    });
    expect(expanded.expansion.map((t) => t.term)).toContain('firmwar');
    expect(expanded.hits.map((h) => h.documentId)).toContain(ids[2]);
    expect(expanded.hits.map((h) => h.documentId)).not.toContain(ids[3]);
  });

  it('returns nothing for a query of unknown words or no words', async () => {
    const { kbId } = await fill(store, [{ title: 'A', chunks: ['alpha'] }]);
    expect((await rankChunks(store, { query: 'zzzz', kbIds: [kbId], limit: 10 })).hits).toEqual([]);
    expect((await rankChunks(store, { query: '!!!', kbIds: [kbId], limit: 10 })).hits).toEqual([]);
  });

  it('skips terms held by too large a share of the chunks, unless nothing else is left', async () => {
    const { kbId } = await fill(store, [
      { title: 'A', chunks: ['common rare'] },
      { title: 'B', chunks: ['common'] },
      { title: 'C', chunks: ['common'] },
    ]);
    const options = { maxChunkShare: 0.5, feedback: false as const };
    const r = await rankChunks(store, { query: 'common rare', kbIds: [kbId], limit: 10, options });
    expect(r.terms).toEqual(['rare']);
    expect(r.hits).toHaveLength(1);
    const only = await rankChunks(store, { query: 'common', kbIds: [kbId], limit: 10, options });
    expect(only.terms).toEqual(['common']);
    expect(only.hits).toHaveLength(3);
  });

  it('keeps the rarest terms of an overlong query', async () => {
    const { kbId } = await fill(store, [
      { title: 'A', chunks: ['common common rare'] },
      { title: 'B', chunks: ['common'] },
    ]);
    const r = await rankChunks(store, {
      query: 'common rare',
      kbIds: [kbId],
      limit: 10,
      options: { maxTerms: 1 },
    });
    expect(r.terms).toEqual(['rare']);
  });

  it('preloads every posting list of a small index, and the longest of a larger one', async () => {
    const docs = [
      { title: 'Serial', chunks: ['uart baud rate', 'kernel boot'] },
      { title: 'Memory', chunks: ['paging tables'] },
    ];
    const { kbId } = await fill(store, docs);
    let lookups = 0;
    let requested: string[] = [];
    const counted: Store = {
      ...store,
      postings: (terms, key, read) => {
        lookups++;
        requested.push(...terms);
        return store.postings(terms, key, read);
      },
    };
    const query = { query: 'uart paging', kbIds: [kbId], limit: 10, options: { feedback: false as const } };
    const cold = await rankChunks(counted, query);
    expect(lookups).toBe(1);

    const warmStore: Store = { ...counted };
    await warmRanking(warmStore, { feedback: false });
    lookups = 0;
    const warm = await rankChunks(warmStore, query);
    expect(lookups).toBe(0);
    expect(warm.hits).toEqual(cold.hits);

    // Too large to read whole: the lists the store names as the longest are loaded, but
    // for query stop words; the query reads the rest.
    const budgets: number[] = [];
    const tooLarge: Store = {
      ...counted,
      frequentTerms: (maxPostings) => {
        budgets.push(maxPostings);
        return Promise.resolve(['the', 'uart', 'kernel']);
      },
    };
    requested = [];
    await warmRanking(tooLarge, {}, { maxPostings: 3, queries: 0 });
    expect(budgets).toHaveLength(1);
    expect(budgets[0]).toBeGreaterThan(0);
    expect(requested).toEqual(['uart', 'kernel']);
    requested = [];
    expect((await rankChunks(tooLarge, query)).hits).toEqual(cold.hits);
    expect(requested).toEqual(['page']);
  });

  it('evicts the least recently used lists past its bound, never one the query needs', async () => {
    const { kbId } = await fill(store, [
      { title: 'Serial', chunks: ['uart baud rate', 'kernel boot uart'] },
      { title: 'Memory', chunks: ['paging tables kernel'] },
      { title: 'Timers', chunks: ['timer interrupt uart'] },
    ]);
    let requested: string[] = [];
    const counted: Store = {
      ...store,
      postings: (terms, key, read) => {
        requested.push(...terms);
        return store.postings(terms, key, read);
      },
    };
    const ask = async (on: Store, query: string) => {
      requested = [];
      const got = await rankChunks(on, {
        query,
        kbIds: [kbId],
        limit: 10,
        options: { feedback: false },
      });
      return { hits: got.hits, requested: [...requested].sort() };
    };
    const unbounded = await ask(counted, 'uart kernel paging');
    const everything = await ask(counted, 'uart kernel paging timer interrupt baud');
    const kept = CACHE_LIMITS.cachedBytes;
    try {
      // A posting takes 16 bytes (id, impact, four counts): the first query's lists (3 + 2 + 1
      // postings) fit, with the next query's they do not.
      CACHE_LIMITS.cachedBytes = 100;
      // A handle of its own: a ranking cache that starts empty under the small bound.
      const fresh: Store = { ...counted };
      const ask2 = (query: string) => ask(fresh, query);
      expect((await ask2('uart kernel paging')).requested).toEqual(['kernel', 'page', 'uart']);
      expect((await ask2('uart kernel paging')).requested).toEqual([]);
      // Another query's lists push out the least recently used: of the first query's three,
      // all used as recently, the first loaded (uart's) frees enough…
      expect((await ask2('timer interrupt baud')).requested).toEqual(['baud', 'interrupt', 'timer']);
      // …so the first query reads it again, and ranks as before.
      const again = await ask2('uart kernel paging');
      expect(again.requested).toEqual(['uart']);
      expect(again.hits).toEqual(unbounded.hits);
      // A query needing more than the bound keeps every list it needs.
      expect((await ask2('uart kernel paging timer interrupt baud')).hits).toEqual(everything.hits);
    } finally {
      CACHE_LIMITS.cachedBytes = kept;
    }
  });

  it('asks the store about a word the index lacks once per index version', async () => {
    // Two chunks: the whole-document score reads per-field counts (fieldCounts), which an
    // unknown word's empty list must already have.
    const { kbId } = await fill(store, [{ title: 'Serial', chunks: ['uart baud rate', 'uart wiring'] }]);
    const asked: string[][] = [];
    const counted: Store = {
      ...store,
      postings: (terms, key, read) => {
        asked.push([...terms]);
        return store.postings(terms, key, read);
      },
    };
    const query = { query: 'uart zyxwv', kbIds: [kbId], limit: 10, options: { feedback: false as const } };
    const first = await rankChunks(counted, query);
    expect(asked.flat().sort()).toEqual(['uart', 'zyxwv']);
    asked.length = 0;
    expect((await rankChunks(counted, query)).hits).toEqual(first.hits);
    expect(asked).toEqual([]);
    // Once the index changes, the word is looked up again, and found.
    const other = await fill(store, [{ title: 'Odd', chunks: ['zyxwv appears now'] }], 'other');
    const later = await rankChunks(counted, { ...query, kbIds: [kbId, other.kbId] });
    expect(asked.flat()).toContain('zyxwv');
    expect(later.hits.length).toBe(first.hits.length + 1);
  });

  it("runs warm-up queries from the index's own text, within their time budget, and ranks as before", async () => {
    const docs = Array.from({ length: 30 }, (_, i) => ({
      title: `Note ${i}`,
      chunks: [
        `the uart ${i % 3 === 0 ? 'paging' : 'baud'} settings of board ${i} and its kernel console output`,
      ],
    }));
    const { kbId } = await fill(store, docs);
    const queries = ['uart paging', 'kernel console board 7', 'baud'];
    // One at a time, as below: concurrent, a query's final pass may not find its first
    // pass's scores (SCORING_LIMITS.reuseFirstPass), and its scores differ in the last bits.
    const cold = [];
    for (const query of queries) cold.push(await rankChunks(store, { query, kbIds: [kbId], limit: 10 }));

    const warmed = openSqliteStore({ path: ':memory:' });
    const kept = WARM_QUERIES.maxMs;
    try {
      const { ids } = await fill(warmed, docs);
      const summary = await warmRanking(warmed, {}, { queries: 5 });
      expect(summary.queries).toBe(5);
      expect(summary.streams).toBe(30);
      for (const [i, query] of queries.entries())
        expect((await rankChunks(warmed, { query, kbIds: [kbId], limit: 10 })).hits).toEqual(cold[i]?.hits);

      WARM_QUERIES.maxMs = -1;
      expect((await warmRanking(warmed)).queries).toBe(0);
      WARM_QUERIES.maxMs = kept;
      expect((await warmRanking(warmed, {}, { queries: 0 })).queries).toBe(0);
      expect((await warmRanking(warmed, {}, { signal: AbortSignal.abort() })).queries).toBe(0);
      // Holes in the chunk table: the sample skips them, and finds the chunks left.
      for (const id of ids.slice(0, 25)) await warmed.deleteDocument(id);
      const sparse = await warmRanking(warmed, {}, { queries: 5 });
      expect(sparse.queries).toBeGreaterThan(0);
      expect(sparse.queries).toBeLessThanOrEqual(5);
    } finally {
      WARM_QUERIES.maxMs = kept;
      await warmed.close();
    }
    const empty = openSqliteStore({ path: ':memory:' });
    try {
      expect(await warmRanking(empty)).toEqual({ lists: 0, streams: 0, queries: 0 });
    } finally {
      await empty.close();
    }
  });

  it('warms up on short queries, long ones past maxTerms and ones holding a word the index lacks', async () => {
    // Words of one letter pair each, so a chunk of 60 of them holds 60 distinct terms.
    const word = (i: number): string =>
      `w${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`;
    const docs = Array.from({ length: 24 }, (_, d) => ({
      title: `Note ${d}`,
      chunks: [Array.from({ length: 60 }, (_, i) => word((i * 7 + d) % 400)).join(' ')],
    }));
    await fill(store, docs);
    const table = await store.chunkTable();
    const texts = await warmQueryTexts(store, table, 24);
    // One per stretch of the chunk table but the first (id 0 is never a chunk).
    expect(texts).toHaveLength(23);
    const terms = texts.map((t) => new Set(analyzeQuery(t)));
    // Long ones: more terms than a ranking keeps (DEFAULT_RANK_OPTIONS.maxTerms), so the
    // pruning path runs at warm-up; the rest are runs of 4 to 15 words.
    const long = terms.filter((t) => t.size > DEFAULT_RANK_OPTIONS.maxTerms);
    expect(long.length).toBe(2);
    for (const t of terms)
      if (t.size <= DEFAULT_RANK_OPTIONS.maxTerms) expect(t.size).toBeLessThanOrEqual(16);
    // Every third holds a made-up word, a different one each, which the index lacks.
    const unseen = texts.flatMap((t) => t.split(' ').filter((w) => w.startsWith('qxzjv')));
    expect(unseen).toHaveLength(7);
    expect(new Set(unseen).size).toBe(7);
    for (const w of unseen) expect((await store.postings([w])).get(w)?.chunkIds.length).toBe(0);
    expect(unseenWord(0)).toBe('qxzjva');
    expect(unseenWord(25)).toBe('qxzjvz');
    expect(unseenWord(26)).toBe('qxzjvaa');
    expect(new Set(Array.from({ length: 2000 }, (_, i) => unseenWord(i))).size).toBe(2000);
    // Nor does any warm-up text change a ranking (warmRanking's own test), and none is empty.
    expect(texts.every((t) => t.trim().length > 0)).toBe(true);
    expect(await warmQueryTexts(store, table, 0)).toEqual([]);
  });

  it("reads every chunk's text at warm-up for a small index, and none at query time", async () => {
    const docs = [
      { title: 'Serial', chunks: ['uart baud rate settings', 'the kernel boots over the uart'] },
      { title: 'Memory', chunks: ['paging tables map pages', 'uart paging notes'] },
      { title: 'Disks', chunks: ['block devices and uart consoles'] },
    ];
    const { kbId } = await fill(store, docs);
    const reads: number[] = [];
    const counting = (base: Store): Store => ({
      ...base,
      getChunksWithDocuments: (ids) => {
        reads.push(ids.length);
        return base.getChunksWithDocuments(ids);
      },
    });
    const query = { query: 'uart paging', kbIds: [kbId], limit: 10 };
    const cold = await rankChunks(counting(store), query);
    expect(reads.length).toBeGreaterThan(0);

    const small = openSqliteStore({ path: ':memory:' });
    const warmed = counting(small);
    try {
      await fill(small, docs);
      await warmRanking(warmed);
      expect(reads.slice(-1)).toEqual([5]);
      reads.length = 0;
      const warm = await rankChunks(warmed, query);
      expect(reads).toEqual([]);
      expect(warm.hits).toEqual(cold.hits);
      expect(warm.expansion).toEqual(cold.expansion);
    } finally {
      await small.close();
    }

    const kept = CACHE_LIMITS.warmStreamChunks;
    const large = openSqliteStore({ path: ':memory:' });
    try {
      CACHE_LIMITS.warmStreamChunks = 4;
      await fill(large, docs);
      reads.length = 0;
      await warmRanking(counting(large), {}, { queries: 0 });
      expect(reads).toEqual([]);
    } finally {
      CACHE_LIMITS.warmStreamChunks = kept;
      await large.close();
    }
  });
});
