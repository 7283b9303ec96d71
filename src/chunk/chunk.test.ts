import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Block } from '../core/document.js';
import { chunkBlocks, type ChunkOptions } from './chunk.js';

const SMALL: ChunkOptions = { targetTokens: 40, maxTokens: 80, overlapSentences: 1 };

const para = (text: string, page?: number): Block =>
  page === undefined ? { kind: 'paragraph', text } : { kind: 'paragraph', text, page };

describe('chunkBlocks', () => {
  it('puts the heading path and nearest anchor on every chunk', () => {
    const chunks = chunkBlocks([
      { kind: 'heading', level: 1, text: 'Networking', anchor: 'networking' },
      para('Sockets are endpoints.'),
      { kind: 'heading', level: 2, text: 'SYN queue' },
      para('The SYN queue holds half-open connections.'),
      { kind: 'heading', level: 2, text: 'Accept queue', anchor: 'accept-queue' },
      para('The accept queue holds established ones.'),
      { kind: 'heading', level: 1, text: 'Storage' },
      para('Disks are slow.'),
    ]);
    expect(chunks.map((c) => [c.headingPath.join(' > '), c.anchor])).toEqual([
      ['Networking', 'networking'],
      ['Networking > SYN queue', 'networking'],
      ['Networking > Accept queue', 'accept-queue'],
      ['Storage', undefined],
    ]);
    expect(chunks.map((c) => c.ordinal)).toEqual([0, 1, 2, 3]);
  });

  it('never splits a code block, even one far over the ceiling', () => {
    const code = Array.from({ length: 200 }, (_, i) => `    let x${i} = ${i};`).join('\n');
    const chunks = chunkBlocks(
      [para('Before.'), { kind: 'code', text: code, lang: 'rust' }, para('After.')],
      SMALL,
    );
    const holding = chunks.filter((c) => c.text.includes('let x0 ='));
    expect(holding).toHaveLength(1);
    expect(holding[0]!.text).toContain('```rust\n' + code + '\n```');
    expect(holding[0]!.hasCode).toBe(true);
  });

  it('splits tables between rows and repeats the header', () => {
    const rows = [['name', 'value'], ...Array.from({ length: 30 }, (_, i) => [`key${i}`, `v${i}`])];
    const chunks = chunkBlocks([{ kind: 'table', rows, header: true }], SMALL);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.text.startsWith('| name | value |\n| --- | --- |')).toBe(true);
    const all = chunks.map((c) => c.text).join('\n');
    for (let i = 0; i < 30; i++) expect(all).toContain(`| key${i} | v${i} |`);
  });

  it('records the page span of the blocks it holds', () => {
    const chunks = chunkBlocks([para('One on page three.', 3), para('Two on page four.', 4)]);
    expect(chunks).toHaveLength(1);
    expect([chunks[0]!.pageStart, chunks[0]!.pageEnd]).toEqual([3, 4]);
  });

  it('carries the last sentence into the next chunk of the same section', () => {
    const sentences = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} talks about queues.`);
    const chunks = chunkBlocks(
      sentences.map((s) => para(s + ' Another clause for length.')),
      SMALL,
    );
    expect(chunks.length).toBeGreaterThan(2);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.text.startsWith('Another clause for length.')).toBe(true);
    }
  });

  it('cuts a very long paragraph at sentence ends', () => {
    const long = Array.from({ length: 60 }, (_, i) => `This is sentence ${i} of a long paragraph.`).join(' ');
    const chunks = chunkBlocks([para(long)], SMALL);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(SMALL.maxTokens + 20);
  });

  it('emits no chunk for a document with only headings or whitespace', () => {
    expect(chunkBlocks([{ kind: 'heading', level: 1, text: 'Title' }, para('   ')])).toEqual([]);
  });

  const blockArb: fc.Arbitrary<Block> = fc.oneof(
    fc.record({
      kind: fc.constant('heading' as const),
      level: fc.integer({ min: 1, max: 4 }),
      text: fc.string(),
    }),
    fc.record({
      kind: fc.constant('paragraph' as const),
      text: fc.lorem({ mode: 'sentences', maxCount: 30 }),
    }),
    fc.record({ kind: fc.constant('code' as const), text: fc.lorem({ maxCount: 80 }) }),
    fc.record({
      kind: fc.constant('list' as const),
      ordered: fc.boolean(),
      items: fc.array(fc.lorem({ maxCount: 12 }), { maxLength: 8 }),
    }),
  );

  it('keeps every word of the prose, lists and code somewhere (property)', () => {
    fc.assert(
      fc.property(fc.array(blockArb, { maxLength: 30 }), (blocks) => {
        const chunks = chunkBlocks(blocks, SMALL);
        const all = chunks.map((c) => c.text).join('\n');
        for (const b of blocks) {
          if (b.kind === 'code' && b.text.trim() !== '') expect(all).toContain(b.text);
          if (b.kind === 'paragraph')
            for (const w of b.text.split(/\s+/).filter(Boolean)) expect(all).toContain(w);
          if (b.kind === 'list') for (const item of b.items) expect(all).toContain(item.trim());
        }
        chunks.forEach((c, i) => expect(c.ordinal).toBe(i));
      }),
    );
  });
});
