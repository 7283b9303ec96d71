import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSupport, createCitationFilter, filterCitations, MIN_SUPPORT } from './citations.js';

const VALID = new Set([1, 2, 3]);

describe('filterCitations', () => {
  it('keeps valid markers and removes invalid ones with their space', () => {
    expect(filterCitations('Sockets queue SYNs [1]. Also here [99].', VALID)).toEqual({
      text: 'Sockets queue SYNs [1]. Also here.',
      removed: [99],
    });
    expect(filterCitations('foo [99] bar', VALID).text).toBe('foo bar');
    expect(filterCitations('foo[99] bar', VALID).text).toBe('foo bar');
  });

  it('trims a list marker to its valid numbers', () => {
    expect(filterCitations('Both [1, 99, 3].', VALID)).toEqual({ text: 'Both [1, 3].', removed: [99] });
  });

  it('leaves brackets that are not markers, and code, alone', () => {
    expect(filterCitations('see [the docs] and [].', VALID).text).toBe('see [the docs] and [].');
    expect(filterCitations('use `a[99]` here [2]', VALID).text).toBe('use `a[99]` here [2]');
    expect(filterCitations('```\nx = a[99]\n```\nok [7]', VALID).text).toBe('```\nx = a[99]\n```\nok');
  });

  it('passes an unfinished bracket through at the end of the stream', () => {
    expect(filterCitations('cut off [1', VALID).text).toBe('cut off [1');
  });

  it('gives the same text however the stream is cut into pieces', () => {
    const alphabet = fc.constantFrom('a', ' ', '.', '[', ']', '1', '9', ',', '`', '\n', 'x', '2');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }),
        fc.array(fc.nat(60), { maxLength: 8 }),
        (chars, cuts) => {
          const text = chars.join('');
          const whole = filterCitations(text, VALID).text;
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const f = createCitationFilter(VALID);
          let out = '';
          let from = 0;
          for (const p of [...points, text.length]) {
            out += f.push(text.slice(from, p));
            from = p;
          }
          out += f.end();
          expect(out).toBe(whole);
        },
      ),
    );
  });

  it('never lets an invalid marker through outside code', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom('word ', '. ', ' ', ', '),
            fc.integer({ min: 0, max: 120 }).map((n) => `[${n}]`),
          ),
          {
            maxLength: 30,
          },
        ),
        (parts) => {
          const out = filterCitations(parts.join(''), VALID).text;
          for (const m of out.matchAll(/\[(\d+)\]/g)) expect(VALID.has(Number(m[1]))).toBe(true);
        },
      ),
    );
  });
});

describe('checkSupport', () => {
  const blocks = new Map([
    [1, 'The SYN queue holds half-open connections until the handshake completes.'],
    [2, 'A UART sends bits one at a time over a serial line.'],
  ]);
  const idf = (): number => 1;

  it('scores a sentence taken from its cited block as supported', () => {
    const [s] = checkSupport({ text: 'The SYN queue holds half-open connections [1].', blocks, idf });
    expect(s?.cites).toEqual([1]);
    expect(s?.support).toBeGreaterThanOrEqual(MIN_SUPPORT);
    expect(s?.unsupported).toBe(false);
  });

  it('flags a sentence that its cited block does not support', () => {
    const out = checkSupport({
      text: 'A UART sends bits over a serial line [2]. Bananas orbit distant quasars every Tuesday [1].',
      blocks,
      idf,
    });
    expect(out.map((s) => s.unsupported)).toEqual([false, true]);
    expect(out[1]?.support).toBeLessThan(MIN_SUPPORT);
  });

  it('gives a marker that opens a sentence to the sentence before it', () => {
    const out = checkSupport({
      text: 'A UART sends bits one at a time. [2] The queue holds connections.',
      blocks,
      idf,
    });
    expect(out[0]?.cites).toEqual([2]);
    expect(out[1]?.cites).toEqual([]);
    expect(out[1]?.uncited).toBe(true);
  });

  it('does not count a follow-up question as an uncited claim', () => {
    const [s] = checkSupport({ text: 'Which serial port do you mean?', blocks, idf });
    expect(s?.uncited).toBe(false);
  });

  it('weights rare terms more than common ones', () => {
    const text = 'The queue holds bananas [1].';
    const flat = checkSupport({ text, blocks, idf })[0]?.support ?? 0;
    const weighted =
      checkSupport({ text, blocks, idf: (t) => (t.startsWith('banana') ? 10 : 1) })[0]?.support ?? 0;
    expect(weighted).toBeLessThan(flat);
  });
});
