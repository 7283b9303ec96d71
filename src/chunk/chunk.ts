/**
 * The chunker: walks a document's blocks and cuts them into retrieval-sized chunks.
 *
 * Rules, in order of precedence:
 * - a code block is never split, and a table is split only between rows (the header row
 *   is repeated), a list only between items: such a unit may exceed `maxTokens` alone;
 * - a heading closes the current chunk, so a chunk never spans two sections, and every
 *   chunk carries the heading path above it and the nearest section anchor;
 * - prose fills a chunk up to `targetTokens`; a paragraph longer than `maxTokens` is cut
 *   at sentence ends; a chunk that continues a section starts with the last
 *   `overlapSentences` whole sentences of the previous chunk;
 * - a chunk's page span is the pages of the blocks it holds (PDF).
 */
import type { Block, ChunkDraft } from '../core/document.js';
import { countTokens, splitSentences } from '../text/sentences.js';

export interface ChunkOptions {
  /** Target chunk size in tokens (default 220). */
  readonly targetTokens: number;
  /** Ceiling for prose (default 400). */
  readonly maxTokens: number;
  /** Sentences carried over from the previous chunk of the same section (default 1). */
  readonly overlapSentences: number;
}

export const DEFAULT_CHUNK_OPTIONS: ChunkOptions = { targetTokens: 220, maxTokens: 400, overlapSentences: 1 };

interface Piece {
  readonly text: string;
  readonly tokens: number;
  readonly page: number | undefined;
  readonly code: boolean;
  /** Prose pieces can lend sentences to the next chunk's overlap. */
  readonly prose: boolean;
}

/** Renders a table row as a Markdown row. */
function tableRow(cells: readonly string[]): string {
  return '| ' + cells.map((c) => c.replaceAll('|', '\\|').replace(/\s+/g, ' ').trim()).join(' | ') + ' |';
}

function fence(text: string, lang: string | undefined): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang ?? ''}\n${text}\n${ticks}`;
}

/** Splits one block into pieces that must stay whole. */
function piecesOf(block: Exclude<Block, { kind: 'heading' }>, options: ChunkOptions): Piece[] {
  const page = block.page;
  const make = (text: string, code: boolean, prose: boolean): Piece => ({
    text,
    tokens: countTokens(text),
    page,
    code,
    prose,
  });
  switch (block.kind) {
    case 'paragraph': {
      const text = block.text.trim();
      if (text === '') return [];
      if (countTokens(text) <= options.maxTokens) return [make(text, false, true)];
      // A very long paragraph: cut between sentences, each piece one or more sentences.
      return splitSentences(text).flatMap((s) =>
        countTokens(s.text) <= options.maxTokens
          ? [make(s.text, false, true)]
          : hardWrap(s.text, options, page),
      );
    }
    case 'code':
      return block.text.trim() === '' ? [] : [make(fence(block.text, block.lang), true, false)];
    case 'list':
      return block.items
        .filter((item) => item.trim() !== '')
        .map((item, i) => make(`${block.ordered ? `${i + 1}.` : '-'} ${item.trim()}`, false, false));
    case 'table': {
      const [first, ...rest] = block.rows;
      if (!first) return [];
      const header = block.header ? tableRow(first) + '\n' + tableRow(first.map(() => '---')) : undefined;
      const body = block.header ? rest : block.rows;
      const out: Piece[] = [];
      let rows: string[] = [];
      const flush = (): void => {
        if (rows.length === 0) return;
        out.push(make([header, ...rows].filter((x) => x !== undefined).join('\n'), false, false));
        rows = [];
      };
      for (const row of body) {
        const line = tableRow(row);
        const size = countTokens([header ?? '', ...rows, line].join('\n'));
        if (rows.length > 0 && size > options.targetTokens) flush();
        rows.push(line);
      }
      flush();
      if (out.length === 0 && header) out.push(make(header, false, false));
      return out;
    }
  }
}

/** Last resort for a sentence longer than the ceiling (e.g. a minified blob): cut at spaces. */
function hardWrap(text: string, options: ChunkOptions, page: number | undefined): Piece[] {
  const limit = options.maxTokens * 4;
  const out: Piece[] = [];
  let rest = text;
  while (rest.length > 0) {
    let cut = rest.length <= limit ? rest.length : rest.lastIndexOf(' ', limit);
    if (cut <= 0) cut = Math.min(limit, rest.length);
    const part = rest.slice(0, cut).trim();
    if (part !== '') out.push({ text: part, tokens: countTokens(part), page, code: false, prose: true });
    rest = rest.slice(cut);
  }
  return out;
}

/** Cuts blocks into chunks. Pure and deterministic. */
export function chunkBlocks(
  blocks: readonly Block[],
  options: ChunkOptions = DEFAULT_CHUNK_OPTIONS,
): ChunkDraft[] {
  const chunks: ChunkDraft[] = [];
  const headings: { level: number; text: string; anchor: string | undefined }[] = [];
  let current: Piece[] = [];
  let currentTokens = 0;
  let overlap: Piece[] = [];

  const headingPath = (): string[] => headings.map((h) => h.text);
  const anchor = (): string | undefined => {
    for (let i = headings.length - 1; i >= 0; i--) {
      const a = headings[i]?.anchor;
      if (a !== undefined) return a;
    }
    return undefined;
  };

  const flush = (continues: boolean): void => {
    const own = current.filter((p) => !overlapSet.has(p));
    if (own.length === 0) {
      current = [];
      currentTokens = 0;
      return;
    }
    const pages = current.map((p) => p.page).filter((p): p is number => p !== undefined);
    const text = current.map((p) => p.text).join('\n\n');
    const a = anchor();
    chunks.push({
      ordinal: chunks.length,
      headingPath: headingPath(),
      ...(a !== undefined ? { anchor: a } : {}),
      text,
      ...(pages.length > 0 ? { pageStart: Math.min(...pages), pageEnd: Math.max(...pages) } : {}),
      tokens: countTokens(text),
      hasCode: current.some((p) => p.code),
    });
    overlap = continues ? overlapFrom(current, options.overlapSentences) : [];
    overlapSet.clear();
    for (const p of overlap) overlapSet.add(p);
    current = [...overlap];
    currentTokens = overlap.reduce((n, p) => n + p.tokens, 0);
  };
  const overlapSet = new Set<Piece>();

  for (const block of blocks) {
    if (block.kind === 'heading') {
      flush(false);
      current = [];
      currentTokens = 0;
      overlapSet.clear();
      while (headings.length > 0 && (headings[headings.length - 1]?.level ?? 0) >= block.level)
        headings.pop();
      const text = block.text.replace(/\s+/g, ' ').trim();
      if (text !== '') headings.push({ level: block.level, text, anchor: block.anchor });
      continue;
    }
    for (const piece of piecesOf(block, options)) {
      if (currentTokens > 0 && currentTokens + piece.tokens > options.targetTokens) flush(true);
      current.push(piece);
      currentTokens += piece.tokens;
    }
  }
  flush(false);
  return chunks;
}

/** The last `n` sentences of the last prose piece, as overlap for the next chunk. */
function overlapFrom(pieces: readonly Piece[], n: number): Piece[] {
  if (n === 0) return [];
  const last = pieces[pieces.length - 1];
  if (!last?.prose) return [];
  const sentences = splitSentences(last.text);
  if (sentences.length <= n) return [];
  const text = sentences
    .slice(-n)
    .map((s) => s.text)
    .join(' ');
  return [{ text, tokens: countTokens(text), page: last.page, code: false, prose: true }];
}
