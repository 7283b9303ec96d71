/**
 * The JSON body parser. Before `JSON.parse`, one linear scan refuses bodies nested deeper
 * than MAX_DEPTH (a deeply nested body costs every later recursive walk over it, and has
 * no place in any request shelf takes). Errors say where the JSON went wrong.
 */
import { ShelfError } from '../core/errors.js';

export const MAX_DEPTH = 32;

/** The nesting depth of a JSON text, counting brackets outside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new ShelfError('BODY_INVALID', { detail: 'the JSON body is empty' });
  if (jsonDepth(text) > MAX_DEPTH)
    throw new ShelfError('BODY_INVALID', {
      detail: `the JSON body is nested deeper than ${MAX_DEPTH} levels`,
    });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const reason = e instanceof Error ? e.message.slice(0, 200) : 'syntax error';
    throw new ShelfError('BODY_INVALID', { detail: `the body is not valid JSON (${reason})` }, { cause: e });
  }
}
