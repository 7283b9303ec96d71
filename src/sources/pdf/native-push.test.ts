/**
 * pdf.js's legacy build replaces Array.prototype.push with core-js's polyfill on Node 20;
 * parsePdf must leave the process with the push it had before pdf.js loaded. This file
 * imports index.ts only inside the test, after noting the push in use.
 */
import { describe, expect, it } from 'vitest';
import { makePdf, rawInput, testContext } from './test-support/helpers.js';

const PUSH_BEFORE_PDFJS = Array.prototype.push;

describe('restoreNativePush', () => {
  it('leaves the process with the Array.prototype.push it had before pdf.js loaded', async () => {
    const { parsePdf } = await import('./index.js');
    const doc = await parsePdf(rawInput('two.pdf', await makePdf([['One.'], ['Two.']])), testContext());
    expect(doc.pageCount).toBe(2);
    expect(Array.prototype.push).toBe(PUSH_BEFORE_PDFJS);
  });
});
