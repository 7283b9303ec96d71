import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerExtractive, isTemplateText } from './answer/extractive.js';
import { assemble, dropOverlap } from './assemble.js';
import type {
  AnswerPart,
  Candidate,
  ChunkRecord,
  Context,
  DocumentRecord,
  Route,
  RouteType,
} from './types.js';
import { ROUTE_TYPES } from './types.js';

function doc(id: number, extra: Partial<DocumentRecord> = {}): DocumentRecord {
  return {
    id,
    kbId: 1,
    sourceId: 1,
    key: `k${id}`,
    kind: 'article',
    title: `Document ${id}`,
    tags: [],
    hash: 'h',
    chunkCount: 10,
    createdAt: '2024-01-01',
    updatedAt: '2024-01-01',
    url: `https://example.org/d${id}`,
    ...extra,
  };
}

function chunk(
  id: number,
  documentId: number,
  ordinal: number,
  text: string,
  extra: Partial<ChunkRecord> = {},
): ChunkRecord {
  return {
    id,
    documentId,
    kbId: 1,
    ordinal,
    headingPath: [`Section ${ordinal}`],
    text,
    tokens: Math.ceil(text.length / 4),
    hasCode: text.includes('```'),
    ...extra,
  };
}

function cand(c: ChunkRecord, d: DocumentRecord, score: number): Candidate {
  return { chunk: c, document: d, bm25: score, score, coverage: 1 };
}

const ROUTE: Route = { type: 'lookup', rule: 'test', filters: {}, filterNotes: [], query: 'queue' };

describe('assemble', () => {
  it('merges adjacent chunks of one document and drops their sentence overlap', () => {
    const d = doc(1);
    const a = chunk(1, 1, 0, 'The queue holds connections. The kernel moves them on accept.');
    const b = chunk(2, 1, 1, 'The kernel moves them on accept. A full queue drops the handshake.');
    const ctx = assemble({ candidates: [cand(b, d, 1), cand(a, d, 0.9)], queryTerms: ['queue'] });
    expect(ctx.blocks).toHaveLength(1);
    expect(ctx.blocks[0]?.parts.map((p) => p.text)).toEqual([
      'The queue holds connections. The kernel moves them on accept.',
      'A full queue drops the handshake.',
    ]);
    expect(ctx.citations[0]?.chunkIds).toEqual([1, 2]);
  });

  it('keeps non-adjacent chunks as separate blocks ordered by position', () => {
    const d = doc(1);
    const ctx = assemble({
      candidates: [
        cand(chunk(5, 1, 5, 'Late text about queue.'), d, 1),
        cand(chunk(1, 1, 1, 'Early text.'), d, 0.5),
      ],
      queryTerms: ['queue'],
    });
    expect(ctx.blocks.map((b) => b.parts[0]?.chunk.ordinal)).toEqual([1, 5]);
    expect(ctx.blocks.map((b) => b.n)).toEqual([1, 2]);
  });

  it('puts the best document first', () => {
    const ctx = assemble({
      candidates: [
        cand(chunk(9, 2, 0, 'Best text.'), doc(2), 1),
        cand(chunk(1, 1, 0, 'Other text.'), doc(1), 0.2),
      ],
      queryTerms: [],
    });
    expect(ctx.citations.map((c) => c.documentId)).toEqual([2, 1]);
  });

  it('never exceeds the token budget and counts what it left out', () => {
    const d = doc(1);
    const big = 'word '.repeat(400);
    const ctx = assemble({
      candidates: [cand(chunk(1, 1, 0, big), d, 1), cand(chunk(2, 1, 3, 'Small text.'), d, 0.5)],
      budget: 200,
      queryTerms: [],
    });
    expect(ctx.tokens).toBeLessThanOrEqual(200);
    expect(ctx.dropped).toBe(1);
    expect(ctx.blocks).toHaveLength(1);
  });

  it('cites PDF page spans with printed labels', () => {
    const d = doc(3, { kind: 'pdf', title: 'Book', pageLabels: ['i', 'ii', '1', '2'], url: 'file:///b.pdf' });
    const ctx = assemble({
      candidates: [
        cand(chunk(1, 3, 0, 'First page text.', { pageStart: 3, pageEnd: 3 }), d, 1),
        cand(chunk(2, 3, 1, 'Second page text.', { pageStart: 4, pageEnd: 4 }), d, 1),
      ],
      queryTerms: [],
    });
    expect(ctx.citations[0]?.label).toBe('Book, pp. 1-2');
    expect(ctx.citations[0]?.url).toBe('file:///b.pdf#page=3');
  });

  it('drops only a whole-sentence overlap', () => {
    expect(dropOverlap('One. Two.', 'Two. Three.')).toBe('Three.');
    expect(dropOverlap('One. Two.', 'Twofold. Three.')).toBe('Twofold. Three.');
  });
});

