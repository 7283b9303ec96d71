/**
 * Keeps `shelf serve`'s ranking state current while the index changes under it. The compact
 * posting lists are used only while no chunk has been written past them (sqlite/posting-lists.ts),
 * and the ranker drops its in-memory lists at every change of the index, so after a feed
 * sync or an upload every list was read again from the full-text index, at about 1 µs an
 * occurrence (over half a second a query at 1M chunks), until the server was restarted.
 * Once the index has changed and then stayed unchanged for a quiet period, warmRanking runs
 * again: it rewrites the compact lists (in short transactions, while searches go on),
 * preloads the longest lists and runs its warm-up queries. Stopping aborts it, the
 * compaction included, between two of its transactions.
 */
import type { Clock, Logger } from '../core/seams.js';
import { warmRanking, type WarmSummary } from '../search/rank.js';
import type { Store } from '../store/store.js';

export interface RankingUpkeepOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long the index must stay unchanged before the ranking state is rebuilt. */
  readonly quietMs: number;
  /** The index version the ranking state was last built for (at the server's start). */
  readonly warmedVersion?: string;
  /** Default warmRanking (tests pass their own). */
  readonly warm?: (store: Store, signal: AbortSignal) => Promise<WarmSummary>;
}

export interface RankingUpkeep {
  /** Looks at the index once: notes a change, or rebuilds after a quiet period. */
  tick(): Promise<void>;
  /** Stops a rebuild under way (what it loaded stays) and waits for it. */
  stop(): Promise<void>;
}

export function rankingUpkeep(options: RankingUpkeepOptions): RankingUpkeep {
  const { store, clock, logger, quietMs } = options;
  const warm = options.warm ?? ((s: Store, signal: AbortSignal) => warmRanking(s, {}, { signal }));
  const stopping = new AbortController();
  let warmed = options.warmedVersion;
  // The latest version seen, and since when it has been the current one.
  let seen: string | undefined;
  let seenAt = 0;
  let running: Promise<void> | undefined;

  const rebuild = async (version: string): Promise<void> => {
    try {
      const summary = await warm(store, stopping.signal);
      warmed = version;
      if (!stopping.signal.aborted) logger.debug('search index rebuilt after a change', { ...summary });
    } catch (e) {
      // Tried again after the next change; searches meanwhile load what they need. Stopped
      // by stop(): nothing went wrong.
      warmed = version;
      if (!stopping.signal.aborted)
        logger.warn('could not rebuild the search index after a change', { reason: (e as Error).message });
    }
  };

  return {
    async tick() {
      if (running || stopping.signal.aborted) return;
      const version = await store.indexVersion();
      if (version === warmed) return;
      const now = clock.now().getTime();
      if (version !== seen) {
        seen = version;
        seenAt = now;
        return;
      }
      if (now - seenAt < quietMs) return;
      running = rebuild(version).finally(() => (running = undefined));
      await running;
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
