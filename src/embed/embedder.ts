/**
 * The `Embedder` seam: texts in, one unit-length vector per text out, in order. The
 * OpenAI-compatible client lives in `openai-embedder.ts`; the store keeps vectors per
 * knowledge base together with the model that made them (see `embeddings.ts`).
 */

export interface Embedder {
  /** The model name; vectors of different models are never compared. */
  readonly model: string;
  /** The server's base URL, for messages and the trace. */
  readonly url: string;
  /** One vector per text, same order, all of one dimension, normalised to length 1. */
  embed(texts: readonly string[], options?: { readonly signal?: AbortSignal }): Promise<Float32Array[]>;
}

/** Scales a vector to length 1 (a zero vector stays zero). */
export function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm === 0) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}
