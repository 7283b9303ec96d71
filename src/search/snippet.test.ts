import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze } from '../text/analyze.js';
import { makeSnippet } from './snippet.js';

/** The highlighted spans as the whole text's analysis gives them: every term's token, merged. */
function referenceSpans(plain: string, queryTerms: ReadonlySet<string>): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of analyze(plain).filter((t) => queryTerms.has(t.term))) {
    const last = spans[spans.length - 1];
    if (last && m.start < last[1]) last[1] = Math.max(last[1], m.end);
    else spans.push([m.start, m.end]);
  }
  return spans;
}

const highlighted = (s: { text: string; highlights: readonly (readonly [number, number])[] }): string[] =>
  s.highlights.map(([a, b]) => s.text.slice(a, b));

describe('makeSnippet', () => {
  it('highlights every token holding a query term, parts and compounds alike', () => {
    const text =
      'Call TcpListener::bind on the listener; the SYN queue of listen() is bounded. Version v1.2.3 fixed it.';
    const terms = new Set(['bind', 'tcplisten', 'queue', '1.2.3']);
    const s = makeSnippet(text, terms);
    expect(s.text).toBe(text);
    expect(highlighted(s)).toEqual(['TcpListener::bind', 'queue', 'v1.2.3']);
    // A stemmed query term matches the word's other forms.
    expect(highlighted(makeSnippet('Listening to listeners who listen.', new Set(['listen'])))).toEqual([
      'Listening',
      'listeners',
      'listen',
    ]);
  });

  it('takes the densest window, cut at spaces, fences out and whitespace folded', () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(20);
    const text = `${filler}\n\`\`\`rust\nwalrus walrus walrus\n\`\`\`\n${filler}`;
    const s = makeSnippet(text, new Set(['walrus']), 60);
    expect(s.text.startsWith('…')).toBe(true);
    expect(s.text.endsWith('…')).toBe(true);
    expect(s.text).not.toContain('```');
    expect(s.text).not.toMatch(/\s{2}/);
    expect(highlighted(s)).toEqual(['walrus', 'walrus', 'walrus']);
  });

  it('has nothing to highlight in a text without the terms, or an empty one', () => {
    expect(makeSnippet('Nothing to see here.', new Set(['walrus'])).highlights).toEqual([]);
    expect(makeSnippet('', new Set(['walrus']))).toEqual({ text: '', highlights: [] });
  });

  it("highlights exactly the whole text's analysis, on any text", () => {
    const words = [
      'TcpListener::bind',
      'snake_case_name',
      'camelCaseName',
      'v1.2.0',
      "don't",
      'état',
      'Ünïcödé',
      'the',
      'listening',
      'C++',
      'x86-64',
      'HTTP/2',
      'e.g.',
      '—',
      '42',
      'walrus',
    ];
    const text = fc
      .array(fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 12 })), { maxLength: 60 })
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(text, fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), (t, extra) => {
        const plain = t.replace(/\s+/g, ' ').trim();
        // Query terms: some of the text's own terms, and others.
        const own = analyze(plain).map((x) => x.term);
        const terms = new Set([...own.filter((_, i) => i % 3 === 0), ...extra]);
        const s = makeSnippet(plain, terms, 10_000);
        expect(s.text).toBe(plain);
        expect(s.highlights).toEqual(referenceSpans(plain, terms));
      }),
      { numRuns: 300 },
    );
  });
});
