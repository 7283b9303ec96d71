import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../ask/ask.js';
import { SYSTEM_CLOCK, type Progress } from '../core/seams.js';
import { startTestModelServer, type TestModelServer } from '../llm/test-server.js';
import { rankChunks } from '../search/rank.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { chunkInput, documentInput } from '../store/store-contract.js';
import type { Store } from '../store/store.js';
import { createOpenAiEmbedder } from './openai-embedder.js';
import { EMBED_KB, runEmbedding, withEmbeddings } from './embeddings.js';

const TEXTS = [
  'The kernel keeps half-open connections in the SYN queue until the handshake completes.',
  'The bootloader reads the firmware image over the UART serial port.',
  'The page table maps virtual pages to physical frames.',
  'A full accept queue makes the kernel drop new connections.',
];

describe('embedding a knowledge base', () => {
  let server: TestModelServer;
  let base: Store;
  let kbId: number;
  let sourceId: number;
  const embedder = (model: string, url = (): string => server.url) =>
    createOpenAiEmbedder({ url: url(), model, batchSize: 8, timeoutMs: 2000, maxRetries: 0 });

  beforeAll(async () => {
    server = await startTestModelServer();
    base = openSqliteStore({ path: ':memory:' });
    kbId = (await base.createKnowledgeBase('default')).id;
    sourceId = (await base.addSource({ kbId, kind: 'directory', location: '/docs' })).id;
  });
  afterAll(async () => {
    await base.close();
    await server.close();
  });

  it('writes vectors with the chunks and records the model and its dimension', async () => {
    const store = withEmbeddings(base, embedder('hash-64'));
    for (const [i, text] of TEXTS.entries())
      await store.upsertDocument({
        kbId,
        sourceId,
        document: documentInput(`d${i}`),
        chunks: [chunkInput(0, text)],
      });
    expect(await base.vectorCounts(kbId, 'hash-64')).toEqual({ chunks: 4, embedded: 4 });
    expect((await base.getKnowledgeBaseById(kbId))?.embedding).toEqual({
      model: 'hash-64',
      dimension: 64,
      state: 'ready',
    });
  });

  it('keeps a document lexically and queues an embed job when the embedder fails', async () => {
    server.failNext({ kind: 'status', status: 500 });
    const store = withEmbeddings(base, embedder('hash-64'));
    const r = await store.upsertDocument({
      kbId,
      sourceId,
      document: documentInput('late'),
      chunks: [chunkInput(0, 'Interrupts arrive through the interrupt descriptor table.')],
    });
    expect(r.outcome).toBe('added');
    expect(await base.vectorCounts(kbId, 'hash-64')).toEqual({ chunks: 5, embedded: 4 });
    const jobs = await base.listJobs({ kind: EMBED_KB, state: 'queued' }, { limit: 10, offset: 0 });
    expect(jobs.items.map((j) => j.payload)).toEqual([{ kbId }]);
    const hits = await rankChunks(base, { query: 'interrupt descriptor table', kbIds: [kbId], limit: 5 });
    const [top] = await base.getChunksWithDocuments(hits.hits.slice(0, 1).map((h) => h.chunkId));
    expect(top?.document.key).toBe('late');
  });

  it('re-embeds with progress after a model switch while asking keeps answering lexically', async () => {
    const next = embedder('hash-96');
    const seen: { done: number; total: number }[] = [];
    let done = 0;
    let total = 0;
    const progress: Progress = {
      total: (n) => {
        total = n;
      },
      tick: (n = 1) => {
        done += n;
        seen.push({ done, total });
      },
    };
    const release = server.gate();
    const job = runEmbedding({ store: base, embedder: next, kbId, progress, batchSize: 2 });
    try {
      // Wait until the job holds the knowledge base (its first batch is held by the gate).
      while ((await base.getKnowledgeBaseById(kbId))?.embedding?.model !== 'hash-96')
        await new Promise((resolve) => setImmediate(resolve));
      // While the embedding server holds the job, questions are answered from the BM25 index.
      const during = await ask(
        { store: base, clock: SYSTEM_CLOCK, embedder: next },
        { question: 'what does the kernel keep in the SYN queue?', kb: 'default' },
      );
      expect(during.citations.length).toBeGreaterThan(0);
      const retrieve = during.trace.stages.find((s) => s.name === 'retrieve');
      expect(String(retrieve?.detail['lexicalOnly'])).toMatch(/re-embedding with hash-96: 0\/5 chunks done/);
      expect((await base.getKnowledgeBaseById(kbId))?.embedding?.state).toBe('embedding');
    } finally {
      release();
    }
    const result = await job;
    expect(result).toMatchObject({ model: 'hash-96', dimension: 96, embedded: 5, chunks: 5 });
    expect(seen.map((s) => s.done)).toEqual([2, 4, 5]);
    expect(seen.every((s) => s.total === 5)).toBe(true);
    expect(await base.vectorCounts(kbId, 'hash-64')).toEqual({ chunks: 5, embedded: 0 });
    const after = await ask(
      { store: base, clock: SYSTEM_CLOCK, embedder: next },
      { question: 'what does the kernel keep in the SYN queue?', kb: 'default' },
    );
    const fused = after.trace.stages.find((s) => s.name === 'retrieve')?.detail['hybrid'] as {
      fused: { ranks: Record<string, number> }[];
    };
    expect(fused.fused[0]?.ranks).toMatchObject({ bm25: 1, dense: 1 });
  });

  it('finds a chunk by meaning that shares no query term, through the dense side', async () => {
    const store = withEmbeddings(base, embedder('hash-96'));
    const hits = await store.searchDense({
      vector: (await embedder('hash-96').embed(['half-open connections handshake']))[0]!,
      model: 'hash-96',
      kbIds: [kbId],
      limit: 1,
    });
    const [top] = await base.getChunksWithDocuments(hits.map((h) => h.chunkId));
    expect(top?.chunk.text).toContain('SYN queue');
  });
});
