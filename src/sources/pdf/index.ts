/**
 * PDF books, page-exact. `parsePdf` reads a PDF with pdf.js (the legacy Node build, no
 * worker thread: pdf.js runs its "fake worker" in this process) and returns one
 * ParsedDocument whose blocks each carry their physical page (1-based).
 *
 * Memory stays bounded by the page: each page's text is reduced to small `Line` objects
 * and the page's pdf.js objects are released with `page.cleanup()` before the next page is
 * read. Only the lines (plain text and coordinates) of every page are kept until the end,
 * because running headers and footers can only be told apart once every page is seen.
 *
 * Pages that cannot be indexed are reported in `problems`, not silently dropped: no text
 * layer with an image on the page (`no-text`), or a text layer of replacement/private-use
 * code points or non-words (`garbled`). Blank pages (nothing, or only a page number) are
 * skipped without a problem. A PDF whose every page is a problem is still returned, with
 * its problems and no blocks: the caller decides whether that is an error.
 */
// Before pdf.js, so that it holds V8's own built-ins (see native-builtins.ts).
import { restoreNativeBuiltins } from './native-builtins.js';
import { getDocument, OPS, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { Block, PageProblem, ParsedDocument } from '../../core/document.js';
import { isShelfError, ShelfError } from '../../core/errors.js';
import type { RawInput, SourceContext } from '../source.js';
import { removeFurniture } from './furniture.js';
import type { PageLines } from './furniture.js';
import { buildLines, looksLikeHeading, monospaceFonts, pageBlocks, sizeKey } from './layout.js';
import type { Line, OutlineHeading, TextRun } from './layout.js';
import { garbledReason, isJunkTitle, normaliseProse, parsePdfDate, titleFromLocation } from './text.js';

restoreNativeBuiltins();

/** pdf.js's worker module (it ships no type declarations, hence a plain string). */
const PDFJS_WORKER: string = 'pdfjs-dist/legacy/build/pdf.worker.mjs';

/**
 * Loads pdf.js's worker module once, then undoes its core-js polyfills of built-ins. pdf.js's
 * in-thread worker finds the module on `globalThis.pdfjsWorker` and does not import it
 * again: the same one-time cost as letting pdf.js import it on the first document.
 */
let workerModule: Promise<void> | undefined;
function loadWorkerModule(): Promise<void> {
  workerModule ??= (import(PDFJS_WORKER) as Promise<unknown>).then(restoreNativeBuiltins);
  return workerModule;
}

/** How shelf opens every PDF with pdf.js: text only, no code generation, no fonts installed. */
export const PDFJS_OPTIONS = {
  verbosity: VerbosityLevel.ERRORS,
  isEvalSupported: false,
  disableFontFace: true,
  useSystemFonts: false,
  enableXfa: false,
  stopAtErrors: false,
} as const;

/** Outline entries read at most (a hostile PDF may hold a huge or cyclic outline). */
const MAX_OUTLINE_ENTRIES = 10_000;

/** pdf.js operators that paint an image: a page with one of these and no text is a scan. */
const IMAGE_OPS: ReadonlySet<number> = new Set([
  OPS.paintImageXObject,
  OPS.paintInlineImageXObject,
  OPS.paintImageMaskXObject,
  OPS.paintImageXObjectRepeat,
  OPS.paintImageMaskXObjectRepeat,
  OPS.paintImageMaskXObjectGroup,
  OPS.paintInlineImageXObjectGroup,
  OPS.paintSolidColorImageMask,
]);

/** The shape of a pdf.js TextItem that this module reads. */
interface PdfTextItem {
  readonly str: string;
  readonly transform: readonly number[];
  readonly width: number;
  readonly fontName: string;
}

function isTextItem(item: unknown): item is PdfTextItem {
  return typeof item === 'object' && item !== null && 'str' in item && 'transform' in item;
}

/** What one page left behind once its pdf.js objects are gone. */
interface PageRecord {
  readonly page: number;
  readonly lines: Line[];
  readonly problem?: PageProblem;
}

/**
 * Parses a PDF into a document of page-tagged blocks.
 *
 * Limits (`ctx.config.limits`): `maxDocumentBytes` is checked before parsing
 * (FILE_TOO_LARGE), `maxPdfPages` after opening (PDF_TOO_MANY_PAGES), `maxDocumentMs`
 * throughout (PDF_TIMEOUT). Errors: PDF_ENCRYPTED for a password-protected file,
 * PDF_INVALID for anything that is not a readable PDF (no `%PDF-` header, truncated,
 * corrupt, zero pages). An aborted `ctx.signal` rejects with the signal's reason.
 */
export async function parsePdf(input: RawInput, ctx: SourceContext): Promise<ParsedDocument> {
  const { location } = input;
  const limits = ctx.config.limits;
  if (input.bytes.byteLength > limits.maxDocumentBytes)
    throw new ShelfError('FILE_TOO_LARGE', {
      path: location,
      size: input.bytes.byteLength,
      limit: limits.maxDocumentBytes,
    });
  if (!hasPdfHeader(input.bytes))
    throw new ShelfError('PDF_INVALID', {
      location,
      detail: 'the file only claims to be a PDF (it does not start with %PDF-)',
    });
  ctx.signal?.throwIfAborted();

  const deadline = ctx.clock.now().getTime() + limits.maxDocumentMs;
  const guard = <T>(work: Promise<T>): Promise<T> =>
    withDeadline(work, { deadline, ctx, location, ms: limits.maxDocumentMs });

  await guard(loadWorkerModule());
  // pdf.js may take ownership of the buffer it is given: hand it a copy.
  const loadingTask = getDocument({ data: new Uint8Array(input.bytes), ...PDFJS_OPTIONS });
  let doc: PDFDocumentProxy | undefined;
  try {
    try {
      doc = await guard(loadingTask.promise);
    } catch (e) {
      throw openError(e, location);
    }
    const pageCount = doc.numPages;
    if (pageCount === 0) throw new ShelfError('PDF_INVALID', { location, detail: 'it has no pages' });
    if (pageCount > limits.maxPdfPages)
      throw new ShelfError('PDF_TOO_MANY_PAGES', { location, pages: pageCount, limit: limits.maxPdfPages });
    ctx.progress.total(pageCount);

    const pageLabels = (await guard(doc.getPageLabels().catch(() => null))) ?? undefined;
    const outline = await guard(readOutline(doc).catch(() => undefined));

    const records: PageRecord[] = [];
    for (let n = 1; n <= pageCount; n++) {
      ctx.signal?.throwIfAborted();
      records.push(await guard(readPage(doc, n)));
      ctx.progress.tick(1, `page ${n}`);
    }

    const meta = await guard(readMetadata(doc, ctx));
    return assemble({ input, records, pageCount, pageLabels, outline, meta });
  } catch (e) {
    if (isShelfError(e) || ctx.signal?.aborted === true) throw e;
    throw new ShelfError(
      'PDF_INVALID',
      { location, detail: e instanceof Error ? e.message : String(e) },
      { cause: e },
    );
  } finally {
    if (doc !== undefined) await doc.destroy().catch(() => undefined);
    else await loadingTask.destroy().catch(() => undefined);
  }
}

/** PDF 32000-1 §7.5.2 puts `%PDF-` first; readers accept it within the first 1,024 bytes. */
function hasPdfHeader(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString(
    'latin1',
  );
  return head.includes('%PDF-');
}

/** Maps a pdf.js failure to open a document to a catalogue error. */
function openError(e: unknown, location: string): ShelfError {
  if (isShelfError(e)) return e;
  const name = e instanceof Error ? e.name : '';
  const message = e instanceof Error ? e.message : String(e);
  if (name === 'PasswordException') return new ShelfError('PDF_ENCRYPTED', { location }, { cause: e });
  return new ShelfError(
    'PDF_INVALID',
    { location, detail: message || name || 'pdf.js could not open it' },
    { cause: e },
  );
}

/** Races `work` against the document deadline and the abort signal. */
async function withDeadline<T>(
  work: Promise<T>,
  opts: { deadline: number; ctx: SourceContext; location: string; ms: number },
): Promise<T> {
  const { ctx } = opts;
  const remaining = opts.deadline - ctx.clock.now().getTime();
  const timeout = (): ShelfError => new ShelfError('PDF_TIMEOUT', { location: opts.location, ms: opts.ms });
  if (remaining <= 0) throw timeout();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), remaining);
    timer.unref();
    const signal = ctx.signal;
    if (signal !== undefined) {
      onAbort = () =>
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) ctx.signal?.removeEventListener('abort', onAbort);
  }
}

