/**
 * The job worker: claims jobs from the Store with a lease, runs the handler for each job's
 * kind, renews the lease while it runs (carrying the progress with it), and records the
 * outcome. A failed attempt whose error may pass (a remote or busy failure) is retried with
 * exponential backoff until `maxAttempts`; broken input fails at once.
 *
 * The lease is what makes jobs survive a restart: a job whose worker died stays `running`
 * until its lease runs out, then any worker claims it again. Stopping a worker gracefully
 * aborts its running jobs and queues them again at once.
 */
import { randomUUID } from 'node:crypto';
import { ShelfError, toShelfError, type ErrorKind } from '../core/errors.js';
import { SILENT_LOGGER, type Clock, type Logger, type Progress } from '../core/seams.js';
import type { JobError, JobProgress, JobRecord, Store } from '../store/store.js';

/** What a handler gets: the job, a progress sink recorded on the job, and an abort signal. */
export interface JobContext {
  readonly job: JobRecord;
  readonly progress: Progress;
  readonly signal: AbortSignal;
}

/**
 * A handler's outcome. A handler may also throw: the error goes through the catalogue and
 * is retried when its kind says the failure may pass.
 */
export type JobOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: JobError; readonly retryable: boolean };

export type JobHandler = (ctx: JobContext) => Promise<JobOutcome>;

export interface WorkerOptions {
  readonly store: Store;
  /** Handlers by job kind; a job of another kind fails with INTERNAL. */
  readonly handlers: Readonly<Record<string, JobHandler>>;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Default: a random id per worker. */
  readonly workerId?: string;
  /** How long a claim holds without a heartbeat (default 30 s). */
  readonly leaseMs?: number;
  /** Idle wait between claims when the queue is empty (default 1 s); `wake()` cuts it short. */
  readonly pollMs?: number;
  /** Jobs run at once (default 2). */
  readonly concurrency?: number;
  /** Delay before retry number `attempt` (1-based). Default 2 s × 4^(attempt-1), at most 10 min. */
  readonly backoffMs?: (attempt: number) => number;
}

export interface Worker {
  readonly id: string;
  /** Looks for work now instead of at the next poll. */
  wake(): void;
  /** Stops claiming, aborts running jobs and queues them again; resolves when all have stopped. */
  stop(): Promise<void>;
}

/** Error kinds worth another attempt: the next one may succeed without anyone changing anything. */
export const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['remote', 'unavailable', 'internal']);

export function defaultBackoffMs(attempt: number): number {
  return Math.min(10 * 60_000, 2000 * 4 ** Math.max(0, attempt - 1));
}

/** A thrown error as a failed outcome, retryable when its kind says the failure may pass. */
function failure(e: unknown): JobOutcome {
  const err = toShelfError(e);
  return {
    ok: false,
    error: err.toJSON(),
    retryable: RETRYABLE_KINDS.has(err.kind),
  };
}

export function startWorker(options: WorkerOptions): Worker {
  const { store, handlers, clock } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const id = options.workerId ?? `worker-${randomUUID()}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1000;
  const concurrency = options.concurrency ?? 2;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  // Renew well before the lease runs out; progress rides along with the renewal.
  const heartbeatMs = Math.max(50, Math.min(1000, Math.floor(leaseMs / 3)));

  let stopping = false;
  const running = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let wakeUp: (() => void) | undefined;
  let loop: Promise<void> = Promise.resolve();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const runJob = async (job: JobRecord, abort: AbortController): Promise<void> => {
    let progress: { done: number; total: number; label?: string } = { done: 0, total: 0 };
    let lost = false;
    const beat = async (): Promise<void> => {
      const p: JobProgress = { ...progress };
      if (!(await store.heartbeatJob(job.id, id, leaseMs, p))) {
        // Another worker took the job (our lease ran out): stop working on it.
        lost = true;
        abort.abort();
      }
    };
    const timer = setInterval(() => {
      beat().catch((e: unknown) => logger.warn('job heartbeat failed', { job: job.id, error: String(e) }));
    }, heartbeatMs);
    const sink: Progress = {
      total: (n) => {
        progress = { ...progress, total: n };
      },
      tick: (n = 1, label) => {
        progress = { ...progress, done: progress.done + n, ...(label !== undefined ? { label } : {}) };
      },
    };
    let outcome: JobOutcome;
    try {
      const handler = handlers[job.kind];
      outcome = handler
        ? await handler({ job, progress: sink, signal: abort.signal })
        : failure(new Error(`no handler for job kind "${job.kind}"`));
    } catch (e) {
      outcome = failure(e);
    } finally {
      clearInterval(timer);
    }
    if (lost) return;
    if (abort.signal.aborted && stopping) {
      // Interrupted by a graceful stop: run again as soon as a worker is back.
      const err = new ShelfError('JOB_INTERRUPTED');
      await store.failJob(job.id, id, err.toJSON(), clock.now().toISOString());
      return;
    }
    await beat();
    if (outcome.ok) {
      await store.completeJob(job.id, id, outcome.result);
      logger.info('job succeeded', { job: job.id, kind: job.kind });
      return;
    }
    const retryAt =
      outcome.retryable && job.attempts < job.maxAttempts
        ? new Date(clock.now().getTime() + backoff(job.attempts)).toISOString()
        : undefined;
    await store.failJob(job.id, id, outcome.error, retryAt);
    logger.warn(retryAt ? 'job attempt failed, will retry' : 'job failed', {
      job: job.id,
      kind: job.kind,
      code: outcome.error.code,
      ...(retryAt ? { retryAt } : {}),
    });
  };

  const claimLoop = async (): Promise<void> => {
    while (!stopping) {
      if (running.size >= concurrency) {
        await Promise.race([...running.values()].map((r) => r.done));
        continue;
      }
      let job: JobRecord | undefined;
      try {
        job = await store.claimJob(id, leaseMs);
      } catch (e) {
        logger.warn('job claim failed', { error: String(e) });
      }
      if (!job) {
        await sleep(pollMs);
        continue;
      }
      const claimed = job;
      const abort = new AbortController();
      const done = runJob(claimed, abort)
        .catch((e: unknown) => logger.warn('job bookkeeping failed', { job: claimed.id, error: String(e) }))
        .finally(() => running.delete(claimed.id));
      running.set(claimed.id, { abort, done });
    }
  };
  loop = claimLoop();

  return {
    id,
    wake: () => wakeUp?.(),
    async stop() {
      stopping = true;
      wakeUp?.();
      for (const r of running.values()) r.abort.abort();
      await loop;
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}
