import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestContext, openApp } from '../app.js';
import { configFor } from '../core/config.js';
import { addSource } from '../ingest/ingest.js';
import { PROJECT_ROOT } from '../test-support/shared.js';

const textOf = (r: unknown): string => {
  const content = (r as CallToolResult).content[0];
  return content?.type === 'text' ? content.text : '';
};

describe('shelf mcp over stdio, driven by the SDK client', () => {
  const home = mkdtempSync(join(tmpdir(), 'shelf-mcp-'));
  let client: Client;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-mcp-docs-'));
    writeFileSync(
      join(dir, 'queues.md'),
      '---\nauthor: Ada Writer\n---\n# Accept queues\n\n## Backlog\n\nThe listen backlog bounds the accept queue of a socket. When the accept queue is full, the kernel drops new connections.\n',
    );
    const config = configFor(home);
    const app = openApp({ config });
    const kb = await app.store.createKnowledgeBase('default');
    await addSource(ingestContext(app), { kb, location: join(dir, 'queues.md') });
    await app.close();

    client = new Client({ name: 'shelf-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/shelf.ts'), '--home', home, 'mcp'],
        cwd: PROJECT_ROOT,
        stderr: 'pipe',
      }),
    );
  }, 30_000);

  afterAll(async () => {
    await client.close();
  });

  it('offers the search, ask and list_documents tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['ask', 'list_documents', 'search']);
    expect(tools.find((t) => t.name === 'search')?.inputSchema.required).toEqual(['query']);
  });

  it('searches and lists documents', async () => {
    const hits = JSON.parse(
      textOf(await client.callTool({ name: 'search', arguments: { query: 'accept queue' } })),
    ) as {
      hits: { title: string; resource: string }[];
    };
    expect(hits.hits[0]?.title).toBe('Accept queues');
    expect(hits.hits[0]?.resource).toMatch(/^shelf:\/\/documents\/\d+$/);
    const list = JSON.parse(
      textOf(await client.callTool({ name: 'list_documents', arguments: { author: 'ada' } })),
    ) as {
      total: number;
    };
    expect(list.total).toBe(1);
  });

  it('answers with citations', async () => {
    const answer = textOf(
      await client.callTool({
        name: 'ask',
        arguments: { question: 'what does the kernel do when the accept queue is full?' },
      }),
    );
    expect(answer).toMatch(/drops new connections/);
    expect(answer).toMatch(/\[1\] .*Accept queues/);
  });

  it('reports failures as tool errors with the catalogue message', async () => {
    const r = (await client.callTool({
      name: 'search',
      arguments: { query: 'x', kb: 'nope' },
    })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^KB_NOT_FOUND: There is no knowledge base named "nope"/);
    const bad = (await client.callTool({ name: 'search', arguments: { query: 42 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
  });

  it('lists the documents as resources and reads one as Markdown', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.name)).toEqual(['Accept queues']);
    const uri = resources[0]?.uri ?? '';
    const read = await client.readResource({ uri });
    const content = read.contents[0] as { text: string; mimeType: string };
    expect(content.mimeType).toBe('text/markdown');
    expect(content.text).toMatch(/^# Accept queues\n\nAuthor: Ada Writer/);
    expect(content.text).toContain('the kernel drops new connections');
    await expect(client.readResource({ uri: 'shelf://documents/99999' })).rejects.toThrow(/no document/i);
  });
});
