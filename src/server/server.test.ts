import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer as startFeedServer, type TestServer } from '../test-support/harness.js';
import { authoredFeed, parseEvents, startTestApi, type TestApi } from './test-support.js';

const FEED_ITEMS = [
  {
    guid: 'syn',
    title: 'The SYN queue explained',
    body: 'The kernel keeps half-open connections in the SYN queue until the handshake completes. A full accept queue drops new connections.',
    author: 'Douglas Makey',
    date: 'Mon, 01 Jan 2024 10:00:00 GMT',
    tags: ['networking'],
  },
  {
    guid: 'uart',
    title: 'A UART bootloader',
    body: 'The bootloader reads the firmware image over the UART serial port and writes it to flash memory.',
    author: 'Nicolas Mesa',
    date: 'Fri, 01 Mar 2024 10:00:00 GMT',
    tags: ['embedded'],
  },
  {
    guid: 'rust',
    title: 'Sockets in Rust',
    body: 'TcpListener::bind opens a listening socket; accept returns each new connection from the accept queue.',
    author: 'Douglas Makey',
    date: 'Sat, 01 Jun 2024 10:00:00 GMT',
    tags: ['networking', 'rust'],
  },
];

type Json = Record<string, unknown>;
const json = async (r: Response): Promise<Json> => (await r.json()) as Json;

