/**
 * Keeps `shelf serve`'s ranking state current while the index changes under it. The compact
 * posting lists are used only while no chunk has been written past them (sqlite/posting-lists.ts),
 * and the ranker drops its in-memory lists at every change of the index, so after a feed
 * sync or an upload every list was read again from the full-text index, at about 1 µs an
 * occurrence (over half a second a query at 1M chunks), until the server was restarted.
 * The state is built at the server's start (warmNow); once the index has changed and then stayed unchanged for a quiet period, warmRanking runs
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
  /** Default warmRanking (tests pass their own). */
  readonly warm?: (store: Store, signal: AbortSignal) => Promise<WarmSummary>;
}

export interface RankingUpkeep {
  /**
   * Builds the ranking state now, for the index as it is (a server's start), unless a
   * build is under way; resolves when it is done, failed (logged) or stopped.
   */
  warmNow(): Promise<void>;
  /** Looks at the index once: notes a change, or rebuilds after a quiet period. */
  tick(): Promise<void>;
  /** Stops a build under way (what it loaded stays) and waits for it. */
  stop(): Promise<void>;
}

/** What a build logs: at the server's start, or after a change of the index. */
const AT_START = { done: 'search index preloaded', failed: 'could not preload the search index' };
const AFTER_CHANGE = {
  done: 'search index rebuilt after a change',
  failed: 'could not rebuild the search index after a change',
};

export function rankingUpkeep(options: RankingUpkeepOptions): RankingUpkeep {
  const { store, clock, logger, quietMs } = options;
  const warm = options.warm ?? ((s: Store, signal: AbortSignal) => warmRanking(s, {}, { signal }));
  const stopping = new AbortController();
  // The index version the state was last built for (failed builds included: they are tried
  // again after the next change; searches meanwhile load what they need).
  let warmed: string | undefined;
  // The latest version seen, and since when it has been the current one.
  let seen: string | undefined;
  let seenAt = 0;
  let running: Promise<void> | undefined;

  const build = async (messages: typeof AT_START): Promise<void> => {
    let version: string | undefined;
    try {
      version = await store.indexVersion();
      const summary = await warm(store, stopping.signal);
      // Stopped by stop(): nothing to tell, nothing went wrong.
      if (!stopping.signal.aborted) logger.debug(messages.done, { ...summary });
    } catch (e) {
      if (!stopping.signal.aborted) logger.warn(messages.failed, { reason: (e as Error).message });
    }
    if (version !== undefined) warmed = version;
  };
  const start = (messages: typeof AT_START): Promise<void> =>
    (running = build(messages).finally(() => (running = undefined)));

  return {
    warmNow() {
      if (stopping.signal.aborted) return Promise.resolve();
      return running ?? start(AT_START);
    },
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
      await start(AFTER_CHANGE);
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
