/**
 * Maps what the `openai` client throws into the catalogue, for the chat client and the
 * embedder alike. The servers shelf talks to disagree on details, so the mapping keys on
 * HTTP status first and reads the message only to tell "context too long" from other 400s:
 * OpenAI sends code `context_length_exceeded`, vLLM "maximum context length", llama.cpp
 * "exceeds the available context size", Ollama "context length"/"too long".
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import { ShelfError } from '../core/errors.js';

export interface ModelErrorContext {
  readonly url: string;
  readonly model: string;
  /** The per-attempt timeout, for the message. */
  readonly timeoutMs: number;
}

const CONTEXT_TOO_LONG = /context[_ ]length|context size|maximum context|too long|too many tokens|exceed/i;

/** The catalogue error for anything the client threw (catalogue errors pass through). */
export function modelError(e: unknown, ctx: ModelErrorContext): ShelfError {
  if (e instanceof ShelfError) return e;
  const { url, model } = ctx;
  if (e instanceof APIUserAbortError) return new ShelfError('MODEL_CANCELLED', {}, { cause: e });
  if (e instanceof APIConnectionTimeoutError)
    return new ShelfError('MODEL_TIMEOUT', { url, ms: ctx.timeoutMs }, { cause: e });
  if (e instanceof APIConnectionError) {
    const cause = (e as { cause?: unknown }).cause;
    const reason = cause instanceof Error ? (codeOf(cause) ?? cause.message) : e.message;
    return new ShelfError('MODEL_UNREACHABLE', { url, reason }, { cause: e });
  }
  if (e instanceof APIError) {
    const rawStatus: unknown = e.status;
    const status = typeof rawStatus === 'number' ? rawStatus : undefined;
    const detail = firstLine(e.message);
    const rawCode: unknown = e.code;
    const code = typeof rawCode === 'string' ? rawCode : '';
    if (status === 401 || status === 403)
      return new ShelfError('MODEL_UNAUTHORIZED', { url, status }, { cause: e });
    if (status === 404) return new ShelfError('MODEL_NOT_FOUND', { url, model }, { cause: e });
    if (status === 429) return new ShelfError('MODEL_RATE_LIMITED', { url }, { cause: e });
    if (
      (status === 400 || status === 413 || status === 422) &&
      (code === 'context_length_exceeded' || CONTEXT_TOO_LONG.test(detail))
    )
      return new ShelfError('MODEL_CONTEXT_TOO_LONG', { model, detail }, { cause: e });
    return new ShelfError('MODEL_FAILED', { url, detail: `HTTP ${status ?? '?'} ${detail}` }, { cause: e });
  }
  if (e instanceof OpenAIError)
    return new ShelfError('MODEL_BAD_RESPONSE', { url, detail: firstLine(e.message) }, { cause: e });
  if (e instanceof Error && e.name === 'AbortError')
    return new ShelfError('MODEL_CANCELLED', {}, { cause: e });
  const detail = e instanceof Error ? firstLine(e.message) : String(e);
  return new ShelfError('MODEL_FAILED', { url, detail }, { cause: e });
}

function codeOf(e: Error): string | undefined {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const inner = (e as { cause?: unknown }).cause;
  return inner instanceof Error ? codeOf(inner) : undefined;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
