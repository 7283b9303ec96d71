import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer as startFeedServer, rssFeed, type TestServer } from '../test-support/harness.js';
import { startTestApi, type TestApi } from './test-support.js';

type Json = Record<string, unknown>;

describe('jobs across a server restart', () => {
  let feeds: TestServer | undefined;
  let api: TestApi | undefined;
  afterEach(async () => {
    await api?.close();
    await feeds?.close();
  });

  it('queues a running job again when the server stops, and the next server finishes it', async () => {
    feeds = await startFeedServer();
    const held: ServerResponse[] = [];
    let hold = true;
    let seen!: () => void;
    const requested = new Promise<void>((resolve) => (seen = resolve));
    feeds.route('/slow.xml', (_req, res) => {
      if (hold) {
        // The first fetch never answers: the job is mid-flight when the server stops.
        held.push(res);
        seen();
        return;
      }
      res.setHeader('content-type', 'application/rss+xml');
      res.end(rssFeed([{ guid: 'a', title: 'Survivor', body: 'This item arrived after a restart.' }]));
    });
    const home = mkdtempSync(join(tmpdir(), 'shelf-restart-'));
    api = await startTestApi({ home });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
    const r = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { url: `${feeds.url}/slow.xml` },
    });
    const { job } = (await r.json()) as { job: { id: number } };
    await requested;
    await api.close();
    api = undefined;
    for (const res of held) res.destroy();

    hold = false;
    api = await startTestApi({ home });
    const done = await api.waitForJob(job.id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { added: 1 } });
    const docs = (await (await api.call('/v1/knowledgebases/books/documents')).json()) as Json;
    expect((docs.items as Json[]).map((d) => d.title)).toEqual(['Survivor']);
  });

  it('retries a failing sync with backoff and shows the error state when attempts run out', async () => {
    feeds = await startFeedServer();
    let calls = 0;
    feeds.route('/flaky.xml', (_req, res) => {
      calls++;
      if (calls === 1) {
        res.setHeader('content-type', 'application/rss+xml');
        res.end(rssFeed([{ guid: 'a', title: 'First', body: 'The first version of the feed.' }]));
        return;
      }
      res.statusCode = 503;
      res.end('down');
    });
    api = await startTestApi({ serve: { worker: { pollMs: 10, backoffMs: () => 0 } } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
    const add = (await (
      await api.call('/v1/knowledgebases/books/sources', {
        method: 'POST',
        json: { url: `${feeds.url}/flaky.xml` },
      })
    ).json()) as { job: { id: number } };
    const added = await api.waitForJob(add.job.id);
    const sourceId = (added.result as Json).sourceId as number;
    const sync = (await (
      await api.call(`/v1/knowledgebases/books/sources/${sourceId}/sync`, { method: 'POST' })
    ).json()) as { job: { id: number } };
    const failed = await api.waitForJob(sync.job.id);
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, error: { code: 'FETCH_STATUS' } });
    expect(calls).toBe(4);
    const source = (await (await api.call(`/v1/knowledgebases/books/sources/${sourceId}`)).json()) as Json;
    expect(source.lastError).toMatch(/503/);
    const health = (await (await api.call('/v1/health')).json()) as Json;
    expect(health).toMatchObject({ jobs: { failed: 1 } });
  });
});

describe('scheduled feed refresh', () => {
  let feeds: TestServer | undefined;
  let api: TestApi | undefined;
  afterEach(async () => {
    await api?.close();
    await feeds?.close();
  });

  it('refreshes a due feed on its own and picks up the new item', async () => {
    feeds = await startFeedServer();
    const items = [{ guid: 'one', title: 'One', body: 'The first post of the feed.' }];
    feeds.route('/feed.xml', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(rssFeed(items));
    });
    // The scheduler checks every 50 ms; the feed asks to be refreshed every 60 s.
    api = await startTestApi({ serve: { feedCheckIntervalMs: 50 } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
    const add = (await (
      await api.call('/v1/knowledgebases/books/sources', {
        method: 'POST',
        json: { url: `${feeds.url}/feed.xml`, refreshIntervalS: 60 },
      })
    ).json()) as { job: { id: number } };
    const added = await api.waitForJob(add.job.id);
    const sourceId = (added.result as Json).sourceId as number;
    items.push({ guid: 'two', title: 'Two', body: 'A second post appeared later.' });
    // Nothing is due yet: the last sync was just now.
    expect(((await (await api.call('/v1/jobs?kind=sync-source')).json()) as Json).total).toBe(0);
    // Make the feed due by moving its last sync back past the interval.
    await api.app.store.updateSource(sourceId, {
      lastSyncedAt: new Date(Date.now() - 120_000).toISOString(),
    });
    let titles: unknown[] = [];
    for (let i = 0; i < 500 && titles.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const docs = (await (await api.call('/v1/knowledgebases/books/documents?fields=title')).json()) as Json;
      titles = (docs.items as Json[]).map((d) => d.title);
    }
    expect(titles.sort()).toEqual(['One', 'Two']);
    const jobs = (await (await api.call('/v1/jobs?kind=sync-source')).json()) as Json;
    expect(jobs.total).toBe(1);
  });
});
