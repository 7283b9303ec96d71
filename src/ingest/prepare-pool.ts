/**
 * Chunking and analysis on a second thread. Preparing a document's chunks is about a
 * third of ingest's CPU and the store transaction the rest; both ran one after the other
 * on the main thread. With a worker thread, documents are prepared ahead while the main
 * thread writes the ones before them, still one transaction per document and in order
 * (preparedInOrder), or a whole batch ahead for writers of many documents per transaction
 * (preparedBatches). A small input (one PDF, a short feed) is prepared inline: starting the worker and
 * loading the analyser there costs more than it saves.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkOptions } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import { ShelfError, type Details, type ErrorCode } from '../core/errors.js';
import type { ChunkInput } from '../store/store.js';
import { prepareChunks } from './prepare.js';

/** What to prepare for one document. */
export interface PrepareItem {
  readonly doc: ParsedDocument;
  readonly tags: readonly string[];
  readonly options: ChunkOptions;
}

/** One document's chunks, exactly as `prepareChunks` gives them, or what it threw. */
export type Prepared = ChunkInput[] | Error;

/** Prepares documents' chunks, a batch at a time. */
export interface ChunkPreparer {
  /** Each item's chunks or error, in the order given. */
  prepare(items: readonly PrepareItem[]): Promise<Prepared[]>;
  /** True while batches go to the worker thread. */
  readonly threaded: boolean;
  /** Stops the worker; batches still open are dropped (their promises reject). */
  close(): Promise<void>;
}

export interface PrepareRequest {
  readonly id: number;
  readonly items: readonly PrepareItem[];
}

/** An error as it crosses threads: a ShelfError keeps its code and details. */
export interface SentError {
  readonly code?: ErrorCode;
  readonly details?: Details;
  readonly message: string;
}

export interface PrepareReply {
  readonly id: number;
  readonly results: readonly ({ readonly chunks: ChunkInput[] } | { readonly error: SentError })[];
}

/** Below this many documents to prepare, the worker's start-up (~50 ms) outweighs the overlap. */
export const WORKER_MIN_DOCUMENTS = 64;

/**
 * Documents per message to the worker. A message costs tens of microseconds on each side
 * (serialising, waking the other thread), as much as analysing a short document; batches
 * spread that over many.
 */
export const PREPARE_BATCH = 16;

/** Documents in preparation ahead of the one being handled, at most (bounds memory). */
export const PREPARE_AHEAD = 4 * PREPARE_BATCH;

