import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countTokens, splitSentences } from './sentences.js';

const texts = (s: string): string[] => splitSentences(s).map((x) => x.text);

describe('splitSentences', () => {
  it('splits ordinary prose at sentence ends', () => {
    expect(texts('The SYN queue fills up. Then the kernel drops packets! Why? Nobody knows.')).toEqual([
      'The SYN queue fills up.',
      'Then the kernel drops packets!',
      'Why?',
      'Nobody knows.',
    ]);
  });

  it('does not split after abbreviations, initials or inside numbers and identifiers', () => {
    expect(texts('Use tools, e.g. GDB and QEMU. See Fig. 3 for details.')).toEqual([
      'Use tools, e.g. GDB and QEMU.',
      'See Fig. 3 for details.',
    ]);
    expect(texts('Written by N. Wirth in 2013. Version 3.14 is out.')).toEqual([
      'Written by N. Wirth in 2013.',
      'Version 3.14 is out.',
    ]);
    expect(texts('Call os.path.join here. Done.')).toEqual(['Call os.path.join here.', 'Done.']);
  });

  it('keeps closing quotes and brackets with the sentence', () => {
    expect(texts('He said "stop." Then (quietly) left.')).toEqual([
      'He said "stop."',
      'Then (quietly) left.',
    ]);
  });

  it('ends a sentence before a list marker on a new line', () => {
    expect(texts('Steps:\n- build it\n- run it')).toEqual(['Steps:', '- build it', '- run it']);
  });

  it('returns spans that point back at the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        let last = 0;
        for (const sentence of splitSentences(s)) {
          expect(s.slice(sentence.start, sentence.end)).toBe(sentence.text);
          expect(sentence.start).toBeGreaterThanOrEqual(last);
          last = sentence.end;
        }
      }),
    );
  });

  it('loses no non-space characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const joined = splitSentences(s)
          .map((x) => x.text)
          .join('');
        expect(joined.replace(/\s+/g, '')).toBe(s.replace(/\s+/g, ''));
      }),
    );
  });
});

describe('countTokens', () => {
  it('grows with the text', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('abcd')).toBe(1);
    expect(countTokens('a'.repeat(400))).toBe(100);
  });
});
