import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { type App, ingestContext, openApp } from '../app.js';
import type { Citation } from '../ask/types.js';
import { loadConfig } from '../core/config.js';
import { isShelfError } from '../core/errors.js';
import { addSource } from '../ingest/ingest.js';
import { hasShared, PROJECT_ROOT, sharedPath } from '../test-support/shared.js';
import { citationMatches, parseQa, qaMetrics, runQa, type QaRow } from './qa.js';

const CITATION: Citation = {
  n: 1,
  documentId: 3,
  title: 'The little book about OS development',
  url: 'file:///books/little%20book.pdf#page=31',
  pageStart: 30,
  pageEnd: 31,
  chunkIds: [1],
  label: 'x',
  quote: 'y',
};

describe('parseQa', () => {
  it('reads questions with defaults and ids', () => {
    const qs = parseQa(
      '{"question":"a?","expect":[{"title":"x"}]}\n\n{"question":"b?","kind":"vague"}\n',
      'f',
    );
    expect(qs.map((q) => [q.id, q.kind])).toEqual([
      ['line-1', 'answerable'],
      ['line-3', 'vague'],
    ]);
  });

  const broken: [string, RegExp][] = [
    ['not json', /line 1 .*not JSON/],
    ['{"question":""}', /question/],
    ['{"question":"a?"}', /needs "expect"/],
    ['{"question":"a?","expect":[{}]}', /"title" or "url"/],
    ['{"question":"a?","kind":"maybe"}', /kind/],
    ['{"question":"a?","expect":[{"title":"x","page":-1}]}', /page/],
    ['{"question":"a?","extra":1,"expect":[{"title":"x"}]}', /extra|Unrecognized/],
    ['[1,2]', /line 1/],
  ];
  for (const [line, message] of broken)
    it(`reports ${line} with its line number`, () => {
      try {
        parseQa(line, 'f.jsonl');
        expect.unreachable();
      } catch (e) {
        expect(isShelfError(e, 'QA_INVALID')).toBe(true);
        expect((e as Error).message).toMatch(message);
      }
    });

  it('rejects a file with no questions', () => {
    expect(() => parseQa('\n \n', 'f')).toThrow(/holds no questions/);
  });
});

describe('citationMatches', () => {
  it('matches a title substring, a decoded URL and a page within one page of the span', () => {
    expect(citationMatches({ title: 'little book' }, CITATION)).toBe(true);
    expect(citationMatches({ url: 'little book.pdf' }, CITATION)).toBe(true);
    expect(citationMatches({ url: 'little book.pdf', page: 32 }, CITATION)).toBe(true);
    expect(citationMatches({ url: 'little book.pdf', page: 34 }, CITATION)).toBe(false);
    expect(citationMatches({ title: 'Oberon' }, CITATION)).toBe(false);
  });
});

describe('qaMetrics', () => {
  it('computes hit@k, pooled citation precision, declines and follow-ups', () => {
    const row = (r: Partial<QaRow>): QaRow => ({
      id: 'x',
      question: 'q',
      kind: 'answerable',
      route: 'lookup',
      declined: false,
      followUp: false,
      citations: 0,
      matchingCitations: 0,
      cited: [],
      ms: 0,
      ...r,
    });
    const m = qaMetrics([
      row({ hitRank: 1, citations: 2, matchingCitations: 2 }),
      row({ hitRank: 3, citations: 2, matchingCitations: 1 }),
      row({ citations: 0, declined: true }),
      row({ kind: 'unanswerable', declined: true }),
      row({ kind: 'unanswerable', declined: false }),
      row({ kind: 'vague', followUp: true }),
    ]);
    expect(m.hit1).toBeCloseTo(1 / 3);
    expect(m.hit5).toBeCloseTo(2 / 3);
    expect(m.citationPrecision).toBeCloseTo(3 / 4);
    expect(m.declined).toBe(0.5);
    expect(m.followUp).toBe(1);
    expect(m.falseDeclines).toBe(1);
  });
});

const INPUTS = [
  'corpus/feeds/devto-narasimha1997.xml',
  'corpus/feeds/devto-nicolasmesa.xml',
  'corpus/feeds/forem-douglasmakey.xml',
  'corpus/books/little-book-about-os-development.pdf',
  'corpus/books/PO.Applications.pdf',
];

// The acceptance test of `shelf ask`: the project's own question set over the shared corpus.
describe.skipIf(!hasShared(...INPUTS))('eval qa over the shared corpus', () => {
  let app: App;

  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'shelf-qa-'));
    app = openApp({ config: loadConfig({ env: {}, home }) });
    const kb = await app.store.createKnowledgeBase('default');
    const ctx = ingestContext(app);
    for (const input of INPUTS) await addSource(ctx, { kb, location: sharedPath(input) });
  }, 120_000);

  afterAll(async () => {
    await app.close();
  });

  it('meets the targets on eval/qa/corpus.jsonl', async () => {
    const questions = parseQa(
      readFileSync(join(PROJECT_ROOT, 'eval/qa/corpus.jsonl'), 'utf8'),
      'corpus.jsonl',
    );
    expect(questions.length).toBeGreaterThanOrEqual(40);
    const report = await runQa({ store: app.store, clock: app.clock }, { kb: 'default', questions });
    const m = report.metrics;
    const misses = report.rows
      .filter((r) => r.kind === 'answerable' && r.hitRank === undefined)
      .map((r) => r.id);
    expect(m.hit5, `missed: ${misses.join(' ')}`).toBeGreaterThanOrEqual(0.9);
    expect(m.citationPrecision).toBeGreaterThanOrEqual(0.8);
    expect(m.declined).toBeGreaterThanOrEqual(0.8);
    expect(m.followUp).toBeGreaterThanOrEqual(0.8);
  }, 90_000);
});
