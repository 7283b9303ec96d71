import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inExpB2, normalisedTf, weightedOccurrences } from './dfr.js';

describe('In_expB2', () => {
  it('matches the formula worked by hand', () => {
    // N = 100, df = 4, F = 10, tfn = 2: n_e = 100 · (1 − 0.99^10) = 9.5618;
    // (11 / (4 · 3)) · 2 · log2(101 / 10.0618) = 1.8333 · 3.3274 = 6.1003.
    expect(inExpB2(2, 4, 10, 100)).toBeCloseTo(6.1003, 3);
  });

  it('is zero without an occurrence and never negative', () => {
    expect(inExpB2(0, 3, 5, 10)).toBe(0);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 5000 }),
        (tfn, n, f) => {
          const df = Math.min(n, f);
          expect(inExpB2(tfn, df, f, n)).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('grows with the normalised frequency but saturates, and weighs rare terms more', () => {
    const a = inExpB2(1, 5, 5, 1000);
    const b = inExpB2(2, 5, 5, 1000);
    const c = inExpB2(20, 5, 5, 1000);
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(b);
    // Bounded by (F + 1) / df · log2((N + 1) / (n_e + 0.5)) whatever tfn is.
    expect(c).toBeLessThan((6 / 5) * Math.log2(1001 / 5.5));
    expect(inExpB2(2, 5, 5, 1000)).toBeGreaterThan(inExpB2(2, 500, 500, 1000));
  });
});

describe('normalisedTf', () => {
  it('sums each field by its weight and log2(1 + c · avglen / len), skipping empty fields', () => {
    const tfn = normalisedTf([1, 0, 2, 0], [4, 0, 10, 0], [4, 3, 20, 0], [3, 2, 1, 1.5], 0.5);
    expect(tfn).toBeCloseTo(3 * Math.log2(1.5) + 2 * Math.log2(2), 10);
  });
});

describe('weightedOccurrences', () => {
  it('weighs each field of each posting', () => {
    expect(weightedOccurrences([1, 0, 2, 0, 0, 1, 3, 1], [3, 2, 1, 1.5])).toBe(3 + 2 + 2 + 3 + 1.5);
  });
});
