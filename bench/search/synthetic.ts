/**
 * A deterministic synthetic corpus for the ingest, search and ask benchmarks: documents
 * of sections and paragraphs (with some code), words drawn from a Zipf distribution over
 * a made-up vocabulary plus common English and technical words, so term statistics look
 * like real text. Same seed, same corpus.
 */
import type { Block, ParsedDocument } from '../../src/core/document.js';

/** Mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = (
  'the of and to in is that for it as with on by this be are from or an at which not can each when into ' +
  'kernel socket queue server client thread memory page table file process network packet buffer stack ' +
  'request response cache index query token parser compiler module function type value error event stream'
).split(' ');

const SYLLABLES = 'ka lo mi ne ru sa te vo zi pa de ko la mu ni ro su ta ve xo'.split(' ');

export function vocabulary(size: number, random: () => number): string[] {
  const words = new Set(COMMON);
  while (words.size < size) {
    const n = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
}

/** Samples indices with P(i) ∝ 1 / (i + 1) (Zipf, s = 1) by inverting the harmonic CDF. */
export function zipfSampler(n: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? 0) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface SyntheticCorpus {
  readonly vocabulary: readonly string[];
  documents(): Generator<ParsedDocument>;
  /** Queries of 2-6 words drawn from the same distribution (some rare, some common). */
  queries(count: number): string[];
}

/** `documents` documents of `sectionsPerDoc` sections, about one chunk per section. */
export function syntheticCorpus(options: {
  documents: number;
  sectionsPerDoc?: number;
  seed?: number;
}): SyntheticCorpus {
  const random = prng(options.seed ?? 42);
  const vocab = vocabulary(30_000, random);
  const pick = zipfSampler(vocab.length, random);
  const word = (): string => vocab[pick()] ?? 'x';
  const sentence = (min: number, max: number): string => {
    const n = min + Math.floor(random() * (max - min));
    const words = Array.from({ length: n }, word);
    const first = words[0] ?? 'x';
    words[0] = first.charAt(0).toUpperCase() + first.slice(1);
    return words.join(' ') + '.';
  };
  const sections = options.sectionsPerDoc ?? 5;
  return {
    vocabulary: vocab,
    *documents() {
      for (let d = 0; d < options.documents; d++) {
        const blocks: Block[] = [];
        for (let s = 0; s < sections; s++) {
          blocks.push({ kind: 'heading', level: 2, text: sentence(2, 5).slice(0, -1), anchor: `s${s}` });
          const paragraphs = 2 + Math.floor(random() * 2);
          for (let p = 0; p < paragraphs; p++)
            blocks.push({
              kind: 'paragraph',
              text: Array.from({ length: 3 }, () => sentence(8, 18)).join(' '),
            });
          if (random() < 0.2)
            blocks.push({
              kind: 'code',
              lang: 'rust',
              text: `fn ${word()}_${word()}() {\n    let x = ${word()}();\n}`,
            });
        }
        yield {
          key: `doc-${d}`,
          kind: 'article',
          title: sentence(3, 8).slice(0, -1),
          author: `Author ${d % 50}`,
          published: new Date(Date.UTC(2020, 0, 1) + d * 3_600_000).toISOString(),
          tags: [vocab[d % 20] ?? 'tag'],
          blocks,
        };
      }
    },
    queries(count) {
      const q = prng((options.seed ?? 42) + 1);
      const localPick = zipfSampler(vocab.length, q);
      return Array.from({ length: count }, () =>
        Array.from({ length: 2 + Math.floor(q() * 5) }, () => vocab[localPick()] ?? 'x').join(' '),
      );
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}
