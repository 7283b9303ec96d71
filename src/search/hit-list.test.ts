import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HitList, hitObjects, type RankedChunk } from './hit-list.js';

/** An operation on a hit list, applied to it and to an array of objects alike. */
type Op =
  | { readonly kind: 'push'; readonly hit: RankedChunk }
  | { readonly kind: 'truncate'; readonly n: number }
  | { readonly kind: 'retain'; readonly modulus: number };

const hit = fc.record({
  chunkId: fc.nat({ max: 2 ** 32 - 1 }),
  documentId: fc.nat({ max: 2 ** 32 - 1 }),
  score: fc.double({ noNaN: true }),
});

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: hit.map((h) => ({ kind: 'push' as const, hit: h })) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 40 }).map((n) => ({ kind: 'truncate' as const, n })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 2, max: 5 }).map((modulus) => ({ kind: 'retain' as const, modulus })),
  },
);

describe('HitList', () => {
  it('holds what an array of hit objects holds, through pushes past its room, truncation and filtering', () => {
    fc.assert(
      fc.property(fc.nat({ max: 20 }), fc.array(op, { maxLength: 120 }), (room, ops) => {
        const list = new HitList(room);
        let want: RankedChunk[] = [];
        for (const o of ops) {
          if (o.kind === 'push') {
            list.push(o.hit.chunkId, o.hit.documentId, o.hit.score);
            want.push(o.hit);
          } else if (o.kind === 'truncate') {
            list.truncate(o.n);
            want = want.slice(0, Math.max(0, o.n));
          } else {
            const keep = (chunkId: number): boolean => chunkId % o.modulus !== 0;
            list.retain(keep);
            want = want.filter((h) => keep(h.chunkId));
          }
        }
        expect(list.length).toBe(want.length);
        expect(list.room).toBeGreaterThanOrEqual(list.length);
        expect(hitObjects(list)).toEqual(want);
        expect(list.chunkIdList()).toEqual(want.map((h) => h.chunkId));
      }),
      { numRuns: 300 },
    );
  });

  it('copies one hit over another', () => {
    const list = new HitList(2);
    list.push(1, 10, 0.5);
    list.push(2, 20, 0.25);
    list.move(1, 0);
    expect(hitObjects(list)).toEqual([
      { chunkId: 2, documentId: 20, score: 0.25 },
      { chunkId: 2, documentId: 20, score: 0.25 },
    ]);
  });

  it('keeps a double score exactly and ids up to 2^32 - 1', () => {
    const list = new HitList();
    list.push(2 ** 32 - 1, 2 ** 32 - 2, 0.1 + 0.2);
    expect(hitObjects(list)).toEqual([{ chunkId: 2 ** 32 - 1, documentId: 2 ** 32 - 2, score: 0.1 + 0.2 }]);
  });
});
