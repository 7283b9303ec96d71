/**
 * The v1 resources (Web API Design: plural nouns, verbs from HTTP, complexity behind the `?`):
 * knowledge bases, their sources, documents, search and answers, search across knowledge
 * bases, jobs, health and the OpenAPI document. Each route is declared with its schemas in
 * `spec.ts` style; `server.ts` registers them and generates the OpenAPI document from them.
 *
 * Long work (adding and syncing sources) never runs inside a request: it is queued as a
 * job and answered `202 Accepted` with the job and a `Location: /v1/jobs/{id}` header.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ask, MAX_QUESTION_LENGTH, type AskResult } from '../ask/ask.js';
import { HISTORY_TURNS } from '../ask/chat.js';
import { ROUTE_TYPES, type AskFilters, type Turn } from '../ask/types.js';
import type { App } from '../app.js';
import { parseSince } from '../core/dates.js';
import { ShelfError } from '../core/errors.js';
import { isUrl } from '../ingest/read.js';
import { deleteKnowledgeBase, deleteSource } from '../ingest/uploads.js';
import { addSourceJob, syncSourceJob } from '../jobs/ingest-jobs.js';
import { MAX_QUERY_LENGTH, search, type SearchHit } from '../search/search.js';
import type {
  DocumentFilter,
  DocumentRecord,
  JobRecord,
  KnowledgeBase,
  NewJob,
  SourceOptions,
} from '../store/store.js';
import { parseFields, pickFields } from './fields.js';
import { resolveInsideRoots } from './paths.js';
import { parseInput, route, type RouteSpec } from './spec.js';
import { openEventStream, writeEvents, type ServerEvent } from './sse.js';

export interface RouteDeps {
  readonly app: App;
  /** Where uploaded files are kept (they are the source's content afterwards). */
  readonly uploadsDir: string;
  /** Called after a job is queued, so the worker starts at once. */
  readonly onJobQueued: () => void;
  readonly version: string;
  /** The OpenAPI document, built from these same routes. */
  readonly openApi: () => unknown;
}

const KB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const kbName = z.string().regex(KB_NAME, 'expected 1 to 64 letters, digits, dots, dashes or underscores');
const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const text = (max: number): z.ZodString => z.string().max(max);
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const KbParams = z.strictObject({ kb: kbName });
const KbIdParams = z.strictObject({ kb: kbName, id });
const JobParams = z.strictObject({ id });

const pageQuery = {
  limit: z.coerce.number().int().min(0).max(1000).default(50).describe('items per page (0 to 1000)'),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0).describe('items to skip'),
  fields: text(1000).optional().describe('comma-separated fields to return, e.g. title,author,document.url'),
};
const filterQuery = {
  author: text(200).optional().describe('author contains (case-insensitive)'),
  tag: text(200).optional().describe('has this tag'),
  since: text(64).optional().describe('published since a date (2024-03-01) or span (30d, 6m)'),
  source: id.optional().describe('from this source id'),
};
const ListQuery = z.strictObject(pageQuery);
const DocumentsQuery = z.strictObject({ ...pageQuery, ...filterQuery });
const searchQuery = {
  q: text(MAX_QUERY_LENGTH).describe('the query'),
  limit: z.coerce.number().int().min(1).max(100).default(10).describe('results (1 to 100)'),
  offset: z.coerce.number().int().min(0).max(900).default(0).describe('results to skip'),
  allChunks: flag.optional().describe('every matching chunk, not only the best per document'),
  fields: pageQuery.fields,
  ...filterQuery,
};
const SearchQuery = z.strictObject(searchQuery);
const GlobalSearchQuery = z.strictObject({
  ...searchQuery,
  kb: text(2000).optional().describe('comma-separated knowledge base names (default: all)'),
});
const JobsQuery = z.strictObject({
  ...pageQuery,
  state: z.enum(['queued', 'running', 'succeeded', 'failed']).optional(),
  kind: text(64).optional(),
});

