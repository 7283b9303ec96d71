/**
 * pdf.js's legacy build replaces built-ins (Array.prototype.push, JSON.stringify, …) with
 * core-js's polyfills on Node 20; parsePdf must leave the process with the ones it had
 * before pdf.js loaded. This file imports index.ts only inside the test, after noting them.
 */
import { describe, expect, it } from 'vitest';
import { makePdf, rawInput, testContext } from './test-support/helpers.js';

const builtins = (): unknown[] => [
  Array.prototype.push,
  Reflect.get(JSON, 'stringify'),
  Reflect.get(JSON, 'parse'),
  Reflect.get(Function.prototype, 'toString'),
];
const BEFORE_PDFJS = builtins();

describe('restoreNativeBuiltins', () => {
  it('leaves the process with the built-ins it had before pdf.js loaded', async () => {
    const { parsePdf } = await import('./index.js');
    const doc = await parsePdf(rawInput('two.pdf', await makePdf([['One.'], ['Two.']])), testContext());
    expect(doc.pageCount).toBe(2);
    expect(builtins()).toEqual(BEFORE_PDFJS);
    expect(Object.keys(Array.prototype)).toEqual([]);
    expect(JSON.stringify({ a: [1, 'b'] })).toBe('{"a":[1,"b"]}');
  });
});
