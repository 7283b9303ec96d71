/**
 * Feed refresh scheduling: every feed source with a refresh interval is due when its last
 * sync is older than the interval (or it never synced); a due feed gets a `sync-source`
 * job, at most one queued or running per source (the job's dedupe key).
 */
import { SILENT_LOGGER, type Clock, type Logger } from '../core/seams.js';
import type { Store } from '../store/store.js';
import { syncSourceJob } from './ingest-jobs.js';

/** Queues a sync for every due feed; returns the ids of the sources given a new job. */
export async function enqueueDueFeeds(options: { store: Store; clock: Clock }): Promise<number[]> {
  const now = options.clock.now().getTime();
  const queued: number[] = [];
  for (const source of await options.store.listSources()) {
    if (source.kind !== 'feed' || source.refreshIntervalS === undefined) continue;
    const last = source.lastSyncedAt === undefined ? Number.NaN : Date.parse(source.lastSyncedAt);
    const due = Number.isNaN(last) || last + source.refreshIntervalS * 1000 <= now;
    if (!due) continue;
    const { created } = await options.store.enqueueJob(syncSourceJob(source.id));
    if (created) queued.push(source.id);
  }
  return queued;
}

export interface Scheduler {
  stop(): void;
}

/** Checks for due feeds now and every `intervalMs`, waking the worker when it queued some. */
export function startScheduler(options: {
  store: Store;
  clock: Clock;
  intervalMs: number;
  onQueued?: (sourceIds: number[]) => void;
  logger?: Logger;
}): Scheduler {
  const logger = options.logger ?? SILENT_LOGGER;
  let busy = false;
  const check = (): void => {
    if (busy) return;
    busy = true;
    enqueueDueFeeds(options)
      .then((ids) => {
        if (ids.length > 0) {
          logger.info('feeds due for refresh', { sources: ids });
          options.onQueued?.(ids);
        }
      })
      .catch((e: unknown) => logger.warn('feed scheduling failed', { error: String(e) }))
      .finally(() => {
        busy = false;
      });
  };
  check();
  const timer = setInterval(check, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
