/**
 * The `Llm` seam: one chat completion, streamed piece by piece to `onToken`. Implementations
 * (the OpenAI-compatible client in `openai-llm.ts`, fakes in tests) throw catalogue errors
 * (`MODEL_*`) for failures before any text arrived; a stream that breaks after text arrived
 * is not an error but a result with `complete: false`, so the caller keeps what it has.
 */

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  /** Upper bound on the answer's tokens (default: the client's configured value). */
  readonly maxTokens?: number;
  /** Called with each piece of text as it arrives, in order. */
  readonly onToken?: (text: string) => void;
  /** Aborts the request; the promise rejects with MODEL_CANCELLED. */
  readonly signal?: AbortSignal;
}

export interface ChatResult {
  /** Everything received (the concatenation of the pieces given to onToken). */
  readonly text: string;
  /** The model that answered, as the server names it. */
  readonly model: string;
  /** False when the stream ended early (cut connection, silence, no finish reason). */
  readonly complete: boolean;
  /** The server's finish reason (`stop`, `length`, …), when it sent one. */
  readonly finishReason?: string;
  /** Why the answer is incomplete, for the trace. */
  readonly incompleteReason?: string;
}

export interface Llm {
  /** The model name sent with each request. */
  readonly model: string;
  /** The server's base URL, for messages and the trace. */
  readonly url: string;
  /** The model's context window in tokens (the prompt is fitted to it). */
  readonly contextTokens: number;
  /** Tokens reserved for the answer. */
  readonly maxAnswerTokens: number;
  chat(request: ChatRequest): Promise<ChatResult>;
}
