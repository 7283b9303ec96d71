/**
 * Helpers for the HTTP tests: a server on 127.0.0.1 over a fresh temporary home, a JSON
 * client, job polling, an SSE reader, and a feed with one author per item.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp, type App } from '../app.js';
import { configFor } from '../core/config.js';
import { startServer, type ServeOptions, type ShelfServer } from './server.js';

export interface TestApi {
  readonly app: App;
  readonly home: string;
  readonly server: ShelfServer;
  /** Sends a request; a plain-object body goes as JSON. */
  call(path: string, init?: RequestInit & { json?: unknown; key?: string }): Promise<Response>;
  /** Polls a job until it has finished (succeeded or failed), at most `rounds` times. */
  waitForJob(id: number, rounds?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startTestApi(
  options: {
    home?: string;
    server?: Record<string, unknown>;
    serve?: Omit<ServeOptions, 'app'>;
    /** Runs before the server starts (e.g. creating API keys). */
    before?: (app: App) => Promise<void>;
  } = {},
): Promise<TestApi> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'shelf-api-'));
  mkdirSync(home, { recursive: true });
  const config = configFor(home, {
    fetch: { allowHosts: ['127.0.0.1'], timeoutMs: 5000 },
    server: { port: 0, ...options.server },
  });
  const app = openApp({ config });
  await options.before?.(app);
  let server: ShelfServer;
  try {
    server = await startServer({ app, host: '127.0.0.1', port: 0, worker: { pollMs: 20 }, ...options.serve });
  } catch (e) {
    await app.close();
    throw e;
  }
  const call: TestApi['call'] = (path, init = {}) => {
    const { json, key, headers, ...rest } = init;
    const h = new Headers(headers);
    if (key !== undefined) h.set('authorization', `Bearer ${key}`);
    if (json !== undefined) h.set('content-type', 'application/json');
    return fetch(server.url + path, {
      ...rest,
      headers: h,
      ...(json !== undefined ? { body: typeof json === 'string' ? json : JSON.stringify(json) } : {}),
    });
  };
  return {
    app,
    home,
    server,
    call,
    async waitForJob(id, rounds = 500) {
      for (let i = 0; i < rounds; i++) {
        const job = (await (await call(`/v1/jobs/${id}`)).json()) as Record<string, unknown>;
        if (job.state === 'succeeded' || job.state === 'failed') return job;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`job ${id} did not finish`);
    },
    async close() {
      await server.close();
      await app.close();
    },
  };
}

/** Parses an SSE body into its events, in order. */
export function parseEvents(body: string): { event: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

/** An RSS 2.0 feed whose items each name their own author and date. */
export function authoredFeed(
  items: { guid: string; title: string; body: string; author: string; date: string; tags?: string[] }[],
): string {
  const esc = (s: string): string =>
    s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Authored feed</title><link>https://example.org/</link><description>t</description>
${items
  .map(
    (i) =>
      `<item><title>${esc(i.title)}</title><guid isPermaLink="false">${esc(i.guid)}</guid><pubDate>${i.date}</pubDate>` +
      `<dc:creator>${esc(i.author)}</dc:creator>${(i.tags ?? []).map((t) => `<category>${esc(t)}</category>`).join('')}` +
      `<description>${esc(i.body)}</description></item>`,
  )
  .join('\n')}
</channel></rss>`;
}