describe('HTTP API over a knowledge base with one feed', () => {
  let api: TestApi;
  let feeds: TestServer;
  let sourceId: number;

  beforeAll(async () => {
    feeds = await startFeedServer();
    feeds.route('/feed.xml', (_req, res) => {
      res.setHeader('content-type', 'application/rss+xml');
      res.end(authoredFeed(FEED_ITEMS));
    });
    api = await startTestApi();
    expect((await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } })).status).toBe(
      201,
    );
    const r = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { url: `${feeds.url}/feed.xml`, tags: ['blogs'] },
    });
    expect(r.status).toBe(202);
    const { job } = (await r.json()) as { job: { id: number } };
    expect(r.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    const done = await api.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect((done.result as Json).added).toBe(3);
    sourceId = (done.result as Json).sourceId as number;
  });

  afterAll(async () => {
    await api.close();
    await feeds.close();
  });

  it('reports health and the job queue without an API key', async () => {
    const r = await api.call('/v1/health');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', jobs: { queued: 0, running: 0, failed: 0 } });
  });

  it('sets the security headers and no CORS headers by default', async () => {
    const r = await api.call('/v1/knowledgebases', { headers: { origin: 'https://evil.example' } });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lists, gets, updates and deletes knowledge bases', async () => {
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'scratch' } });
    const dup = await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'scratch' } });
    expect(dup.status).toBe(409);
    expect((await json(dup)).error).toMatchObject({ code: 'KB_EXISTS' });
    const page = await json(await api.call('/v1/knowledgebases?limit=1&offset=1'));
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect((page.items as Json[]).map((k) => k.name)).toEqual(['scratch']);
    const books = await json(await api.call('/v1/knowledgebases/books?fields=name,documentCount'));
    expect(books).toEqual({ name: 'books', documentCount: 3 });
    const patched = await api.call('/v1/knowledgebases/scratch', {
      method: 'PATCH',
      json: { primer: 'Be brief.' },
    });
    expect(await json(patched)).toMatchObject({ name: 'scratch', primer: 'Be brief.' });
    expect((await api.call('/v1/knowledgebases/scratch', { method: 'DELETE' })).status).toBe(204);
    const gone = await api.call('/v1/knowledgebases/scratch');
    expect(gone.status).toBe(404);
    expect((await json(gone)).error).toMatchObject({ code: 'KB_NOT_FOUND' });
  });

  it('lists and gets sources, and queues one sync per source at a time', async () => {
    const list = await json(await api.call('/v1/knowledgebases/books/sources'));
    expect(list.total).toBe(1);
    expect((list.items as Json[])[0]).toMatchObject({
      id: sourceId,
      kind: 'feed',
      options: { tags: ['blogs'] },
    });
    const one = await json(await api.call(`/v1/knowledgebases/books/sources/${sourceId}`));
    expect(one).toMatchObject({ id: sourceId, refreshIntervalS: 3600 });
    const sync = await api.call(`/v1/knowledgebases/books/sources/${sourceId}/sync`, { method: 'POST' });
    expect(sync.status).toBe(202);
    const { job } = (await sync.json()) as { job: { id: number } };
    const done = await api.waitForJob(job.id);
    expect(done).toMatchObject({ state: 'succeeded', kind: 'sync-source', attempts: 1 });
    expect((done.result as Json).unchanged).toBe(3);
    const jobs = await json(await api.call('/v1/jobs?kind=sync-source&fields=id,state'));
    expect(jobs.items).toContainEqual({ id: job.id, state: 'succeeded' });
    expect((await api.call('/v1/knowledgebases/books/sources/99999')).status).toBe(404);
  });

  it('pages documents with totals and applies each filter', async () => {
    const all = await json(await api.call('/v1/knowledgebases/books/documents?limit=2'));
    expect(all).toMatchObject({ total: 3, limit: 2, offset: 0 });
    // Newest first.
    expect((all.items as Json[]).map((d) => d.title)).toEqual(['Sockets in Rust', 'A UART bootloader']);
    const next = await json(
      await api.call('/v1/knowledgebases/books/documents?limit=2&offset=2&fields=title'),
    );
    expect(next.items).toEqual([{ title: 'The SYN queue explained' }]);
    const titles = async (q: string): Promise<unknown[]> =>
      ((await json(await api.call(`/v1/knowledgebases/books/documents?${q}`))).items as Json[]).map(
        (d) => d.title,
      );
    expect(await titles('author=douglas')).toEqual(['Sockets in Rust', 'The SYN queue explained']);
    expect(await titles('tag=embedded')).toEqual(['A UART bootloader']);
    expect(await titles('since=2024-02-01')).toEqual(['Sockets in Rust', 'A UART bootloader']);
    expect(await titles(`source=${sourceId}&author=mesa`)).toEqual(['A UART bootloader']);
    expect(await titles('source=99999')).toEqual([]);
  });

  it('gets a document with its chunks, partially, and deletes it', async () => {
    const list = await json(await api.call('/v1/knowledgebases/books/documents?tag=embedded&fields=id'));
    const id = (list.items as Json[])[0]?.id as number;
    const doc = await json(await api.call(`/v1/knowledgebases/books/documents/${id}`));
    expect(doc).toMatchObject({ id, title: 'A UART bootloader', author: 'Nicolas Mesa' });
    expect((doc.chunks as Json[])[0]?.text).toContain('UART serial port');
    const partial = await json(
      await api.call(`/v1/knowledgebases/books/documents/${id}?fields=title,chunks.ordinal`),
    );
    expect(partial).toEqual({ title: 'A UART bootloader', chunks: [{ ordinal: 0 }] });
    expect((await api.call(`/v1/knowledgebases/other/documents/${id}`)).status).toBe(404);
    expect((await api.call(`/v1/knowledgebases/books/documents/${id}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const gone = await api.call(`/v1/knowledgebases/books/documents/${id}`);
    expect(gone.status).toBe(404);
    expect((await json(gone)).error).toMatchObject({ code: 'DOCUMENT_NOT_FOUND' });
    // Put it back for the other cases: a sync restores the deleted item.
    const sync = await api.call(`/v1/knowledgebases/books/sources/${sourceId}/sync`, { method: 'POST' });
    const { job } = (await sync.json()) as { job: { id: number } };
    // The feed is unchanged on the server, so the sync is a 304-free refetch that re-adds the item.
    const done = await api.waitForJob(job.id);
    expect((done.result as Json).added).toBe(1);
  });

  it('searches one knowledge base with filters, paging and fields', async () => {
    const r = await json(await api.call('/v1/knowledgebases/books/search?q=accept+queue'));
    const items = r.items as Json[];
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect((items[0]?.document as Json).title).toMatch(/SYN queue|Sockets in Rust/);
    expect(items[0]).toHaveProperty('snippet.text');
    expect(items[0]).toHaveProperty('citation');
    const filtered = await json(await api.call('/v1/knowledgebases/books/search?q=queue&author=nicolas'));
    expect(filtered.items).toEqual([]);
    const second = await json(
      await api.call('/v1/knowledgebases/books/search?q=accept+queue&limit=1&offset=1'),
    );
    expect((second.items as Json[])[0]).toEqual(items[1]);
    const slim = await json(
      await api.call('/v1/knowledgebases/books/search?q=uart&fields=rank,document.title'),
    );
    expect(slim.items).toEqual([{ rank: 1, document: { title: 'A UART bootloader' } }]);
  });

  it('searches across knowledge bases, or the ones named', async () => {
    const all = await json(await api.call('/v1/search?q=bootloader'));
    expect(((all.items as Json[])[0]?.document as Json).title).toBe('A UART bootloader');
    const named = await json(await api.call('/v1/search?q=bootloader&kb=books'));
    expect((named.items as Json[]).length).toBe(1);
    const unknown = await api.call('/v1/search?q=bootloader&kb=nope');
    expect(unknown.status).toBe(404);
    const empty = await api.call('/v1/search?q=%20%20');
    expect(empty.status).toBe(400);
    expect((await json(empty)).error).toMatchObject({ code: 'EMPTY_QUERY' });
  });

  it('answers a question as JSON with citations', async () => {
    const r = await api.call('/v1/knowledgebases/books/answers', {
      method: 'POST',
      json: { question: 'how does the bootloader write the firmware?' },
    });
    expect(r.status).toBe(200);
    const body = await json(r);
    expect((body.answer as Json).text).toMatch(/UART|flash/);
    expect((body.citations as Json[]).length).toBeGreaterThan(0);
    expect(body.trace).toBeDefined();
  });

  it('streams an answer as events route, sources, tokens, answer, trace', async () => {
    const r = await api.call('/v1/knowledgebases/books/answers', {
      method: 'POST',
      headers: { accept: 'text/event-stream' },
      json: { question: 'how does the bootloader write the firmware?' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const events = parseEvents(await r.text());
    const names = events.map((e) => e.event);
    const firstToken = names.indexOf('token');
    expect(names.slice(0, 2)).toEqual(['route', 'sources']);
    expect(firstToken).toBe(2);
    expect(names.slice(-2)).toEqual(['answer', 'trace']);
    expect(names.slice(firstToken, -2).every((n) => n === 'token')).toBe(true);
    const text = events
      .filter((e) => e.event === 'token')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    const answer = events.find((e) => e.event === 'answer')?.data as { text: string };
    expect(text).toBe(answer.text);
  });

  it('refuses an empty question and an unknown knowledge base with catalogue errors', async () => {
    const empty = await api.call('/v1/knowledgebases/books/answers', {
      method: 'POST',
      json: { question: ' ' },
    });
    expect(empty.status).toBe(400);
    expect((await json(empty)).error).toMatchObject({ code: 'EMPTY_QUESTION' });
    const unknown = await api.call('/v1/knowledgebases/nope/answers', {
      method: 'POST',
      json: { question: 'x y' },
    });
    expect(unknown.status).toBe(404);
  });

  it('gives every error the same shape, with message, hint and docs', async () => {
    const r = await api.call('/v1/jobs/424242');
    expect(r.status).toBe(404);
    const body = await json(r);
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual({
      code: 'JOB_NOT_FOUND',
      message: 'There is no job 424242.',
      hint: expect.any(String) as string,
      docs: 'docs/errors.md#job-not-found',
    });
    const route = await api.call('/v2/anything', { method: 'PUT' });
    expect(route.status).toBe(404);
    expect((await json(route)).error).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const doc = await json(await api.call('/v1/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    const paths = doc.paths as Record<string, Record<string, Json>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/knowledgebases',
        '/v1/knowledgebases/{kb}/sources/{id}/sync',
        '/v1/knowledgebases/{kb}/documents/{id}',
        '/v1/knowledgebases/{kb}/answers',
        '/v1/search',
        '/v1/jobs/{id}',
      ]),
    );
    const params = paths['/v1/knowledgebases/{kb}/documents']?.get?.parameters as Json[];
    expect(params.map((p) => p.name)).toEqual([
      'kb',
      'limit',
      'offset',
      'fields',
      'author',
      'tag',
      'since',
      'source',
    ]);
    expect(params.find((p) => p.name === 'limit')?.schema).toMatchObject({ type: 'integer', maximum: 1000 });
    const answers = paths['/v1/knowledgebases/{kb}/answers']?.post as Json;
    expect(answers.requestBody).toMatchObject({
      content: { 'application/json': { schema: { required: ['question'] } } },
    });
    expect(answers.responses).toHaveProperty(['200', 'content', 'text/event-stream']);
  });
});

describe('HTTP API against hostile requests', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ server: { maxBodyBytes: 4096 } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
  });
  afterAll(() => api.close());

  const post = (body: string): Promise<Response> =>
    api.call('/v1/knowledgebases/books/answers', { method: 'POST', json: body });
  const errorOf = async (r: Response): Promise<{ status: number; code: unknown; message: unknown }> => {
    const e = (await json(r)).error as Json;
    return { status: r.status, code: e.code, message: e.message };
  };

  it('refuses deeply nested JSON with a clear message', async () => {
    const e = await errorOf(await post(`{"question": ${'['.repeat(1000)}${']'.repeat(1000)}}`));
    expect(e).toMatchObject({ status: 400, code: 'BODY_INVALID' });
    expect(e.message).toMatch(/nested deeper than 32/);
  });

  it('refuses malformed JSON, wrong types and unknown fields, naming the field', async () => {
    expect(await errorOf(await post('{"question": '))).toMatchObject({
      status: 400,
      message: /not valid JSON/,
    });
    expect(await errorOf(await post('{"question": 42}'))).toMatchObject({
      status: 400,
      message: /body\.question: .*expected string/,
    });
    expect(await errorOf(await post('{"question": "q", "__proto__": {"admin": true}}'))).toMatchObject({
      status: 400,
      code: 'BODY_INVALID',
    });
    expect(await errorOf(await post('[]'))).toMatchObject({ status: 400, code: 'BODY_INVALID' });
    expect(await errorOf(await post('{"question": "q", "budget": "lots"}'))).toMatchObject({
      message: /body\.budget/,
    });
  });

  it('refuses a body over the limit with 413 and a huge string field with 400', async () => {
    expect(await errorOf(await post(JSON.stringify({ question: 'x'.repeat(10_000) })))).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    const many = JSON.stringify({ name: 'n'.repeat(3000) });
    const r = await api.call('/v1/knowledgebases', { method: 'POST', json: many });
    expect(await errorOf(r)).toMatchObject({ status: 400, code: 'BODY_INVALID', message: /body\.name/ });
  });

  it('refuses bad query parameters and unknown ones', async () => {
    expect(await errorOf(await api.call('/v1/knowledgebases?limit=-1'))).toMatchObject({
      status: 400,
      message: /query\.limit/,
    });
    expect(await errorOf(await api.call('/v1/knowledgebases?limit=1&limit=2'))).toMatchObject({
      status: 400,
    });
    expect(await errorOf(await api.call('/v1/knowledgebases?sort=name'))).toMatchObject({ status: 400 });
    expect(await errorOf(await api.call('/v1/knowledgebases/books/documents?since=yesterday'))).toMatchObject(
      {
        status: 400,
        code: 'INVALID_OPTION',
      },
    );
    expect(
      await errorOf(await api.call('/v1/knowledgebases/books/documents?fields=title,__proto__')),
    ).toMatchObject({ status: 400 });
    expect(await errorOf(await api.call('/v1/jobs/not-a-number'))).toMatchObject({ status: 400 });
    expect(await errorOf(await api.call('/v1/knowledgebases/..%2F..%2Fetc'))).toMatchObject({ status: 400 });
  });

  it('refuses bodies that are not JSON', async () => {
    const r = await api.call('/v1/knowledgebases', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    });
    expect(await errorOf(r)).toMatchObject({ status: 400, code: 'BODY_INVALID' });
  });
});

describe('HTTP API sources from paths and uploads', () => {
  let api: TestApi;
  let root: string;
  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'shelf-roots-'));
    root = join(base, 'notes');
    mkdirSync(root);
    writeFileSync(
      join(root, 'sockets.md'),
      '# Sockets\n\nA socket is an endpoint for sending and receiving data.\n',
    );
    writeFileSync(join(base, 'secret.md'), '# Secret\n\nNot for clients.\n');
    symlinkSync(join(base, 'secret.md'), join(root, 'link.md'));
    api = await startTestApi({ server: { roots: [root], maxUploadBytes: 64 * 1024 } });
    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'books' } });
  });
  afterAll(() => api.close());

  const addPath = (path: string): Promise<Response> =>
    api.call('/v1/knowledgebases/books/sources', { method: 'POST', json: { path } });

  it('adds a local file inside the configured roots', async () => {
    const r = await addPath(join(root, 'sockets.md'));
    expect(r.status).toBe(202);
    const { job } = (await r.json()) as { job: { id: number } };
    expect((await api.waitForJob(job.id)).state).toBe('succeeded');
  });

  it('refuses paths outside the roots, through .. or a symbolic link', async () => {
    for (const path of [join(root, '..', 'secret.md'), join(root, 'link.md'), '/etc/passwd', 'relative.md']) {
      const r = await addPath(path);
      expect(r.status, path).toBe(403);
      expect(((await json(r)).error as Json).code).toBe('PATH_OUTSIDE_ROOTS');
    }
  });

  it('refuses URLs that are not http(s) and private addresses through the fetch guard', async () => {
    const file = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { url: 'file:///etc/passwd' },
    });
    expect(file.status).toBe(400);
    const r = await api.call('/v1/knowledgebases/books/sources', {
      method: 'POST',
      json: { url: 'http://169.254.169.254/latest/meta-data' },
    });
    const { job } = (await r.json()) as { job: { id: number } };
    const done = await api.waitForJob(job.id);
    expect(done).toMatchObject({ state: 'failed', error: { code: 'FETCH_BLOCKED_ADDRESS' } });
  });

  it('ingests an uploaded file streamed through multipart', async () => {
    const form = new FormData();
    form.set('tags', 'uploaded, notes');
    form.set(
      'file',
      new Blob(['# Upload\n\nThe epoll interface watches many file descriptors.\n']),
      'epoll.md',
    );
    const r = await api.call('/v1/knowledgebases/books/sources', { method: 'POST', body: form });
    expect(r.status).toBe(202);
    const { job } = (await r.json()) as { job: { id: number } };
    expect((await api.waitForJob(job.id)).state).toBe('succeeded');
    const docs = await json(
      await api.call('/v1/knowledgebases/books/documents?tag=uploaded&fields=title,tags'),
    );
    expect(docs.items).toEqual([{ title: 'Upload', tags: ['uploaded', 'notes'] }]);
  });

  it('refuses an oversized upload with 413 and stores nothing', async () => {
    const before = await json(await api.call('/v1/knowledgebases/books/sources'));
    const uploads = readdirSync(join(api.home, 'uploads')).length;
    const form = new FormData();
    form.set('file', new Blob(['# Big\n\n' + 'word '.repeat(40_000)]), 'big.md');
    const r = await api.call('/v1/knowledgebases/books/sources', { method: 'POST', body: form });
    expect(r.status).toBe(413);
    expect(((await json(r)).error as Json).code).toBe('PAYLOAD_TOO_LARGE');
    const after = await json(await api.call('/v1/knowledgebases/books/sources'));
    expect(after.total).toBe(before.total);
    expect(readdirSync(join(api.home, 'uploads')).length).toBe(uploads);
    const jobs = await json(await api.call('/v1/jobs?state=queued'));
    expect(jobs.total).toBe(0);
  });

  /** Uploads `text` as `name` into `kb` and waits for its job. */
  const upload = async (kb: string, name: string, text: string): Promise<Json> => {
    const form = new FormData();
    form.set('file', new Blob([text]), name);
    const r = await api.call(`/v1/knowledgebases/${kb}/sources`, { method: 'POST', body: form });
    expect(r.status).toBe(202);
    const { job } = (await r.json()) as { job: { id: number } };
    return await api.waitForJob(job.id);
  };
  const uploaded = (): string[] => readdirSync(join(api.home, 'uploads'));

  it("deletes an uploaded file with its source, and a knowledge base's uploads with it", async () => {
    const before = uploaded();
    expect((await upload('books', 'select.md', '# Select\n\nselect(2) waits on descriptors.\n')).state).toBe(
      'succeeded',
    );
    const added = uploaded().filter((d) => !before.includes(d));
    expect(added).toHaveLength(1);
    const sources = (await json(await api.call('/v1/knowledgebases/books/sources'))).items as Json[];
    const source = sources.find((x) => String(x.location).includes(added[0]!));
    expect(source).toBeDefined();
    const del = await api.call(`/v1/knowledgebases/books/sources/${String(source!.id)}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(204);
    expect(uploaded()).toEqual(before);

    await api.call('/v1/knowledgebases', { method: 'POST', json: { name: 'scratch' } });
    expect((await upload('scratch', 'poll.md', '# Poll\n\npoll(2) too.\n')).state).toBe('succeeded');
    expect(uploaded()).toHaveLength(before.length + 1);
    expect((await api.call('/v1/knowledgebases/scratch', { method: 'DELETE' })).status).toBe(204);
    expect(uploaded()).toEqual(before);
    // A path of the user's own is never deleted with its source.
    expect(existsSync(join(root, 'sockets.md'))).toBe(true);
  });

  it('deletes an upload that failed to ingest for good, since no source refers to it', async () => {
    const before = uploaded();
    const done = await upload('books', 'broken.pdf', '%PDF-1.7\n' + 'garbage '.repeat(50));
    expect(done).toMatchObject({ state: 'failed' });
    expect(uploaded()).toEqual(before);
  });
});
