import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { removeFurniture } from './furniture.js';
import { buildLines, monospaceFonts, pageBlocks, renderCode } from './layout.js';
import type { TextRun } from './layout.js';
import {
  cleanChars,
  garbledReason,
  isJunkTitle,
  joinLines,
  parsePdfDate,
  titleFromLocation,
} from './text.js';

/** A run of `text` at (x, y); width from 0.5 em per character (0.6 for monospace). */
function run(text: string, x: number, y: number, opts: { size?: number; mono?: boolean } = {}): TextRun {
  const size = opts.size ?? 10;
  const mono = opts.mono ?? false;
  return { text, x, y, width: text.length * size * (mono ? 0.6 : 0.5), size, font: mono ? 'm' : 'p', mono };
}

const CTX = { page: 3, bodySize: 10, headingSizes: [16, 12] };

describe('joinLines', () => {
  it('undoes hyphenation before a lower-case continuation', () => {
    expect(joinLines('an exam-', 'ple of it')).toBe('an example of it');
  });
  it('keeps the hyphen of compounds, capitals, digits and single letters', () => {
    expect(joinLines('a self-', 'hosted box')).toBe('a self-hosted box');
    expect(joinLines('the Intel-', 'Manual')).toBe('the Intel-Manual');
    expect(joinLines('a 32-', 'bit CPU')).toBe('a 32-bit CPU');
    expect(joinLines('a k-', 'dimensional array')).toBe('a k-dimensional array');
    expect(joinLines('GCC-', 'specific flags')).toBe('GCC-specific flags');
  });
  it('joins ordinary lines with one space and treats a trailing dash with a space as a dash', () => {
    expect(joinLines('the server -', 'must be')).toBe('the server - must be');
    expect(joinLines('one  ', '  two')).toBe('one two');
  });
  it('joins at a soft hyphen without a hyphen', () => {
    expect(joinLines('hyphen\u00AD', 'ation')).toBe('hyphenation');
  });
});

describe('cleanChars', () => {
  it('expands ligatures and removes soft hyphens for any input', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '\uFB01', '\uFB03', '\u00AD', '\u00A0', 'é') }),
        (s) => {
          expect(cleanChars(s)).not.toMatch(/[\uFB00-\uFB06\u00AD\u00A0]/);
        },
      ),
    );
    expect(cleanChars('\uFB01nd the \uFB04ow')).toBe('find the fflow');
  });
});

