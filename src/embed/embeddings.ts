/**
 * Vectors per knowledge base, kept consistent with the configured embedder:
 * - `withEmbeddings(store, embedder)` wraps a Store so that every document written by
 *   ingest gets its chunks' vectors in the same transaction (computed before the write).
 *   When the embedder fails, the document is written lexically and an embed job is queued:
 *   a document is never lost to a model server being down.
 * - The knowledge base records the model and dimension of its vectors. When the configured
 *   model differs (the user switched models), the knowledge base is marked `embedding` and
 *   an `embed-kb` job re-embeds every chunk with progress; until it is done, retrieval stays
 *   lexical (`denseStatus`), so nothing breaks and search keeps answering.
 */
import { ShelfError } from '../core/errors.js';
import { NO_PROGRESS, SILENT_LOGGER, type Logger, type Progress } from '../core/seams.js';
import type { ChunkInput, DocumentVectors, KnowledgeBase, NewJob, Store } from '../store/store.js';
import type { Embedder } from './embedder.js';

export const EMBED_KB = 'embed-kb';

/** The job that (re-)embeds a knowledge base; one queued or running per knowledge base. */
export function embedJob(kbId: number): NewJob {
  return { kind: EMBED_KB, payload: { kbId }, dedupeKey: `embed:${kbId}` };
}

/** What is embedded for a chunk: the document title and heading path frame the text. */
export function embeddingText(title: string, headingPath: readonly string[], text: string): string {
  const frame = [title, ...headingPath].filter((x) => x.trim() !== '').join(' > ');
  return frame !== '' ? `${frame}\n\n${text}` : text;
}

/** Whether dense retrieval may run for a knowledge base, and why not. */
export type DenseStatus =
  | { readonly usable: true; readonly model: string; readonly dimension: number }
  | { readonly usable: false; readonly reason: string };

/**
 * Dense retrieval is usable when the knowledge base's vectors are complete and come from
 * the configured model. A knowledge base whose model differs gets a re-embedding job.
 */
export async function denseStatus(store: Store, kb: KnowledgeBase, embedder: Embedder): Promise<DenseStatus> {
  const info = kb.embedding;
  if (info?.model === embedder.model && info.state === 'ready')
    return { usable: true, model: info.model, dimension: info.dimension };
  if (info?.model === embedder.model) {
    const c = await store.vectorCounts(kb.id, info.model);
    return {
      usable: false,
      reason: `re-embedding with ${info.model}: ${c.embedded}/${c.chunks} chunks done`,
    };
  }
  await startReembedding(store, kb, embedder);
  return {
    usable: false,
    reason:
      info === undefined
        ? `no vectors yet: embedding queued with ${embedder.model}`
        : `model changed from ${info.model} to ${embedder.model}: re-embedding queued`,
  };
}

/** Marks the knowledge base as embedding with the configured model and queues the job. */
export async function startReembedding(store: Store, kb: KnowledgeBase, embedder: Embedder): Promise<void> {
  if (kb.embedding?.model !== embedder.model || kb.embedding.state !== 'embedding')
    await store.setEmbedding(kb.id, {
      model: embedder.model,
      dimension: kb.embedding?.model === embedder.model ? kb.embedding.dimension : 0,
      state: 'embedding',
    });
  await store.enqueueJob(embedJob(kb.id));
}

export interface EmbedRunOptions {
  readonly store: Store;
  readonly embedder: Embedder;
  readonly kbId: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** Chunks per round trip (default 64). */
  readonly batchSize?: number;
}

export interface EmbedRunResult {
  readonly kb: string;
  readonly model: string;
  readonly dimension: number;
  /** Chunks embedded by this run. */
  readonly embedded: number;
  readonly chunks: number;
}

/**
 * (Re-)embeds every chunk of a knowledge base that has no vector of the configured model,
 * batch by batch (each batch its own transaction, so an interrupted run resumes where it
 * stopped), then marks the knowledge base ready. Vectors of other models are dropped first.
 */
