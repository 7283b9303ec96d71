import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze } from '../text/analyze.js';
import {
  feedbackCounts,
  proximityBonus as bonusOf,
  tokenStream,
  queryPairs,
  TermIds,
  type ProximityQuery,
  type ProximityTerm,
} from './proximity.js';

const OPTIONS = { window: 5, weight: 1 };

function terms(...words: string[]): ProximityTerm[] {
  return words.map((term) => ({ term, weight: 1 / words.length, idf: 2 }));
}

function query(text: string, ts: ProximityTerm[], averageLength = 10): ProximityQuery {
  return { terms: ts, pairs: queryPairs(analyze(text), ts), k1: 2, b: 0.6, averageLength };
}

/** BM25TP written out over analyze()'s positions, with no token cache. */
function oracle(fields: readonly string[], q: ProximityQuery, window: number): number {
  const occurrences: { term: number; position: number }[] = [];
  let length = 0;
  fields.forEach((text, f) => {
    for (const t of analyze(text)) {
      length++;
      const i = q.terms.findIndex((x) => x.term === t.term);
      const position = f * 1_000_000 + t.position;
      const last = occurrences.at(-1);
      // analyze() may yield a term twice for one raw token; the bonus counts it once.
      if (i >= 0 && !(last?.term === i && last.position === position))
        occurrences.push({ term: i, position });
    }
  });
  const acc = q.terms.map(() => 0);
  for (let k = 1; k < occurrences.length; k++) {
    const a = occurrences[k - 1]!;
    const c = occurrences[k]!;
    if (a.term === c.term || !q.pairs.has(a.term * 65536 + c.term)) continue;
    const d = Math.max(1, c.position - a.position);
    if (d > window) continue;
    acc[c.term]! += q.terms[a.term]!.idf / (d * d);
    acc[a.term]! += q.terms[c.term]!.idf / (d * d);
  }
  const k = q.k1 * (1 - q.b + (q.b * length) / q.averageLength);
  return q.terms.reduce((s, t, i) => {
    const a = acc[i]!;
    return a > 0 ? s + (t.weight * Math.min(1, t.idf) * (q.k1 + 1) * a) / (a + k) : s;
  }, 0);
}

function proximityBonus(fields: readonly string[], q: ProximityQuery, options: typeof OPTIONS): number {
  return bonusOf(tokenStream(fields), q, options);
}

describe('queryPairs', () => {
  it('pairs neighbouring content words, across stop words but not across other words', () => {
    const ts = terms('heat', 'transfer', 'wing');
    const pairs = queryPairs(analyze('heat transfer in the wings'), ts);
    expect(pairs.has(0 * 65536 + 1)).toBe(true);
    expect(pairs.has(1 * 65536 + 0)).toBe(true);
    expect(pairs.has(1 * 65536 + 2)).toBe(true);
    expect(pairs.has(0 * 65536 + 2)).toBe(false);
    expect(queryPairs(analyze('heat of wings'), terms('heat', 'transfer', 'wing')).has(0 * 65536 + 2)).toBe(
      true,
    );
    expect(queryPairs(analyze('heat flow wings'), ts).size).toBe(0);
  });
});

describe('proximityBonus', () => {
  const q = query('heat transfer', terms('heat', 'transfer'));

  it('rewards query neighbours that stand close, more the closer they are', () => {
    const adjacent = proximityBonus(['', '', 'heat transfer in a thin plate'], q, OPTIONS);
    const near = proximityBonus(['', '', 'heat flows and transfer of a plate'], q, OPTIONS);
    const far = proximityBonus(
      ['', '', 'heat flows through a very thin metal plate by transfer'],
      q,
      OPTIONS,
    );
    expect(adjacent).toBeGreaterThan(near);
    expect(near).toBeGreaterThan(0);
    expect(far).toBe(0);
  });

  it('does not pair words across fields, or terms that are not neighbours in the query', () => {
    expect(proximityBonus(['a note on heat', '', 'transfer of a plate'], q, OPTIONS)).toBe(0);
    const apart = query('heat in wings and transfer', terms('heat', 'wing', 'transfer'));
    expect(proximityBonus(['', '', 'heat transfer'], apart, OPTIONS)).toBe(0);
    expect(proximityBonus(['', '', 'heat wing'], apart, OPTIONS)).toBeGreaterThan(0);
  });

  it('matches the formula written out over analyze() positions, cold and with analysed tokens cached', () => {
    const word = fc.constantFrom(
      'heat',
      'transfer',
      'Heat',
      'transfers',
      'the',
      'plate',
      'TcpListener',
      'tcp-listener',
    );
    const text = fc.array(word, { maxLength: 14 }).map((w) => w.join(' '));
    const ts = terms('heat', 'transfer', 'tcp', 'listen');
    const q2 = query('heat transfer tcp listener', ts, 6);
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), (fields) => {
        const want = oracle(fields, q2, OPTIONS.window);
        expect(proximityBonus(fields, q2, OPTIONS)).toBeCloseTo(want, 10);
        expect(proximityBonus(fields, q2, OPTIONS)).toBeCloseTo(want, 10);
      }),
      { numRuns: 300 },
    );
  });

  it("counts feedback terms from a token stream exactly as analysing each field's text does", () => {
    // The counts relevance feedback read from analyze() before it shared proximity's streams.
    const direct = (fields: readonly string[]): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const text of fields)
        for (const t of analyze(text))
          if (!t.stop && !t.compound && /^[a-z][a-z0-9]{1,19}$/.test(t.term))
            counts.set(t.term, (counts.get(t.term) ?? 0) + 1);
      return counts;
    };
    const word = fc.constantFrom(
      'Heat',
      'transfers',
      'the',
      'of',
      'TcpListener::bind',
      'snake_case_name',
      'v1.2.3',
      '1984',
      'x',
      'Café',
      'naïve',
      'Content-Type',
      "don't",
      'abcdefghijklmnopqrstuvwxyz',
      'fooBar2',
      '!!',
    );
    const text = fc.array(word, { maxLength: 12 }).map((w) => w.join(' '));
    // One numbering for every stream, as a StreamCache shares it.
    const ids = new TermIds();
    fc.assert(
      fc.property(fc.array(text, { minLength: 3, maxLength: 3 }), (fields) => {
        const want = direct(fields);
        const got = new Map<string, number>();
        const stream = tokenStream(fields, ids);
        feedbackCounts(stream, (id, c) => got.set(ids.terms[id] ?? '', c));
        const total = stream.feedback.length;
        expect(got).toEqual(want);
        // In order of first occurrence, as the counting Map above holds them.
        expect([...got.keys()]).toEqual([...want.keys()]);
        expect(total).toBe([...want.values()].reduce((a, b) => a + b, 0));
        expect(ids.marks.every((m) => m === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same bonus whether streams share one term numbering or not', () => {
    const word = fc.constantFrom(
      'heat',
      'transfer',
      'Heat-transfer',
      'of',
      'flow',
      'TcpListener',
      'listener',
      'x1',
    );
    const text = fc.array(word, { maxLength: 15 }).map((w) => w.join(' '));
    const shared = new TermIds();
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 3, maxLength: 3 }),
        fc.subarray(['heat', 'transfer', 'flow', 'listen', 'tcp', 'zzz']),
        (fields, words) => {
          const q = query(words.join(' '), terms(...words));
          expect(bonusOf(tokenStream(fields, shared), q, OPTIONS)).toBe(
            bonusOf(tokenStream(fields), q, OPTIONS),
          );
          expect(shared.marks.every((m) => m === 0)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
