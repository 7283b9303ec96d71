/**
 * A conversation: reads questions line by line (a terminal or a pipe), answers each with
 * the history so far, so a follow-up ("and how do I test that?") continues the last topic.
 * `/quit` or the end of input ends it; a bad line gets its error and the chat goes on.
 */
import { toShelfError, type ShelfError } from '../core/errors.js';
import { ask, type AskDeps, type AskResult } from './ask.js';
import type { Turn } from './types.js';

/** Turns of history the router sees. */
export const HISTORY_TURNS = 6;

export interface ChatOptions {
  readonly deps: AskDeps;
  readonly kb: string;
  readonly lines: AsyncIterable<string>;
  /** Called with each result. */
  readonly onAnswer: (result: AskResult) => void;
  /** Called with each failed line's error (the chat continues). */
  readonly onError: (error: ShelfError) => void;
  /** Called before each question is read (a prompt, for terminals). */
  readonly onPrompt?: () => void;
  /** Generated answers: each piece of checked text as the model writes it. */
  readonly onToken?: (text: string) => void;
}

/** Runs until the input ends or `/quit`; returns the number of questions answered. */
export async function runChat(options: ChatOptions): Promise<number> {
  const history: Turn[] = [];
  let answered = 0;
  options.onPrompt?.();
  for await (const raw of options.lines) {
    const line = raw.trim();
    if (line === '/quit' || line === '/exit') break;
    if (line === '') {
      options.onPrompt?.();
      continue;
    }
    try {
      const result = await ask(options.deps, {
        question: line,
        kb: options.kb,
        history,
        ...(options.onToken ? { onToken: options.onToken } : {}),
      });
      history.push({ question: result.question, route: result.route, answer: result.answer.text });
      if (history.length > HISTORY_TURNS) history.shift();
      answered++;
      options.onAnswer(result);
    } catch (e) {
      const err = toShelfError(e);
      // A missing or empty knowledge base will not fix itself: stop.
      if (err.code === 'KB_NOT_FOUND' || err.code === 'KB_EMPTY') throw err;
      options.onError(err);
    }
    options.onPrompt?.();
  }
  return answered;
}