const CreateKb = z.strictObject({ name: kbName, primer: text(8000).optional() });
const PatchKb = z.strictObject({ primer: text(8000).nullable() });
const sourceOptions = {
  tags: z.array(text(100)).max(50).optional(),
  include: z.array(text(500)).max(50).optional(),
  exclude: z.array(text(500)).max(50).optional(),
  refreshIntervalS: z
    .number()
    .int()
    .min(60)
    .max(30 * 86400)
    .optional()
    .describe('feeds: seconds between automatic refreshes (default 3600)'),
};
const CreateSource = z
  .strictObject({
    url: text(2048).optional().describe('an http(s) URL: feed, OPML, page or PDF'),
    path: text(4096).optional().describe('an absolute path inside the server roots'),
    ...sourceOptions,
  })
  .refine((b) => (b.url === undefined) !== (b.path === undefined), 'give exactly one of url or path');
/** An earlier turn of a conversation, as the server answered it (its question and route). */
const HistoryTurn = z.strictObject({
  question: text(MAX_QUESTION_LENGTH * 4),
  route: z.object({
    type: z.enum(ROUTE_TYPES),
    rule: text(200),
    query: text(MAX_QUESTION_LENGTH * 4),
    filterNotes: z.array(text(1000)).max(20),
    filters: z.strictObject({
      author: text(200).optional(),
      tag: text(200).optional(),
      since: text(64).optional(),
      until: text(64).optional(),
      sourceId: z.number().int().positive().optional(),
    }),
    sides: z.tuple([text(1000), text(1000)]).optional(),
    followUpOf: text(MAX_QUESTION_LENGTH * 4).optional(),
  }),
});
const CreateAnswer = z.strictObject({
  question: text(MAX_QUESTION_LENGTH * 4),
  history: z
    .array(HistoryTurn)
    .max(HISTORY_TURNS)
    .optional()
    .describe('earlier turns (question and route, as answered), oldest first: follow-ups continue them'),
  route: z.enum(ROUTE_TYPES).optional(),
  budget: z.number().int().min(100).max(100_000).optional(),
});

const READ = { 400: 'invalid parameters', 401: 'missing or invalid API key', 429: 'rate limited' };
const KB_READ = { ...READ, 404: 'no such knowledge base' };

/** The list envelope: items, the total before paging, and the page asked for. */
function list<T>(
  items: readonly T[],
  total: number,
  q: { limit: number; offset: number; fields?: string | undefined },
) {
  const fields = parseFields(q.fields);
  return { items: items.map((i) => pickFields(i, fields)), total, limit: q.limit, offset: q.offset };
}

function jobView(job: JobRecord): Record<string, unknown> {
  const { leaseOwner: _owner, dedupeKey: _key, ...rest } = job;
  return { ...rest, links: { self: `/v1/jobs/${job.id}` } };
}

function hitView(h: SearchHit): Record<string, unknown> {
  const d = h.document;
  const c = h.chunk;
  return {
    rank: h.rank,
    score: h.score,
    citation: h.citation,
    ...(h.url !== undefined ? { url: h.url } : {}),
    snippet: h.snippet,
    document: {
      id: d.id,
      kbId: d.kbId,
      title: d.title,
      kind: d.kind,
      ...(d.url !== undefined ? { url: d.url } : {}),
      ...(d.author !== undefined ? { author: d.author } : {}),
      ...(d.published !== undefined ? { published: d.published } : {}),
    },
    chunk: {
      id: c.id,
      ordinal: c.ordinal,
      headingPath: c.headingPath,
      ...(c.anchor !== undefined ? { anchor: c.anchor } : {}),
      ...(c.pageStart !== undefined ? { pageStart: c.pageStart, pageEnd: c.pageEnd } : {}),
    },
  };
}

/** The answer as JSON: what a client shows, with citations (not the raw chunk records). */
export function answerView(r: AskResult): Record<string, unknown> {
  return {
    question: r.question,
    kb: r.kb,
    route: r.route,
    answer: {
      text: r.answer.text,
      shape: r.answer.shape,
      declined: r.answer.declined,
      ...(r.answer.followUp !== undefined ? { followUp: r.answer.followUp } : {}),
      parts: r.answer.parts,
      // Generated answers: the model, completeness, removed citations and per-sentence support.
      ...(r.answer.generation ? { generation: r.answer.generation } : {}),
      // A configured model that failed: why the answer is extractive.
      ...(r.answer.fallback ? { fallback: r.answer.fallback } : {}),
    },
    citations: r.citations,
    nearest: r.nearest,
    trace: r.trace,
  };
}

