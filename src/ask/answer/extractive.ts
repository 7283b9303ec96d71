/**
 * The extractive answer: offline and deterministic. It picks sentences (and code blocks)
 * from the context and orders them by the route's shape:
 * - lookup: the direct answer first, then a few supporting sentences;
 * - howto: numbered steps in document order, then the code block;
 * - code: the best explaining sentence, the code block, then what follows it;
 * - summary / list: one bullet per sub-topic (section);
 * - comparison: bullets per side.
 * Every quoted piece is a verbatim slice of one chunk and carries its [n]; the only other
 * words come from TEMPLATE (and, as labels, section headings or the question's own words).
 * When the evidence is weak (see `isWeak`) it declines and names the nearest documents.
 */
import { analyze } from '../../text/analyze.js';
import { splitSentences } from '../../text/sentences.js';
import type { Answer, AnswerPart, Context, ContextBlock, Evidence, Route } from '../types.js';

/** The fixed connective text the extractive answer may write. */
export const TEMPLATE = {
  space: ' ',
  newline: '\n',
  paragraph: '\n\n',
  bullet: '- ',
  steps: 'Steps:',
  code: 'Code:',
  sideEnd: ':',
  labelEnd: ': ',
  declined:
    'This knowledge base does not seem to hold the answer to that question. The nearest documents are:',
  declinedEmpty: 'This knowledge base holds nothing that matches that question.',
  nothing: 'The context holds no sentence that answers this.',
  fenceOpen: '',
  sourcesNone: '',
} as const;

const TEMPLATE_TEXTS: ReadonlySet<string> = new Set(Object.values(TEMPLATE));

/** Exposed for tests: is this text one of the template's strings, or a step number ("3. ")? */
export function isTemplateText(text: string): boolean {
  return TEMPLATE_TEXTS.has(text) || /^\d{1,2}\. $/.test(text);
}

/**
 * Weak evidence: the best chunk covers under MIN_COVERAGE of the query's idf mass, or its
 * BM25 is under MIN_STRENGTH of the query's maximum possible BM25.
 */
export const MIN_COVERAGE = 0.5;
export const MIN_STRENGTH = 0.22;
/** Words of the question scattered over a chunk are not an answer to it (see Evidence.cohesion). */
export const MIN_COHESION = 0.5;
/**
 * An overview needs a source about its topic: at least this share of the topic named by a
 * title or heading, or recurring across its chunks. Measured: eleven real overview
 * questions over the shared corpus score 1.0; "overview of web API design" over books on
 * other subjects scores 0.54.
 */
export const MIN_TOPICAL = 0.75;

export function isWeak(evidence: Evidence): boolean {
  return (
    evidence.coverage < MIN_COVERAGE ||
    evidence.strength < MIN_STRENGTH ||
    evidence.cohesion < MIN_COHESION ||
    evidence.topical < MIN_TOPICAL
  );
}

/** A sentence or code block of one chunk, as a verbatim slice. */
export interface Unit {
  readonly text: string;
  readonly n: number;
  readonly chunkId: number;
  readonly code: boolean;
  /** Order within the context: block, part, position. */
  readonly order: number;
  readonly section: string;
  score: number;
  readonly terms: ReadonlySet<string>;
}

const FENCE_BLOCK = /^`{3,}[^\n]*\n[\s\S]*?^`{3,}[ \t]*$/gm;
const LIST_MARKER = /^(?:[-*•]|\d{1,3}[.)])\s+/;

/** Sentences and code blocks of a context block, each a verbatim slice of its chunk. */
export function unitsOf(block: ContextBlock): Omit<Unit, 'score'>[] {
  const out: Omit<Unit, 'score'>[] = [];
  block.parts.forEach((part, pi) => {
    const text = part.text;
    const section = part.chunk.headingPath[part.chunk.headingPath.length - 1] ?? '';
    const push = (slice: string, code: boolean, at: number): void => {
      let s = slice.trim();
      if (!code) s = s.replace(LIST_MARKER, '').trim();
      if (s === '' || !part.chunk.text.includes(s)) return;
      // A line that only repeats the title or a heading says nothing.
      if (!code && (s === block.document.title || part.chunk.headingPath.includes(s))) return;
      const terms = new Set(
        analyze(s)
          .filter((t) => !t.stop && !t.compound)
          .map((t) => t.term),
      );
      out.push({
        text: s,
        n: block.n,
        chunkId: part.chunk.id,
        code,
        order: block.n * 1e6 + pi * 1e4 + at,
        section,
        terms,
      });
    };
    let at = 0;
    let index = 0;
    const prose = (from: number, to: number): void => {
      const piece = text.slice(from, to);
      for (const para of piece.split(/\n\s*\n/)) {
        // Markdown table rows are data, not sentences: never quote them as prose.
        if (para.trim().startsWith('|')) continue;
        for (const s of splitSentences(para)) if (!s.text.includes('\n|')) push(s.text, false, index++);
      }
    };
    for (const m of text.matchAll(FENCE_BLOCK)) {
      prose(at, m.index);
      push(m[0], true, index++);
      at = m.index + m[0].length;
    }
    prose(at, text.length);
  });
  return out;
}

