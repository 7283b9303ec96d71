/**
 * An OpenAI-compatible model server for tests and demos, on 127.0.0.1 over real HTTP:
 * - `POST /v1/chat/completions` (streamed as SSE or not): answers from the numbered context
 *   it receives, citing `[n]`; on request it adds a citation to a block that does not exist
 *   (`[99]`) and a sentence its cited block does not support;
 * - `POST /v1/embeddings`: deterministic bag-of-words hashing (each word adds ±1 to one of
 *   `dimension` slots, then the vector is normalised), so texts sharing words land near
 *   each other;
 * - `GET /v1/models`;
 * - failures on demand (`failNext`): any HTTP status (with Retry-After), a stream cut in the
 *   middle, a hang; a `gate` holds embedding requests until released.
 *
 * Run it by hand: `npx tsx src/llm/test-server.ts --port 8089` (see docs/models.md).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly retryAfter?: number;
      readonly message?: string;
    }
  | { readonly kind: 'cut' }
  | { readonly kind: 'hang' };

export interface TestServerOptions {
  /** Chat models the server knows (default ['test-chat']). */
  readonly chatModels?: readonly string[];
  /** Embedding models and their dimensions (default { 'hash-64': 64, 'hash-96': 96 }). */
  readonly embedModels?: Readonly<Record<string, number>>;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Context size in tokens (≈ 4 characters each); longer prompts get a 400 (default 100 000). */
  readonly contextTokens?: number;
  /** Add a sentence citing `[99]`, a block no context has (default true). */
  readonly invalidCitation?: boolean;
  /** Add a sentence that its cited block does not support (default true). */
  readonly unsupportedSentence?: boolean;
  readonly port?: number;
}

export interface RecordedRequest {
  readonly path: string;
  readonly body: unknown;
  readonly authorization?: string;
}

export interface TestModelServer {
  /** Base URL including /v1. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The next `times` requests (default 1) fail this way. */
  failNext(fault: Fault, times?: number): void;
  /** Holds embedding requests until the returned function is called. */
  gate(): () => void;
  close(): Promise<void>;
}

/** The sentence the server adds that no context supports. */
export const UNSUPPORTED_SENTENCE = 'Bananas orbit distant quasars every Tuesday afternoon';

const WORD = /[\p{L}\p{N}]+/gu;

/** FNV-1a, 32 bits: a stable hash so vectors are the same on every run and machine. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Bag-of-words hashing embedding: deterministic, and similar texts get similar vectors. */
export function hashEmbedding(text: string, dimension: number): number[] {
  const v = new Array<number>(dimension).fill(0);
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const w = m[0];
    if (w.length < 3) continue;
    const h = fnv1a(w);
    const slot = h % dimension;
    v[slot] = (v[slot] ?? 0) + ((h >>> 31) & 1 ? -1 : 1);
  }
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return norm > 0 ? v.map((x) => x / norm) : v;
}

/** Numbered context blocks as the generative prompt lays them out: "[n] label" then the text. */
export function parseContextBlocks(prompt: string): { n: number; text: string }[] {
  const out: { n: number; text: string }[] = [];
  const re = /^\[(\d+)\] [^\n]*\n([\s\S]*?)(?=\n\[\d+\] |\n<\/context>|$(?![\s\S]))/gm;
  for (const m of prompt.matchAll(re)) out.push({ n: Number(m[1]), text: (m[2] ?? '').trim() });
  return out;
}

function firstSentence(text: string): string {
  const flat = text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const m = /^(.{20,400}?[.!?])(?:\s|$)/.exec(flat);
  const s = (m?.[1] ?? flat.slice(0, 200)).replace(/\[\d+\]/g, '').trim();
  return s.replace(/[.!?]+$/, '');
}

/** The answer the server gives to a prompt. */
export function composeAnswer(
  prompt: string,
  options: { invalidCitation: boolean; unsupportedSentence: boolean },
): string {
  const blocks = parseContextBlocks(prompt);
  if (blocks.length === 0) return 'The context does not hold the answer to this question.';
  const parts = blocks.slice(0, 2).map((b) => `${firstSentence(b.text)} [${b.n}].`);
  if (options.invalidCitation) parts.push(`This is also noted elsewhere [99].`);
  if (options.unsupportedSentence) parts.push(`${UNSUPPORTED_SENTENCE} [${blocks[0]?.n ?? 1}].`);
  return parts.join(' ');
}