/** Reads one page's text into lines, then releases the page's pdf.js resources. */
async function readPage(doc: PDFDocumentProxy, n: number): Promise<PageRecord> {
  const page = await doc.getPage(n);
  try {
    const content = await page.getTextContent();
    const items: PdfTextItem[] = [];
    for (const it of content.items as unknown[]) if (isTextItem(it)) items.push(it);
    const flagged = new Set<string>();
    for (const [id, style] of Object.entries(content.styles))
      if (style.fontFamily === 'monospace' || /courier|mono|typewriter/i.test(`${id} ${style.fontFamily}`))
        flagged.add(id);
    const raw = items
      .map((it) => {
        const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = it.transform;
        // Horizontal text only; rotated runs (margin notes, axis labels) are kept but sized by |matrix|.
        const size = Math.hypot(c, d) || Math.hypot(a, b);
        return { text: it.str, x, y, width: it.width, size, font: it.fontName };
      })
      .filter((r) => r.text !== '' && Number.isFinite(r.size) && r.size > 0);
    const mono = monospaceFonts(raw, flagged);
    const runs: TextRun[] = raw.map((r) => ({ ...r, mono: mono.has(r.font) }));
    const visibleText = runs.map((r) => r.text).join(' ');
    if (visibleText.trim() === '') {
      if (await paintsImage(page))
        return {
          page: n,
          lines: [],
          problem: { page: n, reason: 'no-text', detail: 'the page is an image with no text layer' },
        };
      return { page: n, lines: [] };
    }
    const garbled = garbledReason(visibleText);
    if (garbled !== undefined)
      return { page: n, lines: [], problem: { page: n, reason: 'garbled', detail: garbled } };
    return { page: n, lines: buildLines(runs) };
  } finally {
    page.cleanup();
  }
}

