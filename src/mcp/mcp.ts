/**
 * `shelf mcp`: the knowledge bases as a Model Context Protocol server (official SDK, stdio).
 *
 * Tools: `search` (ranked hits with citations), `ask` (a cited answer), `list_documents`
 * (a filtered page of documents). Resources: every document as
 * `shelf://documents/{id}`, read as Markdown (title, metadata, then its chunks in order).
 * Failures come back as tool errors carrying the catalogue's message and hint, never as a
 * broken protocol stream. Nothing is written to stdout except protocol messages.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ask } from '../ask/ask.js';
import type { App } from '../app.js';
import { parseSince } from '../core/dates.js';
import { ShelfError, toShelfError } from '../core/errors.js';
import { search } from '../search/search.js';
import type { DocumentFilter, KnowledgeBase } from '../store/store.js';

const DEFAULT_KB = 'default';
/** Documents listed as resources (clients page through list_documents for more). */
const MAX_RESOURCES = 1000;
const DOCUMENT_URI = /^shelf:\/\/documents\/(\d+)$/;

function text(value: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }],
  };
}

/** Runs a tool body, turning a failure into a tool error with the catalogue's message and hint. */
async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (e) {
    const err = toShelfError(e);
    return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}\n${err.hint}` }] };
  }
}

export function documentUri(id: number): string {
  return `shelf://documents/${id}`;
}

/** Builds the MCP server over an app (not yet connected to a transport). */
export function createMcpServer(options: { app: App; version?: string }): McpServer {
  const { store, clock } = options.app;
  const server = new McpServer({ name: 'shelf', version: options.version ?? '0.1.0' });

  const requireKb = async (name: string): Promise<KnowledgeBase> => {
    const kb = await store.getKnowledgeBase(name);
    if (!kb) throw new ShelfError('KB_NOT_FOUND', { name });
    return kb;
  };
  const filterOf = (a: {
    author?: string | undefined;
    tag?: string | undefined;
    since?: string | undefined;
  }): DocumentFilter => ({
    ...(a.author !== undefined ? { author: a.author } : {}),
    ...(a.tag !== undefined ? { tag: a.tag } : {}),
    ...(a.since !== undefined ? { since: parseSince(a.since, clock.now(), 'since') } : {}),
  });
  const filters = {
    author: z.string().max(200).optional().describe('author contains'),
    tag: z.string().max(200).optional().describe('has this tag'),
    since: z.string().max(64).optional().describe('published since a date (2024-03-01) or span (30d, 6m)'),
  };

  server.registerTool(
    'search',
    {
      title: 'Search the knowledge base',
      description:
        'Ranked full-text search over the documents; returns hits with snippets, citations and resource URIs.',
      inputSchema: {
        query: z.string().min(1).max(4000),
        kb: z.string().max(64).optional().describe(`knowledge base (default "${DEFAULT_KB}")`),
        limit: z.number().int().min(1).max(50).optional(),
        ...filters,
      },
    },
    (args) =>
      guarded(async () => {
        const kb = await requireKb(args.kb ?? DEFAULT_KB);
        const result = await search(store, {
          query: args.query,
          kbIds: [kb.id],
          filter: filterOf(args),
          limit: args.limit ?? 10,
        });
        return text({
          query: result.query,
          hits: result.hits.map((h) => ({
            rank: h.rank,
            title: h.document.title,
            citation: h.citation,
            ...(h.url !== undefined ? { url: h.url } : {}),
            snippet: h.snippet.text,
            resource: documentUri(h.document.id),
          })),
        });
      }),
  );

  server.registerTool(
    'ask',
    {
      title: 'Ask the knowledge base',
      description:
        'Answers a question from the documents, citing each claim as [n]; says so when the answer is not there.',
      inputSchema: {
        question: z.string().min(1).max(8000),
        kb: z.string().max(64).optional().describe(`knowledge base (default "${DEFAULT_KB}")`),
      },
    },
    (args) =>
      guarded(async () => {
        const r = await ask({ store, clock }, { question: args.question, kb: args.kb ?? DEFAULT_KB });
        const sources = r.citations.map((c) => `[${c.n}] ${c.label}${c.url ? ` <${c.url}>` : ''}`);
        return text([r.answer.text, '', ...(sources.length > 0 ? ['Sources:', ...sources] : [])].join('\n'));
      }),
  );

  server.registerTool(
    'list_documents',
    {
      title: 'List documents',
      description: 'Documents of a knowledge base, newest first, with filters and paging.',
      inputSchema: {
        kb: z.string().max(64).optional().describe(`knowledge base (default "${DEFAULT_KB}")`),
        limit: z.number().int().min(1).max(200).optional(),
        offset: z.number().int().min(0).optional(),
        ...filters,
      },
    },
    (args) =>
      guarded(async () => {
        const kb = await requireKb(args.kb ?? DEFAULT_KB);
        const page = await store.listDocuments([kb.id], filterOf(args), {
          limit: args.limit ?? 50,
          offset: args.offset ?? 0,
        });
        return text({
          total: page.total,
          documents: page.items.map((d) => ({
            id: d.id,
            title: d.title,
            ...(d.author !== undefined ? { author: d.author } : {}),
            ...(d.published !== undefined ? { published: d.published } : {}),
            ...(d.url !== undefined ? { url: d.url } : {}),
            tags: d.tags,
            resource: documentUri(d.id),
          })),
        });
      }),
  );

  server.registerResource(
    'document',
    new ResourceTemplate('shelf://documents/{id}', {
      list: async () => {
        const page = await store.listDocuments([], {}, { limit: MAX_RESOURCES, offset: 0 });
        return {
          resources: page.items.map((d) => ({
            uri: documentUri(d.id),
            name: d.title,
            mimeType: 'text/markdown',
            ...(d.author !== undefined ? { description: `by ${d.author}` } : {}),
          })),
        };
      },
    }),
    {
      title: 'Documents',
      description: 'Each document as Markdown: its title, metadata and text.',
      mimeType: 'text/markdown',
    },
    async (uri) => {
      const id = Number(DOCUMENT_URI.exec(uri.href)?.[1]);
      const doc = Number.isSafeInteger(id) ? await store.getDocument(id) : undefined;
      if (!doc) throw new ShelfError('DOCUMENT_NOT_FOUND', { id: uri.href });
      const chunks = await store.getChunks(doc.id);
      const meta = [
        doc.author !== undefined ? `Author: ${doc.author}` : '',
        doc.published !== undefined ? `Published: ${doc.published.slice(0, 10)}` : '',
        doc.url !== undefined ? `URL: ${doc.url}` : '',
        doc.tags.length > 0 ? `Tags: ${doc.tags.join(', ')}` : '',
      ].filter((l) => l !== '');
      let heading = '';
      const body: string[] = [];
      for (const c of chunks) {
        const path = c.headingPath.join(' > ');
        if (path !== '' && path !== heading) body.push(`## ${path}`);
        heading = path;
        body.push(c.text);
      }
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'text/markdown',
            text: [`# ${doc.title}`, meta.join('\n'), ...body].join('\n\n'),
          },
        ],
      };
    },
  );
  return server;
}

/** Serves MCP on this process's stdin/stdout until the client disconnects. */
export async function serveMcpStdio(options: { app: App }): Promise<void> {
  const server = createMcpServer(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  process.stdin.once('end', () => void server.close());
  await server.connect(transport);
  await closed;
}
