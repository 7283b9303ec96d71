/**
 * Assemble: fits the best candidates into a token budget (best first; a chunk that does not
 * fit is skipped and smaller ones may still go in), merges adjacent chunks of one document
 * (dropping the chunker's sentence overlap), orders blocks by document (best document
 * first) and position, and numbers them [1]..[n]. Each number has one citation: document,
 * page span or section anchor, chunk ids and a quoted span that is verbatim from one chunk.
 */
import { chunkUrl, pageLabel } from '../search/snippet.js';
import { analyze } from '../text/analyze.js';
import { countTokens, splitSentences } from '../text/sentences.js';
import type { Candidate, Citation, Context, ContextBlock, ContextPart } from './types.js';

/** Default context budget in tokens (about four characters a token). */
export const DEFAULT_BUDGET = 1800;
/** Tokens a block's header costs ("[3] Title, p. 12 — author"). */
const HEADER_TOKENS = 16;

export interface AssembleRequest {
  readonly candidates: readonly Candidate[];
  /** Token budget (default DEFAULT_BUDGET). */
  readonly budget?: number;
  /** Analysed query terms, to pick each citation's quoted span. */
  readonly queryTerms: readonly string[];
}

/** Removes from `text` a leading run of whole sentences that `previous` already ends with. */
export function dropOverlap(previous: string, text: string): string {
  const prev = previous.trimEnd();
  const sentences = splitSentences(text);
  for (let k = Math.min(sentences.length - 1, 4); k >= 1; k--) {
    const end = sentences[k - 1]?.end ?? 0;
    const prefix = text.slice(0, end).trim();
    if (prefix !== '' && prev.endsWith(prefix)) return text.slice(end).trim();
  }
  return text;
}

