import { describe, expect, it } from 'vitest';
import { EXIT_CODES, MESSAGES, ShelfError, isShelfError, toShelfError } from './errors.js';

describe('ShelfError', () => {
  it('builds its message from the catalogue and keeps the cause', () => {
    const cause = new Error('boom');
    const e = new ShelfError('KB_NOT_FOUND', { name: 'books' }, { cause });
    expect(e.message).toBe('There is no knowledge base named "books".');
    expect(e.kind).toBe('not-found');
    expect(e.cause).toBe(cause);
    expect(e.toJSON()).toEqual({
      code: 'KB_NOT_FOUND',
      message: e.message,
      hint: MESSAGES.KB_NOT_FOUND.hint,
      docs: 'docs/errors.md#kb-not-found',
    });
  });

  it('wraps foreign errors as INTERNAL and leaves catalogue errors alone', () => {
    const own = new ShelfError('EMPTY_QUERY');
    expect(toShelfError(own)).toBe(own);
    const wrapped = toShelfError(new TypeError('x is undefined'));
    expect(isShelfError(wrapped, 'INTERNAL')).toBe(true);
    expect(wrapped.message).toContain('x is undefined');
  });

  it('gives every kind an exit code and every code a hint', () => {
    for (const [code, entry] of Object.entries(MESSAGES)) {
      expect(entry.hint.length, code).toBeGreaterThan(10);
      expect(EXIT_CODES[entry.kind], code).toBeGreaterThan(0);
    }
  });
});
