import { describe, expect, it } from 'vitest';
import { assemble } from '../assemble.js';
import type { Candidate, ChunkRecord, DocumentRecord, Route } from '../types.js';
import { answerExtractive, isWeak, MIN_COHESION, MIN_COVERAGE, MIN_STRENGTH, unitsOf } from './extractive.js';

const DOC: DocumentRecord = {
  id: 1,
  kbId: 1,
  sourceId: 1,
  key: 'k',
  kind: 'article',
  title: 'Queues in the kernel',
  tags: [],
  hash: 'h',
  chunkCount: 3,
  createdAt: '2024-01-01',
  updatedAt: '2024-01-01',
};

function chunk(id: number, ordinal: number, section: string, text: string): ChunkRecord {
  return {
    id,
    documentId: 1,
    kbId: 1,
    ordinal,
    headingPath: [section],
    text,
    tokens: text.length / 4,
    hasCode: text.includes('```'),
  };
}

const CHUNKS = [
  chunk(1, 0, 'SYN queue', 'The SYN queue holds half-open connections. It grows during a SYN flood attack.'),
  chunk(
    2,
    4,
    'Setting the backlog',
    'Open the configuration file first. Set the backlog value to 128 for the queue.\n\n```\nsysctl -w net.core.somaxconn=128\n```\n\nThen restart the server.',
  ),
  chunk(
    3,
    8,
    'Accept queue',
    'The accept queue holds established connections. The application takes them with accept.',
  ),
];
const candidates: Candidate[] = CHUNKS.map((c, i) => ({
  chunk: c,
  document: DOC,
  bm25: 3 - i,
  score: 1 - i * 0.2,
  coverage: 1,
}));
const STRONG = { coverage: 1, strength: 0.8, cohesion: 1, topical: 1, missingTerms: [] };

function route(type: Route['type'], query: string): Route {
  return { type, rule: 'test', filters: {}, filterNotes: [], query };
}

describe('answerExtractive', () => {
  const ctx = assemble({ candidates, queryTerms: ['syn', 'queue', 'hold'] });

  it('puts the direct answer first for a lookup, with its citation', () => {
    const a = answerExtractive({
      route: route('lookup', 'syn queue'),
      context: ctx,
      evidence: STRONG,
      queryTerms: ['syn', 'queue', 'hold'],
      nearest: [],
    });
    expect(a.text.startsWith('The SYN queue holds half-open connections. [1]')).toBe(true);
    expect(a.declined).toBe(false);
  });

  it('gives numbered steps and the code block for a howto', () => {
    const a = answerExtractive({
      route: route('howto', 'set backlog'),
      context: ctx,
      evidence: STRONG,
      queryTerms: ['set', 'backlog'],
      nearest: [],
    });
    expect(a.text).toMatch(/^Steps:\n1\. /);
    expect(a.text).toContain('```\nsysctl -w net.core.somaxconn=128\n```');
  });

  it('gives one bullet per section for a summary', () => {
    const a = answerExtractive({
      route: route('summary', 'queue'),
      context: ctx,
      evidence: STRONG,
      queryTerms: ['queue'],
      nearest: [],
    });
    const bullets = a.text.split('\n').filter((l) => l.startsWith('- '));
    expect(bullets.length).toBe(3);
  });

  it('declines on weak evidence and names the nearest documents instead', () => {
    const weak = {
      coverage: MIN_COVERAGE - 0.01,
      strength: 0.9,
      cohesion: 1,
      topical: 1,
      missingTerms: ['sourdough'],
    };
    expect(isWeak(weak)).toBe(true);
    expect(
      isWeak({ coverage: 1, strength: MIN_STRENGTH - 0.01, cohesion: 1, topical: 1, missingTerms: [] }),
    ).toBe(true);
    expect(
      isWeak({ coverage: 1, strength: 0.9, cohesion: MIN_COHESION - 0.01, topical: 1, missingTerms: [] }),
    ).toBe(true);
    expect(isWeak({ coverage: 1, strength: 0.9, cohesion: MIN_COHESION, topical: 1, missingTerms: [] })).toBe(
      false,
    );
    const a = answerExtractive({
      route: route('lookup', 'sourdough'),
      context: ctx,
      evidence: weak,
      queryTerms: ['sourdough'],
      nearest: [{ title: 'Queues in the kernel' }],
    });
    expect(a.declined).toBe(true);
    expect(a.text).toContain('does not seem to hold the answer');
    expect(a.text).toContain('Queues in the kernel');
    expect(a.text).not.toMatch(/\[\d+\]/);
  });

  it('splits code blocks whole and prose into sentences', () => {
    const units = unitsOf(ctx.blocks.find((b) => b.parts[0]?.chunk.id === 2)!);
    expect(units.filter((u) => u.code)).toHaveLength(1);
    expect(units.map((u) => u.text)).toContain('Then restart the server.');
  });

  it('never quotes a Markdown table row as a sentence', () => {
    const table = chunk(
      9,
      1,
      'Selectors',
      'A selector has three fields.\n\n| Bit | Name |\n| --- | --- |\n| 0-1 | RPL. Requested level. |',
    );
    const context = assemble({
      candidates: [{ chunk: table, document: DOC, bm25: 1, score: 1, coverage: 1 }],
      budget: 500,
      queryTerms: ['selector'],
    });
    const units = unitsOf(context.blocks[0]!);
    expect(units.map((u) => u.text)).toEqual(['A selector has three fields.']);
  });

  it('is deterministic', () => {
    const req = {
      route: route('list', 'queue'),
      context: ctx,
      evidence: STRONG,
      queryTerms: ['queue'],
      nearest: [],
    };
    expect(answerExtractive(req).text).toBe(answerExtractive(req).text);
  });
});