function wordsIn(s: string): number {
  return s.split(/\s+/).filter((w) => w !== '').length;
}

/** Relevance of a unit: share of query terms, a little block relevance, a length penalty. */
function scoreUnits(context: Context, queryTerms: readonly string[], expansion: readonly string[]): Unit[] {
  const q = new Set(queryTerms);
  const e = new Set(expansion);
  const maxBlock = Math.max(...context.blocks.map((b) => b.score), 1e-9);
  const units: Unit[] = [];
  for (const b of context.blocks) {
    const list = unitsOf(b);
    list.forEach((u, i) => {
      let hits = 0;
      let extra = 0;
      for (const t of u.terms) {
        if (q.has(t)) hits++;
        else if (e.has(t)) extra++;
      }
      const words = wordsIn(u.text);
      const lengthFactor = u.code ? 1 : words < 5 ? 0.4 : words > 70 ? 0.6 : 1;
      const headingBonus = analyze(u.section).some((t) => q.has(t.term)) ? 0.1 : 0;
      const score =
        ((q.size > 0 ? hits / q.size : 0) +
          0.05 * Math.min(extra, 3) +
          0.3 * (b.score / maxBlock) +
          headingBonus) *
          lengthFactor -
        0.002 * i;
      units.push({ ...u, score });
    });
  }
  return units;
}

function similar(a: Unit, b: Unit): boolean {
  let inter = 0;
  for (const t of a.terms) if (b.terms.has(t)) inter++;
  const union = a.terms.size + b.terms.size - inter;
  return union > 0 && inter / union > 0.6;
}

/** Picks up to `k` units best first, skipping near-duplicates and code unless asked. */
function pick(
  units: readonly Unit[],
  k: number,
  options: { code?: boolean; perBlock?: number } = {},
): Unit[] {
  const out: Unit[] = [];
  const perBlock = new Map<number, number>();
  for (const u of [...units].sort((a, b) => b.score - a.score || a.order - b.order)) {
    if (out.length >= k) break;
    if (u.code && !options.code) continue;
    if (out.some((o) => similar(o, u))) continue;
    const used = perBlock.get(u.n) ?? 0;
    if (options.perBlock !== undefined && used >= options.perBlock) continue;
    perBlock.set(u.n, used + 1);
    out.push(u);
  }
  return out;
}

function quote(u: Unit): AnswerPart[] {
  return [
    { kind: u.code ? 'code' : 'quote', text: u.text, n: u.n, chunkId: u.chunkId },
    { kind: 'cite', n: u.n },
  ];
}

export interface ExtractiveRequest {
  readonly route: Route;
  readonly context: Context;
  readonly evidence: Evidence;
  readonly queryTerms: readonly string[];
  readonly expansion?: readonly string[];
  /** Documents to name when declining, best first. */
  readonly nearest: readonly { readonly title: string }[];
}

export function answerExtractive(request: ExtractiveRequest): Answer {
  const { route, context } = request;
  if (context.blocks.length === 0 || isWeak(request.evidence))
    return declined(
      route,
      request.nearest.map((d) => d.title),
    );
  const units = scoreUnits(context, request.queryTerms, request.expansion ?? []);
  const parts = shape(route, units, context);
  if (parts.length === 0) return finish(route, [{ kind: 'template', text: TEMPLATE.nothing }], false);
  return finish(route, parts, false);
}

