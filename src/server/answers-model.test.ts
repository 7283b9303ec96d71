/** `POST /v1/knowledgebases/{kb}/answers` with a model: the model's checked tokens stream as SSE. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../app.js';
import { configFor } from '../core/config.js';
import { startTestModelServer, type TestModelServer } from '../llm/test-server.js';
import { chunkInput, documentInput } from '../store/store-contract.js';
import { startServer, type ShelfServer } from './server.js';
import { parseEvents } from './test-support.js';

describe('streamed answers from a model', () => {
  let models: TestModelServer;
  let app: App;
  let server: ShelfServer;

  beforeAll(async () => {
    models = await startTestModelServer();
    const home = mkdtempSync(join(tmpdir(), 'shelf-sse-model-'));
    app = openApp({
      config: configFor(home, { llm: { url: models.url, model: 'test-chat' }, server: { port: 0 } }),
    });
    const kb = await app.store.createKnowledgeBase('books');
    const source = await app.store.addSource({ kbId: kb.id, kind: 'directory', location: '/docs' });
    await app.store.upsertDocument({
      kbId: kb.id,
      sourceId: source.id,
      document: documentInput('syn', { title: 'The SYN queue' }),
      chunks: [
        chunkInput(
          0,
          'The kernel keeps half-open connections in the SYN queue until the handshake completes.',
        ),
      ],
    });
    server = await startServer({ app, host: '127.0.0.1', port: 0, jobs: false });
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    await models.close();
  });

  const post = (accept: string): Promise<Response> =>
    fetch(`${server.url}/v1/knowledgebases/books/answers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ question: 'what does the kernel keep in the SYN queue?' }),
    });

  it('sends route and sources, then the model’s tokens, then the checked answer and trace', async () => {
    const r = await post('text/event-stream');
    expect(r.status).toBe(200);
    const events = parseEvents(await r.text());
    const names = events.map((e) => e.event);
    expect(names.slice(0, 2)).toEqual(['route', 'sources']);
    expect(names.slice(-2)).toEqual(['answer', 'trace']);
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens.length).toBeGreaterThan(10);
    const answer = events.find((e) => e.event === 'answer')?.data as {
      text: string;
      generation: { removedCitations: number[]; unsupported: number };
    };
    expect(tokens.join('')).toBe(answer.text);
    expect(answer.text).not.toContain('[99]');
    expect(answer.generation).toMatchObject({ removedCitations: [99], unsupported: 1 });
  });

  it('answers as JSON with the generation checks when no stream is asked for', async () => {
    const r = await post('application/json');
    const body = (await r.json()) as { answer: { text: string; generation?: unknown } };
    expect(body.answer.generation).toBeDefined();
    expect(body.answer.text).toContain('[1]');
  });

  it('ends the stream with an answer even when the model fails (extractive fallback)', async () => {
    models.failNext({ kind: 'status', status: 401 });
    const events = parseEvents(await (await post('text/event-stream')).text());
    const answer = events.find((e) => e.event === 'answer')?.data as {
      fallback?: { code: string };
      text: string;
    };
    expect(answer.fallback?.code).toBe('MODEL_UNAUTHORIZED');
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens.join('')).toBe(answer.text);
  });
});
