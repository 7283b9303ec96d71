import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, analyzeQuery, fold, indexText } from './analyze.js';

const terms = (text: string): string[] => analyze(text).map((t) => t.term);

describe('analyze', () => {
  it('splits camelCase identifiers into stemmed parts and keeps the whole', () => {
    expect(terms('TcpListener')).toEqual(['tcp', 'listen', 'tcplistener']);
  });

  it('splits paths like Foo::bar and keeps each segment whole as well as the token', () => {
    expect(terms('TcpListener::bind')).toEqual(['tcp', 'listen', 'bind', 'tcplistener', 'tcplistenerbind']);
  });

  it('handles snake_case, kebab headers and acronyms', () => {
    expect(terms('snake_case')).toEqual(['snake', 'case', 'snakecase']);
    expect(terms('Content-Type')).toEqual(['content', 'type', 'contenttype']);
    expect(terms('HTTPServer')).toEqual(['http', 'server', 'httpserver']);
    expect(terms('parseHTML5Doc')).toContain('parsehtml5doc');
  });

  it('keeps versions whole and drops the v prefix', () => {
    expect(terms('v1.2.3')).toEqual(['1.2.3']);
    expect(terms('Python 3.11')).toEqual(['python', '3.11']);
  });

  it('folds diacritics and case, and stems English words', () => {
    expect(fold('Café Über')).toBe('cafe uber');
    expect(terms('Queues were RUNNING')).toEqual(['queue', 'were', 'run']);
  });

  it('records character offsets of the raw token for every term', () => {
    const text = 'use TcpListener now';
    for (const t of analyze(text)) expect(text.slice(t.start, t.end)).toMatch(/^(use|TcpListener|now)$/);
  });

  it('only ever emits terms the FTS5 tokenizer keeps as one token', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        for (const t of analyze(s)) {
          expect(t.term).toMatch(/^[\p{L}\p{N}.]+$/u);
          expect(t.term).not.toMatch(/^\.|\.$/);
          expect(t.term.length).toBeLessThanOrEqual(64);
        }
      }),
    );
  });

  it('indexes a repeated token the same way the second time, from its cache', () => {
    const once = indexText('TcpListener::bind v1.2 Queues _');
    expect(once).toBe('tcp listen bind tcplistener tcplistenerbind 1.2 queue');
    expect(indexText('TcpListener::bind v1.2 Queues _ TcpListener::bind v1.2 Queues _')).toBe(
      `${once} ${once}`,
    );
  });

  it('is the same for a text and its indexed form read back by a whitespace split', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(indexText(s).split(' ').filter(Boolean)).toEqual(terms(s));
      }),
    );
  });
});

describe('analyzeQuery', () => {
  it('drops stop words before stemming and counts repeats', () => {
    expect(analyzeQuery('what is the SYN queue and the accept queue')).toEqual([
      { term: 'syn', count: 1, compound: false },
      { term: 'queue', count: 2, compound: false },
      { term: 'accept', count: 1, compound: false },
    ]);
  });

  it('keeps stop words when the query has nothing else', () => {
    expect(analyzeQuery('the who').map((t) => t.term)).toEqual(['the', 'who']);
  });

  it('checks stop words on the word before stemming', () => {
    expect(analyzeQuery('bees being').map((t) => t.term)).toEqual(['bee']);
    expect(analyzeQuery('was wasm').map((t) => t.term)).toEqual(['wasm']);
  });
});