function shape(route: Route, units: readonly Unit[], context: Context): AnswerPart[] {
  switch (route.type) {
    case 'lookup':
    case 'catalog':
    case 'vague':
      return lookupShape(units);
    case 'howto':
      return howtoShape(units);
    case 'code':
      return codeShape(units);
    case 'summary':
    case 'list':
      return bulletShape(units, context, route.type === 'summary' ? 8 : 10);
    case 'comparison':
      return comparisonShape(units, route, context);
  }
}

/** The direct answer first, then up to three supporting sentences, each with its [n]. */
function lookupShape(units: readonly Unit[]): AnswerPart[] {
  const chosen = pick(units, 4, { perBlock: 2 });
  const [first, ...rest] = chosen;
  if (!first) return [];
  const parts: AnswerPart[] = [...quote(first)];
  if (rest.length > 0) {
    parts.push({ kind: 'template', text: TEMPLATE.paragraph });
    // Supporting sentences in context order, so neighbours read in sequence.
    rest
      .sort((a, b) => a.order - b.order)
      .forEach((u, i) => {
        if (i > 0) parts.push({ kind: 'template', text: TEMPLATE.space });
        parts.push(...quote(u));
      });
  }
  return parts;
}

/** The block whose units score best (top three summed): where the procedure lives. */
function bestBlock(units: readonly Unit[]): number | undefined {
  const sums = new Map<number, number[]>();
  for (const u of units) {
    const l = sums.get(u.n);
    if (l) l.push(u.score);
    else sums.set(u.n, [u.score]);
  }
  let best: number | undefined;
  let bestValue = -Infinity;
  for (const [n, l] of sums) {
    const v = l
      .sort((a, b) => b - a)
      .slice(0, 3)
      .reduce((a, b) => a + b, 0);
    if (v > bestValue) {
      bestValue = v;
      best = n;
    }
  }
  return best;
}

function bestCode(units: readonly Unit[], prefer: number | undefined): Unit | undefined {
  const code = units.filter((u) => u.code);
  if (code.length === 0) return undefined;
  return [...code].sort(
    (a, b) => b.score + (b.n === prefer ? 0.3 : 0) - (a.score + (a.n === prefer ? 0.3 : 0)),
  )[0];
}

/** Numbered steps from the best block in document order, then its code block. */
function howtoShape(units: readonly Unit[]): AnswerPart[] {
  const n = bestBlock(units);
  const inBlock = units.filter((u) => u.n === n && !u.code);
  const top = Math.max(...inBlock.map((u) => u.score), 0);
  let steps = inBlock.filter((u) => u.score >= 0.4 * top && wordsIn(u.text) >= 4).slice(0, 6);
  if (steps.length === 0) steps = pick(units, 3);
  const parts: AnswerPart[] = [{ kind: 'template', text: TEMPLATE.steps }];
  steps
    .sort((a, b) => a.order - b.order)
    .forEach((u, i) => {
      parts.push(
        { kind: 'template', text: TEMPLATE.newline },
        { kind: 'template', text: `${i + 1}. ` },
        ...quote(u),
      );
    });
  const code = bestCode(units, n);
  if (code) {
    parts.push({ kind: 'template', text: TEMPLATE.paragraph }, { kind: 'template', text: TEMPLATE.code });
    parts.push({ kind: 'template', text: TEMPLATE.newline }, ...quote(code));
  }
  return parts;
}

/** The sentence that introduces the code, the code block, then what the text says after it. */
function codeShape(units: readonly Unit[]): AnswerPart[] {
  const code = bestCode(units, bestBlock(units));
  if (!code) return lookupShape(units);
  const sameBlock = units.filter((u) => u.n === code.n && !u.code);
  const before = sameBlock.filter((u) => u.order < code.order).sort((a, b) => b.score - a.score)[0];
  const after = sameBlock.filter((u) => u.order > code.order).sort((a, b) => a.order - b.order)[0];
  const intro = before ?? pick(units, 1)[0];
  const parts: AnswerPart[] = [];
  if (intro) parts.push(...quote(intro), { kind: 'template', text: TEMPLATE.paragraph });
  parts.push(...quote(code));
  if (after && after !== intro) parts.push({ kind: 'template', text: TEMPLATE.paragraph }, ...quote(after));
  return parts;
}

