/**
 * Several `shelf serve` processes sharing one PostgreSQL database: real processes from the
 * built CLI (`npm run build` first; CI's `npm test` does), each test in a schema of its own.
 * A feed on a local test server is due for a sync when the servers start; the tests count
 * how often the feed is fetched and read the jobs table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../store.js';
import { openPostgresStore } from './postgres-store.js';
import {
  dropSchema,
  POSTGRES_REQUIRED,
  probePostgres,
  TEST_DATABASE_URL,
  testSchemaName,
  unreachableMessage,
} from './test-database.js';

const CLI = fileURLToPath(new URL('../../../dist/cli/shelf.js', import.meta.url));
const unreachable = await probePostgres();
const built = existsSync(CLI);
const missing =
  unreachable !== undefined
    ? unreachableMessage(unreachable)
    : built
      ? undefined
      : `${CLI} is missing: run npm run build first.`;
if (missing !== undefined) console.warn(`cluster tests: ${missing}`);

const FEED = `<?xml version="1.0"?>
<rss version="2.0"><channel><title>Kernel notes</title><link>http://example.invalid/</link>
<item><guid>n1</guid><title>Booting over UART</title><description>The bootloader talks to the UART serial port first.</description></item>
<item><guid>n2</guid><title>Page tables</title><description>Paging maps virtual addresses to physical frames.</description></item>
</channel></rss>`;

interface FeedServer {
  readonly url: string;
  /** Requests received so far. */
  requests(): number;
  /** Resolves when the n-th request has arrived. */
  waitForRequest(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Serves FEED; with `hangFirst`, the first request is held open and never answered. */
async function startFeedServer(options: { hangFirst: boolean }): Promise<FeedServer> {
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    count++;
    for (const w of waiters.filter((x) => x.n <= count)) w.resolve();
    if (options.hangFirst && count === 1) {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    res.end(FEED);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/feed.xml`,
    requests: () => count,
    waitForRequest: (n) =>
      n <= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        for (const r of held) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
}

/** Starts `shelf serve --port 0` on the schema; resolves with its URL once it listens. */
function startServe(home: string, schema: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: {
      PATH: process.env.PATH ?? '',
      SHELF_HOME: home,
      SHELF_DATABASE_URL: TEST_DATABASE_URL,
      SHELF_DATABASE_SCHEMA: schema,
      SHELF_ALLOW_PRIVATE_ADDRESSES: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr += s;
      const m = /web UI at (http:\/\/[^/\s]+)\//.exec(stderr);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`shelf serve exited with ${code}: ${stderr}`)));
  });
}

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** Polls until `check` returns a value (the processes work on their own schedule). */
async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A schema with a knowledge base and one feed that is due for a sync, and a home whose config sets short leases. */
async function setup(
  feedUrl: string,
): Promise<{ store: Store; home: string; schema: string; sourceId: number }> {
  const schema = testSchemaName();
  const home = mkdtempSync(join(tmpdir(), 'shelf-cluster-'));
  writeFileSync(
    join(home, 'shelf.config.json'),
    JSON.stringify({ jobs: { leaseMs: 1500, pollMs: 100 }, server: { feedCheckIntervalS: 1 } }),
  );
  const store = openPostgresStore({ url: TEST_DATABASE_URL, schema });
  cleanups.push(async () => {
    await store.close();
    await dropSchema(schema);
    rmSync(home, { recursive: true, force: true });
  });
  const kb = await store.createKnowledgeBase('default');
  const source = await store.addSource({
    kbId: kb.id,
    kind: 'feed',
    location: feedUrl,
    refreshIntervalS: 3600,
  });
  return { store, home, schema, sourceId: source.id };
}

async function searchTitles(baseUrl: string, q: string): Promise<string[]> {
  const r = await fetch(`${baseUrl}/v1/knowledgebases/default/search?q=${encodeURIComponent(q)}`);
  expect(r.status).toBe(200);
  const body = (await r.json()) as { items: { document: { title: string } }[] };
  return body.items.map((h) => h.document.title);
}

describe.runIf(missing !== undefined && POSTGRES_REQUIRED)('shelf serve cluster prerequisites', () => {
  it('has PostgreSQL and the built CLI, because CI requires the cluster tests', () => {
    throw new Error(missing);
  });
});

describe.skipIf(missing !== undefined)('several shelf serve processes on one PostgreSQL database', () => {
  it('syncs a due feed exactly once and serves reads from both', { timeout: 90_000 }, async () => {
    const feed = await startFeedServer({ hangFirst: false });
    cleanups.push(() => feed.close());
    const { store, home, schema } = await setup(feed.url);
    const [a, b] = await Promise.all([startServe(home, schema), startServe(home, schema)]);
    const job = await until(async () => {
      const page = await store.listJobs({ kind: 'sync-source' }, { limit: 10, offset: 0 });
      const done = page.items.find((j) => j.state === 'succeeded');
      return done;
    }, 'the sync job to succeed');
    // Both schedulers check for due feeds every second: let each run a few more times.
    await new Promise((r) => setTimeout(r, 3000));
    expect(feed.requests()).toBe(1);
    const jobs = await store.listJobs({}, { limit: 10, offset: 0 });
    expect(jobs.items.map((j) => [j.id, j.state, j.attempts])).toEqual([[job.id, 'succeeded', 1]]);
    expect((await store.listDocuments([], {}, { limit: 10, offset: 0 })).total).toBe(2);
    expect(await searchTitles(a.url, 'uart bootloader')).toContain('Booting over UART');
    expect(await searchTitles(b.url, 'paging virtual addresses')).toContain('Page tables');
  });

  it(
    'hands the job of a killed server to the other once the lease runs out',
    { timeout: 90_000 },
    async () => {
      const feed = await startFeedServer({ hangFirst: true });
      cleanups.push(() => feed.close());
      const { store, home, schema } = await setup(feed.url);
      const a = await startServe(home, schema);
      // A has claimed the sync and is stuck fetching the feed.
      await feed.waitForRequest(1);
      const running = await until(async () => {
        const page = await store.listJobs({ state: 'running' }, { limit: 10, offset: 0 });
        return page.items[0];
      }, 'the job to run');
      expect(running.attempts).toBe(1);
      const b = await startServe(home, schema);
      // While A is alive its heartbeats keep the lease: B must not take the job.
      await new Promise((r) => setTimeout(r, 2000));
      expect((await store.getJob(running.id))?.leaseOwner).toBe(running.leaseOwner);
      expect(feed.requests()).toBe(1);
      a.child.kill('SIGKILL');
      const done = await until(async () => {
        const j = await store.getJob(running.id);
        return j?.state === 'succeeded' || j?.state === 'failed' ? j : undefined;
      }, 'the job to finish on the other server');
      expect(done).toMatchObject({ state: 'succeeded', attempts: 2 });
      expect(done.leaseOwner).toBeUndefined();
      expect(feed.requests()).toBe(2);
      expect((await store.listJobs({}, { limit: 10, offset: 0 })).total).toBe(1);
      expect(await searchTitles(b.url, 'uart')).toContain('Booting over UART');
    },
  );
});
