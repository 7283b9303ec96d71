/**
 * The store contract: one suite every backend must pass. A backend's test calls
 * `describeStoreContract(name, open)` and lists any case it skips, with the reason.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indexText } from '../text/analyze.js';
import type { ChunkInput, DocumentInput, PostingList, Store } from './store.js';

export type OpenStore = () => Promise<Store>;

export function chunkInput(ordinal: number, text: string, extra: Partial<ChunkInput> = {}): ChunkInput {
  return {
    ordinal,
    headingPath: extra.headingPath ?? [],
    text,
    tokens: Math.ceil(text.length / 4),
    hasCode: false,
    index: { title: indexText(extra.index?.title ?? ''), heading: '', body: indexText(text), tags: '' },
    ...extra,
  };
}

export function documentInput(key: string, extra: Partial<DocumentInput> = {}): DocumentInput {
  return { key, kind: 'article', title: `Doc ${key}`, tags: [], hash: `h-${key}`, ...extra };
}

export function describeStoreContract(name: string, open: OpenStore, skip: readonly string[] = []): void {
  const test = (title: string, fn: () => Promise<void>): void => {
    if (skip.includes(title)) it.skip(title, fn);
    else it(title, fn);
  };

  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const setup = async (): Promise<{ kbId: number; sourceId: number }> => {
      const kb = await store.createKnowledgeBase('default');
      const source = await store.addSource({
        kbId: kb.id,
        kind: 'feed',
        location: 'https://example.org/feed',
      });
      return { kbId: kb.id, sourceId: source.id };
    };

    test('creates, lists and deletes knowledge bases, refusing duplicates', async () => {
      await store.createKnowledgeBase('books');
      await expect(store.createKnowledgeBase('books')).rejects.toMatchObject({ code: 'KB_EXISTS' });
      const kbs = await store.listKnowledgeBases();
      expect(kbs.map((k) => [k.name, k.documentCount])).toEqual([['books', 0]]);
      await store.deleteKnowledgeBase(kbs[0]!.id);
      expect(await store.getKnowledgeBase('books')).toBeUndefined();
    });

    test('adds a document with its chunks and finds it by its terms', async () => {
      const { kbId, sourceId } = await setup();
      const r = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a', { author: 'Nicolas Mesa', tags: ['linux'] }),
        chunks: [
          chunkInput(0, 'Booting a kernel over the UART serial line'),
          chunkInput(1, 'Unrelated words here'),
        ],
      });
      expect(r.outcome).toBe('added');
      const hits = await store.searchLexical({
        terms: indexText('uart kernel').split(' '),
        kbIds: [kbId],
        limit: 10,
      });
      expect(hits).toHaveLength(1);
      const [hit] = await store.getChunksWithDocuments([hits[0]!.chunkId]);
      expect(hit!.chunk.ordinal).toBe(0);
      expect(hit!.document.author).toBe('Nicolas Mesa');
      expect(hit!.document.tags).toEqual(['linux']);
    });

    test('does nothing when the same content is ingested again', async () => {
      const { kbId, sourceId } = await setup();
      const input = { kbId, sourceId, document: documentInput('a'), chunks: [chunkInput(0, 'alpha beta')] };
      const first = await store.upsertDocument(input);
      const again = await store.upsertDocument(input);
      expect(again).toEqual({ id: first.id, outcome: 'unchanged' });
      expect((await store.getChunks(first.id)).map((c) => c.text)).toEqual(['alpha beta']);
    });

    test('replaces the chunks of a changed document and only those', async () => {
      const { kbId, sourceId } = await setup();
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'old words')],
      });
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('b'),
        chunks: [chunkInput(0, 'other text')],
      });
      const r = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a', { hash: 'h-a2' }),
        chunks: [chunkInput(0, 'new words'), chunkInput(1, 'more new words')],
      });
      expect(r.outcome).toBe('updated');
      const old = await store.searchLexical({ terms: ['old'], kbIds: [kbId], limit: 10 });
      expect(old).toEqual([]);
      const fresh = await store.searchLexical({ terms: ['new'], kbIds: [kbId], limit: 10 });
      expect(fresh).toHaveLength(2);
      expect(await store.searchLexical({ terms: ['other'], kbIds: [kbId], limit: 10 })).toHaveLength(1);
      expect(await store.integrityCheck()).toEqual({
        documentsWithoutChunks: 0,
        chunksWithoutIndexRow: 0,
        indexRowsWithoutChunk: 0,
        chunkCountMismatches: 0,
      });
    });

    test('removes a deleted document and a deleted source from every index', async () => {
      const { kbId, sourceId } = await setup();
      const a = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'zebra')],
      });
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('b'),
        chunks: [chunkInput(0, 'yak')],
      });
      await store.deleteDocument(a.id);
      expect(await store.searchLexical({ terms: ['zebra'], kbIds: [], limit: 5 })).toEqual([]);
      await store.deleteSource(sourceId);
      expect(await store.searchLexical({ terms: ['yak'], kbIds: [], limit: 5 })).toEqual([]);
      expect((await store.listDocuments([kbId], {}, { limit: 10, offset: 0 })).total).toBe(0);
      const report = await store.integrityCheck();
      expect(report.indexRowsWithoutChunk).toBe(0);
    });

    test('ranks a title match above a body match', async () => {
      const { kbId, sourceId } = await setup();
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('body'),
        chunks: [
          chunkInput(
            0,
            'a long text that mentions sockets once among many other words of no interest at all',
          ),
        ],
      });
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('title', { title: 'Sockets' }),
        chunks: [
          chunkInput(0, 'a long text about many other words of no interest at all here', {
            index: {
              title: indexText('Sockets'),
              heading: '',
              body: indexText('a long text about many other words'),
              tags: '',
            },
          }),
        ],
      });
      const hits = await store.searchLexical({ terms: ['socket'], kbIds: [kbId], limit: 5 });
      const docs = await store.getChunksWithDocuments(hits.map((h) => h.chunkId));
      expect(docs.map((d) => d.document.key)).toEqual(['title', 'body']);
    });

    test('filters documents by author, tag, date and source, with totals and paging', async () => {
      const { kbId, sourceId } = await setup();
      const other = await store.addSource({ kbId, kind: 'markdown', location: '/notes' });
      for (let i = 0; i < 5; i++)
        await store.upsertDocument({
          kbId,
          sourceId: i < 3 ? sourceId : other.id,
          document: documentInput(`d${i}`, {
            author: i % 2 === 0 ? 'Douglas Makey' : 'Nicolas Mesa',
            tags: i === 1 ? ['Rust'] : [],
            published: `2024-0${i + 1}-01T00:00:00.000Z`,
          }),
          chunks: [chunkInput(0, `shared word number ${i}`)],
        });
      const page = (filter: object) => store.listDocuments([kbId], filter, { limit: 2, offset: 0 });
      expect((await page({ author: 'douglas' })).total).toBe(3);
      expect((await page({ tag: 'rust' })).items.map((d) => d.key)).toEqual(['d1']);
      expect((await page({ since: '2024-04-01' })).items.map((d) => d.key)).toEqual(['d4', 'd3']);
      expect((await page({ sourceId: other.id })).total).toBe(2);
      const second = await store.listDocuments([kbId], {}, { limit: 2, offset: 2 });
      expect([second.total, second.items.map((d) => d.key)]).toEqual([5, ['d2', 'd1']]);
      const hits = await store.searchLexical({
        terms: ['share'],
        kbIds: [kbId],
        filter: { author: 'mesa' },
        limit: 10,
      });
      expect(hits).toHaveLength(2);
      expect((await store.listAuthors([kbId]))[0]).toEqual({ name: 'Douglas Makey', documents: 3 });
    });

    test('keeps knowledge bases apart in search', async () => {
      const { kbId, sourceId } = await setup();
      const kb2 = await store.createKnowledgeBase('second');
      const s2 = await store.addSource({ kbId: kb2.id, kind: 'text', location: '/x' });
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'penguin')],
      });
      await store.upsertDocument({
        kbId: kb2.id,
        sourceId: s2.id,
        document: documentInput('b'),
        chunks: [chunkInput(0, 'penguin')],
      });
      expect(await store.searchLexical({ terms: ['penguin'], kbIds: [kb2.id], limit: 5 })).toHaveLength(1);
      expect(await store.searchLexical({ terms: ['penguin'], kbIds: [], limit: 5 })).toHaveLength(2);
    });

    test('removes the documents of files gone from a directory source', async () => {
      const { kbId, sourceId } = await setup();
      for (const k of ['a', 'b', 'c'])
        await store.upsertDocument({
          kbId,
          sourceId,
          document: documentInput(k),
          chunks: [chunkInput(0, k + ' text')],
        });
      expect(await store.deleteDocumentsExcept(sourceId, ['a', 'c'])).toBe(1);
      expect([...(await store.documentHashes(sourceId)).keys()].sort()).toEqual(['a', 'c']);
    });

    test('reports document frequencies of terms', async () => {
      const { kbId, sourceId } = await setup();
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'common rare'), chunkInput(1, 'common')],
      });
      const stats = await store.termStats(['common', 'rare', 'absent'], [kbId]);
      expect(stats.chunkCount).toBe(2);
      expect([...stats.df]).toEqual([
        ['common', 2],
        ['rare', 1],
        ['absent', 0],
      ]);
    });

    test('updates source sync state', async () => {
      const { sourceId } = await setup();
      await store.updateSource(sourceId, {
        etag: '"v1"',
        lastModified: 'Tue, 01 Oct 2024 00:00:00 GMT',
        lastError: 'x',
      });
      await store.updateSource(sourceId, { lastError: null });
      const s = await store.getSource(sourceId);
      expect([s!.etag, s!.lastModified, s!.lastError]).toEqual([
        '"v1"',
        'Tue, 01 Oct 2024 00:00:00 GMT',
        undefined,
      ]);
    });

    test('gives posting lists with per-field counts and every chunk in the chunk table', async () => {
      const { kbId, sourceId } = await setup();
      const a = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [
          chunkInput(0, 'walrus walrus seal', {
            index: { title: 'walrus', heading: '', body: indexText('walrus walrus seal'), tags: '' },
          }),
          chunkInput(1, 'seal only'),
        ],
      });
      const chunks = await store.getChunks(a.id);
      const [first, second] = [chunks[0]!.id, chunks[1]!.id];
      const lists = await store.postings(['walrus', 'seal', 'absent']);
      const walrus = lists.get('walrus')!;
      expect([...walrus.chunkIds]).toEqual([first]);
      // Title "walrus" once, body "walrus walrus seal" twice.
      expect([...walrus.fieldTf]).toEqual([1, 0, 2, 0]);
      expect([...lists.get('seal')!.chunkIds]).toEqual([first, second].sort((x, y) => x - y));
      expect(lists.get('absent')!.chunkIds).toHaveLength(0);
      const df = await store.documentFrequencies(['walrus', 'seal', 'absent']);
      expect([...df]).toEqual([
        ['walrus', 1],
        ['seal', 2],
        ['absent', 0],
      ]);
      const all = await store.allPostings(100);
      // The second chunk's default index is its text: "seal only".
      expect(all && [...all.keys()].sort()).toEqual(['onli', 'seal', 'walrus']);
      expect(all?.get('walrus')).toEqual(walrus);
      expect([...(all?.get('seal')?.chunkIds ?? [])]).toEqual([...lists.get('seal')!.chunkIds]);
      // Four postings in all: walrus once, seal twice, onli once.
      expect(await store.allPostings(4)).toBeDefined();
      expect(await store.allPostings(3)).toBeUndefined();
      // The longest lists first, within the budget (a list too long for what is left is
      // passed over for shorter ones); where the store counts them from its compact lists,
      // once those are written.
      await store.compactPostings();
      expect(await store.frequentTerms(4)).toEqual(['seal', 'onli', 'walrus']);
      expect(await store.frequentTerms(3)).toEqual(['seal', 'onli']);
      expect(await store.frequentTerms(1)).toEqual(['onli']);
      expect(await store.frequentTerms(0)).toEqual([]);
      const table = await store.chunkTable();
      expect(table.chunkCount).toBe(2);
      expect(table.documentId[first]).toBe(a.id);
      expect(table.kbId[second]).toBe(kbId);
      expect([...table.fieldLengths.subarray(first * 4, first * 4 + 4)]).toEqual([1, 0, 3, 0]);
      expect([...table.fieldLengths.subarray(second * 4, second * 4 + 4)]).toEqual([0, 0, 2, 0]);
    });

    test('gives the same posting lists after compactPostings, and after changes made since', async () => {
      const { kbId, sourceId } = await setup();
      const write = (key: string, texts: string[], hash = `h-${key}`) =>
        store.upsertDocument({
          kbId,
          sourceId,
          document: documentInput(key, { hash }),
          chunks: texts.map((t, i) => chunkInput(i, t)),
        });
      const a = await write('a', ['walrus seal seal', 'seal only']);
      const b = await write('b', ['walrus heron']);
      await write('c', ['heron ibis', 'ibis walrus ibis']);
      const terms = ['walrus', 'seal', 'heron', 'ibis', 'onli', 'otter', 'absent'];
      const snapshot = async (): Promise<Record<string, [number[], number[]]>> => {
        const lists = await store.postings(terms);
        const all = (await store.allPostings(1000)) ?? new Map<string, PostingList>();
        const out: Record<string, [number[], number[]]> = {};
        for (const t of terms) {
          const list = lists.get(t)!;
          out[t] = [[...list.chunkIds], [...list.fieldTf]];
          const fromAll = all.get(t);
          expect([[...(fromAll?.chunkIds ?? [])], [...(fromAll?.fieldTf ?? [])]]).toEqual(out[t]);
        }
        return out;
      };
      const before = await snapshot();
      expect(await store.compactPostings()).toBeGreaterThanOrEqual(0);
      expect(await snapshot()).toEqual(before);
      // Current: nothing to write again.
      expect(await store.compactPostings()).toBe(0);
      // Replacing the last document reuses its chunk ids on SQLite; a new document adds some,
      // a deleted one leaves holes: every list stays what the full-text index says.
      await write('c', ['otter ibis'], 'h-c2');
      await write('d', ['otter walrus walrus']);
      await store.deleteDocument(a.id);
      const changed = await snapshot();
      expect(changed.seal).toEqual([[], []]);
      expect(changed.otter?.[0]).toHaveLength(2);
      expect(changed.walrus?.[0]).toHaveLength(2);
      await store.compactPostings();
      expect(await snapshot()).toEqual(changed);
      await store.deleteDocument(b.id);
      const fewer = await snapshot();
      expect(fewer.heron).toEqual([[], []]);
      expect(fewer.walrus?.[0]).toHaveLength(1);
    });

    test('changes the index version on every write and keeps it between reads', async () => {
      const { kbId, sourceId } = await setup();
      const before = await store.indexVersion();
      expect(await store.indexVersion()).toBe(before);
      const a = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'otter')],
      });
      const added = await store.indexVersion();
      expect(added).not.toBe(before);
      await store.deleteDocument(a.id);
      expect(await store.indexVersion()).not.toBe(added);
      expect((await store.postings(['otter'])).get('otter')!.chunkIds).toHaveLength(0);
    });

    test('filters chunks by their documents', async () => {
      const { kbId, sourceId } = await setup();
      const a = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a', { author: 'Ada Lovelace' }),
        chunks: [chunkInput(0, 'engine')],
      });
      const b = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('b', { author: 'Charles Babbage' }),
        chunks: [chunkInput(0, 'engine')],
      });
      const ids = [...(await store.getChunks(a.id)), ...(await store.getChunks(b.id))].map((c) => c.id);
      const kept = await store.filterChunks(ids, { author: 'lovelace' });
      expect([...kept]).toEqual([ids[0]]);
      expect(await store.filterChunks([], { author: 'x' })).toEqual(new Set());
    });

    test('queues jobs once per dedupe key and lists them newest first', async () => {
      const first = await store.enqueueJob({ kind: 'sync', payload: { sourceId: 1 }, dedupeKey: 'source:1' });
      expect(first.created).toBe(true);
      expect(first.job).toMatchObject({
        state: 'queued',
        attempts: 0,
        maxAttempts: 3,
        payload: { sourceId: 1 },
      });
      const again = await store.enqueueJob({ kind: 'sync', payload: { sourceId: 1 }, dedupeKey: 'source:1' });
      expect(again).toMatchObject({ created: false, job: { id: first.job.id } });
      const other = await store.enqueueJob({ kind: 'ingest', payload: {}, maxAttempts: 1 });
      const page = await store.listJobs({}, { limit: 10, offset: 0 });
      expect(page.total).toBe(2);
      expect(page.items.map((j) => j.id)).toEqual([other.job.id, first.job.id]);
      expect((await store.listJobs({ kind: 'ingest' }, { limit: 10, offset: 0 })).total).toBe(1);
      expect(await store.getJob(9999)).toBeUndefined();
    });

    test('claims each due job once, with a lease only its owner can renew or finish', async () => {
      const { job } = await store.enqueueJob({ kind: 'sync', payload: {}, dedupeKey: 'k' });
      const claimed = await store.claimJob('w1', 60_000);
      expect(claimed).toMatchObject({ id: job.id, state: 'running', attempts: 1, leaseOwner: 'w1' });
      expect(await store.claimJob('w2', 60_000)).toBeUndefined();
      expect(await store.heartbeatJob(job.id, 'w2', 60_000)).toBe(false);
      expect(await store.heartbeatJob(job.id, 'w1', 60_000, { done: 2, total: 5, label: 'b' })).toBe(true);
      expect((await store.getJob(job.id))?.progress).toEqual({ done: 2, total: 5, label: 'b' });
      expect(await store.completeJob(job.id, 'w2', {})).toBe(false);
      expect(await store.completeJob(job.id, 'w1', { added: 3 })).toBe(true);
      const done = await store.getJob(job.id);
      expect(done).toMatchObject({ state: 'succeeded', result: { added: 3 } });
      expect(done?.leaseOwner).toBeUndefined();
      expect(done?.finishedAt).toBeDefined();
      // The key is free again once the job has finished.
      expect((await store.enqueueJob({ kind: 'sync', payload: {}, dedupeKey: 'k' })).created).toBe(true);
    });

    test('retries a failed attempt at its retry time and fails for good without one', async () => {
      const { job } = await store.enqueueJob({ kind: 'sync', payload: {}, maxAttempts: 2 });
      await store.claimJob('w1', 60_000);
      const error = { code: 'FETCH_FAILED', message: 'down' };
      expect(await store.failJob(job.id, 'w1', error, '2999-01-01T00:00:00.000Z')).toBe(true);
      expect(await store.getJob(job.id)).toMatchObject({
        state: 'queued',
        error,
        runAt: '2999-01-01T00:00:00.000Z',
      });
      // Not due yet: nothing to claim.
      expect(await store.claimJob('w1', 60_000)).toBeUndefined();
      const { job: second } = await store.enqueueJob({ kind: 'sync', payload: {} });
      await store.claimJob('w1', 60_000);
      expect(await store.failJob(second.id, 'w1', error)).toBe(true);
      expect(await store.getJob(second.id)).toMatchObject({ state: 'failed', error, attempts: 1 });
    });

    test('hands a job whose lease ran out to another worker, and fails it after its last attempt', async () => {
      const { job } = await store.enqueueJob({ kind: 'sync', payload: {}, maxAttempts: 2 });
      // A negative lease is one that has already run out: the worker died.
      await store.claimJob('dead', -1000);
      const retaken = await store.claimJob('alive', -1000);
      expect(retaken).toMatchObject({ id: job.id, leaseOwner: 'alive', attempts: 2 });
      expect(await store.completeJob(job.id, 'dead', {})).toBe(false);
      expect(await store.claimJob('third', 60_000)).toBeUndefined();
      expect(await store.getJob(job.id)).toMatchObject({ state: 'failed', attempts: 2 });
    });

    test('stores API keys by hash and revokes them', async () => {
      const key = await store.createApiKey({ name: 'ci', prefix: 'shelf_ab', hash: 'a'.repeat(64) });
      expect(key).toMatchObject({ name: 'ci', prefix: 'shelf_ab' });
      expect(await store.findApiKey('a'.repeat(64))).toEqual(key);
      expect(await store.findApiKey('b'.repeat(64))).toBeUndefined();
      expect(await store.revokeApiKey(key.id)).toBe(true);
      const revoked = await store.findApiKey('a'.repeat(64));
      expect(revoked?.revokedAt).toBeDefined();
      expect(await store.revokeApiKey(key.id)).toBe(true);
      expect((await store.findApiKey('a'.repeat(64)))?.revokedAt).toBe(revoked?.revokedAt);
      expect(await store.revokeApiKey(9999)).toBe(false);
      expect((await store.listApiKeys()).map((k) => k.id)).toEqual([key.id]);
    });

    test('writes a batch of documents in one call, and none of it when one fails', async () => {
      const { kbId, sourceId } = await setup();
      const results = await store.upsertDocuments([
        { kbId, sourceId, document: documentInput('a'), chunks: [chunkInput(0, 'heron')] },
        { kbId, sourceId, document: documentInput('b'), chunks: [chunkInput(0, 'heron egret')] },
      ]);
      expect(results.map((r) => r.outcome)).toEqual(['added', 'added']);
      expect((await store.postings(['heron'])).get('heron')!.chunkIds).toHaveLength(2);
      const again = await store.upsertDocuments([
        { kbId, sourceId, document: documentInput('a'), chunks: [chunkInput(0, 'heron')] },
      ]);
      expect(again).toEqual([{ id: results[0]!.id, outcome: 'unchanged' }]);
      // The second item names a source that does not exist: the first must not stay written.
      await expect(
        store.upsertDocuments([
          { kbId, sourceId, document: documentInput('c'), chunks: [chunkInput(0, 'ibis')] },
          { kbId, sourceId: 999_999, document: documentInput('d'), chunks: [chunkInput(0, 'ibis')] },
        ]),
      ).rejects.toBeDefined();
      expect((await store.postings(['ibis'])).get('ibis')!.chunkIds).toHaveLength(0);
      expect((await store.listDocuments([kbId], {}, { limit: 10, offset: 0 })).total).toBe(2);
    });

    const unit = (...xs: number[]): Float32Array => {
      const n = Math.hypot(...xs);
      return new Float32Array(xs.map((x) => x / n));
    };

    test('writes vectors with the chunks and finds the nearest by cosine, per model and filter', async () => {
      const { kbId, sourceId } = await setup();
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a', { author: 'Ada' }),
        chunks: [chunkInput(0, 'east'), chunkInput(1, 'north')],
        vectors: { model: 'm1', values: [unit(1, 0, 0), unit(0, 1, 0)] },
      });
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('b', { author: 'Bob' }),
        chunks: [chunkInput(0, 'north-east')],
        vectors: { model: 'm1', values: [unit(1, 1, 0)] },
      });
      const hits = await store.searchDense({ vector: unit(1, 0.1, 0), model: 'm1', kbIds: [kbId], limit: 3 });
      const texts = (await store.getChunksWithDocuments(hits.map((h) => h.chunkId))).map((c) => c.chunk.text);
      expect(texts).toEqual(['east', 'north-east', 'north']);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
      expect(
        await store.searchDense({ vector: unit(1, 0, 0), model: 'other', kbIds: [kbId], limit: 3 }),
      ).toEqual([]);
      const bob = await store.searchDense({
        vector: unit(1, 0, 0),
        model: 'm1',
        kbIds: [kbId],
        filter: { author: 'bob' },
        limit: 3,
      });
      expect(bob).toHaveLength(1);
      expect(await store.vectorCounts(kbId, 'm1')).toEqual({ chunks: 3, embedded: 3 });
    });

    test("drops a document's vectors with its chunks, and refuses vectors that do not match the chunks", async () => {
      const { kbId, sourceId } = await setup();
      const { id } = await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'east')],
        vectors: { model: 'm1', values: [unit(1, 0)] },
      });
      await expect(
        store.upsertDocument({
          kbId,
          sourceId,
          document: documentInput('b'),
          chunks: [chunkInput(0, 'x'), chunkInput(1, 'y')],
          vectors: { model: 'm1', values: [unit(1, 0)] },
        }),
      ).rejects.toBeDefined();
      expect((await store.listDocuments([kbId], {}, { limit: 10, offset: 0 })).total).toBe(1);
      await store.deleteDocument(id);
      expect(await store.vectorCounts(kbId, 'm1')).toEqual({ chunks: 0, embedded: 0 });
    });

    test('records the embedding model and replaces vectors model by model', async () => {
      const { kbId, sourceId } = await setup();
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput('a'),
        chunks: [chunkInput(0, 'one'), chunkInput(1, 'two')],
        vectors: { model: 'm1', values: [unit(1, 0), unit(0, 1)] },
      });
      await store.setEmbedding(kbId, { model: 'm2', dimension: 3, state: 'embedding' });
      expect((await store.getKnowledgeBase('default'))!.embedding).toEqual({
        model: 'm2',
        dimension: 3,
        state: 'embedding',
      });
      const missing = await store.missingVectors(kbId, 'm2', 10);
      expect(missing).toHaveLength(2);
      expect(await store.putVectors('m2', [{ chunkId: missing[0]!, vector: unit(1, 0, 0) }])).toBe(1);
      expect(await store.missingVectors(kbId, 'm2', 10)).toEqual([missing[1]]);
      expect(await store.deleteVectors(kbId, 'm2')).toBe(1);
      expect(await store.vectorCounts(kbId, 'm2')).toEqual({ chunks: 2, embedded: 1 });
      await store.setEmbedding(kbId, null);
      expect((await store.getKnowledgeBase('default'))!.embedding).toBeUndefined();
      expect((await store.getKnowledgeBaseById(kbId))!.name).toBe('default');
      expect(await store.getKnowledgeBaseById(kbId + 1000)).toBeUndefined();
    });
  });
}