/** One bullet per sub-topic (section of a block), in context order. */
function bulletShape(units: readonly Unit[], context: Context, max: number): AnswerPart[] {
  const bySection = new Map<string, Unit>();
  for (const u of units) {
    if (u.code) continue;
    const key = `${u.n}\u0000${u.section}`;
    const prev = bySection.get(key);
    if (!prev || u.score > prev.score) bySection.set(key, u);
  }
  const chosen: Unit[] = [];
  for (const u of [...bySection.values()].sort((a, b) => b.score - a.score)) {
    if (chosen.length >= max) break;
    if (chosen.some((c) => similar(c, u))) continue;
    chosen.push(u);
  }
  chosen.sort((a, b) => a.order - b.order);
  const parts: AnswerPart[] = [];
  chosen.forEach((u, i) => {
    if (i > 0) parts.push({ kind: 'template', text: TEMPLATE.newline });
    parts.push({ kind: 'template', text: TEMPLATE.bullet });
    const title = context.blocks[u.n - 1]?.document.title;
    if (u.section !== '' && u.section !== title && !u.text.startsWith(u.section))
      parts.push({ kind: 'label', text: u.section, n: u.n }, { kind: 'template', text: TEMPLATE.labelEnd });
    parts.push(...quote(u));
  });
  return parts;
}

/** Bullets per side: sentences that mention one side's words more than the other's. */
function comparisonShape(units: readonly Unit[], route: Route, context: Context): AnswerPart[] {
  let sides: { label: string; stems: Set<string>; n?: number }[];
  if (route.sides) {
    sides = route.sides.map((s) => ({
      label: s,
      stems: new Set(
        analyze(s)
          .filter((t) => !t.stop)
          .map((t) => t.term),
      ),
    }));
  } else {
    // No sides named: the two best documents are the sides.
    const docs = [...new Map(context.blocks.map((b) => [b.document.id, b])).values()].slice(0, 2);
    if (docs.length < 2) return bulletShape(units, context, 6);
    sides = docs.map((b) => ({ label: b.document.title, stems: new Set<string>(), n: b.n }));
  }
  const parts: AnswerPart[] = [];
  const used = new Set<Unit>();
  sides.forEach((side, si) => {
    const other = sides[1 - si];
    const mine = units.filter((u) => {
      if (u.code || used.has(u)) return false;
      if (side.n !== undefined) {
        const doc = context.blocks[u.n - 1]?.document.id;
        return doc === context.blocks[side.n - 1]?.document.id;
      }
      const a = [...side.stems].filter((t) => u.terms.has(t)).length;
      const b = other ? [...other.stems].filter((t) => u.terms.has(t)).length : 0;
      return a > 0 && a >= b;
    });
    const chosen = pick(mine, 3).sort((a, b) => a.order - b.order);
    if (chosen.length === 0) return;
    if (parts.length > 0) parts.push({ kind: 'template', text: TEMPLATE.paragraph });
    parts.push(
      side.n !== undefined
        ? { kind: 'label', text: side.label, n: side.n }
        : { kind: 'label', text: side.label },
      { kind: 'template', text: TEMPLATE.sideEnd },
    );
    for (const u of chosen) {
      used.add(u);
      parts.push(
        { kind: 'template', text: TEMPLATE.newline },
        { kind: 'template', text: TEMPLATE.bullet },
        ...quote(u),
      );
    }
  });
  return parts.length > 0 ? parts : lookupShape(units);
}

function declined(route: Route, nearest: readonly string[]): Answer {
  const names = [...new Set(nearest)].slice(0, 3);
  if (names.length === 0) return finish(route, [{ kind: 'template', text: TEMPLATE.declinedEmpty }], true);
  const parts: AnswerPart[] = [{ kind: 'template', text: TEMPLATE.declined }];
  for (const name of names)
    parts.push(
      { kind: 'template', text: TEMPLATE.newline },
      { kind: 'template', text: TEMPLATE.bullet },
      { kind: 'label', text: name },
    );
  return finish(route, parts, true);
}

/** Renders parts to text: quotes and labels as they are, citations as " [n]", code fenced on its own lines. */
export function renderParts(parts: readonly AnswerPart[]): string {
  let text = '';
  for (const p of parts) {
    if (p.kind === 'cite') text += text.endsWith('```') ? `\n[${p.n}]` : ` [${p.n}]`;
    else text += p.text;
  }
  return text;
}

export function finish(
  route: Route,
  parts: readonly AnswerPart[],
  isDeclined: boolean,
  followUp?: string,
): Answer {
  return {
    text: renderParts(parts),
    parts,
    shape: route.type,
    declined: isDeclined,
    ...(followUp !== undefined ? { followUp } : {}),
  };
}
