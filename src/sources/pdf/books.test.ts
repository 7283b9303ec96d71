/**
 * The two shared books, checked page by page against poppler's pdftotext and against
 * golden files of chosen pages. Regenerate the golden files after a deliberate change with
 * SHELF_UPDATE_GOLDEN=1 npx vitest run src/sources/pdf/books.test.ts, and read the diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Block, ParsedDocument } from '../../core/document.js';
import { hasShared, sharedPath } from '../../test-support/shared.js';
import { parsePdf } from './index.js';
import {
  hasPdftotext,
  PDFTOTEXT_MISSING,
  pdftotextPage,
  rawInput,
  testContext,
} from './test-support/helpers.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '__golden__');
const UPDATE = process.env.SHELF_UPDATE_GOLDEN === '1';
const LITTLE = 'corpus/books/little-book-about-os-development.pdf';
const OBERON = 'corpus/books/PO.Applications.pdf';

async function parseShared(rel: string): Promise<ParsedDocument> {
  const file = sharedPath(rel);
  return parsePdf(rawInput(file, readFileSync(file)), testContext());
}

function blockText(b: Block): string {
  switch (b.kind) {
    case 'list':
      return b.items.join('\n');
    case 'table':
      return b.rows.map((r) => r.join(' | ')).join('\n');
    default:
      return b.text;
  }
}

/** The heading path of every block, as the chunker will build it (a stack by level). */
function headingPaths(blocks: readonly Block[]): string[] {
  const stack: { level: number; text: string }[] = [];
  const paths: string[] = [];
  for (const b of blocks) {
    if (b.kind !== 'heading') continue;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= b.level) stack.pop();
    stack.push({ level: b.level, text: b.text });
    paths.push(stack.map((h) => h.text).join(' > '));
  }
  return paths;
}

