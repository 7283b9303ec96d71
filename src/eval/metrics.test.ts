import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, queryMetrics, trecOrder, type Retrieved } from './metrics.js';

/** Naive oracle: the textbook definitions, written independently of the implementation. */
function oracle(run: readonly Retrieved[], judged: ReadonlyMap<string, number>) {
  // Selection-sort order: repeatedly take the best remaining (highest score, then largest id).
  const rest = [...run];
  const ranked: string[] = [];
  while (rest.length > 0 && ranked.length < 1000) {
    let best = 0;
    for (let i = 1; i < rest.length; i++) {
      const a = rest[i]!;
      const b = rest[best]!;
      if (a.score > b.score || (a.score === b.score && a.docId > b.docId)) best = i;
    }
    ranked.push(rest.splice(best, 1)[0]!.docId);
  }
  const rel = (d: string | undefined): number => (d === undefined ? 0 : Math.max(0, judged.get(d) ?? 0));
  const relevantCount = [...judged.values()].filter((g) => g > 0).length;
  const top = (k: number): string[] => ranked.slice(0, k);
  let dcg = 0;
  top(10).forEach((d, i) => (dcg += rel(d) / Math.log2(i + 2)));
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  ideal.slice(0, 10).forEach((g, i) => (idcg += g / Math.log2(i + 2)));
  const firstRel = top(10).findIndex((d) => rel(d) > 0);
  let ap = 0;
  for (let k = 1; k <= ranked.length; k++)
    if (rel(ranked[k - 1]) > 0) ap += top(k).filter((d) => rel(d) > 0).length / k;
  return {
    ndcg10: idcg === 0 ? 0 : dcg / idcg,
    recall100: relevantCount === 0 ? 0 : top(100).filter((d) => rel(d) > 0).length / relevantCount,
    mrr10: firstRel < 0 ? 0 : 1 / (firstRel + 1),
    ap: relevantCount === 0 ? 0 : ap / relevantCount,
    p30: top(30).filter((d) => rel(d) > 0).length / 30,
  };
}

const docId = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'd1', 'd10', 'd2');
const runArb = fc.uniqueArray(fc.record({ docId, score: fc.constantFrom(0, 0.5, 1, 1.5, 2, 3, -1) }), {
  selector: (r) => r.docId,
  maxLength: 11,
});
const judgedArb = fc
  .uniqueArray(fc.tuple(docId, fc.integer({ min: 0, max: 4 })), { selector: (t) => t[0], maxLength: 8 })
  .map((pairs) => new Map(pairs));

describe('trecOrder', () => {
  it('sorts by score descending and breaks ties by descending document id', () => {
    const ordered = trecOrder([
      { docId: 'd1', score: 1 },
      { docId: 'd2', score: 1 },
      { docId: 'd10', score: 1 },
      { docId: 'x', score: 2 },
    ]);
    expect(ordered.map((r) => r.docId)).toEqual(['x', 'd2', 'd10', 'd1']);
  });
});

describe('queryMetrics', () => {
  it('matches hand-computed values on a small graded run', () => {
    // Ranked: A(3) B(0) C(1); judged also holds D(2), never retrieved.
    const judged = new Map([
      ['A', 3],
      ['C', 1],
      ['D', 2],
    ]);
    const m = queryMetrics(
      [
        { docId: 'C', score: 1 },
        { docId: 'A', score: 3 },
        { docId: 'B', score: 2 },
      ],
      judged,
    );
    const dcg = 3 / Math.log2(2) + 1 / Math.log2(4);
    const idcg = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
    expect(m.ndcg10).toBeCloseTo(dcg / idcg, 12);
    expect(m.recall100).toBeCloseTo(2 / 3, 12);
    expect(m.mrr10).toBe(1);
    expect(m.ap).toBeCloseTo((1 / 1 + 2 / 3) / 3, 12);
    expect(m.p30).toBeCloseTo(2 / 30, 12);
  });

  it('gives MRR 1/rank of the first relevant document and 0 past rank 10', () => {
    const judged = new Map([['rel', 1]]);
    const run = (rank: number): Retrieved[] =>
      Array.from({ length: rank }, (_, i) => ({ docId: i === rank - 1 ? 'rel' : `n${i}`, score: 100 - i }));
    expect(queryMetrics(run(4), judged).mrr10).toBeCloseTo(0.25, 12);
    expect(queryMetrics(run(11), judged).mrr10).toBe(0);
  });

  it('scores an empty run 0 on every measure', () => {
    const m = queryMetrics([], new Map([['a', 1]]));
    expect(m).toEqual({ ndcg10: 0, recall100: 0, mrr10: 0, ap: 0, p30: 0 });
  });

  it('ignores documents beyond rank 1000', () => {
    const run = Array.from({ length: 1001 }, (_, i) => ({ docId: `d${i}`, score: 2000 - i }));
    expect(queryMetrics(run, new Map([['d1000', 1]])).ap).toBe(0);
    expect(queryMetrics(run, new Map([['d999', 1]])).ap).toBeCloseTo(1 / 1000, 12);
  });

  it('agrees with the naive oracle on random runs and judgments', () => {
    fc.assert(
      fc.property(runArb, judgedArb, (run, judged) => {
        const got = queryMetrics(run, judged);
        const want = oracle(run, judged);
        for (const k of Object.keys(want) as (keyof typeof want)[]) expect(got[k]).toBeCloseTo(want[k], 10);
      }),
      { numRuns: 500 },
    );
  });

  it('gives nDCG@10 of 1 to the ideal ordering', () => {
    fc.assert(
      fc.property(judgedArb, (judged) => {
        const run = [...judged].map(([d, g]) => ({ docId: d, score: g * 10 + Math.random() }));
        const hasRelevant = [...judged.values()].some((g) => g > 0);
        expect(queryMetrics(run, judged).ndcg10).toBeCloseTo(hasRelevant ? 1 : 0, 10);
      }),
    );
  });
});

describe('evaluate', () => {
  it('averages over every query in the qrels, counting missing runs as 0', () => {
    const qrels = new Map([
      ['q1', new Map([['a', 1]])],
      ['q2', new Map([['b', 1]])],
    ]);
    const run = new Map([
      ['q1', [{ docId: 'a', score: 1 }]],
      ['q3', [{ docId: 'b', score: 1 }]],
    ]);
    const m = evaluate(run, qrels);
    expect(m.queries).toBe(2);
    expect(m.ndcg10).toBeCloseTo(0.5, 12);
    expect(m.map).toBeCloseTo(0.5, 12);
  });
});
