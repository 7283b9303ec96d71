/**
 * The generated answer: the knowledge base's primer and the rules as the system message,
 * the chat history as earlier turns, then the numbered context and the question; fitted to
 * the model's context window (`llm.contextTokens` minus the tokens kept for the answer):
 * the context blocks go in best first until the room is spent (their numbers are kept, so
 * citations still point at the map), then as much recent history as still fits.
 *
 * Tokens stream through the citation filter (an invalid `[n]` is never shown); after the
 * last one, every sentence is scored against the blocks it cites (see citations.ts).
 * Failures before any text are thrown (`MODEL_*`): the caller falls back to the extractive
 * answer. A stream cut midway gives the text that arrived, marked incomplete.
 */
import { ShelfError } from '../../core/errors.js';
import type { ChatMessage, Llm } from '../../llm/llm.js';
import { countTokens } from '../../text/sentences.js';
import type { Answer, Context, ContextBlock, Generation, RouteType, Turn } from '../types.js';
import { checkSupport, contentTerms, createCitationFilter } from './citations.js';

/** The rules every generated answer follows (after the primer, in the system message). */
export const RULES = [
  'Answer only from the numbered context blocks in the user message; never use outside knowledge.',
  'Cite every claim with the number of its block in square brackets, like [2]; cite only numbers that appear in the context.',
  'If the context does not hold the answer, say so plainly and do not guess.',
  'If the question is too vague to answer, ask one short follow-up question instead of answering.',
  'Be concise: a direct answer first, then the supporting details.',
] as const;

/** Tokens a message costs beyond its text (role, separators), as chat templates add them. */
const MESSAGE_OVERHEAD = 8;

export interface PromptRequest {
  readonly primer: string;
  readonly context: Context;
  readonly question: string;
  readonly history: readonly Turn[];
  /** The model's context window and the tokens kept for the answer. */
  readonly contextTokens: number;
  readonly answerTokens: number;
}

export interface Prompt {
  readonly messages: ChatMessage[];
  readonly tokens: number;
  /** Block numbers in the prompt, ascending; the only valid citations. */
  readonly blocksSent: number[];
  readonly blocksLeftOut: number[];
  readonly historyTurns: number;
}

export function systemMessage(primer: string): string {
  return `${primer.trim()}\n\nRules:\n${RULES.map((r, i) => `${i + 1}. ${r}`).join('\n')}`;
}

function blockText(block: ContextBlock, label: string): string {
  return `[${block.n}] ${label}\n${block.parts.map((p) => p.text).join('\n\n')}`;
}

export function userMessage(blocks: readonly string[], question: string): string {
  const context =
    blocks.length > 0 ? blocks.join('\n\n') : '(no context: nothing in the knowledge base matched)';
  return `<context>\n${context}\n</context>\n\nQuestion: ${question}`;
}

/** Builds the messages, fitted to the model's context window. Throws MODEL_CONTEXT_TOO_LONG when even the question does not fit. */
export function buildPrompt(request: PromptRequest): Prompt {
  const system = systemMessage(request.primer);
  const room = request.contextTokens - request.answerTokens;
  const fixed = countTokens(system) + countTokens(userMessage([], request.question)) + 2 * MESSAGE_OVERHEAD;
  if (fixed > room)
    throw new ShelfError('MODEL_CONTEXT_TOO_LONG', {
      model: 'configured',
      detail: `the instructions and question need ${fixed} tokens, the window leaves ${room}`,
    });
  let left = room - fixed;
  const labels = new Map(request.context.citations.map((c) => [c.n, c.label]));
  const rendered = new Map(
    request.context.blocks.map((b) => [b.n, blockText(b, labels.get(b.n) ?? b.document.title)]),
  );
  const sent = new Set<number>();
  for (const b of [...request.context.blocks].sort((x, y) => y.score - x.score || x.n - y.n)) {
    const cost = countTokens(rendered.get(b.n) ?? '') + 1;
    if (cost > left) continue;
    left -= cost;
    sent.add(b.n);
  }
  const history: ChatMessage[] = [];
  let turns = 0;
  for (const t of [...request.history].reverse()) {
    const pair: ChatMessage[] = [
      { role: 'user', content: t.question },
      ...(t.answer !== undefined ? [{ role: 'assistant' as const, content: t.answer }] : []),
    ];
    const cost = pair.reduce((a, m) => a + countTokens(m.content) + MESSAGE_OVERHEAD, 0);
    if (cost > left) break;
    left -= cost;
    history.unshift(...pair);
    turns++;
  }
  const blocksSent = [...sent].sort((a, b) => a - b);
  const user = userMessage(
    blocksSent.map((n) => rendered.get(n) ?? ''),
    request.question,
  );
  const messages: ChatMessage[] = [
    { role: 'system', content: system },
    ...history,
    { role: 'user', content: user },
  ];
  return {
    messages,
    tokens: messages.reduce((a, m) => a + countTokens(m.content) + MESSAGE_OVERHEAD, 0),
    blocksSent,
    blocksLeftOut: request.context.blocks.map((b) => b.n).filter((n) => !sent.has(n)),
    historyTurns: turns,
  };
}