describe('garbledReason', () => {
  it('accepts prose and assembly listings', () => {
    expect(garbledReason('The quick brown fox jumps over the lazy dog. '.repeat(5))).toBeUndefined();
    expect(
      garbledReason('LDR R0 SB 0 CMP R1 R0 10 BLHI R12 LSL R0 R0 2 ADD R0 SB R0 '.repeat(4)),
    ).toBeUndefined();
  });
  it('flags replacement and private-use characters and letter soup', () => {
    expect(garbledReason('\uFFFD\uE000\uE001 '.repeat(20))).toMatch(/replacement/);
    expect(garbledReason('Xk Qz Wp Tb Rn Fg Hj Ll Mn Bv Cx Zz Kk Pq Wr Ts Dp Gh Jk '.repeat(3))).toMatch(
      /look like words/,
    );
  });
  it('gives the verdict of a naive count over every character and token', () => {
    // The oracle counts everything; garbledReason stops counting once the verdict is known.
    const oracle = (text: string): string | undefined => {
      const chars = [...text.replace(/\s+/g, '')];
      if (chars.length < 20) return undefined;
      const bad = chars.filter((c) => {
        const cp = c.codePointAt(0) ?? 0;
        return (
          cp === 0xfffd ||
          (cp >= 0xe000 && cp <= 0xf8ff) ||
          cp >= 0xf0000 ||
          cp < 0x20 ||
          (cp >= 0x7f && cp < 0xa0)
        );
      }).length;
      if (bad / chars.length > 0.2)
        return `${Math.round((bad / chars.length) * 100)}% of the characters are replacement, private-use or control code points`;
      const tokens = text.split(/\s+/).filter((t) => /\p{L}/u.test(t));
      const letters = tokens.reduce((n, t) => n + (t.match(/\p{L}/gu)?.length ?? 0), 0);
      if (tokens.length < 15 || letters < 40) return undefined;
      const wordLike = tokens.filter(
        (t) =>
          /[^\P{L}\p{Script=Latin}]/u.test(t) ||
          (t.match(/[a-z]{2,}/gi) ?? []).some((run) => /[aeiouy]/i.test(run)),
      ).length;
      return wordLike / tokens.length < 0.1
        ? `only ${wordLike} of ${tokens.length} letter tokens look like words`
        : undefined;
    };
    // Mixed text (every verdict branch), and consonant soup with a rare vowel, which sits
    // around the one-in-ten word threshold.
    const mixed = [...' \n\u00A0aexqZk1.йж語\uFFFD\uE000\u0001\uD83D\uDE00', '\u{F0001}'];
    const soup = [...'bcdfghjklmnpqrstvwxzBCDFG1.a'];
    const text = fc.constantFrom(mixed, soup).chain((alphabet) =>
      fc.array(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 6 }).map((cs) => cs.join('')),
        {
          maxLength: 120,
          size: 'max',
        },
      ),
    );
    fc.assert(
      fc.property(text, (words) => {
        const t = words.join(' ');
        expect(garbledReason(t)).toBe(oracle(t));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('titles and dates', () => {
  it('decodes URL-encoded file names and strips the extension', () => {
    expect(titleFromLocation('/x/Web%20API%20Design%20-%20Brian%20Mulloy%20%28PDF%29.pdf')).toBe(
      'Web API Design - Brian Mulloy (PDF)',
    );
    expect(titleFromLocation('https://h/a/b%ZZ.pdf?x=1')).toBe('b%ZZ');
  });
  it('recognises producer-made titles as junk', () => {
    expect(isJunkTitle('Microsoft Word - PO.Applications.doc')).toBe(true);
    expect(isJunkTitle('The little book about OS development')).toBe(false);
  });
  it('parses PDF dates and rejects implausible ones', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    expect(parsePdfDate("D:20150119123634+01'00'", now)).toBe('2015-01-19T11:36:34.000Z');
    expect(parsePdfDate('D:19700101000000Z', now)).toBeUndefined();
    expect(parsePdfDate('D:20990101', now)).toBeUndefined();
    expect(parsePdfDate('garbage', now)).toBeUndefined();
  });
});

describe('buildLines', () => {
  it('keeps a superscript footnote marker on its line and orders lines top to bottom', () => {
    const lines = buildLines([
      run('second line', 72, 688),
      run('first', 72, 700),
      run('1', 98, 704, { size: 7 }),
    ]);
    expect(lines.map((l) => l.text)).toEqual(['first 1', 'second line']);
  });
  it('only treats a flagged font as monospace when its advance is fixed', () => {
    const runs = [
      { font: 'a', text: 'abcdef', width: 31.5, size: 10 },
      { font: 'a', text: 'xyz', width: 15.75, size: 10 },
      { font: 'b', text: 'iiii', width: 11, size: 10 },
      { font: 'b', text: 'MMMM', width: 33, size: 10 },
    ];
    expect([...monospaceFonts(runs, new Set(['a', 'b']))]).toEqual(['a']);
  });
});

describe('renderCode', () => {
  it('keeps indentation and the gap of a side-by-side listing', () => {
    const lines = buildLines([
      run('BEGIN', 90, 500, { mono: true }),
      run('k := a[i];', 108, 488, { mono: true }),
      run('LDR R0 SB 0', 240, 488, { mono: true }),
      run('CMP R1 R0 10', 240, 476, { mono: true }),
    ]);
    expect(renderCode(lines)).toBe(
      ['BEGIN', '   k := a[i];' + ' '.repeat(12) + 'LDR R0 SB 0', ' '.repeat(25) + 'CMP R1 R0 10'].join('\n'),
    );
  });
});

describe('pageBlocks', () => {
  it('finds headings by size, paragraphs by gaps, code by monospace font', () => {
    const lines = buildLines([
      run('Loading the GDT', 72, 700, { size: 12 }),
      run('The GDT is loaded with lgdt, which takes the address of a', 72, 680),
      run('struct that gives its start and size.', 72, 668),
      run('struct gdt {', 92, 640, { mono: true }),
      run('unsigned int address;', 104, 628, { mono: true }),
      run('};', 92, 616, { mono: true }),
      run('A second paragraph.', 72, 590),
    ]);
    expect(pageBlocks(lines, CTX)).toEqual({
      blocks: [
        { kind: 'heading', level: 2, text: 'Loading the GDT', page: 3 },
        {
          kind: 'paragraph',
          text: 'The GDT is loaded with lgdt, which takes the address of a struct that gives its start and size.',
          page: 3,
        },
        { kind: 'code', text: 'struct gdt {\n  unsigned int address;\n};', page: 3 },
        { kind: 'paragraph', text: 'A second paragraph.', page: 3 },
      ],
      footnotes: [],
    });
  });

  it('uses the outline title and level and folds a "Chapter N" label into it', () => {
    const lines = buildLines([
      run('Chapter 5', 72, 700, { size: 20 }),
      run('Segmentation', 72, 660, { size: 24 }),
      run('Body text.', 72, 620),
    ]);
    const { blocks } = pageBlocks(lines, { ...CTX, outline: [{ title: 'Segmentation', level: 1 }] });
    expect(blocks[0]).toEqual({ kind: 'heading', level: 1, text: 'Chapter 5 Segmentation', page: 3 });
    expect(blocks).toHaveLength(2);
  });

  it('recovers a table when columns line up, with a wrapped cell', () => {
    const lines = buildLines([
      run('Name', 80, 400),
      run('Description', 195, 400),
      run('rpl', 80, 385),
      run('Requested Privilege Level.', 195, 385),
      run('ti', 80, 370),
      run('Table Indicator, 0 for a GDT', 195, 370),
      run('segment.', 195, 358),
      run('offset', 80, 343),
      run('Offset within the table.', 195, 343),
    ]);
    const { blocks } = pageBlocks(lines, CTX);
    expect(blocks).toEqual([
      {
        kind: 'table',
        header: true,
        page: 3,
        rows: [
          ['Name', 'Description'],
          ['rpl', 'Requested Privilege Level.'],
          ['ti', 'Table Indicator, 0 for a GDT segment.'],
          ['offset', 'Offset within the table.'],
        ],
      },
    ]);
  });

  it('makes bullet lines a list and small bottom lines footnotes', () => {
    const lines = buildLines([
      run('• Task handler', 80, 700),
      run('• Trap handler', 80, 688),
      run('1 The bootloader must fit in 512 bytes.', 72, 90, { size: 8 }),
    ]);
    expect(pageBlocks(lines, CTX)).toEqual({
      blocks: [{ kind: 'list', ordered: false, items: ['Task handler', 'Trap handler'], page: 3 }],
      footnotes: [{ kind: 'paragraph', text: '1 The bootloader must fit in 512 bytes.', page: 3 }],
    });
  });
});

describe('removeFurniture', () => {
  it('drops running headers and page numbers but keeps large repeated titles', () => {
    const pages = [1, 2, 3, 4, 5].map((n) => ({
      page: n,
      lines: buildLines([
        run(`Project Oberon ${n}`, 72, 760),
        run(n === 2 ? 'Chapter 2' : `Body text of page ${'abcde'[n - 1]!}.`, 72, 700, {
          size: n === 2 ? 20 : 10,
        }),
        run(String(n + 10), 300, 40),
      ]),
      label: String(n + 10),
    }));
    const kept = removeFurniture(pages, { bodySize: 10 });
    expect(kept.map((p) => p.lines.map((l) => l.text))).toEqual([
      ['Body text of page a.'],
      ['Chapter 2'],
      ['Body text of page c.'],
      ['Body text of page d.'],
      ['Body text of page e.'],
    ]);
  });
});