async function paintsImage(page: PDFPageProxy): Promise<boolean> {
  const ops = await page.getOperatorList();
  return ops.fnArray.some((op) => IMAGE_OPS.has(op));
}

interface OutlineNode {
  readonly title: string;
  readonly dest: string | unknown[] | null;
  readonly items: readonly OutlineNode[];
}

/** The outline as headings by physical page, or undefined when the PDF has none. */
async function readOutline(doc: PDFDocumentProxy): Promise<Map<number, OutlineHeading[]> | undefined> {
  const roots = (await doc.getOutline()) as OutlineNode[] | null;
  if (roots === null || roots.length === 0) return undefined;
  const byPage = new Map<number, OutlineHeading[]>();
  let budget = MAX_OUTLINE_ENTRIES;
  const walk = async (nodes: readonly OutlineNode[], depth: number): Promise<void> => {
    for (const node of nodes) {
      if (budget-- <= 0) return;
      const target = await resolveDest(doc, node.dest).catch(() => undefined);
      const title = normaliseProse(node.title).replace(/\s+/g, ' ').trim();
      if (target !== undefined && title !== '') {
        const list = byPage.get(target.page) ?? [];
        list.push({
          title,
          level: Math.min(6, depth + 1),
          ...(target.top === undefined ? {} : { top: target.top }),
        });
        byPage.set(target.page, list);
      }
      if (depth < 8) await walk(node.items, depth + 1);
    }
  };
  await walk(roots, 0);
  return byPage.size === 0 ? undefined : byPage;
}

/** Resolves an outline destination to a physical page (1-based) and the top y if given. */
async function resolveDest(
  doc: PDFDocumentProxy,
  dest: string | unknown[] | null,
): Promise<{ page: number; top?: number } | undefined> {
  const explicit = typeof dest === 'string' ? await doc.getDestination(dest) : dest;
  if (!Array.isArray(explicit) || explicit.length === 0) return undefined;
  const [ref, mode, ...args] = explicit as [unknown, unknown, ...unknown[]];
  let index: number;
  if (typeof ref === 'number') index = ref;
  else if (typeof ref === 'object' && ref !== null && 'num' in ref && 'gen' in ref)
    index = await doc.getPageIndex(ref as { num: number; gen: number });
  else return undefined;
  const name = typeof mode === 'object' && mode !== null && 'name' in mode ? String(mode.name) : '';
  const topArg = name === 'XYZ' ? args[1] : name === 'FitH' || name === 'FitBH' ? args[0] : undefined;
  const page = index + 1;
  return typeof topArg === 'number' ? { page, top: topArg } : { page };
}

interface Metadata {
  readonly title?: string;
  readonly author?: string;
  readonly published?: string;
}

async function readMetadata(doc: PDFDocumentProxy, ctx: SourceContext): Promise<Metadata> {
  const md = await doc.getMetadata().catch(() => undefined);
  if (md === undefined) return {};
  const info = md.info as Record<string, unknown>;
  const str = (v: unknown): string | undefined => {
    if (typeof v === 'string') return normaliseProse(v).replace(/\s+/g, ' ').trim() || undefined;
    if (Array.isArray(v)) return str(v.filter((x) => typeof x === 'string').join(', '));
    return undefined;
  };
  const xmp = md.metadata as { get(name: string): unknown } | null | undefined;
  const xmpGet = (name: string): string | undefined => {
    try {
      return str(xmp?.get(name));
    } catch {
      return undefined;
    }
  };
  const titles = [str(info.Title), xmpGet('dc:title')]
    .map((t) => (t === undefined ? undefined : salvageTitle(t)))
    .filter((t): t is string => t !== undefined && !isJunkTitle(t));
  const author = str(info.Author) ?? xmpGet('dc:creator');
  const published =
    parsePdfDate(str(info.CreationDate), ctx.clock.now()) ??
    parsePdfDate(xmpGet('xmp:createdate'), ctx.clock.now());
  return {
    ...(titles[0] === undefined ? {} : { title: titles[0] }),
    ...(author === undefined ? {} : { author }),
    ...(published === undefined ? {} : { published }),
  };
}

