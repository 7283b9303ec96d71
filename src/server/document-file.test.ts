import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSource } from '../ingest/ingest.js';
import { makePdf } from '../sources/pdf/test-support/helpers.js';
import { authoredFeed, startTestApi, type TestApi } from './test-support.js';
import { ingestContext } from '../app.js';

type Json = Record<string, unknown>;

describe('GET /v1/knowledgebases/{kb}/documents/{id}/file', () => {
  let api: TestApi;
  let root: string;
  let outside: string;
  let pdfBytes: Uint8Array;

  /** The id of the only document of the source the job added. */
  const documentOf = async (jobId: number): Promise<number> => {
    const done = await api.waitForJob(jobId);
    expect(done.state).toBe('succeeded');
    const sourceId = (done.result as Json).sourceId as number;
    const page = (await (await api.call(`/v1/knowledgebases/books/documents?source=${sourceId}`)).json()) as {
      items: { id: number }[];
    };
    return page.items[0]!.id;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shelf-roots-'));
    outside = mkdtempSync(join(tmpdir(), 'shelf-outside-'));
    pdfBytes = await makePdf(
      [['The first page talks about queues.'], ['The second page talks about sockets.']],
      {
        title: 'Two pages',
      },
    );
    writeFileSync(join(root, 'two.pdf'), pdfBytes);
    writeFileSync(join(outside, 'other.pdf'), pdfBytes);
    mkdirSync(join(root, 'notes'));
    writeFileSync(
      join(root, 'notes', 'page.html'),
      '<html><body><h1>Hi</h1><script>alert(1)</script></body></html>',
    );
    api = await startTestApi({ server: { roots: [root] } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'other' } });
  });

  afterAll(async () => {
    await api.close();
  });

  it('serves a PDF inside the server roots as application/pdf, byte for byte', async () => {
    const r = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { path: join(root, 'two.pdf') },
    });
    const id = await documentOf(((await r.json()) as { job: { id: number } }).job.id);
    const file = await api.call(`/v1/knowledgebases/books/documents/${id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(new Uint8Array(pdfBytes));
    // Only in its own knowledge base.
    const elsewhere = await api.call(`/v1/knowledgebases/other/documents/${id}/file`);
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { error: Json }).error.code).toBe('DOCUMENT_NOT_FOUND');
  });

  it('serves an uploaded PDF', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(pdfBytes)], { type: 'application/pdf' }), 'up.pdf');
    const r = await api.call('/v1/knowledgebases/books/sources', { method: 'POST', body: form });
    expect(r.status).toBe(202);
    const id = await documentOf(((await r.json()) as { job: { id: number } }).job.id);
    const file = await api.call(`/v1/knowledgebases/books/documents/${id}/file`);
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(new Uint8Array(pdfBytes));
  });

  it('sends a local HTML page as plain text, never as HTML', async () => {
    const r = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { path: join(root, 'notes', 'page.html') },
    });
    const id = await documentOf(((await r.json()) as { job: { id: number } }).job.id);
    const file = await api.call(`/v1/knowledgebases/books/documents/${id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await file.text()).toContain('<script>');
  });

  it('refuses a file outside the roots even when its document exists', async () => {
    const kb = (await api.app.store.getKnowledgeBase('books'))!;
    const ctx = ingestContext(api.app);
    const report = await addSource(ctx, { kb, location: join(outside, 'other.pdf') });
    const docs = await api.app.store.listDocuments(
      [kb.id],
      { sourceId: report.sourceId! },
      { limit: 1, offset: 0 },
    );
    const r = await api.call(`/v1/knowledgebases/books/documents/${docs.items[0]!.id}/file`);
    expect(r.status).toBe(403);
    const body = (await r.json()) as { error: Json };
    expect(body.error.code).toBe('PATH_OUTSIDE_ROOTS');
    expect(JSON.stringify(body)).not.toContain('%PDF');
  });

  it('has no file for a feed article', async () => {
    const feed = join(root, 'feed.xml');
    writeFileSync(
      feed,
      authoredFeed([
        { guid: 'a', title: 'An article', body: 'Text.', author: 'A', date: 'Mon, 01 Jan 2024 10:00:00 GMT' },
      ]),
    );
    const r = await api.call('/v1/knowledgebases/books/sources', { method: 'POST', json: { path: feed } });
    const id = await documentOf(((await r.json()) as { job: { id: number } }).job.id);
    const file = await api.call(`/v1/knowledgebases/books/documents/${id}/file`);
    expect(file.status).toBe(404);
    expect(((await file.json()) as { error: Json }).error.code).toBe('DOCUMENT_FILE_UNAVAILABLE');
    expect(readFileSync(feed, 'utf8')).toContain('An article');
  });

  it('refuses malformed ids', async () => {
    for (const id of ['0', '-1', 'abc', '99999999999999999999'])
      expect((await api.call(`/v1/knowledgebases/books/documents/${id}/file`)).status, id).toBe(400);
  });
});

describe('POST /v1/knowledgebases/{kb}/answers with history', () => {
  let api: TestApi;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'shelf-history-'));
    const feed = join(root, 'feed.xml');
    writeFileSync(
      feed,
      authoredFeed([
        {
          guid: 'boot',
          title: 'A UART bootloader',
          body: 'The bootloader reads the kernel image over the UART serial port. To test the bootloader, send a kernel and check the checksum.',
          author: 'Nicolas Mesa',
          date: 'Fri, 01 Mar 2024 10:00:00 GMT',
        },
      ]),
    );
    api = await startTestApi({ server: { roots: [root] } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'kb' } });
    const r = await api.call('/v1/knowledgebases/kb/sources', { method: 'POST', json: { path: feed } });
    await api.waitForJob(((await r.json()) as { job: { id: number } }).job.id);
  });

  afterAll(async () => {
    await api.close();
  });

  it('reads a follow-up against the earlier turn it is sent', async () => {
    const first = (await (
      await api.call('/v1/knowledgebases/kb/answers', {
        method: 'POST',
        json: { question: 'how does the UART bootloader work?' },
      })
    ).json()) as { question: string; route: Json };
    const follow = await api.call('/v1/knowledgebases/kb/answers', {
      method: 'POST',
      json: {
        question: 'and how do I test it?',
        history: [{ question: first.question, route: first.route }],
      },
    });
    expect(follow.status).toBe(200);
    const body = (await follow.json()) as { route: { followUpOf?: string; query: string } };
    expect(body.route.followUpOf).toBe(first.route.query);
  });

  it('refuses a malformed history', async () => {
    for (const history of [
      [{ question: 'x' }],
      [{ question: 'x', route: { type: 'nonsense', rule: 'r', query: 'q', filterNotes: [], filters: {} } }],
      [
        {
          question: 'x',
          route: { type: 'lookup', rule: 'r', query: 'q', filterNotes: [], filters: { evil: 1 } },
        },
      ],
      Array.from({ length: 7 }, () => ({
        question: 'x',
        route: { type: 'lookup', rule: 'r', query: 'q', filterNotes: [], filters: {} },
      })),
      'not a list',
    ]) {
      const r = await api.call('/v1/knowledgebases/kb/answers', {
        method: 'POST',
        json: { question: 'and then?', history },
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: Json }).error.code).toBe('BODY_INVALID');
    }
  });
});
