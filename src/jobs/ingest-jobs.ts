/**
 * Job kinds for ingestion: `add-source` (add an input to a knowledge base and ingest it)
 * and `sync-source` (refresh one source). Both return the ingest SyncReport as the job's
 * result. A sync that failed as a whole (the feed could not be fetched or parsed) is a
 * failed attempt, retried when its error may pass; failures of single files inside a
 * directory are part of a successful report.
 */
import { MESSAGES, ShelfError, toShelfError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import { EMBED_KB, runEmbedding } from '../embed/embeddings.js';
import { embedderFromConfig } from '../embed/openai-embedder.js';
import { addSource, syncSource, type IngestContext, type SyncReport } from '../ingest/ingest.js';
import { removeUpload, uploadsDir } from '../ingest/uploads.js';
import type { JobRecord, NewJob, SourceOptions, Store } from '../store/store.js';
import { RETRYABLE_KINDS, type JobHandler, type JobOutcome } from './worker.js';

export const ADD_SOURCE = 'add-source';
export const SYNC_SOURCE = 'sync-source';

export interface AddSourcePayload {
  /** Knowledge base name. */
  readonly kb: string;
  /** An absolute path (already checked against the server roots) or an http(s) URL. */
  readonly location: string;
  readonly options?: SourceOptions;
  readonly refreshIntervalS?: number;
}

export interface SyncSourcePayload {
  readonly sourceId: number;
}

export function addSourceJob(payload: AddSourcePayload): NewJob {
  return { kind: ADD_SOURCE, payload: { ...payload }, dedupeKey: `add:${payload.kb}:${payload.location}` };
}

export function syncSourceJob(sourceId: number): NewJob {
  return { kind: SYNC_SOURCE, payload: { sourceId }, dedupeKey: `sync:${sourceId}` };
}

/**
 * The ingest context a job runs with: everything but progress and the abort signal; the
 * embedder for `embed-kb` jobs (default: the one the configuration names).
 */
export type IngestBase = Omit<IngestContext, 'progress' | 'signal'> & { readonly embedder?: Embedder };

function payloadError(job: JobRecord, detail: string): ShelfError {
  return new ShelfError('INTERNAL', { detail: `job ${job.id} (${job.kind}): ${detail}` });
}

/** A report whose source failed as a whole is a failed attempt; anything else succeeded. */
function outcomeOf(report: SyncReport): JobOutcome {
  const whole = report.errors.find((e) => e.location === report.location);
  if (!whole || report.added + report.updated > 0) return { ok: true, result: report };
  const entry = MESSAGES[whole.code];
  return {
    ok: false,
    error: { code: whole.code, message: whole.message, hint: entry.hint },
    retryable: RETRYABLE_KINDS.has(entry.kind),
  };
}

/** Handlers for the ingestion job kinds, over one store and its seams. */
export function ingestHandlers(base: IngestBase): Record<string, JobHandler> {
  const store: Store = base.store;
  const embedder = base.embedder ?? embedderFromConfig(base.config);
  return {
    /** (Re-)embeds a knowledge base's chunks with the configured model, with progress. */
    [EMBED_KB]: async ({ job, progress, signal }) => {
      const kbId = job.payload.kbId;
      if (typeof kbId !== 'number') throw payloadError(job, 'kbId must be a number');
      if (!embedder)
        throw new ShelfError('MODEL_NOT_CONFIGURED', { service: 'embedding', detail: 'the embed job' });
      const result = await runEmbedding({
        store,
        embedder,
        kbId,
        progress,
        signal,
        batchSize: base.config.embed.batchSize,
      });
      return { ok: true, result };
    },
    [ADD_SOURCE]: async ({ job, progress, signal }) => {
      const p = job.payload;
      if (typeof p.kb !== 'string' || typeof p.location !== 'string')
        throw payloadError(job, 'kb and location must be strings');
      const location = p.location;
      // An uploaded file that will never become a source is deleted (see ingest/uploads.ts).
      const uploads = uploadsDir(base.config.home);
      const kb = await store.getKnowledgeBase(p.kb);
      if (!kb) {
        await removeUpload(uploads, location);
        throw new ShelfError('KB_NOT_FOUND', { name: p.kb });
      }
      const discard = async (): Promise<void> => {
        if (!(await store.findSource(kb.id, location))) await removeUpload(uploads, location);
      };
      let report: SyncReport;
      try {
        report = await addSource(
          { ...base, progress, signal },
          {
            kb,
            location,
            ...(p.options !== undefined ? { options: p.options as SourceOptions } : {}),
            ...(typeof p.refreshIntervalS === 'number' ? { refreshIntervalS: p.refreshIntervalS } : {}),
          },
        );
      } catch (e) {
        // Reading or parsing a new input failed for good (a retry would need the file).
        if (!RETRYABLE_KINDS.has(toShelfError(e).kind)) await discard();
        throw e;
      }
      return outcomeOf(report);
    },
    [SYNC_SOURCE]: async ({ job, progress, signal }) => {
      const id = job.payload.sourceId;
      if (typeof id !== 'number') throw payloadError(job, 'sourceId must be a number');
      const source = await store.getSource(id);
      if (!source) throw new ShelfError('SOURCE_NOT_FOUND', { id });
      const report = await syncSource({ ...base, progress, signal }, source);
      // An abort inside syncSource is recorded as a source error; surface it as one.
      signal.throwIfAborted();
      return outcomeOf(report);
    },
  };
}
