/**
 * Page furniture: running headers, running footers and page-number lines. They repeat on
 * page after page and would otherwise be indexed as text (and split paragraphs and listings
 * at every page break).
 *
 * Two rules, both only looking at the first two and last two lines of a page:
 * - a line no larger than body text whose signature (lower-cased, digits replaced by `#`, spaces collapsed) recurs at
 *   about the same height on several pages is a running header or footer;
 * - the very first or very last line of a page that is only a page number or label
 *   ("12", "xii", "Page 3", "3 / 40", "- 7 -", or the page's own label) is a page number.
 */
import type { Line } from './layout.js';

export interface PageLines {
  readonly page: number;
  readonly lines: readonly Line[];
  /** The page's printed label, when the PDF defines labels. */
  readonly label?: string;
}

const EDGE_LINES = 2;

const PAGE_NUMBER =
  /^(?:page\s+)?[-–—[(]?\s*(?:\d{1,5}|[ivxlcdm]{1,8})\s*[-–—\])]?(?:\s*(?:\/|of)\s*\d{1,5})?$/i;

/** True when `text` is only a page number or the page's label. */
export function isPageNumberText(text: string, label?: string): boolean {
  const t = text.trim();
  if (t === '') return false;
  if (label !== undefined && label !== '' && t === label) return true;
  return PAGE_NUMBER.test(t);
}

function signature(text: string): string {
  return text.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
}

function edgeIndexes(count: number): { index: number; zone: 'top' | 'bottom' }[] {
  const out: { index: number; zone: 'top' | 'bottom' }[] = [];
  for (let i = 0; i < Math.min(EDGE_LINES, count); i++) out.push({ index: i, zone: 'top' });
  for (let i = Math.max(EDGE_LINES, count - EDGE_LINES); i < count; i++)
    out.push({ index: i, zone: 'bottom' });
  return out;
}

/**
 * Returns each page's lines without its furniture. Pages keep their order; a page left with
 * no lines was blank apart from furniture.
 */
export function removeFurniture(pages: readonly PageLines[], opts: { bodySize: number }): PageLines[] {
  const withText = pages.filter((p) => p.lines.length > 0).length;
  const threshold = Math.max(2, Math.min(4, Math.ceil(withText * 0.25)));
  const seen = new Map<string, Set<number>>();
  const keyOf = (zone: string, line: Line): string =>
    `${zone}|${Math.round(line.y / 4)}|${signature(line.text)}`;
  for (const p of pages)
    for (const { index, zone } of edgeIndexes(p.lines.length)) {
      const line = p.lines[index]!;
      if (signature(line.text).replace(/[#\s]/g, '') === '') continue; // numbers: rule two
      // Running heads are set at or below body size; large repeated lines ("Chapter 6") are titles.
      if (line.size > opts.bodySize * 1.05) continue;
      const key = keyOf(zone, line);
      const set = seen.get(key) ?? new Set<number>();
      set.add(p.page);
      seen.set(key, set);
    }
  return pages.map((p) => {
    const drop = new Set<number>();
    for (const { index, zone } of edgeIndexes(p.lines.length)) {
      const line = p.lines[index]!;
      if ((seen.get(keyOf(zone, line))?.size ?? 0) >= threshold) drop.add(index);
    }
    const kept = p.lines.filter((_, i) => !drop.has(i));
    // Rule two, on what is left: a header may have sat above the number.
    if (kept.length > 0 && isPageNumberText(kept[kept.length - 1]!.text, p.label)) kept.pop();
    if (kept.length > 0 && isPageNumberText(kept[0]!.text, p.label)) kept.shift();
    return kept.length === p.lines.length ? p : { ...p, lines: kept };
  });
}