// Random corpora: sentences over a small vocabulary, some with code blocks.
const WORDS = ['queue', 'kernel', 'socket', 'page', 'stack', 'the', 'is', 'moves', 'Paging', 'x86', 'a'];
const sentence = fc
  .array(fc.constantFrom(...WORDS), { minLength: 3, maxLength: 12 })
  .map((ws) => ws.join(' ').replace(/^./, (c) => c.toUpperCase()) + '.');
const chunkText = fc
  .tuple(fc.array(sentence, { minLength: 1, maxLength: 6 }), fc.boolean())
  .map(([ss, code]) => ss.join(' ') + (code ? '\n\n```\nlet x = queue.pop();\n```\n\nThen it returns.' : ''));
const corpus = fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 8 }), chunkText), {
  minLength: 1,
  maxLength: 14,
});

function build(rows: [number, number, string][]): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  rows.forEach(([d, ord, text], i) => {
    const key = `${d}:${ord}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(cand(chunk(100 + i, d, ord, text), doc(d), 1 / (i + 1)));
  });
  return out;
}

function checkAnswer(parts: readonly AnswerPart[], context: Context): void {
  const chunks = new Map(
    context.blocks.flatMap((b) => b.parts.map((p) => [p.chunk.id, { n: b.n, text: p.chunk.text }])),
  );
  const labels = new Set(
    context.blocks.flatMap((b) => [b.document.title, ...b.parts.flatMap((p) => p.chunk.headingPath)]),
  );
  for (const p of parts) {
    if (p.kind === 'quote' || p.kind === 'code') {
      const c = chunks.get(p.chunkId);
      expect(c, 'quoted chunk is in the context').toBeDefined();
      expect(c?.text.includes(p.text), 'quote is verbatim').toBe(true);
      expect(c?.n).toBe(p.n);
    } else if (p.kind === 'cite') {
      expect(context.citations.some((c) => c.n === p.n)).toBe(true);
    } else if (p.kind === 'template') {
      expect(isTemplateText(p.text), `template text ${JSON.stringify(p.text)}`).toBe(true);
    } else {
      expect(labels.has(p.text) || ['queue', 'kernel'].includes(p.text), `label ${p.text}`).toBe(true);
    }
  }
}

describe('assemble and the extractive answer (properties)', () => {
  it('numbers blocks 1..n, every citation points at its block, every quote is verbatim', () => {
    fc.assert(
      fc.property(corpus, fc.integer({ min: 100, max: 3000 }), (rows, budget) => {
        const ctx = assemble({ candidates: build(rows), budget, queryTerms: ['queue'] });
        expect(ctx.blocks.map((b) => b.n)).toEqual(ctx.blocks.map((_, i) => i + 1));
        expect(ctx.citations.map((c) => c.n)).toEqual(ctx.blocks.map((b) => b.n));
        expect(ctx.tokens).toBeLessThanOrEqual(ctx.budget);
        for (const c of ctx.citations) {
          const block = ctx.blocks[c.n - 1]!;
          expect(c.chunkIds).toEqual(block.parts.map((p) => p.chunk.id));
          expect(block.parts.some((p) => p.chunk.text.includes(c.quote))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('never writes a word that is not in the context or the template, for every route shape', () => {
    fc.assert(
      fc.property(corpus, fc.constantFrom<RouteType>(...ROUTE_TYPES), (rows, type) => {
        const ctx = assemble({ candidates: build(rows), queryTerms: ['queue', 'kernel'] });
        const route: Route = {
          ...ROUTE,
          type,
          ...(type === 'comparison' ? { sides: ['queue', 'kernel'] as const } : {}),
        };
        const answer = answerExtractive({
          route,
          context: ctx,
          evidence: { coverage: 1, strength: 1, cohesion: 1, topical: 1, missingTerms: [] },
          queryTerms: ['queue', 'kernel'],
          nearest: [],
        });
        checkAnswer(answer.parts, ctx);
        // Every [n] in the text exists in the citation map.
        for (const m of answer.text.matchAll(/\[(\d+)\]/g))
          expect(ctx.citations.some((c) => c.n === Number(m[1]))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
