/**
 * Test harness: a fresh app on a temporary SHELF_HOME, an ingest context for it, and a
 * local HTTP server on 127.0.0.1 whose routes a test sets.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, ingestContext, openApp } from '../app.js';
import { configFor } from '../core/config.js';
import type { IngestContext } from '../ingest/ingest.js';
import type { KnowledgeBase } from '../store/store.js';

export interface TestApp {
  readonly app: App;
  readonly home: string;
  readonly ctx: IngestContext;
  readonly kb: KnowledgeBase;
}

/** An app on a new temporary home that may fetch from 127.0.0.1 only. */
export async function openTestApp(overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const home = mkdtempSync(join(tmpdir(), 'shelf-test-'));
  const config = configFor(home, { fetch: { allowHosts: ['127.0.0.1'], timeoutMs: 5000 }, ...overrides });
  const app = openApp({ config });
  const kb = await app.store.createKnowledgeBase('default');
  const ctx: IngestContext = ingestContext(app);
  return { app, home, ctx, kb };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  readonly url: string;
  /** Requests seen, in order, with their headers. */
  readonly requests: { path: string; headers: IncomingMessage['headers'] }[];
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers });
    const handler = routes.get(path.split('?')[0] ?? path);
    if (handler) handler(req, res);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A small RSS 2.0 feed with the given items. */
export function rssFeed(items: { guid?: string; title?: string; body: string; date?: string }[]): string {
  const esc = (s: string): string =>
    s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Test feed</title><link>https://example.org/</link><description>t</description>
${items
  .map(
    (i) =>
      `<item>${i.title !== undefined ? `<title>${esc(i.title)}</title>` : ''}${
        i.guid !== undefined ? `<guid isPermaLink="false">${esc(i.guid)}</guid>` : ''
      }${i.date !== undefined ? `<pubDate>${i.date}</pubDate>` : ''}<dc:creator>Test Author</dc:creator><description>${esc(
        i.body,
      )}</description></item>`,
  )
  .join('\n')}
</channel></rss>`;
}