/** The sentence of `text` with the most query terms (ties: the earlier one). */
export function bestSentence(text: string, queryTerms: ReadonlySet<string>): string {
  let best = '';
  let bestHits = -1;
  for (const s of splitSentences(text.replace(/^`{3,}.*$/gm, ''))) {
    const hits = new Set(
      analyze(s.text)
        .filter((t) => queryTerms.has(t.term))
        .map((t) => t.term),
    ).size;
    if (hits > bestHits) {
      bestHits = hits;
      best = s.text;
    }
  }
  return best !== '' && text.includes(best) ? best : text.trim().slice(0, 200);
}

export function assemble(request: AssembleRequest): Context {
  const budget = Math.max(request.budget ?? DEFAULT_BUDGET, 100);
  const chosen: Candidate[] = [];
  let used = 0;
  let dropped = 0;
  const seen = new Set<number>();
  for (const c of request.candidates) {
    if (seen.has(c.chunk.id)) continue;
    seen.add(c.chunk.id);
    const cost = (c.chunk.tokens || countTokens(c.chunk.text)) + HEADER_TOKENS;
    if (used + cost > budget) {
      dropped++;
      continue;
    }
    used += cost;
    chosen.push(c);
  }

  // Group by document; documents in order of their best chunk, chunks by position.
  const byDoc = new Map<number, Candidate[]>();
  for (const c of chosen) {
    const list = byDoc.get(c.document.id);
    if (list) list.push(c);
    else byDoc.set(c.document.id, [c]);
  }
  const blocks: ContextBlock[] = [];
  const citations: Citation[] = [];
  const terms = new Set(request.queryTerms);
  for (const list of byDoc.values()) {
    list.sort((a, b) => a.chunk.ordinal - b.chunk.ordinal);
    let run: Candidate[] = [];
    const flush = (): void => {
      if (run.length === 0) return;
      const n = blocks.length + 1;
      const parts: ContextPart[] = [];
      for (const c of run) {
        const prev = parts[parts.length - 1];
        const text = prev ? dropOverlap(prev.chunk.text, c.chunk.text) : c.chunk.text;
        parts.push({ chunk: c.chunk, text });
      }
      const document = run[0]?.document;
      if (!document) return;
      const block: ContextBlock = {
        n,
        document,
        parts,
        tokens: parts.reduce((a, p) => a + countTokens(p.text), 0),
        score: Math.max(...run.map((c) => c.score)),
      };
      blocks.push(block);
      citations.push(citationFor(block, terms));
      run = [];
    };
    for (const c of list) {
      const last = run[run.length - 1];
      if (last && c.chunk.ordinal !== last.chunk.ordinal + 1) flush();
      run.push(c);
    }
    flush();
  }
  return renumber(blocks, citations, used, budget, dropped);
}

/** Orders blocks by their document's best score, then position, and numbers them 1..n. */
function renumber(
  blocks: ContextBlock[],
  citations: Citation[],
  tokens: number,
  budget: number,
  dropped: number,
): Context {
  const docBest = new Map<number, number>();
  for (const b of blocks) docBest.set(b.document.id, Math.max(docBest.get(b.document.id) ?? 0, b.score));
  const order = blocks
    .map((b, i) => ({ b, c: citations[i], i }))
    .sort(
      (x, y) =>
        (docBest.get(y.b.document.id) ?? 0) - (docBest.get(x.b.document.id) ?? 0) ||
        x.b.document.id - y.b.document.id ||
        (x.b.parts[0]?.chunk.ordinal ?? 0) - (y.b.parts[0]?.chunk.ordinal ?? 0),
    );
  const outBlocks: ContextBlock[] = [];
  const outCitations: Citation[] = [];
  order.forEach(({ b, c }, i) => {
    outBlocks.push({ ...b, n: i + 1 });
    if (c) outCitations.push({ ...c, n: i + 1 });
  });
  return { blocks: outBlocks, citations: outCitations, tokens, budget, dropped };
}

function citationFor(block: ContextBlock, terms: ReadonlySet<string>): Citation {
  const first = block.parts[0]?.chunk;
  const last = block.parts[block.parts.length - 1]?.chunk;
  const d = block.document;
  if (!first || !last) throw new Error('a context block has at least one chunk');
  const end = last.pageEnd ?? last.pageStart;
  const span = end !== undefined ? { ...first, pageEnd: end } : first;
  const pages = pageLabel(span, d);
  const section = first.headingPath[first.headingPath.length - 1];
  const url = chunkUrl(first, d);
  // The quote comes from the part with the most query terms, so it is verbatim from one chunk.
  let quote = '';
  let quoteHits = -1;
  for (const p of block.parts) {
    const q = bestSentence(p.chunk.text, terms);
    const hits = analyze(q).filter((t) => terms.has(t.term)).length;
    if (hits > quoteHits) {
      quoteHits = hits;
      quote = q;
    }
  }
  const label = pages
    ? `${d.title}, ${pages}`
    : section && section !== d.title
      ? `${d.title} § ${section}`
      : d.title;
  return {
    n: block.n,
    documentId: d.id,
    title: d.title,
    ...(url !== undefined ? { url } : {}),
    ...(d.author !== undefined ? { author: d.author } : {}),
    ...(d.published !== undefined ? { published: d.published } : {}),
    ...(first.pageStart !== undefined ? { pageStart: first.pageStart } : {}),
    ...(span.pageEnd !== undefined ? { pageEnd: span.pageEnd } : {}),
    ...(pages !== undefined ? { pages } : {}),
    ...(section !== undefined ? { section } : {}),
    ...(first.anchor !== undefined ? { anchor: first.anchor } : {}),
    chunkIds: block.parts.map((p) => p.chunk.id),
    label,
    quote,
  };
}

/** The context as text, the way a generator would receive it: numbered blocks with their source. */
export function renderContext(context: Context): string {
  return context.blocks
    .map((b) => {
      const c = context.citations[b.n - 1];
      return `[${b.n}] ${c?.label ?? b.document.title}\n${b.parts.map((p) => p.text).join('\n\n')}`;
    })
    .join('\n\n');
}
