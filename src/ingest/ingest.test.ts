import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasShared, sharedPath } from '../test-support/shared.js';
import { openTestApp, rssFeed, startServer, type TestApp, type TestServer } from '../test-support/harness.js';
import { addSource, syncAll } from './ingest.js';

const FEEDS = ['devto-nicolasmesa.xml', 'devto-narasimha1997.xml', 'forem-douglasmakey.xml'];

let t: TestApp;
let server: TestServer;

beforeEach(async () => {
  t = await openTestApp();
  server = await startServer();
});

afterEach(async () => {
  await server.close();
  await t.app.close();
});

async function documentCount(): Promise<number> {
  return (await t.app.store.listDocuments([t.kb.id], {}, { limit: 1, offset: 0 })).total;
}

async function expectConsistent(): Promise<void> {
  expect(await t.app.store.integrityCheck()).toEqual({
    documentsWithoutChunks: 0,
    chunksWithoutIndexRow: 0,
    indexRowsWithoutChunk: 0,
    chunkCountMismatches: 0,
  });
}

describe.skipIf(!hasShared(...FEEDS.map((f) => `corpus/feeds/${f}`)))('ingesting the shared feeds', () => {
  it('stores the 33 articles with titles, authors, dates and tags', async () => {
    for (const f of FEEDS) await addSource(t.ctx, { kb: t.kb, location: sharedPath('corpus', 'feeds', f) });
    const docs = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 100, offset: 0 })).items;
    expect(docs).toHaveLength(33);
    for (const d of docs) {
      expect(d.title.length).toBeGreaterThan(3);
      expect(d.author).toMatch(/^(Nicolas Mesa|Narasimha Prasanna HN|Douglas Makey Mendez Molero)$/);
      expect(d.published).toMatch(/^20\d\d-\d\d-\d\dT/);
      expect(d.url).toMatch(/^https:\/\/(dev\.to|forem\.com)\//);
      expect(d.chunkCount).toBeGreaterThan(0);
    }
    const uart = docs.find((d) => /raspberry pi via uart/i.test(d.title));
    expect(uart?.author).toBe('Nicolas Mesa');
    expect(uart?.published?.slice(0, 10)).toBe('2019-08-21');
    expect(docs.filter((d) => d.tags.length > 0).length).toBeGreaterThan(25);
    await expectConsistent();
  });

  it('keeps code blocks of articles whole and fenced in the chunks', async () => {
    await addSource(t.ctx, { kb: t.kb, location: sharedPath('corpus', 'feeds', 'forem-douglasmakey.xml') });
    const docs = (
      await t.app.store.listDocuments(
        [t.kb.id],
        { title: 'Getting Started with Networking' },
        { limit: 5, offset: 0 },
      )
    ).items;
    expect(docs).toHaveLength(1);
    const chunks = await t.app.store.getChunks(docs[0]!.id);
    const code = chunks.filter((c) => c.hasCode).map((c) => c.text);
    expect(code.length).toBeGreaterThan(0);
    const listener = code.find((c) => c.includes('TcpListener::bind'));
    expect(listener).toMatch(/```[a-z]*\n[\s\S]*TcpListener::bind[\s\S]*\n```/);
    expect(listener).not.toMatch(/<span|fullscreen mode/i);
  });

  it('changes nothing when the same feed is added twice', async () => {
    const location = sharedPath('corpus', 'feeds', 'devto-nicolasmesa.xml');
    const first = await addSource(t.ctx, { kb: t.kb, location });
    const before = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 100, offset: 0 })).items;
    const second = await addSource(t.ctx, { kb: t.kb, location });
    const after = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 100, offset: 0 })).items;
    expect([first.added, second.added, second.updated, second.unchanged]).toEqual([9, 0, 0, 9]);
    expect(after).toEqual(before);
    expect(await t.app.store.listSources(t.kb.id)).toHaveLength(1);
  });
});

