import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kthLargestValue, orderByScore, topK } from './top-k.js';

/** The comparator sort the radix order replaces: score descending, then id ascending. */
function naiveTop(ids: readonly number[], scores: ReadonlyMap<number, number>, k: number): number[] {
  return [...ids]
    .sort((a, b) => (scores.get(b) ?? 0) - (scores.get(a) ?? 0) || a - b)
    .slice(0, Math.max(0, k));
}

/** Scores with many ties, negatives, zeros (of both signs) and extremes. */
const score = fc.oneof(
  fc.constantFrom(0, -0, 1, 1.5, -1, 2 ** -1074, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300),
  fc.integer({ min: -3, max: 3 }).map((i) => i / 4),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

describe('topK', () => {
  it('gives the k best ids, best first and ties by lower id, as a comparator sort does', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 300 }),
        fc.array(score, { minLength: 300, maxLength: 300 }),
        fc.integer({ min: 0, max: 320 }),
        (ids, values, k) => {
          const scores = new Map(ids.map((id, i) => [id, values[i] ?? 0]));
          expect([...topK(ids, (id) => scores.get(id) ?? 0, k)]).toEqual(naiveTop(ids, scores, k));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads ids from a typed array and keeps only the lowest ids among ties at the cut', () => {
    const ids = Uint32Array.from([9, 3, 7, 1, 5]);
    expect([...topK(ids, (id) => (id === 9 ? 2 : 1), 3)]).toEqual([9, 1, 3]);
    expect([...topK(ids, () => 1, 0)]).toEqual([]);
    expect([...topK([], () => 1, 5)]).toEqual([]);
  });

  it('orders ids past 2^22 (every radix digit in use)', () => {
    const ids = [2 ** 32 - 1, 2 ** 31, 2 ** 22 + 1, 5, 2 ** 22];
    expect([...topK(ids, () => 0.5, 10)]).toEqual([...ids].sort((a, b) => a - b));
  });

  it('gives the same order past the scratch it keeps between calls, and after it', () => {
    // 200,000 ids: more than the scratch kept (65,536 entries), so the call has its own.
    const n = 200_000;
    const ids = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const score = (id: number): number => (id % 1000) / 7;
    const scores = new Map(ids.map((id) => [id, score(id)]));
    const want = naiveTop(ids, scores, 5000);
    expect([...topK(ids, score, 5000)]).toEqual(want);
    // A small call after it, then the large one again: the kept scratch gave nothing stale.
    expect([...topK([3, 1, 2], (id) => id, 2)]).toEqual([3, 2]);
    expect([...topK(ids, score, 5000)]).toEqual(want);
  });
});

describe('orderByScore', () => {
  it('is a permutation ordering scores from highest, ties by id', () => {
    fc.assert(
      fc.property(fc.array(score, { maxLength: 200 }), (values) => {
        const scores = Float64Array.from(values);
        const ids = values.map((_, i) => (i * 7919) % 1009);
        const order = [...orderByScore(scores, ids)];
        expect([...order].sort((a, b) => a - b)).toEqual(values.map((_, i) => i));
        for (let i = 1; i < order.length; i++) {
          const a = order[i - 1]!;
          const b = order[i]!;
          const sa = scores[a]!;
          const sb = scores[b]!;
          expect(sa > sb || (sa === sb && ids[a]! <= ids[b]!)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('kthLargestValue', () => {
  it('is the k-th value of a descending sort', () => {
    fc.assert(
      fc.property(fc.array(score, { minLength: 1, maxLength: 100 }), fc.nat(), (values, pick) => {
        const k = (pick % values.length) + 1;
        const want = [...values].sort((a, b) => b - a)[k - 1];
        // === holds 0 and −0 equal, as the ranking does.
        expect(kthLargestValue(Float64Array.from(values), k) === want).toBe(true);
      }),
    );
  });
});