export interface GenerativeRequest {
  readonly llm: Llm;
  readonly primer: string;
  readonly context: Context;
  readonly question: string;
  readonly history: readonly Turn[];
  readonly shape: RouteType;
  /** Inverse document frequencies of analysed terms in the knowledge base, for support scores. */
  readonly idfOf: (terms: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Checked text as it streams (invalid citations already removed). */
  readonly onToken?: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** Asks the model; returns the checked answer. Throws MODEL_* when no text arrived. */
export async function answerGenerative(request: GenerativeRequest): Promise<Answer> {
  const { llm, context } = request;
  const prompt = buildPrompt({
    primer: request.primer,
    context,
    question: request.question,
    history: request.history,
    contextTokens: llm.contextTokens,
    answerTokens: llm.maxAnswerTokens,
  });
  const filter = createCitationFilter(new Set(prompt.blocksSent));
  let shown = '';
  const emit = (piece: string): void => {
    if (piece === '') return;
    // Leading whitespace of the answer is never shown.
    const out = shown === '' ? piece.trimStart() : piece;
    if (out === '') return;
    shown += out;
    request.onToken?.(out);
  };
  const result = await llm.chat({
    messages: prompt.messages,
    onToken: (piece) => emit(filter.push(piece)),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  emit(filter.end());
  const text = shown.trimEnd();
  if (text === '')
    throw new ShelfError('MODEL_BAD_RESPONSE', { url: llm.url, detail: 'the model returned no text' });
  const blocks = new Map(context.blocks.map((b) => [b.n, b.parts.map((p) => p.text).join('\n')]));
  const idf = await request.idfOf([...contentTerms(text.replace(/\[[\d,\s]+\]/g, ' '))]);
  // A term the knowledge base has never seen weighs as much as the rarest one it has.
  const rarest = Math.max(1, ...idf.values());
  const sentences = checkSupport({ text, blocks, idf: (t) => idf.get(t) ?? rarest });
  const cited = [...new Set(sentences.flatMap((s) => s.cites))].sort((a, b) => a - b);
  const generation: Generation = {
    model: result.model,
    url: llm.url,
    complete: result.complete,
    ...(result.incompleteReason !== undefined ? { incompleteReason: result.incompleteReason } : {}),
    ...(result.finishReason !== undefined ? { finishReason: result.finishReason } : {}),
    removedCitations: [...filter.removed],
    sentences,
    unsupported: sentences.filter((s) => s.unsupported).length,
    prompt: {
      tokens: prompt.tokens,
      contextTokens: llm.contextTokens,
      blocksSent: prompt.blocksSent,
      blocksLeftOut: prompt.blocksLeftOut,
      historyTurns: prompt.historyTurns,
    },
  };
  const question =
    sentences.length > 0 && sentences.every((s) => s.cites.length === 0) && /\?\s*$/.test(text);
  return {
    text,
    parts: [{ kind: 'generated', text }, ...cited.map((n) => ({ kind: 'cite' as const, n }))],
    shape: request.shape,
    declined: false,
    ...(question ? { followUp: text } : {}),
    generation,
  };
}
