import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor } from '../core/config.js';
import type { ChatMessage } from './llm.js';
import { createOpenAiLlm, llmFromConfig, type OpenAiLlmOptions } from './openai-llm.js';
import {
  composeAnswer,
  parseContextBlocks,
  startTestModelServer,
  type TestModelServer,
} from './test-server.js';

const PROMPT: ChatMessage[] = [
  { role: 'system', content: 'Answer from the context.' },
  {
    role: 'user',
    content:
      '<context>\n[1] Syn queue\nThe kernel keeps half-open connections in the SYN queue. More text.\n\n[2] Uart\nA UART sends bits one at a time over a wire.\n</context>\n\nQuestion: what is the syn queue?',
  },
];

describe('the OpenAI-compatible chat client', () => {
  let server: TestModelServer;
  const options = (extra: Partial<OpenAiLlmOptions> = {}): OpenAiLlmOptions => ({
    url: server.url,
    model: 'test-chat',
    apiKey: 'sekret',
    contextTokens: 8192,
    maxAnswerTokens: 200,
    timeoutMs: 2000,
    idleTimeoutMs: 2000,
    maxRetries: 0,
    temperature: 0,
    stream: true,
    ...extra,
  });

  beforeAll(async () => {
    server = await startTestModelServer({ apiKey: 'sekret', contextTokens: 400 });
  });
  afterAll(() => server.close());

  it('streams an answer piece by piece, built from the context it was sent', async () => {
    const pieces: string[] = [];
    const r = await createOpenAiLlm(options()).chat({ messages: PROMPT, onToken: (t) => pieces.push(t) });
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('')).toBe(r.text);
    expect(r.text).toContain('The kernel keeps half-open connections in the SYN queue [1].');
    expect(r).toMatchObject({ complete: true, finishReason: 'stop', model: 'test-chat' });
    const sent = server.requests.at(-1);
    expect(sent?.authorization).toBe('Bearer sekret');
    expect(sent?.body).toMatchObject({ model: 'test-chat', stream: true, max_tokens: 200 });
  });

  it('answers in one piece when streaming is off', async () => {
    const pieces: string[] = [];
    const r = await createOpenAiLlm(options({ stream: false })).chat({
      messages: PROMPT,
      onToken: (t) => pieces.push(t),
    });
    expect(pieces).toEqual([r.text]);
    expect(r.complete).toBe(true);
    expect(server.requests.at(-1)?.body).toMatchObject({ stream: false });
  });

  it('says the key is wrong on a 401', async () => {
    await expect(
      createOpenAiLlm(options({ apiKey: 'wrong' })).chat({ messages: PROMPT }),
    ).rejects.toMatchObject({
      code: 'MODEL_UNAUTHORIZED',
    });
  });

  it('says the model is unknown on a 404', async () => {
    await expect(
      createOpenAiLlm(options({ model: 'nope' })).chat({ messages: PROMPT }),
    ).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('"nope"') as unknown,
    });
  });

  it('says the prompt is too long for the model', async () => {
    const long: ChatMessage[] = [{ role: 'user', content: 'word '.repeat(2000) }];
    await expect(createOpenAiLlm(options()).chat({ messages: long })).rejects.toMatchObject({
      code: 'MODEL_CONTEXT_TOO_LONG',
    });
  });

  it('retries a 429 after its Retry-After and then answers', async () => {
    server.failNext({ kind: 'status', status: 429, retryAfter: 0 });
    const before = server.requests.length;
    const r = await createOpenAiLlm(options({ maxRetries: 2 })).chat({ messages: PROMPT });
    expect(r.complete).toBe(true);
    expect(server.requests.length - before).toBe(2);
  });

  it('gives up on a 429 once the retries are spent', async () => {
    server.failNext({ kind: 'status', status: 429, retryAfter: 0 }, 2);
    await expect(
      createOpenAiLlm(options({ maxRetries: 1 })).chat({ messages: PROMPT }),
    ).rejects.toMatchObject({
      code: 'MODEL_RATE_LIMITED',
    });
  });

  it('reports a server error after retrying it', async () => {
    server.failNext({ kind: 'status', status: 500, message: 'out of memory' }, 1);
    await expect(createOpenAiLlm(options()).chat({ messages: PROMPT })).rejects.toMatchObject({
      code: 'MODEL_FAILED',
      message: expect.stringContaining('out of memory') as unknown,
    });
  });

  it('keeps the text of a stream cut in the middle and marks it incomplete', async () => {
    server.failNext({ kind: 'cut' });
    const pieces: string[] = [];
    const r = await createOpenAiLlm(options()).chat({ messages: PROMPT, onToken: (t) => pieces.push(t) });
    expect(r.complete).toBe(false);
    expect(r.text.length).toBeGreaterThan(0);
    expect(pieces.join('')).toBe(r.text);
    expect(r.incompleteReason).toBeDefined();
  });

  it('times out on a server that never answers', async () => {
    server.failNext({ kind: 'hang' });
    await expect(
      createOpenAiLlm(options({ timeoutMs: 200, maxRetries: 0 })).chat({ messages: PROMPT }),
    ).rejects.toMatchObject({ code: 'MODEL_TIMEOUT' });
  });

  it('is cancelled by its signal', async () => {
    server.failNext({ kind: 'hang' });
    const abort = new AbortController();
    const pending = createOpenAiLlm(options({ timeoutMs: 10_000 })).chat({
      messages: PROMPT,
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'MODEL_CANCELLED' });
  });

  it('says a server that is not running cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(
      createOpenAiLlm(options({ url: `http://127.0.0.1:${port}/v1` })).chat({ messages: PROMPT }),
    ).rejects.toMatchObject({ code: 'MODEL_UNREACHABLE' });
  });

  it('ends a stream that goes silent and keeps what arrived', async () => {
    const silent = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'Half an ans' }, finish_reason: null }] })}\n\n`,
      );
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const r = await createOpenAiLlm(
        options({ url: `http://127.0.0.1:${port}/v1`, idleTimeoutMs: 150 }),
      ).chat({
        messages: PROMPT,
      });
      expect(r).toMatchObject({ text: 'Half an ans', complete: false });
      expect(r.incompleteReason).toMatch(/did not answer within 150 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('llmFromConfig', () => {
  it('is offline without a server and refuses --model without one', () => {
    const config = configFor('/tmp/x');
    expect(llmFromConfig(config)).toBeUndefined();
    expect(() => llmFromConfig(config, { model: 'llama3' })).toThrow(
      expect.objectContaining({ code: 'MODEL_NOT_CONFIGURED' }),
    );
  });

  it('lets --model override the configured model', () => {
    const config = configFor('/tmp/x', { llm: { url: 'http://127.0.0.1:9/v1', model: 'a' } });
    expect(llmFromConfig(config)?.model).toBe('a');
    expect(llmFromConfig(config, { model: 'b' })?.model).toBe('b');
  });
});

describe('the test server’s answers', () => {
  it('reads the numbered blocks and cites them, with the invented citation on request', () => {
    const prompt = PROMPT[1]?.content ?? '';
    expect(parseContextBlocks(prompt).map((b) => b.n)).toEqual([1, 2]);
    const answer = composeAnswer(prompt, { invalidCitation: true, unsupportedSentence: false });
    expect(answer).toContain('[1].');
    expect(answer).toContain('[2].');
    expect(answer).toContain('[99]');
    expect(composeAnswer('no context here', { invalidCitation: true, unsupportedSentence: true })).toMatch(
      /does not hold/,
    );
  });
});
