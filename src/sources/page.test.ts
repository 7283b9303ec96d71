import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isShelfError } from '../core/errors.js';
import { hasShared, sharedPath } from '../test-support/shared.js';
import { rawInput, testContext } from './__fixtures__/context.js';
import { parsePage } from './page.js';

const ctx = testContext();
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

describe('parsePage', () => {
  it('reads the metadata and the main content of an article page, without navigation or footer', async () => {
    const doc = await parsePage(
      rawInput(readFileSync(join(FIXTURES, 'article.html')), {
        location: 'https://blog.example/2024/sockets?ref=x',
      }),
      ctx,
    );
    expect(doc).toMatchObject({
      key: 'https://blog.example/2024/sockets?ref=x',
      kind: 'page',
      title: 'Sockets in Rust',
      url: 'https://blog.example/posts/sockets-in-rust',
      author: 'Dana Writer',
      published: '2024-06-07T18:02:59.000Z',
      tags: ['rust', 'Networking'],
    });
    const text = JSON.stringify(doc.blocks);
    expect(text).not.toMatch(/Archive|All rights reserved|Search|color: red/);
    expect(doc.blocks).toContainEqual({
      kind: 'heading',
      level: 2,
      text: 'Binding a listener',
      anchor: 'binding-a-listener',
    });
    expect(doc.blocks).toContainEqual({
      kind: 'code',
      lang: 'rust',
      text: 'use std::net::TcpListener;\n\nfn main() -> std::io::Result<()> {\n    let listener = TcpListener::bind("127.0.0.1:8080")?;\n    for stream in listener.incoming() {\n        let _stream = stream?;\n    }\n    Ok(())\n}',
    });
    expect(doc.blocks).toContainEqual({
      kind: 'list',
      ordered: false,
      items: ['The SYN queue holds half-open connections.', 'The accept queue holds established ones.'],
    });
  });

  it('falls back to the body for a short page and to the file name for the title', async () => {
    const doc = await parsePage(rawInput('<p>Only a line.</p>', { location: '/notes/My%20Page.html' }), ctx);
    expect(doc).toMatchObject({ title: 'My Page', blocks: [{ kind: 'paragraph', text: 'Only a line.' }] });
    expect(doc.url).toMatch(/^file:\/\//);
    expect(doc.published).toBeUndefined();
  });

  it('takes the date from JSON-LD or <time datetime> when there is no meta tag', async () => {
    const ld = await parsePage(
      rawInput(
        '<script type="application/ld+json">[{"@graph":[{"datePublished":"2021-02-03T04:05:06Z","author":{"name":"LD"}}]}]</script><p>x</p>',
      ),
      ctx,
    );
    expect(ld).toMatchObject({ published: '2021-02-03T04:05:06.000Z', author: 'LD' });
    const time = await parsePage(rawInput('<p>Posted <time datetime="2022-03-04">March 4</time></p>'), ctx);
    expect(time.published).toBe('2022-03-04T00:00:00.000Z');
  });

  it('survives 10,000 nested divs and refuses a page with no text as DOCUMENT_EMPTY', async () => {
    const deep = await parsePage(
      rawInput(`<body>${'<div>'.repeat(10_000)}<p>deep</p>${'</div>'.repeat(10_000)}</body>`),
      ctx,
    );
    expect(deep.blocks).toEqual([{ kind: 'paragraph', text: 'deep' }]);
    const error = await parsePage(rawInput('<html><body><script>x()</script></body></html>'), ctx).catch(
      (e: unknown) => e,
    );
    expect(isShelfError(error, 'DOCUMENT_EMPTY')).toBe(true);
  });
});

const BOOK = 'corpus/books/extra/little-book-about-os-development.html';

describe.skipIf(!hasShared(BOOK))('parsePage on the little book about OS development', () => {
  it('finds the chapter headings with their ids and keeps the code listings intact', async () => {
    const doc = await parsePage(
      rawInput(readFileSync(sharedPath(BOOK)), { location: sharedPath(BOOK) }),
      ctx,
    );
    expect(doc.title).toBe('The little book about OS development');
    expect(doc.author).toBe('Erik Helin, Adam Renberg');
    const headings = doc.blocks.filter((b) => b.kind === 'heading');
    expect(headings).toContainEqual({
      kind: 'heading',
      level: 1,
      text: '1 Introduction',
      anchor: 'introduction',
    });
    expect(headings).toContainEqual({
      kind: 'heading',
      level: 2,
      text: '1.1 About the Book',
      anchor: 'about-the-book',
    });
    expect(headings).toContainEqual({
      kind: 'heading',
      level: 1,
      text: '2 First Steps',
      anchor: 'first-steps',
    });
    expect(headings.length).toBeGreaterThan(100);
    const code = doc.blocks.filter((b) => b.kind === 'code');
    expect(code).toHaveLength(82);
    const loader = code.find((b) => b.text.includes('MAGIC_NUMBER equ 0x1BADB002'));
    expect(loader).toMatchObject({ lang: 'nasm' });
    expect(loader?.text).toContain('\n    loader:                         ; the loader label');
    expect(loader?.text).toContain('\n        jmp .loop                   ; loop forever');
    for (const b of code) expect(b.text).not.toMatch(/<span|<\/code>/);
  });
});
