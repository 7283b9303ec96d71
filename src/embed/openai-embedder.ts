/**
 * The `Embedder` for any OpenAI-compatible `/v1/embeddings` endpoint (Ollama, llama.cpp's
 * server with --embeddings, vLLM, LM Studio, OpenAI), through the official `openai` client:
 * texts go in batches of `batchSize`; retries (429, 5xx, connection failures, with backoff
 * and Retry-After) and timeouts are the client's. Floats are asked for explicitly
 * (`encoding_format: "float"`), since not every server speaks base64.
 *
 * The answer is outside data and is checked: one vector per input (by `index`), every
 * vector of the same dimension, every value a finite number. Anything else is
 * MODEL_BAD_RESPONSE.
 */
import OpenAI from 'openai';
import { ShelfError } from '../core/errors.js';
import type { Config } from '../core/config.js';
import { modelError } from '../llm/model-errors.js';
import { normalise, type Embedder } from './embedder.js';

export interface OpenAiEmbedderOptions {
  readonly url: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
}

/** Characters of one text sent; longer chunks are cut (embedding models have small windows). */
export const MAX_EMBED_CHARS = 8000;

export function createOpenAiEmbedder(options: OpenAiEmbedderOptions): Embedder {
  const client = new OpenAI({
    baseURL: options.url,
    apiKey: options.apiKey !== undefined && options.apiKey !== '' ? options.apiKey : 'no-key',
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    organization: null,
    project: null,
  });
  const ctx = { url: options.url, model: options.model, timeoutMs: options.timeoutMs };
  const bad = (detail: string): ShelfError =>
    new ShelfError('MODEL_BAD_RESPONSE', { url: options.url, detail });

  async function batch(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    let response: unknown;
    try {
      response = await client.embeddings.create(
        {
          model: options.model,
          input: texts.map((t) => (t.trim() === '' ? ' ' : t.slice(0, MAX_EMBED_CHARS))),
          encoding_format: 'float',
        },
        signal ? { signal } : {},
      );
    } catch (e) {
      throw modelError(e, ctx);
    }
    const data = (response as { data?: unknown }).data;
    if (!Array.isArray(data)) throw bad('no "data" list of embeddings');
    if (data.length !== texts.length) throw bad(`${data.length} embeddings for ${texts.length} texts`);
    const out = new Array<Float32Array | undefined>(texts.length);
    data.forEach((item: unknown, i) => {
      const rec = item as { index?: unknown; embedding?: unknown };
      const index = typeof rec.index === 'number' ? rec.index : i;
      if (!Number.isInteger(index) || index < 0 || index >= texts.length || out[index] !== undefined)
        throw bad(`embedding index ${String(rec.index)} is out of range or repeated`);
      const e = rec.embedding;
      if (!Array.isArray(e) || e.length === 0) throw bad('an embedding is not a list of numbers');
      const v = new Float32Array(e.length);
      for (let k = 0; k < e.length; k++) {
        const x: unknown = e[k];
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw bad('an embedding holds a value that is not a finite number');
        v[k] = x;
      }
      out[index] = normalise(v);
    });
    return out.map((v) => {
      if (!v) throw bad('an embedding is missing');
      return v;
    });
  }

  return {
    model: options.model,
    url: options.url,
    async embed(texts, opts = {}) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += options.batchSize) {
        opts.signal?.throwIfAborted();
        out.push(...(await batch(texts.slice(i, i + options.batchSize), opts.signal)));
      }
      const dimension = out[0]?.length;
      if (out.some((v) => v.length !== dimension))
        throw bad('embeddings of different dimensions in one answer');
      return out;
    },
  };
}

/** The embedder the configuration names, or undefined when none is configured (lexical only). */
export function embedderFromConfig(config: Pick<Config, 'embed'>): Embedder | undefined {
  const { url, model, apiKey, batchSize, timeoutMs, maxRetries } = config.embed;
  if (url === undefined || model === undefined) return undefined;
  return createOpenAiEmbedder({
    url,
    model,
    ...(apiKey !== undefined ? { apiKey } : {}),
    batchSize,
    timeoutMs,
    maxRetries,
  });
}
