import { describe, expect, it } from 'vitest';
import { route, type RouteInput } from './route.js';
import type { Turn } from './types.js';

const BASE: Omit<RouteInput, 'question'> = {
  authors: [
    { name: 'Douglas Makey Mendez Molero', documents: 12 },
    { name: 'Nicolas Mesa', documents: 9 },
    { name: 'Erik Helin, Adam Renberg', documents: 1 },
  ],
  tags: [
    { name: 'rust', documents: 10 },
    { name: 'networking', documents: 3 },
    { name: 'kubernetes', documents: 2 },
  ],
  sources: [
    { id: 7, title: 'The little book about OS development', location: '/books/little-book.pdf' },
    { id: 8, title: 'DEV Community: Nicolas Mesa', location: 'https://dev.to/feed/nicolasmesa' },
  ],
  now: new Date('2026-11-21T12:00:00Z'),
};

function r(question: string, extra: Partial<RouteInput> = {}) {
  return route({ ...BASE, ...extra, question });
}

describe('route', () => {
  const table: { q: string; type: string; rule: RegExp }[] = [
    { q: 'What is the SYN queue?', type: 'lookup', rule: /^lookup:/ },
    { q: 'How do I configure the serial port?', type: 'howto', rule: /^howto:/ },
    { q: 'Show me the code for the interrupt handler', type: 'code', rule: /^code:/ },
    { q: 'Give me an overview of paging', type: 'summary', rule: /^summary:/ },
    { q: 'Summarize the article about traceroute', type: 'summary', rule: /^summary:/ },
    { q: 'What is the difference between let and const?', type: 'comparison', rule: /^comparison:/ },
    { q: 'Compare TCP vs UDP', type: 'comparison', rule: /^comparison:/ },
    { q: 'What are the steps to boot a kernel?', type: 'list', rule: /^list:/ },
    { q: 'List the layers of the OSI model', type: 'list', rule: /^list:/ },
    { q: 'Which books do I have?', type: 'catalog', rule: /^catalog:/ },
    { q: 'What has Douglas written about networking?', type: 'catalog', rule: /^catalog:author-wrote/ },
    { q: 'How many articles are on my shelf?', type: 'catalog', rule: /^catalog:/ },
    { q: 'Tell me something interesting', type: 'vague', rule: /^vague:/ },
    { q: 'How does it work?', type: 'vague', rule: /^vague:/ },
    { q: 'Can you help me?', type: 'vague', rule: /^vague:/ },
  ];
  for (const row of table)
    it(`routes "${row.q}" to ${row.type}`, () => {
      const out = r(row.q);
      expect(out.type).toBe(row.type);
      expect(out.rule).toMatch(row.rule);
    });

  it('reads an author by first name and cuts it from the query', () => {
    const out = r('What has Douglas written about networking?');
    expect(out.filters.author).toBe('Douglas Makey Mendez Molero');
    expect(out.query).toBe('networking');
    expect(out.filterNotes.join(' ')).toContain('Douglas');
  });

  it('reads an author by last name after "by"', () => {
    const out = r('posts by mesa about python');
    expect(out.filters.author).toBe('Nicolas Mesa');
    expect(out.query).not.toMatch(/mesa/i);
  });

  it('does not read a lower-case common word as an author without context', () => {
    expect(r('what is a mesa in geography').filters.author).toBeUndefined();
  });

  it('reads "last month" relative to the clock', () => {
    const out = r('what did I save about rust last month?');
    expect(out.filters.since).toBe('2026-10-21T12:00:00.000Z');
    expect(out.query).not.toMatch(/last|month/);
  });

  it('reads "in 2024" as a year range', () => {
    const out = r('articles about sockets in 2024');
    expect(out.filters.since).toBe('2024-01-01T00:00:00.000Z');
    expect(out.filters.until).toBe('2025-01-01T00:00:00.000Z');
  });

  it('reads "since March" as the most recent March', () => {
    expect(r('what is new about rust since March').filters.since).toBe('2026-03-01T00:00:00.000Z');
    expect(r('anything since December', { now: new Date('2026-02-01T00:00:00Z') }).filters.since).toBe(
      '2025-12-01T00:00:00.000Z',
    );
  });

  it('reads an explicit tag and a named source', () => {
    expect(r('kubernetes posts about jobs').filters.tag).toBe('kubernetes');
    expect(r('what is paging in the little OS book?').filters.sourceId).toBe(7);
  });

  it('ignores a tag-like word that is not a known tag', () => {
    expect(r('cooking posts about bread').filters.tag).toBeUndefined();
  });

  it('strips question boilerplate from the query', () => {
    expect(r('Can you please explain how the SYN queue works?').query).toBe('SYN queue');
  });

  it('resolves a follow-up against the previous topic', () => {
    const first = r('How does the accept queue work?');
    const history: Turn[] = [{ question: 'How does the accept queue work?', route: first }];
    const out = r('and how do I test that?', { history });
    expect(out.type).toBe('howto');
    expect(out.query).toContain('accept queue');
    expect(out.query).toContain('test');
    expect(out.followUpOf).toBe(first.query);
  });

  it('does not treat a new, fully stated question as a follow-up', () => {
    const first = r('How does the accept queue work?');
    const out = r('What is the global descriptor table used for in x86 segmentation?', {
      history: [{ question: 'x', route: first }],
    });
    expect(out.followUpOf).toBeUndefined();
  });

  it('keeps filters when forced to a route', () => {
    const out = r('Douglas networking', { forced: 'summary' });
    expect(out.type).toBe('summary');
    expect(out.rule).toBe('forced by --route');
    expect(out.filters.author).toBe('Douglas Makey Mendez Molero');
  });

  it('reads the two sides of a comparison', () => {
    expect(r('What is the difference between a freestanding and a hosted environment?').sides).toEqual([
      'freestanding',
      'hosted environment',
    ]);
  });

  it('survives hostile input without throwing', () => {
    for (const q of ['', '?', '((((', 'in 99999', '#', 'by', 'since', '\u0000\u0001', 'x'.repeat(5000)])
      expect(() => r(q)).not.toThrow();
  });
});
