import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestModelServer, type TestModelServer } from '../llm/test-server.js';
import { createOpenAiEmbedder, embedderFromConfig } from './openai-embedder.js';
import { configFor } from '../core/config.js';

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('the OpenAI-compatible embedder', () => {
  let server: TestModelServer;
  beforeAll(async () => {
    server = await startTestModelServer();
  });
  afterAll(() => server.close());
  const embedder = (batchSize = 2, model = 'hash-64') =>
    createOpenAiEmbedder({ url: server.url, model, batchSize, timeoutMs: 2000, maxRetries: 0 });

  it('embeds in batches, in order, as unit vectors that put similar texts near each other', async () => {
    const before = server.requests.length;
    const texts = [
      'the kernel keeps half-open connections in the syn queue',
      'half-open connections wait in the kernel syn queue',
      'a bootloader writes firmware to flash memory',
    ];
    const v = await embedder().embed(texts);
    expect(server.requests.length - before).toBe(2);
    expect(server.requests.at(-1)?.body).toMatchObject({ encoding_format: 'float', model: 'hash-64' });
    expect(v.map((x) => x.length)).toEqual([64, 64, 64]);
    for (const x of v) expect(dot(x, x)).toBeCloseTo(1, 5);
    expect(dot(v[0]!, v[1]!)).toBeGreaterThan(dot(v[0]!, v[2]!));
  });

  it('says the model is unknown', async () => {
    await expect(embedder(2, 'nope').embed(['x'])).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});

describe('the embedder against broken servers', () => {
  let body: unknown = {};
  let http: Server;
  let url = '';
  beforeAll(async () => {
    http = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const embed = (texts: string[]) =>
    createOpenAiEmbedder({ url, model: 'm', batchSize: 8, timeoutMs: 2000, maxRetries: 0 }).embed(texts);
  const item = (index: number, embedding: unknown) => ({ object: 'embedding', index, embedding });

  it.each([
    ['no data list', { object: 'list' }],
    ['too few vectors', { data: [item(0, [1, 0])] }],
    ['a repeated index', { data: [item(0, [1, 0]), item(0, [0, 1])] }],
    ['an index out of range', { data: [item(0, [1, 0]), item(5, [0, 1])] }],
    ['a vector that is not a list', { data: [item(0, 'abc'), item(1, [0, 1])] }],
    ['a value that is not a number', { data: [item(0, [1, 'x']), item(1, [0, 1])] }],
    ['an empty vector', { data: [item(0, []), item(1, [0, 1])] }],
    ['vectors of different dimensions', { data: [item(0, [1, 0]), item(1, [0, 1, 0])] }],
  ])('refuses an answer with %s', async (_name, answer) => {
    body = answer;
    await expect(embed(['a', 'b'])).rejects.toMatchObject({ code: 'MODEL_BAD_RESPONSE' });
  });

  it('refuses a body that is not JSON', async () => {
    body = '<html>proxy error</html>';
    await expect(embed(['a'])).rejects.toMatchObject({ code: expect.stringMatching(/^MODEL_/) as unknown });
  });

  it('puts vectors back in input order by their index', async () => {
    body = { data: [item(1, [0, 2]), item(0, [3, 0])] };
    const [a, b] = await embed(['a', 'b']);
    expect([...a!]).toEqual([1, 0]);
    expect([...b!]).toEqual([0, 1]);
  });
});

describe('embedderFromConfig', () => {
  it('needs both a URL and a model', () => {
    expect(
      embedderFromConfig(configFor('/tmp/x', { embed: { url: 'http://127.0.0.1:9/v1' } })),
    ).toBeUndefined();
    expect(
      embedderFromConfig(configFor('/tmp/x', { embed: { url: 'http://127.0.0.1:9/v1', model: 'e' } }))?.model,
    ).toBe('e');
  });
});
