/**
 * The `Llm` for any OpenAI-compatible chat endpoint (Ollama, llama.cpp's server, vLLM, LM
 * Studio, OpenAI), through the official `openai` client pointed at `url`.
 *
 * - Timeouts: `timeoutMs` until the response starts (the client's own timeout, per
 *   attempt); then `idleTimeoutMs` of silence between two streamed pieces ends the stream.
 * - Retries: the client retries 408/409/429/5xx and connection failures `maxRetries` times
 *   with exponential backoff, honouring `Retry-After`; a stream that already started is
 *   never retried (its text was shown).
 * - Cancellation: the request's `signal` aborts the HTTP request.
 * - A stream cut after some text is returned with `complete: false`, not thrown.
 * The API key is passed explicitly; the client never reads OPENAI_* variables for it.
 */
import OpenAI from 'openai';
import { ShelfError } from '../core/errors.js';
import type { Config } from '../core/config.js';
import type { ChatRequest, ChatResult, Llm } from './llm.js';
import { modelError } from './model-errors.js';

export interface OpenAiLlmOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:11434/v1. */
  readonly url: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly contextTokens: number;
  readonly maxAnswerTokens: number;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxRetries: number;
  readonly temperature: number;
  /** Stream tokens (default); false sends one request and gives the whole text at once. */
  readonly stream: boolean;
}

/** Servers such as Ollama ignore the key; the client still needs a non-empty one. */
const NO_KEY = 'no-key';

export function createOpenAiLlm(options: OpenAiLlmOptions): Llm {
  const client = new OpenAI({
    baseURL: options.url,
    apiKey: options.apiKey !== undefined && options.apiKey !== '' ? options.apiKey : NO_KEY,
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    // Organisation and project headers would leak OPENAI_* settings into other servers.
    organization: null,
    project: null,
  });
  const errorContext = { url: options.url, model: options.model, timeoutMs: options.timeoutMs };

  async function chat(request: ChatRequest): Promise<ChatResult> {
    request.signal?.throwIfAborted();
    const abort = new AbortController();
    const onCallerAbort = (): void => abort.abort();
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const body = {
      model: options.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      max_tokens: request.maxTokens ?? options.maxAnswerTokens,
      temperature: options.temperature,
    };
    try {
      if (!options.stream) {
        const r = await client.chat.completions.create({ ...body, stream: false }, { signal: abort.signal });
        const choice = r.choices[0];
        const text = choice?.message.content;
        if (typeof text !== 'string')
          throw new ShelfError('MODEL_BAD_RESPONSE', { url: options.url, detail: 'the answer has no text' });
        if (text !== '') request.onToken?.(text);
        return finish(text, r.model, choice?.finish_reason ?? undefined);
      }
      const stream = await client.chat.completions.create(
        { ...body, stream: true },
        { signal: abort.signal },
      );
      let text = '';
      let model = options.model;
      let finishReason: string | undefined;
      let idled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          idled = true;
          abort.abort();
        }, options.idleTimeoutMs);
      };
      arm();
      try {
        for await (const chunk of stream) {
          arm();
          if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
          const choice = chunk.choices[0];
          const piece = choice?.delta?.content;
          if (typeof piece === 'string' && piece !== '') {
            text += piece;
            request.onToken?.(piece);
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason;
        }
      } catch (e) {
        if (request.signal?.aborted) throw new ShelfError('MODEL_CANCELLED', {}, { cause: e });
        const err = idled
          ? new ShelfError('MODEL_TIMEOUT', { url: options.url, ms: options.idleTimeoutMs }, { cause: e })
          : modelError(e, errorContext);
        // Text already shown stays: the answer is kept and marked incomplete.
        if (text === '') throw err;
        return { text, model, complete: false, incompleteReason: err.message };
      } finally {
        clearTimeout(timer);
      }
      // An aborted stream may also just end: tell silence and cancellation from a normal end.
      if (request.signal?.aborted) throw new ShelfError('MODEL_CANCELLED');
      if (idled) {
        const err = new ShelfError('MODEL_TIMEOUT', { url: options.url, ms: options.idleTimeoutMs });
        if (text === '') throw err;
        return { text, model, complete: false, incompleteReason: err.message };
      }
      return finish(text, model, finishReason);
    } catch (e) {
      if (request.signal?.aborted) throw new ShelfError('MODEL_CANCELLED', {}, { cause: e });
      throw modelError(e, errorContext);
    } finally {
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    model: options.model,
    url: options.url,
    contextTokens: options.contextTokens,
    maxAnswerTokens: options.maxAnswerTokens,
    chat,
  };
}

function finish(text: string, model: string, finishReason: string | undefined): ChatResult {
  if (finishReason === undefined)
    return { text, model, complete: false, incompleteReason: 'the stream ended without a finish reason' };
  if (finishReason === 'length')
    return {
      text,
      model,
      complete: false,
      finishReason,
      incompleteReason: 'the answer reached llm.maxAnswerTokens',
    };
  return { text, model, complete: true, finishReason };
}

/**
 * The chat model the configuration names (with `model` overriding llm.model, as `--model`
 * does), or undefined when none is configured (offline, extractive answers).
 * `--model` without a server URL is a usage error: there is nothing to send it to.
 */
export function llmFromConfig(
  config: Pick<Config, 'llm'>,
  override: { readonly model?: string } = {},
): Llm | undefined {
  const { url, model: configured, apiKey, ...rest } = config.llm;
  const model = override.model ?? configured;
  if (url === undefined) {
    if (override.model !== undefined)
      throw new ShelfError('MODEL_NOT_CONFIGURED', {
        service: 'chat model',
        detail: `--model ${override.model}`,
      });
    return undefined;
  }
  if (model === undefined) return undefined;
  return createOpenAiLlm({ url, model, ...(apiKey !== undefined ? { apiKey } : {}), ...rest });
}