/**
 * The events of a streamed answer, in order: `route`, `sources`, one `token` per word of
 * the answer (with its trailing space, so the tokens concatenate to the text), `answer`,
 * `trace`. With a model configured, tokens will come from the model as it generates.
 */
export function answerEvents(r: AskResult): ServerEvent[] {
  const view = answerView(r);
  const tokens = r.answer.text.match(/\s*\S+\s*/g) ?? [];
  return [
    { event: 'route', data: r.route },
    { event: 'sources', data: { citations: r.citations, context: r.context.citations, nearest: r.nearest } },
    ...tokens.map((t): ServerEvent => ({ event: 'token', data: { text: t } })),
    { event: 'answer', data: { ...(view.answer as object), citations: r.citations } },
    { event: 'trace', data: r.trace },
  ];
}

/** A validated history turn as the router's `Turn` (optional fields left out, not undefined). */
function historyTurn(t: z.output<typeof HistoryTurn>): Turn {
  const { sides, followUpOf, filters, ...route } = t.route;
  const f = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as AskFilters;
  return {
    question: t.question,
    route: {
      ...route,
      filters: f,
      ...(sides !== undefined ? { sides } : {}),
      ...(followUpOf !== undefined ? { followUpOf } : {}),
    },
  };
}

/**
 * The local file of a document, if the server may serve it: a `file:` URL whose real path
 * lies inside the server roots or the uploads directory (never an arbitrary server path).
 */
async function documentFile(doc: DocumentRecord, allowed: readonly string[]): Promise<string> {
  if (doc.url === undefined || !doc.url.startsWith('file:'))
    throw new ShelfError('DOCUMENT_FILE_UNAVAILABLE', { id: doc.id, reason: 'it is not a local file' });
  let path: string;
  try {
    path = fileURLToPath(doc.url);
  } catch (e) {
    throw new ShelfError(
      'DOCUMENT_FILE_UNAVAILABLE',
      { id: doc.id, reason: 'its file URL is invalid' },
      { cause: e },
    );
  }
  return resolveInsideRoots(path, allowed);
}

const FILE_TYPES: Readonly<Record<string, string>> = {
  pdf: 'application/pdf',
  markdown: 'text/markdown; charset=utf-8',
};

/**
 * Streams a generated answer: `route` and `sources` once the context is ready, a `token`
 * per piece of checked model text as it arrives, then `answer` and `trace`. Errors before
 * the first event get their normal HTTP response; later ones end the stream with an
 * `error` event. A client that goes away cancels the model request.
 */
async function streamAnswer(
  reply: FastifyReply,
  request: FastifyRequest,
  run: (hooks: {
    onRetrieved: (r: {
      route: unknown;
      context: AskResult['context'];
      nearest: AskResult['nearest'];
    }) => void;
    onToken: (text: string) => void;
    signal: AbortSignal;
  }) => Promise<AskResult>,
): Promise<void> {
  let stream: ReturnType<typeof openEventStream> | undefined;
  const open = (): ReturnType<typeof openEventStream> => (stream ??= openEventStream(reply));
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  request.raw.socket.once('close', onClose);
  let tokens = 0;
  let sentSources = false;
  try {
    const result = await run({
      onRetrieved: (r) => {
        const s = open();
        s.send({ event: 'route', data: r.route });
        s.send({ event: 'sources', data: { context: r.context.citations, nearest: r.nearest } });
        sentSources = true;
      },
      onToken: (text) => {
        tokens++;
        open().send({ event: 'token', data: { text } });
      },
      signal: abort.signal,
    });
    const s = open();
    // Rule-based answers (vague, catalogue, declined, fallback) stream their words here.
    for (const e of answerEvents(result)) {
      if ((e.event === 'route' || e.event === 'sources') && sentSources) continue;
      if (e.event === 'token' && tokens > 0) continue;
      s.send(e);
    }
    s.end();
  } catch (e) {
    if (!stream) throw e;
    const err = e instanceof ShelfError ? e : new ShelfError('INTERNAL', { detail: String(e) }, { cause: e });
    stream.send({ event: 'error', data: { error: err.toJSON() } });
    stream.end();
  } finally {
    request.raw.socket.off('close', onClose);
  }
}

function wantsEventStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
}

/** Keeps what is safe of a client's file name: its base name in a small alphabet. */
export function safeFileName(name: string | undefined): string {
  const base = basename((name ?? '').replaceAll('\\', '/'))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(-120);
  return base === '' ? 'upload' : base;
}

export function buildRoutes(deps: RouteDeps): RouteSpec[] {
  const { store, config, clock } = deps.app;

  const requireKb = async (name: string): Promise<KnowledgeBase> => {
    const kb = await store.getKnowledgeBase(name);
    if (!kb) throw new ShelfError('KB_NOT_FOUND', { name });
    return kb;
  };
  const filterOf = (q: {
    author?: string | undefined;
    tag?: string | undefined;
    since?: string | undefined;
    source?: number | undefined;
  }): DocumentFilter => ({
    ...(q.author !== undefined ? { author: q.author } : {}),
    ...(q.tag !== undefined ? { tag: q.tag } : {}),
    ...(q.since !== undefined ? { since: parseSince(q.since, clock.now(), 'since') } : {}),
    ...(q.source !== undefined ? { sourceId: q.source } : {}),
  });
  const queue = async (reply: FastifyReply, job: NewJob): Promise<Record<string, unknown>> => {
    const { job: queued } = await store.enqueueJob(job);
    deps.onJobQueued();
    void reply.code(202).header('location', `/v1/jobs/${queued.id}`);
    return { job: jobView(queued) };
  };

  /** Streams an upload to disk under the cap; on any failure nothing is left behind. */
  const receiveUpload = async (
    request: FastifyRequest,
  ): Promise<{ path: string; options: SourceOptions }> => {
    const part = await request.file({
      limits: { fileSize: config.server.maxUploadBytes, files: 1, fields: 10, fieldSize: 2000, parts: 12 },
    });
    if (!part) throw new ShelfError('BODY_INVALID', { detail: 'the multipart body has no file part' });
    const dir = join(deps.uploadsDir, randomUUID());
    const path = join(dir, safeFileName(part.filename));
    try {
      await mkdir(dir, { recursive: true });
      await pipeline(part.file, createWriteStream(path, { flags: 'wx' }));
      if (part.file.truncated)
        throw new ShelfError('PAYLOAD_TOO_LARGE', { limit: config.server.maxUploadBytes });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      const code = (e as { code?: unknown }).code;
      if (code === 'FST_REQ_FILE_TOO_LARGE')
        throw new ShelfError('PAYLOAD_TOO_LARGE', { limit: config.server.maxUploadBytes }, { cause: e });
      throw e;
    }
    const tagsField = part.fields.tags;
    const tagsValue =
      tagsField && !Array.isArray(tagsField) && tagsField.type === 'field' ? String(tagsField.value) : '';
    const tags = tagsValue
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '' && t.length <= 100)
      .slice(0, 50);
    return { path, options: tags.length > 0 ? { tags } : {} };
  };

  return [
    route({
      method: 'GET',
      path: '/v1/health',
      summary: 'Liveness, version and the job queue',
      tag: 'server',
      public: true,
      responses: { 200: 'the server is up' },
      handler: async () => {
        const count = async (state: 'queued' | 'running' | 'failed'): Promise<number> =>
          (await store.listJobs({ state }, { limit: 0, offset: 0 })).total;
        return {
          status: 'ok',
          version: deps.version,
          jobs: {
            queued: await count('queued'),
            running: await count('running'),
            failed: await count('failed'),
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/openapi.json',
      summary: 'This API, as an OpenAPI 3.1 document',
      tag: 'server',
      public: true,
      responses: { 200: 'the OpenAPI document' },
      handler: () => Promise.resolve(deps.openApi()),
    }),

    route({
      method: 'GET',
      path: '/v1/knowledgebases',
      summary: 'List knowledge bases with their sizes',
      tag: 'knowledge bases',
      query: ListQuery,
      responses: { 200: 'a page of knowledge bases', ...READ },
      handler: async ({ query }) => {
        const all = await store.listKnowledgeBases();
        return list(all.slice(query.offset, query.offset + query.limit), all.length, query);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/knowledgebases',
      summary: 'Create a knowledge base',
      tag: 'knowledge bases',
      body: CreateKb,
      responses: { 201: 'created', 409: 'the name is taken', ...READ },
      handler: async ({ body, reply }) => {
        const kb = await store.createKnowledgeBase(body.name);
        if (body.primer !== undefined) await store.setPrimer(kb.id, body.primer);
        void reply.code(201).header('location', `/v1/knowledgebases/${kb.name}`);
        return { ...kb, ...(body.primer !== undefined ? { primer: body.primer } : {}) };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}',
      summary: 'One knowledge base with its sizes',
      tag: 'knowledge bases',
      params: KbParams,
      query: z.strictObject({ fields: pageQuery.fields }),
      responses: { 200: 'the knowledge base', ...KB_READ },
      handler: async ({ params, query }) => {
        const kb = (await store.listKnowledgeBases()).find((k) => k.name === params.kb);
        if (!kb) throw new ShelfError('KB_NOT_FOUND', { name: params.kb });
        return pickFields(kb, parseFields(query.fields));
      },
    }),
    route({
      method: 'PATCH',
      path: '/v1/knowledgebases/{kb}',
      summary: 'Set or clear the primer (the persona of generated answers)',
      tag: 'knowledge bases',
      params: KbParams,
      body: PatchKb,
      responses: { 200: 'updated', ...KB_READ },
      handler: async ({ params, body }) => {
        const kb = await requireKb(params.kb);
        const primer = body.primer?.trim() ?? '';
        await store.setPrimer(kb.id, primer === '' ? null : primer);
        return requireKb(params.kb);
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/knowledgebases/{kb}',
      summary: 'Delete a knowledge base with all its sources and documents',
      tag: 'knowledge bases',
      params: KbParams,
      responses: { 204: 'deleted', ...KB_READ },
      handler: async ({ params, reply }) => {
        const kb = await requireKb(params.kb);
        await deleteKnowledgeBase(store, deps.uploadsDir, kb.id);
        void reply.code(204);
        return undefined;
      },
    }),

    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/sources',
      summary: 'List sources with their sync state',
      tag: 'sources',
      params: KbParams,
      query: ListQuery,
      responses: { 200: 'a page of sources', ...KB_READ },
      handler: async ({ params, query }) => {
        const kb = await requireKb(params.kb);
        const all = await store.listSources(kb.id);
        return list(all.slice(query.offset, query.offset + query.limit), all.length, query);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/knowledgebases/{kb}/sources',
      summary: 'Add a source from a URL, a local path inside the server roots, or an uploaded file',
      tag: 'sources',
      params: KbParams,
      body: CreateSource,
      upload: true,
      responses: {
        202: 'queued: the job that ingests it (Location: /v1/jobs/{id})',
        403: 'the path is outside the server roots',
        413: 'the upload is too large',
        ...KB_READ,
      },
      handler: async ({ params, request, reply }) => {
        const kb = await requireKb(params.kb);
        if (request.isMultipart()) {
          const upload = await receiveUpload(request);
          return queue(reply, addSourceJob({ kb: kb.name, location: upload.path, options: upload.options }));
        }
        // Validated here rather than by the framework: the body is JSON only when not an upload.
        const body = parseInput(CreateSource, request.body, 'body');
        let location: string;
        if (body.url !== undefined) {
          if (!isUrl(body.url)) throw new ShelfError('FETCH_BAD_URL', { url: body.url });
          location = body.url;
        } else location = await resolveInsideRoots(body.path ?? '', config.server.roots);
        const options: SourceOptions = {
          ...(body.tags ? { tags: body.tags } : {}),
          ...(body.include ? { include: body.include } : {}),
          ...(body.exclude ? { exclude: body.exclude } : {}),
        };
        return queue(
          reply,
          addSourceJob({
            kb: kb.name,
            location,
            options,
            ...(body.refreshIntervalS !== undefined ? { refreshIntervalS: body.refreshIntervalS } : {}),
          }),
        );
      },
    }),
    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/sources/{id}',
      summary: 'One source with its sync state',
      tag: 'sources',
      params: KbIdParams,
      responses: { 200: 'the source', ...KB_READ },
      handler: async ({ params }) => {
        const kb = await requireKb(params.kb);
        const source = await store.getSource(params.id);
        if (!source || source.kbId !== kb.id) throw new ShelfError('SOURCE_NOT_FOUND', { id: params.id });
        return source;
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/knowledgebases/{kb}/sources/{id}',
      summary: 'Remove a source and all its documents from every index',
      tag: 'sources',
      params: KbIdParams,
      responses: { 204: 'deleted', ...KB_READ },
      handler: async ({ params, reply }) => {
        const kb = await requireKb(params.kb);
        const source = await store.getSource(params.id);
        if (!source || source.kbId !== kb.id) throw new ShelfError('SOURCE_NOT_FOUND', { id: params.id });
        await deleteSource(store, deps.uploadsDir, source);
        void reply.code(204);
        return undefined;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/knowledgebases/{kb}/sources/{id}/sync',
      summary: 'Refresh a source now (one sync per source at a time)',
      tag: 'sources',
      params: KbIdParams,
      responses: { 202: 'queued (or already queued): the sync job', ...KB_READ },
      handler: async ({ params, reply }) => {
        const kb = await requireKb(params.kb);
        const source = await store.getSource(params.id);
        if (!source || source.kbId !== kb.id) throw new ShelfError('SOURCE_NOT_FOUND', { id: params.id });
        return queue(reply, syncSourceJob(source.id));
      },
    }),

    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/documents',
      summary: 'List documents, newest first, with filters',
      tag: 'documents',
      params: KbParams,
      query: DocumentsQuery,
      responses: { 200: 'a page of documents', ...KB_READ },
      handler: async ({ params, query }) => {
        const kb = await requireKb(params.kb);
        const page = await store.listDocuments([kb.id], filterOf(query), query);
        return list(page.items, page.total, query);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/documents/{id}',
      summary: 'One document with its chunks',
      tag: 'documents',
      params: KbIdParams,
      query: z.strictObject({ fields: pageQuery.fields }),
      responses: { 200: 'the document and its chunks', ...KB_READ },
      handler: async ({ params, query }) => {
        const kb = await requireKb(params.kb);
        const doc = await store.getDocument(params.id);
        if (!doc || doc.kbId !== kb.id) throw new ShelfError('DOCUMENT_NOT_FOUND', { id: params.id });
        const chunks = (await store.getChunks(doc.id)).map(({ kbId: _kb, documentId: _doc, ...c }) => c);
        return pickFields({ ...doc, chunks }, parseFields(query.fields));
      },
    }),
    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/documents/{id}/file',
      summary: "The document's own file (a PDF for the viewer), if uploaded or inside the server roots",
      tag: 'documents',
      params: KbIdParams,
      responses: {
        200: 'the file: application/pdf for PDFs, text/plain or text/markdown otherwise',
        403: 'the file is outside the server roots',
        ...KB_READ,
      },
      handler: async ({ params, reply }) => {
        const kb = await requireKb(params.kb);
        const doc = await store.getDocument(params.id);
        if (!doc || doc.kbId !== kb.id) throw new ShelfError('DOCUMENT_NOT_FOUND', { id: params.id });
        const path = await documentFile(doc, [...config.server.roots, deps.uploadsDir]);
        // HTML and other text go out as plain text (with nosniff): never rendered on this origin.
        void reply
          .type(FILE_TYPES[doc.kind] ?? 'text/plain; charset=utf-8')
          .header('content-disposition', `inline; filename="${safeFileName(basename(path))}"`);
        return reply.send(createReadStream(path));
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/knowledgebases/{kb}/documents/{id}',
      summary: 'Remove a document from every index',
      tag: 'documents',
      params: KbIdParams,
      responses: { 204: 'deleted', ...KB_READ },
      handler: async ({ params, reply }) => {
        const kb = await requireKb(params.kb);
        const doc = await store.getDocument(params.id);
        if (!doc || doc.kbId !== kb.id) throw new ShelfError('DOCUMENT_NOT_FOUND', { id: params.id });
        await store.deleteDocument(doc.id);
        void reply.code(204);
        return undefined;
      },
    }),

    route({
      method: 'GET',
      path: '/v1/knowledgebases/{kb}/search',
      summary: 'Ranked search with snippets and citations',
      tag: 'search',
      params: KbParams,
      query: SearchQuery,
      responses: { 200: 'ranked hits', ...KB_READ },
      handler: async ({ params, query }) => {
        const kb = await requireKb(params.kb);
        return searchResponse([kb.id], query);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/search',
      summary: 'Ranked search across knowledge bases',
      tag: 'search',
      query: GlobalSearchQuery,
      responses: { 200: 'ranked hits', 404: 'no such knowledge base', ...READ },
      handler: async ({ query }) => {
        const names = (query.kb ?? '')
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '');
        const kbIds: number[] = [];
        for (const n of names) kbIds.push((await requireKb(n)).id);
        return searchResponse(kbIds, query);
      },
    }),

    route({
      method: 'POST',
      path: '/v1/knowledgebases/{kb}/answers',
      summary: 'Answer a question with citations (Server-Sent Events with Accept: text/event-stream)',
      tag: 'answers',
      params: KbParams,
      body: CreateAnswer,
      stream: true,
      responses: {
        200: 'the answer; as a stream: events route, sources, token…, answer, trace',
        ...KB_READ,
      },
      handler: async ({ params, body, request, reply }) => {
        const askDeps = {
          store,
          clock,
          ...(deps.app.llm ? { llm: deps.app.llm } : {}),
          ...(deps.app.embedder
            ? { embedder: deps.app.embedder, denseCandidates: config.embed.candidates }
            : {}),
        };
        const askRequest = {
          question: body.question,
          kb: params.kb,
          ...(body.route !== undefined ? { route: body.route } : {}),
          ...(body.history !== undefined ? { history: body.history.map(historyTurn) } : {}),
          ...(body.budget !== undefined ? { budget: body.budget } : {}),
        };
        if (!wantsEventStream(request)) return answerView(await ask(askDeps, askRequest));
        if (!askDeps.llm) {
          await writeEvents(reply, answerEvents(await ask(askDeps, askRequest)));
          return undefined;
        }
        // A model is configured: its tokens stream as they are generated.
        await streamAnswer(reply, request, (hooks) => ask(askDeps, { ...askRequest, ...hooks }));
        return undefined;
      },
    }),

    route({
      method: 'GET',
      path: '/v1/jobs',
      summary: 'List jobs, newest first',
      tag: 'jobs',
      query: JobsQuery,
      responses: { 200: 'a page of jobs', ...READ },
      handler: async ({ query }) => {
        const page = await store.listJobs(
          { ...(query.state ? { state: query.state } : {}), ...(query.kind ? { kind: query.kind } : {}) },
          query,
        );
        return list(page.items.map(jobView), page.total, query);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/jobs/{id}',
      summary: 'One job: state, progress, attempts, result or error',
      tag: 'jobs',
      params: JobParams,
      responses: { 200: 'the job', 404: 'no such job', ...READ },
      handler: async ({ params }) => {
        const job = await store.getJob(params.id);
        if (!job) throw new ShelfError('JOB_NOT_FOUND', { id: params.id });
        return jobView(job);
      },
    }),
  ];

  async function searchResponse(
    kbIds: number[],
    query: z.output<typeof SearchQuery>,
  ): Promise<Record<string, unknown>> {
    const result = await search(store, {
      query: query.q,
      kbIds,
      filter: filterOf(query),
      limit: query.offset + query.limit,
      ...(query.allChunks ? { allChunks: true } : {}),
    });
    const hits = result.hits.slice(query.offset).map(hitView);
    const fields = parseFields(query.fields);
    return {
      query: result.query,
      terms: result.terms,
      candidates: result.candidates,
      limit: query.limit,
      offset: query.offset,
      items: hits.map((h) => pickFields(h, fields)),
    };
  }
}