/** Splits text into small pieces, so markers like [12] arrive across several chunks. */
function pieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 3) out.push(text.slice(i, i + 3));
  return out;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw === '' ? {} : (JSON.parse(raw) as unknown);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function apiError(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type: 'invalid_request_error', ...extra } }, headers);
}

/** A message's content: a string, or (OpenAI's parts form) the text of its text parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p: unknown) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function startTestModelServer(options: TestServerOptions = {}): Promise<TestModelServer> {
  const chatModels = new Set(options.chatModels ?? ['test-chat']);
  const embedModels = new Map(Object.entries(options.embedModels ?? { 'hash-64': 64, 'hash-96': 96 }));
  const contextTokens = options.contextTokens ?? 100_000;
  const answerOptions = {
    invalidCitation: options.invalidCitation ?? true,
    unsupportedSentence: options.unsupportedSentence ?? true,
  };
  const faults: Fault[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let gateOpen: Promise<void> = Promise.resolve();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const body = req.method === 'POST' ? await readBody(req) : {};
    requests.push({
      path,
      body,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`)
      return apiError(res, 401, 'Incorrect API key provided.', { code: 'invalid_api_key' });
    const fault = faults.shift();
    if (fault?.kind === 'hang') return; // never answers; the socket closes with the server
    if (fault?.kind === 'status') {
      const headers: Record<string, string> =
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      return apiError(res, fault.status, fault.message ?? `injected failure ${fault.status}`, {}, headers);
    }
    if (req.method === 'GET' && path === '/v1/models')
      return sendJson(res, 200, {
        object: 'list',
        data: [...chatModels, ...embedModels.keys()].map((id) => ({ id, object: 'model', owned_by: 'test' })),
      });
    if (req.method !== 'POST' || !isRecord(body))
      return apiError(res, 404, `no route ${req.method ?? ''} ${path}`);

    if (path === '/v1/embeddings') {
      const model = String(body.model);
      const dimension = embedModels.get(model);
      if (dimension === undefined)
        return apiError(res, 404, `model "${model}" not found`, { code: 'model_not_found' });
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (!Array.isArray(input) || input.some((x) => typeof x !== 'string'))
        return apiError(res, 400, 'input must be a string or an array of strings');
      await gateOpen;
      return sendJson(res, 200, {
        object: 'list',
        model,
        data: (input as string[]).map((text, index) => ({
          object: 'embedding',
          index,
          embedding: hashEmbedding(text, dimension),
        })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    }

    if (path === '/v1/chat/completions') {
      const model = String(body.model);
      if (!chatModels.has(model))
        return apiError(res, 404, `model "${model}" not found, try pulling it first`, {
          code: 'model_not_found',
        });
      const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
      const prompt = messages.map((m) => textOf(m.content)).join('\n');
      if (Math.ceil(prompt.length / 4) > contextTokens)
        return apiError(
          res,
          400,
          `the request exceeds the available context size (${contextTokens} tokens)`,
          {
            type: 'exceed_context_size_error',
          },
        );
      const user = [...messages].reverse().find((m) => m.role === 'user');
      const answer = composeAnswer(textOf(user?.content), answerOptions);
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      if (body.stream !== true)
        return sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
        });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const all = pieces(answer);
      const upTo = fault?.kind === 'cut' ? Math.ceil(all.length / 2) : all.length;
      res.write(chunk({ role: 'assistant', content: '' }, null));
      for (const p of all.slice(0, upTo)) res.write(chunk({ content: p }, null));
      if (fault?.kind === 'cut') {
        // Give the pieces a moment to leave, then drop the connection without [DONE].
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
      return;
    }
    return apiError(res, 404, `no route POST ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) apiError(res, 400, e instanceof Error ? e.message : String(e));
      else res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    gate() {
      let release = (): void => undefined;
      gateOpen = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// `npx tsx src/llm/test-server.ts [--port N] [--key K] [--clean]`: serve until stopped.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const clean = process.argv.includes('--clean');
  const key = arg('--key');
  const s = await startTestModelServer({
    port: Number(arg('--port') ?? 8089),
    ...(key !== undefined ? { apiKey: key } : {}),
    invalidCitation: !clean,
    unsupportedSentence: !clean,
  });
  process.stdout.write(`test model server on ${s.url} (chat model test-chat; embeddings hash-64, hash-96)\n`);
}
