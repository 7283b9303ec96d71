/**
 * Page layout recovery: positioned text runs → lines → blocks (headings, paragraphs,
 * lists, code, tables). Pure functions over small plain objects, so they can be tested
 * without pdf.js and so nothing from pdf.js outlives its page.
 *
 * Coordinates are PDF user space: x grows to the right, y grows upwards (a larger y is
 * higher on the page). Sizes are in points.
 */
import type { Block } from '../../core/document.js';
import { cleanChars, joinLines, normaliseProse } from './text.js';

/** One positioned piece of text, as pdf.js reports it (a `TextItem`), simplified. */
export interface TextRun {
  readonly text: string;
  /** Left edge of the baseline. */
  readonly x: number;
  /** Baseline. */
  readonly y: number;
  readonly width: number;
  /** Font size (vertical scale of the text matrix). */
  readonly size: number;
  /** pdf.js font id, only compared for equality. */
  readonly font: string;
  /** True when the run's font is monospace (see `monospaceFonts`). */
  readonly mono: boolean;
}

/** A stretch of a line whose runs are close together (a column cell, one side of a listing). */
export interface Segment {
  readonly text: string;
  readonly x0: number;
  readonly x1: number;
}

/** A text line: runs sharing a baseline, left to right. */
export interface Line {
  readonly runs: readonly TextRun[];
  /** Prose text: runs joined with single spaces where there is a gap. */
  readonly text: string;
  readonly x0: number;
  readonly x1: number;
  readonly y: number;
  /** The size that covers most characters of the line. */
  readonly size: number;
  /** Every visible character is in a monospace font. */
  readonly mono: boolean;
  /** Runs grouped where gaps are wider than a word space (≥ 1.5 em). */
  readonly segments: readonly Segment[];
}

/** Gap (in em) above which two runs of a prose line are separated by a space. */
const WORD_GAP_EM = 0.12;
/** Gap (in em) above which a line splits into separate segments (table cells, listing sides). */
const SEGMENT_GAP_EM = 1.5;

/**
 * Decides which fonts of a page are monospace. pdf.js marks a font `monospace` from its
 * flags or name, but TeX's small roman fonts (LMRoman7) carry the fixed-pitch flag too, so
 * a flagged font only counts when its runs of three or more characters all have nearly
 * the same advance per character (0.4–0.75 em, spread under 8%).
 */
export function monospaceFonts(
  runs: readonly { font: string; text: string; width: number; size: number }[],
  flagged: ReadonlySet<string>,
): Set<string> {
  const perChar = new Map<string, number[]>();
  for (const r of runs) {
    if (!flagged.has(r.font)) continue;
    const n = [...r.text].length;
    if (n < 3 || r.size <= 0 || r.width <= 0) continue;
    const list = perChar.get(r.font) ?? [];
    list.push(r.width / n / r.size);
    perChar.set(r.font, list);
  }
  const out = new Set<string>();
  for (const [font, list] of perChar) {
    const min = Math.min(...list);
    const max = Math.max(...list);
    const mean = list.reduce((a, b) => a + b, 0) / list.length;
    if (min >= 0.4 && max <= 0.75 && (max - min) / mean < 0.08) out.add(font);
  }
  return out;
}

/**
 * Groups runs into lines, top to bottom. A run joins the current line when its vertical
 * extent (baseline − 0.2 em to baseline + 0.8 em) overlaps the extent of the line's largest
 * run by at least half of the smaller extent, so superscript footnote markers stay on
 * their line while lines set solid (no leading) stay apart.
 */
