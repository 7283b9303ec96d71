/**
 * Chunking and analysis on a second thread. Preparing a document's chunks is about a
 * third of ingest's CPU and the store transaction the rest; both ran one after the other
 * on the main thread. With a worker thread, documents are prepared ahead while the main
 * thread writes the ones before them, still one transaction per document and in order.
 * A small input (one PDF, a short feed) is prepared inline: starting the worker and
 * loading the analyser there costs more than it saves.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkOptions } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import { ShelfError, type Details, type ErrorCode } from '../core/errors.js';
import type { ChunkInput } from '../store/store.js';
import { prepareChunks } from './prepare.js';

/** Prepares documents' chunks; results are exactly `prepareChunks`'s. */
export interface ChunkPreparer {
  prepare(doc: ParsedDocument, tags: readonly string[], options: ChunkOptions): Promise<ChunkInput[]>;
  /** True while documents go to the worker thread. */
  readonly threaded: boolean;
  /** Stops the worker; requests still open are dropped (their promises reject). */
  close(): Promise<void>;
}

export interface PrepareRequest {
  readonly id: number;
  readonly doc: ParsedDocument;
  readonly tags: readonly string[];
  readonly options: ChunkOptions;
}

export type PrepareReply =
  | { readonly id: number; readonly chunks: ChunkInput[] }
  | {
      readonly id: number;
      readonly error: { readonly code?: ErrorCode; readonly details?: Details; readonly message: string };
    };

/** Below this many documents to prepare, the worker's start-up (~50 ms) outweighs the overlap. */
export const WORKER_MIN_DOCUMENTS = 64;

/** Prepares on the calling thread, at the call. */
export const INLINE_PREPARER: ChunkPreparer = {
  prepare: (doc, tags, options) => Promise.resolve(prepareChunks(doc, tags, options)),
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

/** Documents prepared ahead of the one being handled, at most (bounds memory). */
export const PREPARE_AHEAD = 32;

/** What to prepare for one item: undefined to pass it over (unchanged documents). */
export type PrepareArgs = readonly [doc: ParsedDocument, tags: readonly string[], options: ChunkOptions];

/**
 * Yields each item with its chunks (undefined where `args` passed it over), in order,
 * keeping up to PREPARE_AHEAD items in preparation while the caller handles the current
 * one: with a worker thread, the next documents are chunked while this one is stored.
 */
export async function* preparedInOrder<T>(
  preparer: ChunkPreparer,
  items: readonly T[],
  args: (item: T) => PrepareArgs | undefined,
): AsyncGenerator<readonly [T, ChunkInput[] | undefined]> {
  const ahead = new Map<number, Promise<ChunkInput[]>>();
  let next = 0;
  for (const [i, item] of items.entries()) {
    for (; next < Math.min(i + PREPARE_AHEAD, items.length); next++) {
      const a = args(items[next] as T);
      if (a === undefined) continue;
      const chunks = preparer.prepare(...a);
      // Awaited in turn below; if the caller stops early, the rest are dropped unobserved.
      chunks.catch(() => undefined);
      ahead.set(next, chunks);
    }
    const chunks = ahead.get(i);
    ahead.delete(i);
    yield [item, chunks === undefined ? undefined : await chunks];
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

interface Pending {
  readonly request: PrepareRequest;
  readonly resolve: (chunks: ChunkInput[]) => void;
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

  prepare(doc: ParsedDocument, tags: readonly string[], options: ChunkOptions): Promise<ChunkInput[]> {
    if (!this.working) return INLINE_PREPARER.prepare(doc, tags, options);
    return new Promise((resolve, reject) => {
      const request: PrepareRequest = { id: this.nextId++, doc, tags, options };
      this.pending.set(request.id, { request, resolve, reject });
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
    if ('chunks' in reply) p.resolve(reply.chunks);
    else {
      const { code, details, message } = reply.error;
      p.reject(code === undefined ? new Error(message) : new ShelfError(code, details ?? {}));
    }
  }

  /** The worker failed to start or died: prepare what it owed here, and everything after. */
  private fallBack(): void {
    if (!this.working) return;
    this.working = false;
    const open = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const { request, resolve, reject } of open)
      try {
        resolve(prepareChunks(request.doc, request.tags, request.options));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
  }
}
