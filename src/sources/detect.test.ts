import { describe, expect, it } from 'vitest';
import { rawInput } from './__fixtures__/context.js';
import { detectKind } from './detect.js';

const at = (content: string | Uint8Array, location: string, contentType = '') =>
  detectKind(rawInput(content, { location, contentType }));

describe('detectKind', () => {
  it('recognises a PDF by its magic bytes only', () => {
    expect(at('%PDF-1.7\n...', '/x/book.bin')).toBe('pdf');
    expect(at('not a pdf at all', '/x/book.pdf', 'application/pdf')).not.toBe('pdf');
  });

  it('sniffs RSS, Atom, RDF and JSON Feed over a wrong extension or content type', () => {
    expect(at('<?xml version="1.0"?>\n<!-- c --><rss version="2.0">', '/x/feed.html', 'text/html')).toBe(
      'feed',
    );
    expect(at('<feed xmlns="http://www.w3.org/2005/Atom">', 'https://e.example/a.txt', 'text/plain')).toBe(
      'feed',
    );
    expect(at('<?xml version="1.0"?><rdf:RDF xmlns:rdf="x">', '/x/index.rdf')).toBe('feed');
    expect(at('{ "version": "https://jsonfeed.org/version/1.1", "title": "x" }', '/x/feed.txt')).toBe('feed');
    expect(at('\uFEFF<?xml version="1.0"?><opml version="2.0">', '/x/list.xml')).toBe('opml');
  });

  it('sniffs HTML, then trusts content type, then extension', () => {
    expect(at('<!doctype html><title>x</title>', '/x/page.md')).toBe('html');
    expect(at('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x"><html>', '/x/book')).toBe('html');
    expect(at('hello', 'https://e.example/p', 'text/html')).toBe('html');
    expect(at('# Title', '/x/notes.md')).toBe('markdown');
    expect(at('# Title', 'https://e.example/readme', 'text/markdown')).toBe('markdown');
    expect(at('just words', '/x/notes.txt')).toBe('text');
    expect(at('just words', '/x/notes')).toBe('text');
    expect(at('{"a":1}', '/x/data.json', 'application/json')).toBe('unknown');
  });

  it('calls binary garbage and empty files unknown', () => {
    const garbage = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 1) % 256);
    expect(at(garbage, '/x/file.txt')).toBe('unknown');
    expect(at('', '/x/empty')).toBe('unknown');
  });
});