export function buildLines(runs: readonly TextRun[]): Line[] {
  const visible = runs.filter((r) => r.text.trim() !== '' && Number.isFinite(r.x) && Number.isFinite(r.y));
  const sorted = [...visible].sort((a, b) => b.y - a.y || a.x - b.x);
  const groups: TextRun[][] = [];
  let current: TextRun[] = [];
  let main: TextRun | undefined;
  for (const r of sorted) {
    if (main !== undefined && overlapShare(main, r) >= 0.5) {
      current.push(r);
      if (r.size > main.size) main = r;
      continue;
    }
    if (current.length > 0) groups.push(current);
    current = [r];
    main = r;
  }
  if (current.length > 0) groups.push(current);
  return groups.map(makeLine);
}

function overlapShare(a: TextRun, b: TextRun): number {
  const lo = Math.max(a.y - 0.2 * a.size, b.y - 0.2 * b.size);
  const hi = Math.min(a.y + 0.8 * a.size, b.y + 0.8 * b.size);
  return Math.max(0, hi - lo) / Math.max(0.01, Math.min(a.size, b.size));
}

function makeLine(group: readonly TextRun[]): Line {
  const runs = [...group].sort((a, b) => a.x - b.x);
  const weights = new Map<number, number>();
  for (const r of runs) {
    const key = Math.round(r.size * 2) / 2;
    weights.set(key, (weights.get(key) ?? 0) + r.text.trim().length);
  }
  const size = [...weights].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 10;
  const y = runs.reduce((best, r) => (r.size > best.size ? r : best), runs[0]!).y;
  const segments: Segment[] = [];
  let seg: TextRun[] = [];
  const flush = (): void => {
    if (seg.length === 0) return;
    segments.push({
      text: proseJoin(seg),
      x0: seg[0]!.x,
      x1: Math.max(...seg.map((r) => r.x + r.width)),
    });
    seg = [];
  };
  for (const r of runs) {
    const prev = seg[seg.length - 1];
    if (prev !== undefined && r.x - (prev.x + prev.width) > SEGMENT_GAP_EM * Math.max(r.size, prev.size))
      flush();
    seg.push(r);
  }
  flush();
  return {
    runs,
    text: proseJoin(runs),
    x0: runs[0]!.x,
    x1: Math.max(...runs.map((r) => r.x + r.width)),
    y,
    size,
    mono: runs.every((r) => r.mono),
    segments,
  };
}

