import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuseRanks, RRF_K } from './hybrid.js';

/** The naive oracle: the formula written out for one id at a time. */
function oracleScore(lists: readonly (readonly number[])[], id: number, k: number): number {
  let score = 0;
  for (const ids of lists) {
    const unique = ids.filter((x, i) => ids.indexOf(x) === i);
    const at = unique.indexOf(id);
    if (at >= 0) score += 1 / (k + at + 1);
  }
  return score;
}

describe('fuseRanks', () => {
  it('puts an item found high in both lists above items found high in one', () => {
    const fused = fuseRanks([
      { name: 'bm25', ids: [1, 2, 3] },
      { name: 'dense', ids: [4, 2, 5] },
    ]);
    expect(fused[0]).toMatchObject({ id: 2, ranks: { bm25: 2, dense: 2 } });
    expect(fused.map((f) => f.id)).toEqual([2, 1, 4, 3, 5]);
  });

  it('returns nothing for no lists and keeps a single list in its order', () => {
    expect(fuseRanks([])).toEqual([]);
    expect(fuseRanks([{ name: 'bm25', ids: [7, 3, 9] }]).map((f) => f.id)).toEqual([7, 3, 9]);
  });

  it('matches the formula, holds every id once, and orders by score', () => {
    const list = fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 25 });
    fc.assert(
      fc.property(fc.array(list, { maxLength: 4 }), fc.integer({ min: 1, max: 100 }), (lists, k) => {
        const fused = fuseRanks(
          lists.map((ids, i) => ({ name: `l${i}`, ids })),
          { k },
        );
        const all = new Set(lists.flat());
        expect(new Set(fused.map((f) => f.id))).toEqual(all);
        expect(fused).toHaveLength(all.size);
        for (const f of fused) expect(f.score).toBeCloseTo(oracleScore(lists, f.id, k), 12);
        for (let i = 1; i < fused.length; i++)
          expect(fused[i - 1]!.score).toBeGreaterThanOrEqual(fused[i]!.score);
      }),
    );
  });

  it('weights a list’s votes', () => {
    const fused = fuseRanks([
      { name: 'bm25', ids: [1] },
      { name: 'dense', ids: [2], weight: 2 },
    ]);
    expect(fused.map((f) => f.id)).toEqual([2, 1]);
    expect(fused[0]!.score).toBeCloseTo(2 / (RRF_K + 1));
  });
});
