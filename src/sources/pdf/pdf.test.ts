import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { isShelfError } from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import { parsePdf } from './index.js';
import { handWrittenPdf, makePdf, rawInput, testContext, tinyPng } from './test-support/helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

async function expectCode(work: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error: unknown = await work.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(isShelfError(error) ? error.code : error).toBe(code);
}

describe('parsePdf on hostile and broken input', () => {
  it('refuses a truncated PDF as PDF_INVALID', async () => {
    const whole = await makePdf([['First page of text.'], ['Second page of text.']]);
    const half = whole.slice(0, Math.floor(whole.length / 2));
    await expectCode(parsePdf(rawInput('half.pdf', half), testContext()), 'PDF_INVALID');
  });

  it('refuses random bytes behind a %PDF-1.7 header as PDF_INVALID', async () => {
    let seed = 42;
    const noise = Uint8Array.from(
      { length: 4096 },
      () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff,
    );
    const bytes = new Uint8Array([...Buffer.from('%PDF-1.7\n'), ...noise]);
    await expectCode(parsePdf(rawInput('noise.pdf', bytes), testContext()), 'PDF_INVALID');
  });

  it('reports an encrypted PDF (from qpdf --encrypt) as PDF_ENCRYPTED', async () => {
    const bytes = readFileSync(join(FIXTURES, 'encrypted.pdf'));
    await expectCode(parsePdf(rawInput('encrypted.pdf', bytes), testContext()), 'PDF_ENCRYPTED');
  });

  it('refuses a PDF with zero pages with a clear message', async () => {
    // pdf-lib adds a blank page to an empty document on save, so this one is written by hand.
    const bytes = handWrittenPdf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [] /Count 0 >>',
    ]);
    const error: unknown = await parsePdf(rawInput('empty.pdf', bytes), testContext()).catch(
      (e: unknown) => e,
    );
    expect(isShelfError(error, 'PDF_INVALID')).toBe(true);
    expect((error as Error).message).toContain('it has no pages');
  });

  it('refuses an HTML file named .pdf because it only claims to be a PDF', async () => {
    const bytes = Buffer.from('<!doctype html><html><body><h1>Not found</h1></body></html>');
    const error: unknown = await parsePdf(rawInput('book.pdf', bytes), testContext()).catch(
      (e: unknown) => e,
    );
    expect(isShelfError(error, 'PDF_INVALID')).toBe(true);
    expect((error as Error).message).toContain('only claims to be a PDF');
  });

  it('refuses an empty file', async () => {
    await expectCode(parsePdf(rawInput('zero.pdf', new Uint8Array()), testContext()), 'PDF_INVALID');
  });

  it('checks maxDocumentBytes before parsing', async () => {
    const bytes = await makePdf([['Some text.']]);
    await expectCode(
      parsePdf(rawInput('big.pdf', bytes), testContext({ limits: { maxDocumentBytes: 100 } })),
      'FILE_TOO_LARGE',
    );
  });

  it('reports a page that is only an image as a no-text problem and emits no blocks for it', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.addPage([612, 792]).drawText('A page with real words on it.', { x: 72, y: 700, size: 11, font });
    const image = await doc.embedPng(tinyPng());
    doc.addPage([612, 792]).drawImage(image, { x: 72, y: 300, width: 400, height: 400 });
    const parsed = await parsePdf(rawInput('scan.pdf', await doc.save()), testContext());
    expect(parsed.pageCount).toBe(2);
    expect(parsed.problems).toEqual([{ page: 2, reason: 'no-text', detail: expect.any(String) as string }]);
    expect(parsed.blocks.every((b) => b.page === 1)).toBe(true);
    expect(parsed.blocks.map((b) => (b.kind === 'paragraph' ? b.text : ''))).toContain(
      'A page with real words on it.',
    );
  });

  it('returns a document with problems and no blocks when every page is an image', async () => {
    const doc = await PDFDocument.create();
    const image = await doc.embedPng(tinyPng());
    doc.addPage([200, 200]).drawImage(image, { x: 0, y: 0, width: 200, height: 200 });
    const parsed = await parsePdf(rawInput('all-scan.pdf', await doc.save()), testContext());
    expect(parsed.blocks).toEqual([]);
    expect(parsed.problems?.map((p) => p.reason)).toEqual(['no-text']);
  });

  it('skips a page that is empty or holds only a page number without calling it a problem', async () => {
    const bytes = await makePdf([['Real text on the first page.'], [], ['7']]);
    const parsed = await parsePdf(rawInput('blank.pdf', bytes), testContext());
    expect(parsed.problems).toEqual([]);
    expect(new Set(parsed.blocks.map((b) => b.page))).toEqual(new Set([1]));
  });

  it('parses a 1,000-page PDF within the default limits and refuses it with maxPdfPages 500', async () => {
    // Each page's lines differ in their words, not only in digits, so that they do not
    // look like a running header or footer.
    const word = (n: number): string =>
      n.toString(26).replace(/./g, (d) => String.fromCharCode(97 + parseInt(d, 26)));
    const pages = Array.from({ length: 1000 }, (_, i) => [
      `The ${word(i + 7)} section begins here.`,
      `This page talks about topic number ${i + 1} and the word ${word(i * 31 + 5)} in plain words.`,
    ]);
    const bytes = await makePdf(pages, { title: 'Generated Book' });
    const ticks: number[] = [];
    let total = 0;
    const parsed = await parsePdf(
      rawInput('gen.pdf', bytes),
      testContext({ progress: { total: (n) => (total = n), tick: (n = 1) => ticks.push(n) } }),
    );
    expect(parsed.pageCount).toBe(1000);
    expect(total).toBe(1000);
    expect(ticks.length).toBe(1000);
    expect(parsed.title).toBe('Generated Book');
    const page500 = parsed.blocks.filter((b) => b.page === 500).map((b) => ('text' in b ? b.text : ''));
    expect(page500.join(' ')).toContain('topic number 500');
    await expectCode(
      parsePdf(rawInput('gen.pdf', bytes), testContext({ limits: { maxPdfPages: 500 } })),
      'PDF_TOO_MANY_PAGES',
    );
  }, 120_000);

  it('stops with PDF_TIMEOUT when the clock passes maxDocumentMs', async () => {
    const bytes = await makePdf([['One.'], ['Two.'], ['Three.']]);
    let t = 0;
    // Every reading of the clock moves time on by one second; the limit is 2.5 s.
    const clock = { now: () => new Date((t += 1000)) };
    await expectCode(
      parsePdf(rawInput('slow.pdf', bytes), testContext({ clock, limits: { maxDocumentMs: 2500 } })),
      'PDF_TIMEOUT',
    );
  });

  it('rejects with the abort reason when the signal is aborted', async () => {
    const bytes = await makePdf([['One.']]);
    const controller = new AbortController();
    controller.abort(new Error('stopped by the user'));
    await expect(
      parsePdf(rawInput('a.pdf', bytes), testContext({ signal: controller.signal })),
    ).rejects.toThrow('stopped by the user');
  });

  it('takes the title from a decoded file name when the PDF has no metadata or large text', async () => {
    const bytes = await makePdf([['x']]);
    const parsed = await parsePdf(
      rawInput(
        '/books/The%20Little%20Book%20About%20OS%20Development%20-%20Erik%20Helin%2C%20Adam%20Renberg.pdf',
        bytes,
      ),
      testContext(),
    );
    expect(parsed.title).toBe('The Little Book About OS Development - Erik Helin, Adam Renberg');
  });

  it('takes the title and author from the metadata, salvaging a word-processor title', async () => {
    const good = await parsePdf(
      rawInput(
        'a.pdf',
        await makePdf([['Body text here.']], { title: 'Real Title', author: 'Ada Lovelace' }),
      ),
      testContext(),
    );
    expect(good).toMatchObject({ kind: 'pdf', title: 'Real Title', author: 'Ada Lovelace', pageCount: 1 });
    expect(good.pageLabels).toBeUndefined();
    const junk = await parsePdf(
      rawInput('b.pdf', await makePdf([['Body text here.']], { title: 'Microsoft Word - draft.doc' })),
      testContext(),
    );
    expect(junk.title).toBe('draft');
    const junkier = await parsePdf(
      rawInput('c.pdf', await makePdf([['Body text here.']], { title: 'untitled.doc' })),
      testContext(),
    );
    expect(junkier.title).toBe('Body text here.');
  });
});