/** Joins runs with one space wherever there is a visible gap or the runs carry spaces. */
function proseJoin(runs: readonly TextRun[]): string {
  let out = '';
  let prev: TextRun | undefined;
  for (const r of runs) {
    if (prev !== undefined) {
      const gap = r.x - (prev.x + prev.width);
      if (gap > WORD_GAP_EM * Math.min(r.size, prev.size) && !/\s$/.test(out) && !/^\s/.test(r.text))
        out += ' ';
    }
    out += r.text;
    prev = r;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** Average advance of one character, measured on the runs themselves (fallback 0.5 em). */
function charWidth(lines: readonly Line[]): number {
  const samples: number[] = [];
  for (const l of lines)
    for (const r of l.runs) {
      const n = [...r.text].length;
      if (n >= 2 && r.width > 0) samples.push(r.width / n);
    }
  if (samples.length === 0) return 0.5 * (lines[0]?.size ?? 10);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/**
 * Renders lines as a code listing: leading spaces from each line's x offset against the
 * leftmost line, gaps inside a line as spaces (so side-by-side listings stay side by side),
 * and one empty line where the vertical gap is clearly larger than the line pitch.
 */
export function renderCode(lines: readonly Line[]): string {
  if (lines.length === 0) return '';
  const cw = Math.max(0.5, charWidth(lines));
  const base = Math.min(...lines.map((l) => l.x0));
  const pitches = lines
    .slice(1)
    .map((l, i) => lines[i]!.y - l.y)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  const pitch = pitches[0] ?? lines[0]!.size * 1.2;
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (i > 0 && lines[i - 1]!.y - line.y > pitch * 1.6) out.push('');
    // Each run goes to the column its x position gives, so the right-hand side of a
    // side-by-side listing lines up even when the left side is set in a proportional font.
    let text = '';
    let cursor = Number.NEGATIVE_INFINITY;
    for (const r of line.runs) {
      const column = Math.max(0, Math.round((r.x - base) / cw));
      const touching = r.x - cursor <= 0.3 * cw;
      if (text === '') text = ' '.repeat(column);
      else if (!touching) {
        const trimmed = text.replace(/ +$/, '');
        text = trimmed + ' '.repeat(Math.max(1, column - trimmed.length));
      }
      text += cleanChars(r.text);
      cursor = Math.max(cursor, r.x + r.width);
    }
    out.push(text.replace(/\s+$/, ''));
  });
  return out.join('\n');
}

/** A heading placed on a page by the PDF outline. */
export interface OutlineHeading {
  readonly title: string;
  /** 1-based level (outline depth + 1). */
  readonly level: number;
  /** Top of the destination in user space, when the destination gives one. */
  readonly top?: number;
}

/** What the page needs to know about the whole document. */
export interface PageContext {
  readonly page: number;
  /** The most common text size of the document. */
  readonly bodySize: number;
  /** Heading sizes (rounded to 0.5 pt), largest first; index + 1 is the level. */
  readonly headingSizes: readonly number[];
  /** Outline headings on this page, in outline order; undefined when the PDF has no outline. */
  readonly outline?: readonly OutlineHeading[];
}

/** Blocks of one page, with footnotes apart so the caller can keep listings together. */
export interface PageBlocks {
  readonly blocks: Block[];
  readonly footnotes: Block[];
}

type Kind = 'heading' | 'code' | 'list' | 'prose' | 'footnote';

interface Classified {
  readonly line: Line;
  kind: Kind;
  level?: number;
  headingText?: string;
}

const BULLET = /^[•◦▪▫‣●○■□–\u2219\u25E6*]\s+/u;
const NUMBERED = /^\(?\d{1,2}[.)]\s+\S/;

/** Normalised text for comparing an outline title with a line. */
function comparable(text: string): string {
  return normaliseProse(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

/** True for lines like "Chapter 6", "Part II", "Appendix A" that announce the next heading. */
function isChapterLabel(text: string): boolean {
  return /^(chapter|part|appendix|section|lecture|book)\s+[\w.]{1,6}$/i.test(text.trim());
}

/** Rounded size used for heading ranks. */
export function sizeKey(size: number): number {
  return Math.round(size * 2) / 2;
}

/** A line that could be a heading by its looks: larger than body text, short, no final period. */
export function looksLikeHeading(line: Line, bodySize: number): boolean {
  if (line.size < bodySize * 1.12 || line.mono) return false;
  const t = line.text.trim();
  if (t.length > 120 || t.split(/\s+/).length > 15) return false;
  if (/[.;,]$/.test(t) && !/^\d+(\.\d+)*\.$/.test(t)) return false;
  return /\p{L}/u.test(t);
}

/**
 * Turns the lines of one page (furniture already removed) into blocks.
 *
 * Order of decisions per line: outline heading (or size-based heading when the PDF has no
 * outline) → code (all-monospace lines, or lines set smaller than body text and indented or
 * split in two, as in Word-made books that set listings in a small proportional font) →
 * list item → footnote (small lines below the last body line) → prose. Then runs of
 * prose lines become a table when their segments fall into the same columns, otherwise
 * paragraphs split at larger vertical gaps, indents and short closing lines.
 */
export function pageBlocks(lines: readonly Line[], ctx: PageContext): PageBlocks {
  const body = ctx.bodySize;
  const margin = leftMargin(lines, body);
  const items: Classified[] = lines.map((line) => ({ line, kind: 'prose' }));

  if (ctx.outline !== undefined) markOutlineHeadings(items, ctx.outline);
  else
    for (const it of items)
      if (looksLikeHeading(it.line, body)) {
        it.kind = 'heading';
        const rank = ctx.headingSizes.indexOf(sizeKey(it.line.size));
        it.level = Math.min(6, rank < 0 ? ctx.headingSizes.length + 1 : rank + 1);
      }

  for (const it of items) {
    if (it.kind !== 'prose') continue;
    const l = it.line;
    if (l.mono) it.kind = 'code';
    else if (
      l.size <= body - 0.75 &&
      l.size >= body * 0.75 &&
      (l.x0 >= margin + l.size || l.segments.length > 1)
    )
      it.kind = 'code';
  }
  // Small lines touching a listing of the same size belong to it ("DEFINITION X;" at the margin).
  for (const order of [1, -1]) {
    const idx = order === 1 ? items.map((_, k) => k) : items.map((_, k) => items.length - 1 - k);
    for (const k of idx) {
      const it = items[k]!;
      const near = items[k + order];
      if (
        it.kind === 'prose' &&
        near?.kind === 'code' &&
        !near.line.mono &&
        Math.abs(near.line.size - it.line.size) < 0.25 &&
        it.line.size <= body - 0.75 &&
        sameFlow(order === 1 ? it.line : near.line, order === 1 ? near.line : it.line)
      )
        it.kind = 'code';
    }
  }
  // A lone small "code" line between prose is more likely a caption or a formula.
  items.forEach((it, i) => {
    if (it.kind !== 'code' || it.line.mono) return;
    const prev = items[i - 1];
    const next = items[i + 1];
    if (prev?.kind !== 'code' && next?.kind !== 'code') it.kind = 'prose';
  });

  // Footnotes: small lines after the last line of body size.
  let lastBody = -1;
  items.forEach((it, i) => {
    if (it.line.size >= body - 0.5 || it.kind === 'code' || it.kind === 'heading') lastBody = i;
  });
  for (let i = lastBody + 1; i < items.length; i++) {
    const it = items[i]!;
    if (it.kind === 'prose' && it.line.size < body - 0.5) it.kind = 'footnote';
  }

  for (const it of items) {
    if (it.kind !== 'prose') continue;
    const t = normaliseProse(it.line.text);
    if (BULLET.test(t) || (NUMBERED.test(t) && it.line.size >= body - 0.5)) it.kind = 'list';
  }

  const blocks: Block[] = [];
  const footnotes: Block[] = [];
  const page = ctx.page;
  let i = 0;
  while (i < items.length) {
    const it = items[i]!;
    if (it.kind === 'heading') {
      blocks.push({
        kind: 'heading',
        level: it.level ?? 1,
        text: normaliseProse(it.headingText ?? it.line.text),
        page,
      });
      i++;
      continue;
    }
    let j = i + 1;
    if (it.kind === 'list') {
      // An item runs on over lines indented past its bullet.
      while (j < items.length) {
        const n = items[j]!;
        if (
          n.kind === 'list' ||
          (n.kind === 'prose' && n.line.x0 > it.line.x0 + 2 && sameFlow(items[j - 1]!.line, n.line))
        )
          j++;
        else break;
      }
      blocks.push(listBlock(items.slice(i, j), page));
      i = j;
      continue;
    }
    while (j < items.length && items[j]!.kind === it.kind) j++;
    const run = items.slice(i, j).map((c) => c.line);
    if (it.kind === 'code') {
      blocks.push({ kind: 'code', text: renderCode(run), page });
    } else {
      const target = it.kind === 'footnote' ? footnotes : blocks;
      target.push(...proseBlocks(run, { page, margin }));
    }
    i = j;
  }
  return { blocks, footnotes };
}

/** The left edge most body-size lines start at. */
function leftMargin(lines: readonly Line[], body: number): number {
  const counts = new Map<number, number>();
  for (const l of lines) {
    if (Math.abs(l.size - body) > 0.75) continue;
    const k = Math.round(l.x0);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  return best?.[0] ?? Math.min(...lines.map((l) => l.x0), Number.POSITIVE_INFINITY);
}

/** Two lines belong to one flow of text when the second follows at about one line pitch. */
function sameFlow(a: Line, b: Line): boolean {
  const d = a.y - b.y;
  return d > 0 && d < Math.max(a.size, b.size) * 1.6;
}

function markOutlineHeadings(items: Classified[], outline: readonly OutlineHeading[]): void {
  let cursor = 0;
  for (const h of outline) {
    const want = comparable(h.title);
    if (want === '') continue;
    let matched = false;
    for (let i = cursor; i < items.length && !matched; i++) {
      const it = items[i]!;
      if (it.kind !== 'prose') continue;
      let got = comparable(it.line.text);
      if (got === '' || !want.startsWith(got)) continue;
      // A title may wrap over several lines.
      let end = i + 1;
      while (got !== want && end < items.length && items[end]!.kind === 'prose') {
        const next = got + comparable(items[end]!.line.text);
        if (!want.startsWith(next)) break;
        got = next;
        end++;
      }
      if (got !== want) continue;
      let text = items
        .slice(i, end)
        .map((c) => c.line.text)
        .join(' ');
      const prev = items[i - 1];
      if (prev !== undefined && prev.kind === 'prose' && isChapterLabel(prev.line.text)) {
        text = `${prev.line.text.trim()} ${text}`;
        prev.kind = 'heading';
        prev.headingText = '';
      }
      it.kind = 'heading';
      it.level = h.level;
      it.headingText = text;
      for (let k = i + 1; k < end; k++) {
        items[k]!.kind = 'heading';
        items[k]!.headingText = '';
      }
      cursor = end;
      matched = true;
    }
    if (!matched) {
      // Not found as text (e.g. the title is drawn as an image): place it by its destination.
      const at =
        h.top === undefined ? cursor : items.findIndex((c, k) => k >= cursor && c.line.y <= h.top! + 1);
      const index = at < 0 ? items.length : at;
      const synthetic: Classified = {
        line: { runs: [], text: h.title, x0: 0, x1: 0, y: h.top ?? 0, size: 0, mono: false, segments: [] },
        kind: 'heading',
        level: h.level,
        headingText: h.title,
      };
      items.splice(index, 0, synthetic);
      cursor = index + 1;
    }
  }
  // Lines merged into another heading leave no block of their own.
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.headingText === '') items.splice(i, 1);
}

function listBlock(items: readonly Classified[], page: number): Block {
  const entries: string[] = [];
  let ordered = false;
  for (const it of items) {
    const t = normaliseProse(it.line.text);
    if (it.kind === 'list') {
      ordered = ordered || NUMBERED.test(t);
      entries.push(t.replace(BULLET, ''));
    } else if (entries.length > 0) entries[entries.length - 1] = joinLines(entries[entries.length - 1]!, t);
    else entries.push(t);
  }
  return { kind: 'list', ordered, items: entries, page };
}

/** Paragraphs (and tables, when columns line up) from consecutive prose lines. */
function proseBlocks(lines: readonly Line[], opts: { page: number; margin: number }): Block[] {
  const out: Block[] = [];
  // The right edge of the text, for telling a short closing line (see paragraphBreak).
  const right = Math.max(...lines.map((l) => l.x1));
  let i = 0;
  while (i < lines.length) {
    const table = tableAt(lines, i);
    if (table !== undefined) {
      out.push({ kind: 'table', rows: table.rows, header: table.header, page: opts.page });
      i = table.end;
      continue;
    }
    // Extend a paragraph until a break.
    let j = i + 1;
    while (
      j < lines.length &&
      !paragraphBreak(lines, j, { margin: opts.margin, right }) &&
      tableAt(lines, j) === undefined
    )
      j++;
    const text = lines
      .slice(i, j)
      // A soft hyphen at the end of a line marks a hyphenation break: keep it for joinLines.
      .map((l) => normaliseProse(l.text) + (/\u00AD\s*$/.test(l.text) ? '\u00AD' : ''))
      .reduce((acc, t) => joinLines(acc, t), '')
      .replaceAll('\u00AD', '');
    if (text.trim() !== '') out.push({ kind: 'paragraph', text, page: opts.page });
    i = j;
  }
  return out;
}

/** Whether line `j` starts a new paragraph; `right` is the largest x1 of `lines`. */
function paragraphBreak(
  lines: readonly Line[],
  j: number,
  { margin, right }: { margin: number; right: number },
): boolean {
  const prev = lines[j - 1]!;
  const cur = lines[j]!;
  const gap = prev.y - cur.y;
  const size = Math.max(prev.size, cur.size);
  if (gap <= 0 || gap > size * 1.45) return true;
  if (Math.abs(prev.size - cur.size) > 1) return true;
  // First-line indent, or a line starting left of the previous one's indent.
  if (cur.x0 > margin + 0.8 * size && prev.x0 <= margin + 0.8 * size) return true;
  // A short line ending a sentence closes its paragraph.
  if (/[.:!?]$/.test(prev.text.trim()) && prev.x1 < right - 4 * size) return true;
  return false;
}

interface Table {
  readonly rows: string[][];
  readonly header: boolean;
  readonly end: number;
}

/**
 * A table starting at line `start`: three or more consecutive lines, each split into two
 * or more segments, whose segments fall into the same column bands (bands are the union
 * of overlapping segment extents), with no line putting two segments in one band. A
 * one-segment line that starts right of the first column continues the row above (a
 * wrapped cell).
 */
function tableAt(lines: readonly Line[], start: number): Table | undefined {
  const first = lines[start];
  if (first === undefined || first.segments.length < 2) return undefined;
  let end = start + 1;
  let rowsSeen = 1;
  while (end < lines.length && sameFlowLoose(lines[end - 1]!, lines[end]!)) {
    const l = lines[end]!;
    if (l.segments.length >= 2) rowsSeen++;
    else if (
      !(l.x0 > first.x0 + l.size && end + 1 < lines.length && lines[end + 1]!.segments.length >= 2) &&
      !(l.x0 > first.x0 + l.size && rowsSeen >= 3)
    )
      break;
    end++;
  }
  // Do not end on continuation lines that belong to nothing after them.
  if (rowsSeen < 3) return undefined;
  const run = lines.slice(start, end);
  const bands: [number, number][] = [];
  for (const s of run.flatMap((l) => l.segments).sort((a, b) => a.x0 - b.x0)) {
    const last = bands[bands.length - 1];
    if (last !== undefined && s.x0 <= last[1] + 2) last[1] = Math.max(last[1], s.x1);
    else bands.push([s.x0, s.x1]);
  }
  if (bands.length < 2) return undefined;
  const rows: string[][] = [];
  for (const l of run) {
    const continuation = l.segments.length < 2 && rows.length > 0;
    const row = continuation ? rows[rows.length - 1]! : bands.map(() => '');
    const filled = new Set<number>();
    for (const s of l.segments) {
      const b = bands.findIndex(([x0, x1]) => s.x0 >= x0 - 0.5 && s.x0 <= x1);
      if (b < 0 || filled.has(b)) return undefined;
      filled.add(b);
      const text = normaliseProse(s.text);
      row[b] = continuation ? joinLines(row[b] ?? '', text) : text;
    }
    if (!continuation) rows.push(row);
  }
  const head = rows[0]!;
  const header = head.every((c) => c === '' || !/^[\d.,\s%-]+$/.test(c)) && head.every((c) => c.length <= 40);
  return { rows, header, end };
}

function sameFlowLoose(a: Line, b: Line): boolean {
  const d = a.y - b.y;
  return d > 0 && d < Math.max(a.size, b.size) * 2.2;
}
