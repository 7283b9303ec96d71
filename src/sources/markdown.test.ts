import { describe, expect, it } from 'vitest';
import { isShelfError } from '../core/errors.js';
import { rawInput, testContext } from './__fixtures__/context.js';
import { parseMarkdown, splitFrontMatter } from './markdown.js';

const ctx = testContext();
const md = (text: string, location = '/notes/Some%20Notes.md') =>
  parseMarkdown(rawInput(text, { location }), ctx);

describe('parseMarkdown', () => {
  it('reads front matter for title, author, date and tags', async () => {
    const doc = await md(`---
title: "Syn queues: a tour"
author: Dana
date: 2024-06-07
tags: [linux, Networking, linux]
draft: true
---
# Heading one

Body *text* with \`code\`.
`);
    expect(doc).toMatchObject({
      key: '/notes/Some%20Notes.md',
      kind: 'markdown',
      title: 'Syn queues: a tour',
      author: 'Dana',
      published: '2024-06-07T00:00:00.000Z',
      tags: ['linux', 'Networking'],
    });
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Heading one', anchor: 'heading-one' },
      { kind: 'paragraph', text: 'Body text with code.' },
    ]);
  });

  it('takes the first h1 as title, else the decoded file name', async () => {
    expect((await md('## Sub\n\n# Main\n\ntext')).title).toBe('Main');
    expect((await md('just text')).title).toBe('Some Notes');
  });

  it('keeps fenced code exactly with its language, GFM tables, nested lists and task items', async () => {
    const doc = await md(
      '```Rust\nfn main() {\n    println!("<b>");\n}\n```\n\n| A | B |\n|---|---|\n| 1 | **2** |\n\n- one\n  - nested\n- [x] done\n\nText.\n\n    indented code\n',
    );
    expect(doc.blocks).toEqual([
      { kind: 'code', lang: 'rust', text: 'fn main() {\n    println!("<b>");\n}' },
      {
        kind: 'table',
        header: true,
        rows: [
          ['A', 'B'],
          ['1', '2'],
        ],
      },
      { kind: 'list', ordered: false, items: ['one', '  nested', '[x] done'] },
      { kind: 'paragraph', text: 'Text.' },
      { kind: 'code', text: 'indented code' },
    ]);
  });

  it('drops inline HTML tags but keeps their text, and reads HTML blocks', async () => {
    const doc = await md('Press <kbd>Ctrl</kbd>+<kbd>C</kbd>.\n\n<div>\n<p>Raw <b>html</b></p>\n</div>\n');
    expect(doc.blocks).toEqual([
      { kind: 'paragraph', text: 'Press Ctrl+C.' },
      { kind: 'paragraph', text: 'Raw html' },
    ]);
  });

  it('survives 5,000 nested block quotes and refuses an empty file', async () => {
    const deep = await md(`${'>'.repeat(5_000)} deep`);
    expect(deep.blocks).toEqual([{ kind: 'paragraph', text: 'deep' }]);
    const error = await md('  \n\n').catch((e: unknown) => e);
    expect(isShelfError(error, 'DOCUMENT_EMPTY')).toBe(true);
  });
});

describe('splitFrontMatter', () => {
  it('reads block lists and quoted values, and leaves text without front matter alone', () => {
    expect(splitFrontMatter("---\ntags:\n  - a\n  - 'b c'\ntitle: 'It''s'\n---\nbody").data).toEqual({
      tags: ['a', 'b c'],
      title: "It's",
    });
    expect(splitFrontMatter('no front matter\n---\n')).toEqual({ data: {}, body: 'no front matter\n---\n' });
  });
});