function compareGolden(name: string, blocks: readonly Block[]): void {
  const file = join(GOLDEN, `${name}.json`);
  const actual = `${JSON.stringify(blocks, null, 2)}\n`;
  if (UPDATE) writeFileSync(file, actual);
  expect(existsSync(file), `missing golden file ${file}; create it with SHELF_UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** Pages whose blocks contain `needle`, and pages where pdftotext finds it. */
function pagesWith(doc: ParsedDocument, file: string, needle: string): { ours: number[]; poppler: number[] } {
  const lower = needle.toLowerCase();
  const ours = [
    ...new Set(
      doc.blocks
        .filter((b) => blockText(b).replace(/\s+/g, ' ').toLowerCase().includes(lower))
        .map((b) => b.page!),
    ),
  ].sort((a, b) => a - b);
  const poppler: number[] = [];
  for (let p = 1; p <= (doc.pageCount ?? 0); p++) if (pdftotextPage(file, p).includes(lower)) poppler.push(p);
  return { ours, poppler };
}

function expectCleanText(doc: ParsedDocument): void {
  for (const b of doc.blocks) {
    const text = blockText(b);
    expect(text, `page ${b.page}`).not.toMatch(/[\uFB00-\uFB06\u00AD]/);
    if (b.kind === 'paragraph' || b.kind === 'heading')
      expect(text.trim(), `page ${b.page}`).not.toMatch(/^\d+$/);
  }
}

describe.skipIf(!hasShared(LITTLE))('parsePdf on the Little Book about OS development', () => {
  let doc: ParsedDocument;
  beforeAll(async () => {
    doc = await parseShared(LITTLE);
  });

  it('reads all 78 pages and takes title, author and date from the metadata', () => {
    expect(doc.pageCount).toBe(78);
    expect(doc.title).toBe('The little book about OS development');
    expect(doc.author).toBe('Erik Helin, Adam Renberg');
    expect(doc.published).toBe('2015-01-19T11:36:34.000Z');
    expect(doc.pageLabels).toBeUndefined();
  });

  it('skips the 11 blank versos without reporting them as problems', () => {
    const blank = [2, 10, 18, 32, 38, 46, 50, 52, 60, 64, 76];
    const withBlocks = new Set(doc.blocks.map((b) => b.page));
    expect(blank.filter((p) => withBlocks.has(p))).toEqual([]);
    expect(doc.problems).toEqual([]);
    // Every other page from the first chapter on has text.
    for (let p = 7; p <= 78; p++) if (!blank.includes(p)) expect(withBlocks.has(p), `page ${p}`).toBe(true);
  });

  it('gives every block its page, no page-number blocks, no ligatures or soft hyphens', () => {
    expect(doc.blocks.every((b) => Number.isInteger(b.page) && b.page! >= 1 && b.page! <= 78)).toBe(true);
    expectCleanText(doc);
  });

  it('takes headings from the outline, with chapter labels, so paths read like the book', () => {
    const paths = headingPaths(doc.blocks);
    expect(paths).toContain('Chapter 5 Segmentation > Loading the GDT');
    expect(paths).toContain('Chapter 2 First Steps > Hello Cafebabe > Linking the Kernel');
    const chapters = doc.blocks.filter((b) => b.kind === 'heading' && b.level === 1).map((b) => blockText(b));
    expect(chapters).toEqual(expect.arrayContaining(['Chapter 1 Introduction', 'Chapter 14 Multitasking']));
    const gdt = doc.blocks.find((b) => b.kind === 'heading' && b.text === 'Loading the GDT');
    expect(gdt?.page).toBe(36);
  });

  it('keeps code listings as code with their indentation', () => {
    const linker = doc.blocks.find((b) => b.kind === 'code' && b.text.startsWith('ENTRY(loader)'));
    expect(linker?.page).toBe(14);
    expect(blockText(linker!)).toContain('\n    .text ALIGN (0x1000) :');
    expect(blockText(linker!)).toContain('\n        *(.text)');
  });

  it.skipIf(!hasPdftotext())('finds "global descriptor table" on the pages where pdftotext finds it', () => {
    const { ours, poppler } = pagesWith(doc, sharedPath(LITTLE), 'global descriptor table');
    expect(ours.length).toBeGreaterThan(0);
    expect(ours).toEqual(poppler);
  });

  it('matches the golden blocks of a prose page, a code page and a table page', () => {
    for (const page of [7, 14, 36])
      compareGolden(
        `little-book-p${page}`,
        doc.blocks.filter((b) => b.page === page),
      );
  });
});

describe.skipIf(!hasShared(OBERON))('parsePdf on Project Oberon, Applications', () => {
  let doc: ParsedDocument;
  beforeAll(async () => {
    doc = await parseShared(OBERON);
  });

  it('reads all 86 pages with their labels and a title that is not the Word file name', () => {
    expect(doc.pageCount).toBe(86);
    expect(doc.pageLabels?.length).toBe(86);
    expect(doc.title).not.toMatch(/Microsoft Word|\.doc|%[0-9A-F]{2}/i);
    expect(doc.title).toBe('PO.Applications');
    expect(doc.author).toBe('nwirth');
    expect(doc.problems).toEqual([]);
  });

  it('gives no page-number blocks, no ligatures or soft hyphens', () => {
    expectCleanText(doc);
  });

  it('finds chapter and section headings by font size', () => {
    const paths = headingPaths(doc.blocks);
    expect(paths).toContain('10. The Network > 10.4. The implementation');
    expect(paths).toContain('12 The compiler > 12.2. Code patterns');
  });

  it('keeps side-by-side listings on one line with the gap as spaces', () => {
    const listing = doc.blocks.find(
      (b) => b.kind === 'code' && b.page === 17 && b.text.includes('MODULE Pattern3;'),
    );
    expect(listing).toBeDefined();
    const line = blockText(listing!)
      .split('\n')
      .find((l) => l.includes('k := a[i];'));
    expect(line).toMatch(/k := a\[i\]; {4,}LDR R0 SB 0$/);
  });

  it.skipIf(!hasPdftotext())(
    'finds the Net procedure ReceiveHead on the pages where pdftotext finds it',
    () => {
      const { ours, poppler } = pagesWith(doc, sharedPath(OBERON), 'ReceiveHead');
      expect(ours.length).toBeGreaterThan(0);
      expect(ours).toEqual(poppler);
    },
  );

  it('matches the golden blocks of a side-by-side listing page', () => {
    compareGolden(
      'po-applications-p17',
      doc.blocks.filter((b) => b.page === 17),
    );
  });
});

describe('pdftotext for the page-exact checks', () => {
  it('is installed', () => {
    expect(hasPdftotext(), PDFTOTEXT_MISSING).toBe(true);
  });
});