describe('feeds over HTTP', () => {
  const items = [
    {
      guid: 'a',
      title: 'Alpha',
      body: '<p>First article about sockets.</p>',
      date: 'Mon, 01 Jan 2024 00:00:00 GMT',
    },
    {
      guid: 'b',
      title: 'Beta',
      body: '<p>Second article about queues.</p>',
      date: 'Tue, 02 Jan 2024 00:00:00 GMT',
    },
  ];

  it('replaces only the item that changed on sync', async () => {
    let body = rssFeed(items);
    server.route('/feed', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(body);
    });
    await addSource(t.ctx, { kb: t.kb, location: `${server.url}/feed` });
    const before = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 10, offset: 0 })).items;
    body = rssFeed([items[0]!, { ...items[1]!, body: '<p>Second article, now about backlogs.</p>' }]);
    const [report] = await syncAll(t.ctx, t.kb.id);
    expect([report!.updated, report!.unchanged, report!.added]).toEqual([1, 1, 0]);
    const after = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 10, offset: 0 })).items;
    const alpha = (list: typeof after) => list.find((d) => d.key === 'a');
    const beta = (list: typeof after) => list.find((d) => d.key === 'b');
    expect(alpha(after)).toEqual(alpha(before));
    expect(beta(after)!.hash).not.toBe(beta(before)!.hash);
    const chunks = await t.app.store.getChunks(beta(after)!.id);
    expect(chunks.map((c) => c.text).join(' ')).toContain('backlogs');
    await expectConsistent();
  });

  it('sends If-None-Match and If-Modified-Since on sync and handles 304', async () => {
    const lastModified = 'Tue, 02 Jan 2024 00:00:00 GMT';
    server.route('/feed', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.statusCode = 304;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/rss+xml');
      res.setHeader('etag', '"v1"');
      res.setHeader('last-modified', lastModified);
      res.end(rssFeed(items));
    });
    await addSource(t.ctx, { kb: t.kb, location: `${server.url}/feed` });
    const [report] = await syncAll(t.ctx, t.kb.id);
    expect(report!.notModified).toBe(true);
    const sync = server.requests[server.requests.length - 1]!;
    expect(sync.headers['if-none-match']).toBe('"v1"');
    expect(sync.headers['if-modified-since']).toBe(lastModified);
    expect(await documentCount()).toBe(2);
    const [source] = await t.app.store.listSources(t.kb.id);
    expect(source!.lastError).toBeUndefined();
    expect(source!.lastSyncedAt).toBeDefined();
  });

  it('refuses malformed XML and stores nothing', async () => {
    server.route('/broken', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>unclosed');
    });
    await expect(addSource(t.ctx, { kb: t.kb, location: `${server.url}/broken` })).rejects.toMatchObject({
      code: 'FEED_MALFORMED',
    });
    expect(await t.app.store.listSources(t.kb.id)).toEqual([]);
  });

  it('keeps stored items when a feed starts serving an HTML page, and records the error', async () => {
    let html = false;
    server.route('/feed', (_req, res) => {
      res.setHeader('content-type', html ? 'text/html' : 'application/rss+xml');
      res.end(
        html
          ? '<!doctype html><html><head><title>Oops</title></head><body><p>Moved</p></body></html>'
          : rssFeed(items),
      );
    });
    await addSource(t.ctx, { kb: t.kb, location: `${server.url}/feed` });
    html = true;
    const [report] = await syncAll(t.ctx, t.kb.id);
    expect(report!.errors[0]?.code).toBe('FEED_IS_HTML');
    expect(await documentCount()).toBe(2);
    const [source] = await t.app.store.listSources(t.kb.id);
    expect(source!.lastError).toMatch(/HTML page, not a feed/);
  });

  it('refuses a response far over the size cap', async () => {
    const small = await openTestApp({ fetch: { allowHosts: ['127.0.0.1'], maxBytes: 10_000 } });
    server.route('/huge', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(
        rssFeed(
          Array.from({ length: 2000 }, (_, i) => ({ guid: `g${i}`, title: `T${i}`, body: '<p>filler</p>' })),
        ),
      );
    });
    await expect(
      addSource(small.ctx, { kb: small.kb, location: `${server.url}/huge` }),
    ).rejects.toMatchObject({
      code: 'FETCH_TOO_LARGE',
    });
    expect(await small.app.store.listSources()).toEqual([]);
    await small.app.close();
  });

  it('refuses an XML entity-expansion bomb', async () => {
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<rss version="2.0"><channel><title>&c;</title><item><title>&c;</title><description>&c;</description></item></channel></rss>`;
    server.route('/bomb', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(bomb);
    });
    await expect(addSource(t.ctx, { kb: t.kb, location: `${server.url}/bomb` })).rejects.toMatchObject({
      code: 'XML_ENTITY_EXPANSION',
    });
    expect(await documentCount()).toBe(0);
  });

  it('stops a redirect loop with a clear error', async () => {
    server.route('/a', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/b');
      res.end();
    });
    server.route('/b', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/a');
      res.end();
    });
    await expect(addSource(t.ctx, { kb: t.kb, location: `${server.url}/a` })).rejects.toMatchObject({
      code: 'FETCH_TOO_MANY_REDIRECTS',
    });
  });

  it('decodes an ISO-8859-1 feed', async () => {
    const xml = `<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Caf\u00e9</title>
<item><guid>x</guid><title>R\u00e9sum\u00e9 \u00fcber alles</title><description>&lt;p&gt;Cr\u00e8me br\u00fbl\u00e9e&lt;/p&gt;</description></item></channel></rss>`;
    server.route('/latin1', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(Buffer.from(xml, 'latin1'));
    });
    await addSource(t.ctx, { kb: t.kb, location: `${server.url}/latin1` });
    const [doc] = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 1, offset: 0 })).items;
    expect(doc!.title).toBe('Résumé über alles');
    expect((await t.app.store.getChunks(doc!.id))[0]!.text).toContain('Crème brûlée');
  });

  it('ingests a feed of 10,000 items', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({
      guid: `id-${i}`,
      title: `Item ${i}`,
      body: `<p>Body of item ${i}.</p>`,
    }));
    server.route('/many', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(rssFeed(many));
    });
    const report = await addSource(t.ctx, { kb: t.kb, location: `${server.url}/many` });
    expect(report.added).toBe(10_000);
    expect(await documentCount()).toBe(10_000);
  }, 120_000);

  it('gives items without title, date or guid a stable identity and no invented date', async () => {
    const body = rssFeed([
      { body: '<p>An untitled, undated note about eBPF maps.</p>' },
      { body: '<p>Another one about XDP.</p>' },
    ]);
    server.route('/bare', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(body);
    });
    await addSource(t.ctx, { kb: t.kb, location: `${server.url}/bare` });
    const [report] = await syncAll(t.ctx, t.kb.id);
    expect([report!.added, report!.unchanged]).toEqual([0, 2]);
    const docs = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 10, offset: 0 })).items;
    expect(docs).toHaveLength(2);
    for (const d of docs) {
      expect(d.published).toBeUndefined();
      expect(d.title.length).toBeGreaterThan(0);
    }
  });
});

describe('directories', () => {
  it('ingests readable files, reports the broken ones and removes files that disappear', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shelf-dir-'));
    mkdirSync(join(root, 'notes', 'deep'), { recursive: true });
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    writeFileSync(
      join(root, 'notes', 'gdt.md'),
      '# The GDT\n\nThe global descriptor table holds segment descriptors.\n',
    );
    writeFileSync(
      join(root, 'notes', 'deep', 'uart.txt'),
      'UART\n\nThe mini UART sends bytes one at a time.\n',
    );
    writeFileSync(join(root, 'node_modules', 'x', 'skip.md'), '# skipped\n');
    writeFileSync(join(root, 'broken.pdf'), '%PDF-1.7\n' + 'garbage '.repeat(100));
    writeFileSync(join(root, 'broken.xml'), '<rss><channel><item>');
    writeFileSync(join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    symlinkSync(root, join(root, 'loop'));
    const report = await addSource(t.ctx, { kb: t.kb, location: root, options: { tags: ['notes'] } });
    expect(report.added).toBe(2);
    expect(report.errors.map((e) => e.location.replace(root, '')).sort()).toEqual([
      '/broken.pdf',
      '/broken.xml',
    ]);
    expect(report.errors.every((e) => e.message.length > 10)).toBe(true);
    const docs = (await t.app.store.listDocuments([t.kb.id], {}, { limit: 10, offset: 0 })).items;
    expect(docs.map((d) => d.key).sort()).toEqual(['notes/deep/uart.txt', 'notes/gdt.md']);
    expect(docs.every((d) => d.tags.includes('notes'))).toBe(true);

    writeFileSync(join(root, 'notes', 'gdt.md'), '# Gone soon\n');
    const { rmSync } = await import('node:fs');
    rmSync(join(root, 'notes', 'deep'), { recursive: true });
    const [again] = await syncAll(t.ctx, t.kb.id);
    expect([again!.updated, again!.removed]).toEqual([1, 1]);
    await expectConsistent();
  });

  it('says clearly when a path does not exist', async () => {
    await expect(
      addSource(t.ctx, { kb: t.kb, location: '/nonexistent/shelf/path.md' }),
    ).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
  });
});
