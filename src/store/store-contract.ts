/**
 * The store contract: one suite every backend must pass. A backend's test calls
 * `describeStoreContract(name, open)` and lists any case it skips, with the reason.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indexText } from '../text/analyze.js';
import type { ChunkInput, DocumentInput, Store } from './store.js';

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
  });
}