function prepareAll(items: readonly PrepareItem[]): Prepared[] {
  return items.map((i) => {
    try {
      return prepareChunks(i.doc, i.tags, i.options);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  });
}

/** Prepares on the calling thread, at the call. */
export const INLINE_PREPARER: ChunkPreparer = {
  prepare: (items) => Promise.resolve(prepareAll(items)),
  threaded: false,
  close: () => Promise.resolve(),
};

/**
 * A preparer for `documents` documents: a worker thread when there are enough of them and
 * a second core to run it on, else inline. If the worker cannot start or dies, what was
 * sent to it is prepared inline, so a caller never sees the difference but in time.
 */
export function openPreparer(documents: number, start: () => Worker = startWorker): ChunkPreparer {
  if (documents < WORKER_MIN_DOCUMENTS || availableParallelism() < 2) return INLINE_PREPARER;
  try {
    return new WorkerPreparer(start());
  } catch {
    return INLINE_PREPARER;
  }
}

/**
 * Yields each item with its chunks (undefined where `prepare` passed it over: unchanged
 * documents), in order, keeping up to PREPARE_AHEAD items in preparation, in batches of
 * PREPARE_BATCH, while the caller handles the current one: with a worker thread, the next
 * documents are chunked while this one is stored. An item whose preparation failed throws
 * at its turn, after the items before it.
 */
export async function* preparedInOrder<T>(
  preparer: ChunkPreparer,
  items: readonly T[],
  prepare: (item: T) => PrepareItem | undefined,
): AsyncGenerator<readonly [T, ChunkInput[] | undefined]> {
  // Item index → its batch's results and its place in them.
  const ahead = new Map<number, { readonly batch: Promise<Prepared[]>; readonly at: number }>();
  let next = 0;
  // The next batch: up to PREPARE_BATCH documents to prepare, passing over the others.
  const sendBatch = (): void => {
    const batch: PrepareItem[] = [];
    const indexes: number[] = [];
    for (; next < items.length && batch.length < PREPARE_BATCH; next++) {
      const p = prepare(items[next] as T);
      if (p === undefined) continue;
      batch.push(p);
      indexes.push(next);
    }
    if (batch.length === 0) return;
    const results = preparer.prepare(batch);
    // Awaited in turn below; if the caller stops early, the rest are dropped unobserved.
    results.catch(() => undefined);
    indexes.forEach((index, at) => ahead.set(index, { batch: results, at }));
  };
  for (const [i, item] of items.entries()) {
    // Topped up a whole batch at a time, never more than PREPARE_AHEAD past this item.
    while (next < items.length && next - i <= PREPARE_AHEAD - PREPARE_BATCH) sendBatch();
    const pending = ahead.get(i);
    ahead.delete(i);
    if (pending === undefined) {
      yield [item, undefined];
      continue;
    }
    const result = (await pending.batch)[pending.at];
    if (result === undefined || result instanceof Error) throw result ?? new Error('a batch came back short');
    yield [item, result];
  }
}

/**
 * Yields each batch's items with their chunks, in order, with the next batch already sent
 * to be prepared: for bulk writes of many documents per transaction (`shelf eval beir`,
 * bench/scale), where preparedInOrder's few documents ahead would leave the worker idle
 * through each write. `batches` is read one batch ahead, so a caller can draw documents
 * as it goes. A failed preparation throws at its batch's turn, after the batches before.
 */
export async function* preparedBatches<T>(
  preparer: ChunkPreparer,
  batches: Iterable<readonly T[]>,
  prepare: (item: T) => PrepareItem,
): AsyncGenerator<(readonly [T, ChunkInput[]])[]> {
  const send = (items: readonly T[]): { items: readonly T[]; results: Promise<Prepared[]> } => {
    const results = preparer.prepare(items.map(prepare));
    // Awaited in turn below; if the caller stops early, the last one is dropped unobserved.
    results.catch(() => undefined);
    return { items, results };
  };
  const source = batches[Symbol.iterator]();
  const after = (): ReturnType<typeof send> | undefined => {
    const next = source.next();
    return next.done === true ? undefined : send(next.value);
  };
  for (let current = after(); current !== undefined;) {
    const next = after();
    const results = await current.results;
    yield current.items.map((item, i) => {
      const result = results[i];
      if (result === undefined || result instanceof Error)
        throw result ?? new Error('a batch came back short');
      return [item, result] as const;
    });
    current = next;
  }
}

/** Starts prepare-worker (tests pass their own start to see the fallbacks). */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./prepare-worker.js', here));
  // Running from the TypeScript sources (tests, benchmarks through tsx): Node 20 does not
  // hand tsx's loader on to worker threads, so the worker registers it before importing.
  const entry = JSON.stringify(new URL('./prepare-worker.ts', here).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`, {
    eval: true,
  });
}

/** A thrown value as it can cross to another thread. */
export function sendError(e: unknown): SentError {
  if (e instanceof ShelfError) return { code: e.code, details: e.details, message: e.message };
  return { message: e instanceof Error ? e.message : String(e) };
}

function receiveError({ code, details, message }: SentError): Error {
  return code === undefined ? new Error(message) : new ShelfError(code, details ?? {});
}

interface Pending {
  readonly items: readonly PrepareItem[];
  readonly resolve: (results: Prepared[]) => void;
  readonly reject: (error: Error) => void;
}

class WorkerPreparer implements ChunkPreparer {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private working = true;

  constructor(private readonly worker: Worker) {
    // The worker keeps the process alive only while it owes answers.
    worker.unref();
    worker.on('message', (reply: PrepareReply) => this.settle(reply));
    worker.on('error', () => this.fallBack());
    worker.on('exit', () => this.fallBack());
  }

  get threaded(): boolean {
    return this.working;
  }

  prepare(items: readonly PrepareItem[]): Promise<Prepared[]> {
    if (!this.working) return INLINE_PREPARER.prepare(items);
    return new Promise((resolve, reject) => {
      const request: PrepareRequest = { id: this.nextId++, items };
      this.pending.set(request.id, { items, resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.worker.postMessage(request);
      } catch (e) {
        this.pending.delete(request.id);
        if (this.pending.size === 0) this.worker.unref();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  async close(): Promise<void> {
    this.working = false;
    const open = [...this.pending.values()];
    this.pending.clear();
    for (const p of open) p.reject(new Error('the chunk preparer was closed'));
    await this.worker.terminate();
  }

  private settle(reply: PrepareReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    p.resolve(reply.results.map((r) => ('chunks' in r ? r.chunks : receiveError(r.error))));
  }

  /** The worker failed to start or died: prepare what it owed here, and everything after. */
  private fallBack(): void {
    if (!this.working) return;
    this.working = false;
    const open = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const { items, resolve } of open) resolve(prepareAll(items));
  }
}