export async function runEmbedding(options: EmbedRunOptions): Promise<EmbedRunResult> {
  const { store, embedder } = options;
  const progress = options.progress ?? NO_PROGRESS;
  const batchSize = options.batchSize ?? 64;
  const kb = await store.getKnowledgeBaseById(options.kbId);
  if (!kb) throw new ShelfError('KB_NOT_FOUND', { name: `#${options.kbId}` });
  const model = embedder.model;
  let dimension = kb.embedding?.model === model ? kb.embedding.dimension : 0;
  if (kb.embedding?.model !== model || kb.embedding.state !== 'embedding')
    await store.setEmbedding(kb.id, { model, dimension, state: 'embedding' });
  await store.deleteVectors(kb.id, model);
  const counts = await store.vectorCounts(kb.id, model);
  progress.total(counts.chunks);
  if (counts.embedded > 0) progress.tick(counts.embedded, 'already embedded');
  let embedded = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const ids = await store.missingVectors(kb.id, model, batchSize);
    if (ids.length === 0) break;
    const rows = await store.getChunksWithDocuments(ids);
    const vectors = await embedder.embed(
      rows.map((r) => embeddingText(r.document.title, r.chunk.headingPath, r.chunk.text)),
      options.signal ? { signal: options.signal } : {},
    );
    const size = vectors[0]?.length ?? 0;
    if (dimension !== 0 && size !== dimension) {
      // Same model name, new dimension (the server swapped the model): start over.
      await store.deleteVectors(kb.id);
      embedded = 0;
    }
    dimension = size;
    await store.putVectors(
      model,
      rows.map((r, i) => ({ chunkId: r.chunk.id, vector: vectors[i] ?? new Float32Array(size) })),
    );
    embedded += rows.length;
    progress.tick(rows.length, `${rows[rows.length - 1]?.document.title ?? ''}`);
    // Chunks that vanished between the listing and the read would be listed again forever.
    if (rows.length === 0) break;
  }
  await store.setEmbedding(kb.id, { model, dimension, state: 'ready' });
  const after = await store.vectorCounts(kb.id, model);
  return { kb: kb.name, model, dimension, embedded, chunks: after.chunks };
}

type UpsertInput = Parameters<Store['upsertDocument']>[0];

/**
 * A Store whose document writes carry vectors from `embedder` (see the module header).
 * Everything else passes through to `store`.
 */
export function withEmbeddings(store: Store, embedder: Embedder, options: { logger?: Logger } = {}): Store {
  const logger = options.logger ?? SILENT_LOGGER;

  /** Vectors for these documents, or undefined when the embedder failed (a job is queued). */
  const vectorsFor = async (inputs: readonly UpsertInput[]): Promise<(DocumentVectors | undefined)[]> => {
    const todo = inputs.filter((i) => i.vectors === undefined && i.chunks.length > 0);
    if (todo.length === 0) return inputs.map((i) => i.vectors);
    const kbIds = [...new Set(todo.map((i) => i.kbId))];
    for (const kbId of kbIds) await prepareKb(kbId);
    const texts = todo.flatMap((i) =>
      i.chunks.map((c: ChunkInput) => embeddingText(i.document.title, c.headingPath, c.text)),
    );
    let vectors: Float32Array[];
    try {
      vectors = await embedder.embed(texts);
    } catch (e) {
      logger.warn('embedding failed; documents stored for lexical search, embed job queued', {
        error: e instanceof Error ? e.message : String(e),
      });
      for (const kbId of kbIds) await store.enqueueJob(embedJob(kbId));
      return inputs.map((i) => i.vectors);
    }
    let at = 0;
    const byInput = new Map<UpsertInput, DocumentVectors>();
    for (const i of todo) {
      byInput.set(i, { model: embedder.model, values: vectors.slice(at, at + i.chunks.length) });
      at += i.chunks.length;
    }
    const dimension = vectors[0]?.length ?? 0;
    for (const kbId of kbIds) await recordDimension(kbId, dimension);
    return inputs.map((i) => i.vectors ?? byInput.get(i));
  };

  /** Before the first vectors of a knowledge base: record the model, queue work for older chunks. */
  const prepareKb = async (kbId: number): Promise<void> => {
    const kb = await store.getKnowledgeBaseById(kbId);
    if (!kb || kb.embedding?.model === embedder.model) return;
    const { chunks } = await store.vectorCounts(kbId, embedder.model);
    if (chunks === 0 && kb.embedding === undefined)
      await store.setEmbedding(kbId, { model: embedder.model, dimension: 0, state: 'ready' });
    else await startReembedding(store, kb, embedder);
  };

  const recordDimension = async (kbId: number, dimension: number): Promise<void> => {
    const kb = await store.getKnowledgeBaseById(kbId);
    if (kb?.embedding?.model === embedder.model && kb.embedding.dimension !== dimension) {
      if (kb.embedding.dimension !== 0) {
        // The server changed the model's dimension under the same name: re-embed all.
        await store.deleteVectors(kbId);
        await store.setEmbedding(kbId, { model: embedder.model, dimension, state: 'embedding' });
        await store.enqueueJob(embedJob(kbId));
      } else await store.setEmbedding(kbId, { ...kb.embedding, dimension });
    }
  };

  return {
    ...store,
    async upsertDocument(input) {
      const [vectors] = await vectorsFor([input]);
      return store.upsertDocument(vectors ? { ...input, vectors } : input);
    },
    async upsertDocuments(inputs) {
      const vectors = await vectorsFor(inputs);
      return store.upsertDocuments(
        inputs.map((input, i) => {
          const v = vectors[i];
          return v ? { ...input, vectors: v } : input;
        }),
      );
    },
  };
}
