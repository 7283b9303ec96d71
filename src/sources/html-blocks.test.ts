import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blocksToPlainText, findCrossPostUrl, htmlToBlocks, slugify } from './html-blocks.js';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('htmlToBlocks', () => {
  it('turns headings, paragraphs, lists, tables and quotes into blocks with entities decoded', () => {
    const html = `<h1 id="top">Title &amp; more</h1><p>Some <em>inline</em> <code>code()</code>
      and   spaces&nbsp;here.</p><blockquote><p>Quoted</p></blockquote>
      <ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul><ol><li>first</li></ol>
      <table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1</td><td><b>2</b></td></tr></tbody></table>`;
    expect(htmlToBlocks(html)).toEqual([
      { kind: 'heading', level: 1, text: 'Title & more', anchor: 'top' },
      { kind: 'paragraph', text: 'Some inline code() and spaces here.' },
      { kind: 'paragraph', text: 'Quoted' },
      { kind: 'list', ordered: false, items: ['one', 'two', '  nested'] },
      { kind: 'list', ordered: true, items: ['first'] },
      {
        kind: 'table',
        header: true,
        rows: [
          ['A', 'B'],
          ['1', '2'],
        ],
      },
    ]);
  });

  it('gives headings an anchor from an inner <a name>, else a unique slug', () => {
    const blocks = htmlToBlocks('<h2><a name="setup"></a>Set up</h2><h2>Why?</h2><h2>Why?</h2><h3>!!!</h3>');
    expect(blocks).toEqual([
      { kind: 'heading', level: 2, text: 'Set up', anchor: 'setup' },
      { kind: 'heading', level: 2, text: 'Why?', anchor: 'why' },
      { kind: 'heading', level: 2, text: 'Why?', anchor: 'why-1' },
      { kind: 'heading', level: 3, text: '!!!' },
    ]);
  });

  it('keeps dev.to highlighted code exactly and drops the fullscreen buttons', () => {
    const html = `<p>Run:</p><div class="highlight js-code-highlight">
<pre class="highlight rust"><code><span class="k">fn</span> <span class="nf">main</span><span class="p">()</span> <span class="p">{</span>
    <span class="nd">println!</span><span class="p">(</span><span class="s">"a &lt; b"</span><span class="p">);</span>
<span class="p">}</span>
</code></pre>
<div class="highlight__panel js-actions-panel">
<div class="highlight__panel-action js-fullscreen-code-action">
    <svg><title>Enter fullscreen mode</title></svg>
    <svg><title>Exit fullscreen mode</title></svg>
</div></div></div><p>Done.</p>`;
    expect(htmlToBlocks(html)).toEqual([
      { kind: 'paragraph', text: 'Run:' },
      { kind: 'code', lang: 'rust', text: 'fn main() {\n    println!("a < b");\n}' },
      { kind: 'paragraph', text: 'Done.' },
    ]);
  });

  it('drops bare fullscreen-mode text, scripts, styles, nav, forms, iframes and comments', () => {
    const html = `<nav>Menu</nav><script>alert(1)</script><style>p{}</style><!-- hidden -->
      <form><input value="x"><button>Send</button></form><iframe src="x">frame</iframe>
      <div>Enter fullscreen mode</div><div>Exit fullscreen mode</div><p>Kept</p>`;
    expect(htmlToBlocks(html)).toEqual([{ kind: 'paragraph', text: 'Kept' }]);
  });

  it('reads the language from language-x, lang-x, highlight-source-x and data-lang, and br in pre as a newline', () => {
    const langs = [
      '<pre><code class="language-go">x</code></pre>',
      '<pre class="lang-py">x</pre>',
      '<div class="highlight highlight-source-c"><pre>x</pre></div>',
      '<pre data-lang="SQL">x</pre>',
      '<pre class="highlight plaintext"><code>x</code></pre>',
    ].map((h) => htmlToBlocks(h)[0]);
    expect(langs.map((b) => (b?.kind === 'code' ? b.lang : 'not code'))).toEqual([
      'go',
      'py',
      'c',
      'sql',
      undefined,
    ]);
    expect(htmlToBlocks('<pre>a<br>  b<br/>c</pre>')).toEqual([{ kind: 'code', text: 'a\n  b\nc' }]);
  });

  it('keeps meaningful image alt text and drops file names and placeholders', () => {
    const blocks = htmlToBlocks(
      '<p><img alt="Job queue structure"><img alt="image"><img alt="shot.png"><img></p>',
    );
    expect(blocks).toEqual([{ kind: 'paragraph', text: 'Job queue structure' }]);
  });

  it('emits a code listing inside a list item between the list parts', () => {
    const blocks = htmlToBlocks('<ul><li>Read:<pre>cat x</pre></li><li>Write</li></ul>');
    expect(blocks).toEqual([
      { kind: 'list', ordered: false, items: ['Read:'] },
      { kind: 'code', text: 'cat x' },
      { kind: 'list', ordered: false, items: ['Write'] },
    ]);
  });

  it('does not overflow the stack on 10,000 nested divs or lists', () => {
    const divs = `${'<div>'.repeat(10_000)}deep${'</div>'.repeat(10_000)}`;
    expect(htmlToBlocks(divs)).toEqual([{ kind: 'paragraph', text: 'deep' }]);
    const lists = `${'<ul><li>x'.repeat(3_000)}${'</li></ul>'.repeat(3_000)}`;
    const [list] = htmlToBlocks(lists);
    expect(list?.kind === 'list' && list.items.length).toBe(3_000);
  });

  it('never leaves markup in prose and round-trips code text exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii' }),
        fc.string({ unit: 'grapheme-ascii' }),
        (prose, code) => {
          const blocks = htmlToBlocks(`<p>${escape(prose)}</p><pre>${escape(code)}</pre>`);
          for (const b of blocks) if (b.kind === 'paragraph') expect(b.text).not.toMatch(/<\/?p>|<\/?pre>/);
          const codeBlocks = blocks.filter((b) => b.kind === 'code');
          // Contract: one leading newline and trailing blank space are not displayed.
          const shown = code
            .replace(/^\r?\n/, '')
            .replace(/\r\n?/g, '\n')
            .replace(/\s+$/, '');
          if (shown.trim() === '') expect(codeBlocks).toEqual([]);
          else expect(codeBlocks).toEqual([{ kind: 'code', text: shown }]);
          const prosePart = blocks
            .filter((b) => b.kind === 'paragraph')
            .map((b) => (b.kind === 'paragraph' ? b.text : ''));
          const expected = prose.replace(/\s+/g, ' ').trim();
          expect(prosePart).toEqual(expected === '' ? [] : [expected]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never leaves tags from the input markup in prose for arbitrary text inside inline markup (property)', () => {
    const tag = fc.constantFrom('b', 'em', 'span', 'a', 'code', 'strong');
    fc.assert(
      fc.property(fc.array(fc.tuple(tag, fc.string()), { maxLength: 8 }), (parts) => {
        const html = `<p>${parts.map(([t, s]) => `<${t}>${escape(s)}</${t}>`).join(' ')}</p>`;
        const text = blocksToPlainText(htmlToBlocks(html));
        for (const [t] of parts) expect(text).not.toContain(`<${t}>`);
      }),
      { numRuns: 200 },
    );
  });
});

describe('findCrossPostUrl', () => {
  it('finds the link after "Cross-posted from" and a rel=canonical link, resolved', () => {
    expect(findCrossPostUrl('<p>Cross-posted from my blog <a href="https://b.example/x">here</a>.</p>')).toBe(
      'https://b.example/x',
    );
    expect(findCrossPostUrl('<link rel="canonical" href="/orig">', { baseUrl: 'https://c.example/a/' })).toBe(
      'https://c.example/orig',
    );
    expect(findCrossPostUrl('<p>See <a href="https://x.example/">x</a></p>')).toBeUndefined();
  });
});

describe('slugify', () => {
  it('follows the GitHub rule', () => {
    expect(slugify('  Hello, World! 2.0 ')).toBe('hello-world-20');
    expect(slugify('Ünïcode_stays-here')).toBe('ünïcode_stays-here');
  });
});