/** Most common size (by characters) over all lines: the body text size. */
function bodySizeOf(records: readonly PageRecord[]): number {
  const weights = new Map<number, number>();
  for (const r of records)
    for (const l of r.lines)
      weights.set(sizeKey(l.size), (weights.get(sizeKey(l.size)) ?? 0) + l.text.length);
  return [...weights].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 10;
}

/** Distinct heading sizes, largest first. */
function headingSizesOf(pages: readonly PageLines[], body: number): number[] {
  const sizes = new Set<number>();
  for (const p of pages) for (const l of p.lines) if (looksLikeHeading(l, body)) sizes.add(sizeKey(l.size));
  return [...sizes].sort((a, b) => b - a);
}

/**
 * Word processors write "Microsoft Word - Report.doc" as the title: the part after the
 * application name, without the extension, is the document's own name.
 */
function salvageTitle(title: string): string {
  const m = /^microsoft (?:word|powerpoint|excel) - (.+?)(?:\.(?:docx?|pptx?|xlsx?|rtf))?$/i.exec(
    title.trim(),
  );
  return m?.[1]?.trim() ?? title;
}

/**
 * The largest text of the first page with text, as a fallback title; not when it is a
 * numbered chapter heading ("10. The Network" names a chapter, not the book).
 */
function titleFromFirstPage(pages: readonly PageLines[]): string | undefined {
  const first = pages.find((p) => p.lines.length > 0);
  if (first === undefined) return undefined;
  const max = Math.max(...first.lines.map((l) => l.size));
  const text = first.lines
    .filter((l) => l.size === max)
    .slice(0, 3)
    .map((l) => normaliseProse(l.text))
    .join(' ')
    .trim();
  if (/^\d+(\.\d+)*\.?\s/.test(text)) return undefined;
  return text.length >= 2 && text.length <= 200 && /\p{L}/u.test(text) ? text : undefined;
}

function assemble(args: {
  input: RawInput;
  records: readonly PageRecord[];
  pageCount: number;
  pageLabels: readonly string[] | undefined;
  outline: Map<number, OutlineHeading[]> | undefined;
  meta: Metadata;
}): ParsedDocument {
  const { input, records, pageCount, pageLabels, outline, meta } = args;
  const problems = records.flatMap((r) => (r.problem === undefined ? [] : [r.problem]));
  const bodySize = bodySizeOf(records);
  const pages = removeFurniture(
    records.map((r) => {
      const label = pageLabels?.[r.page - 1];
      return label === undefined ? { page: r.page, lines: r.lines } : { page: r.page, lines: r.lines, label };
    }),
    { bodySize },
  );
  const headingSizes = headingSizesOf(pages, bodySize);

  const blocks: Block[] = [];
  // Footnotes of the previous page, held back so that a listing running over a page break
  // is not cut in two by the footnote printed under its first half.
  let pending: Block[] = [];
  let lastWasCode = false;
  for (const p of pages) {
    if (p.lines.length === 0) continue;
    const pageOutline = outline === undefined ? undefined : (outline.get(p.page) ?? []);
    const { blocks: own, footnotes } = pageBlocks(p.lines, {
      page: p.page,
      bodySize,
      headingSizes,
      ...(pageOutline === undefined ? {} : { outline: pageOutline }),
    });
    const first = own[0];
    if (pending.length > 0 && lastWasCode && first?.kind === 'code') {
      blocks.push(first, ...pending, ...own.slice(1));
    } else blocks.push(...pending, ...own);
    pending = footnotes;
    lastWasCode = own[own.length - 1]?.kind === 'code';
  }
  blocks.push(...pending);

  const title = meta.title ?? titleFromFirstPage(pages) ?? titleFromLocation(input.location);
  return {
    key: input.location,
    kind: 'pdf',
    title,
    ...(locationUrl(input.location) === undefined ? {} : { url: locationUrl(input.location)! }),
    ...(meta.author === undefined ? {} : { author: meta.author }),
    ...(meta.published === undefined ? {} : { published: meta.published }),
    tags: [],
    blocks,
    pageCount,
    ...(pageLabels === undefined ? {} : { pageLabels }),
    problems,
  };
}

/** http(s) locations are their own URL; file paths become file:// URLs. */
function locationUrl(location: string): string | undefined {
  if (/^https?:\/\//i.test(location)) return location;
  if (location.startsWith('file://')) return location;
  if (location.startsWith('/')) return `file://${encodeURI(location)}`;
  return undefined;
}
