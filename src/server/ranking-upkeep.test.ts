import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databasePath } from '../app.js';
import { SILENT_LOGGER, type Logger } from '../core/seams.js';
import type { WarmSummary } from '../search/rank.js';
import type { Store } from '../store/store.js';
import { rankingUpkeep } from './ranking-upkeep.js';
import { startTestApi } from './test-support.js';

const SUMMARY: WarmSummary = { lists: 1, streams: 0, queries: 0 };

/** A store whose index version the test sets, a clock it moves, and a warm-up it counts. */
function rig(options: { fail?: boolean } = {}) {
  let version = 'v1';
  let now = 0;
  const warmed: string[] = [];
  const signals: AbortSignal[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const logger: Logger = {
    ...SILENT_LOGGER,
    debug: (message) => notes.push(message),
    warn: (message) => warnings.push(message),
  };
  const upkeep = rankingUpkeep({
    store: { indexVersion: () => Promise.resolve(version) } as Store,
    clock: { now: () => new Date(now) },
    logger,
    quietMs: 1000,
    warm: async (_store, signal) => {
      warmed.push(version);
      if (hold) {
        hold = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      signals.push(signal);
      // Told to stop, this one throws (warmRanking returns what it loaded): either is no failure.
      signal.throwIfAborted();
      if (options.fail) throw new Error('disk full');
      return SUMMARY;
    },
  });
  return {
    upkeep,
    warmed,
    warnings,
    notes,
    signals,
    set: (v: string) => (version = v),
    at: (ms: number) => (now = ms),
    /** Moves the clock to `ms` and ticks. */
    tickAt: async (ms: number) => {
      now = ms;
      await upkeep.tick();
    },
    release: () => release?.(),
    /**
     * Changes the index to v2, waits out the quiet period and starts a rebuild it holds;
     * `done` settles with that tick.
     */
    async startHeldRebuild(): Promise<{ done: Promise<void> }> {
      version = 'v2';
      await upkeep.tick();
      now = 1000;
      hold = true;
      const done = upkeep.tick();
      await new Promise((resolve) => setImmediate(resolve));
      return { done };
    },
  };
}

/** A rig whose state was built at v1, as at a server's start; what that build left, cleared. */
async function started(options: { fail?: boolean } = {}) {
  const r = rig(options);
  await r.upkeep.warmNow();
  for (const list of [r.warmed, r.warnings, r.notes, r.signals]) list.length = 0;
  return r;
}

describe('rankingUpkeep', () => {
  it('builds the state at once at the start, once however often asked, and logs how it went', async () => {
    const r = rig();
    const [a, b] = [r.upkeep.warmNow(), r.upkeep.warmNow()];
    await Promise.all([a, b]);
    expect(r.warmed).toEqual(['v1']);
    expect(r.notes).toEqual(['search index preloaded']);
    // Built for v1: nothing to do while the index stays there.
    await r.tickAt(0);
    await r.tickAt(60_000);
    expect(r.warmed).toEqual(['v1']);
    const failing = rig({ fail: true });
    await failing.upkeep.warmNow();
    expect(failing.warnings).toEqual(['could not preload the search index']);
    // Stopped: no build starts.
    await r.upkeep.stop();
    await r.upkeep.warmNow();
    expect(r.warmed).toEqual(['v1']);
  });

  it('leaves the state the server warmed alone while the index does not change', async () => {
    const r = await started();
    for (const ms of [0, 5000, 60_000]) {
      r.at(ms);
      await r.upkeep.tick();
    }
    expect(r.warmed).toEqual([]);
  });

  it('rebuilds once the changed index has been quiet for the quiet period, and only once', async () => {
    const r = await started();
    r.set('v2');
    await r.tickAt(0);
    // Changing again restarts the wait.
    r.at(800);
    r.set('v3');
    await r.upkeep.tick();
    await r.tickAt(1700);
    expect(r.warmed).toEqual([]);
    await r.tickAt(1800);
    expect(r.warmed).toEqual(['v3']);
    await r.tickAt(10_000);
    expect(r.warmed).toEqual(['v3']);
  });

  it('rebuilds at its first chance when the server never warmed', async () => {
    const r = rig();
    await r.upkeep.tick();
    await r.tickAt(1000);
    expect(r.warmed).toEqual(['v1']);
  });

  it('does not start a second rebuild while one runs, and rebuilds again for a change made meanwhile', async () => {
    const r = await started();
    const first = (await r.startHeldRebuild()).done;
    r.set('v3');
    await r.tickAt(5000);
    // Quiet long enough, but the first rebuild still runs.
    await r.tickAt(7000);
    expect(r.warmed).toEqual(['v2']);
    r.release();
    await first;
    // The change made meanwhile is seen now, and rebuilt for once quiet.
    await r.upkeep.tick();
    expect(r.warmed).toEqual(['v2']);
    await r.tickAt(8000);
    expect(r.warmed).toEqual(['v2', 'v3']);
  });

  it('warns of a failed rebuild and waits for the next change', async () => {
    const r = await started({ fail: true });
    r.set('v2');
    await r.upkeep.tick();
    await r.tickAt(1000);
    expect(r.warnings).toEqual(['could not rebuild the search index after a change']);
    await r.tickAt(5000);
    expect(r.warmed).toEqual(['v2']);
  });

  it('stops: a rebuild under way is told, waited for and not warned of, and none starts after', async () => {
    const r = await started();
    const running = (await r.startHeldRebuild()).done;
    let stopped = false;
    const stopping = r.upkeep.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    r.release();
    await Promise.all([running, stopping]);
    expect(r.signals.map((signal) => signal.aborted)).toEqual([true]);
    // Stopped, not failed: nothing to warn of.
    expect(r.warnings).toEqual([]);
    r.set('v3');
    await r.upkeep.tick();
    await r.tickAt(9000);
    expect(r.warmed).toEqual(['v2']);
  });
});

describe('shelf serve keeps the compact lists current', () => {
  it('rewrites them once an upload has landed and the index is quiet', async () => {
    const api = await startTestApi({ serve: { rankingUpkeep: { intervalMs: 20, quietMs: 100 } } });
    try {
      expect((await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'notes' } })).status).toBe(
        201,
      );
      const raw = new Database(databasePath(api.app.config), { readonly: true });
      const state = () =>
        raw.prepare('SELECT format, covered FROM posting_lists_state').get() as
          { format: number; covered: number } | undefined;
      const newest = () => raw.prepare('SELECT max(id) FROM chunks').pluck().get() as number | null;
      const upload = async (name: string, text: string) => {
        const form = new FormData();
        form.set('file', new Blob([text]), name);
        const r = await api.call('/v1/knowledgebases/notes/sources', { method: 'POST', body: form });
        expect(r.status).toBe(202);
        const { job } = (await r.json()) as { job: { id: number } };
        expect((await api.waitForJob(job.id)).state).toBe('succeeded');
      };
      const covering = async () => {
        for (let i = 0; i < 250; i++) {
          const s = state();
          if (s && s.format > 0 && s.covered === newest()) return s;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error(`the compact lists never covered chunk ${newest()}: ${JSON.stringify(state())}`);
      };
      await upload('walrus.md', '# Walruses\n\nWalruses haul out on sea ice between dives.');
      const first = await covering();
      await upload('narwhal.md', '# Narwhals\n\nNarwhals dive deep under the sea ice in winter.');
      const second = await covering();
      expect(second.covered).toBeGreaterThan(first.covered);
      raw.close();
    } finally {
      await api.close();
    }
  });
});
