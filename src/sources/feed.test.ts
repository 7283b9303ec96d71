import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isShelfError } from '../core/errors.js';
import { hasShared, sharedPath } from '../test-support/shared.js';
import { rawInput, readGolden, testContext } from './__fixtures__/context.js';
import { parseDate, parseFeed } from './feed.js';

const FEEDS = ['devto-narasimha1997', 'devto-nicolasmesa', 'forem-douglasmakey'] as const;
const ctx = testContext();

async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isShelfError(e), `expected a ShelfError ${code}, got ${String(e)}`).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  return e as Error;
}

function rss(items: string, head = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${head}<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Test feed</title><link>https://example.com/</link><description>d</description>${items}</channel></rss>`;
}

describe.skipIf(!hasShared(...FEEDS.map((f) => `corpus/feeds/${f}.xml`)))(
  'parseFeed on the shared dev.to/forem feeds',
  () => {
    const load = (name: string) =>
      parseFeed(
        rawInput(readFileSync(sharedPath('corpus', 'feeds', `${name}.xml`)), {
          location: `https://dev.to/feed/${name}`,
          contentType: 'application/rss+xml',
        }),
        ctx,
      );

    it('reads 12 + 9 + 12 items whose titles, authors, dates, tags and keys match the golden summary', async () => {
      const summary: Record<string, unknown> = {};
      for (const name of FEEDS) {
        const feed = await load(name);
        summary[name] = {
          format: feed.format,
          title: feed.title,
          siteUrl: feed.siteUrl,
          crossPosts: feed.crossPosts.length,
          items: feed.items.map((d) => ({
            key: d.key,
            title: d.title,
            url: d.url,
            author: d.author,
            published: d.published,
            tags: d.tags,
            blocks: d.blocks.length,
            code: d.blocks.filter((b) => b.kind === 'code').length,
          })),
        };
      }
      const counts = FEEDS.map((f) => (summary[f] as { items: unknown[] }).items.length);
      expect(counts).toEqual([12, 9, 12]);
      expect(summary).toEqual(readGolden('feeds-summary.json', summary));
    });

    it('gives every item a kind, a title, an author, an ISO date, a URL and a unique key', async () => {
      for (const name of FEEDS) {
        const feed = await load(name);
        const keys = new Set(feed.items.map((d) => d.key));
        expect(keys.size).toBe(feed.items.length);
        for (const d of feed.items) {
          expect(d.kind).toBe('article');
          expect(d.title).not.toBe('');
          expect(d.author).toBeTruthy();
          expect(d.published).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
          expect(d.url).toMatch(/^https:\/\//);
        }
      }
    });

    it.each([
      ['devto-nicolasmesa', 'Booting Your Own Kernel on Raspberry Pi via Uart', 'uart-article.blocks.json'],
      ['forem-douglasmakey', 'MU Online in Rust: Hardening the Foundation', 'mu-online-rust.blocks.json'],
      ['forem-douglasmakey', 'Networking and Sockets: Syn and Accept queue', 'syn-accept-queue.blocks.json'],
    ])('keeps the blocks of %s / "%s" as in the golden file', async (name, titleStart, golden) => {
      const feed = await load(name);
      const doc = feed.items.find((d) => d.title.startsWith(titleStart));
      expect(doc).toBeDefined();
      expect(doc!.blocks).toEqual(readGolden(golden, doc!.blocks));
      const code = doc!.blocks.filter((b) => b.kind === 'code');
      expect(code.length).toBeGreaterThan(0);
      for (const b of doc!.blocks) {
        const text = JSON.stringify(b);
        expect(text).not.toMatch(/<span|class=|fullscreen mode/i);
      }
      expect(code.some((b) => b.text.includes('\n    '))).toBe(true);
    });

    it('keeps TcpListener code from the Rust articles with its lines and indentation', async () => {
      const feed = await load('forem-douglasmakey');
      const code = feed.items
        .flatMap((d) => d.blocks)
        .filter((b) => b.kind === 'code' && b.text.includes('TcpListener'));
      expect(code.length).toBeGreaterThan(0);
      const first = code.find((b) => b.kind === 'code' && b.text.includes('TcpListener::bind'));
      expect(first?.kind === 'code' && first.lang).toBe('rust');
      expect(first?.kind === 'code' && first.text).toContain('        let listener = TcpListener::bind(');
    });

    it('reports the cross-post origin of the nicolasmesa articles without replacing their links', async () => {
      const feed = await load('devto-nicolasmesa');
      expect(feed.crossPosts.length).toBeGreaterThan(0);
      const first = feed.crossPosts[0]!;
      expect(first.url).toBe('https://blog.nicolasmesa.co/');
      const item = feed.items.find((d) => d.key === first.key)!;
      expect(item.url).toMatch(/^https:\/\/dev\.to\/nicolasmesa\//);
      expect(item.blocks[0]).toMatchObject({
        kind: 'paragraph',
        text: expect.stringContaining('Cross-posted from'),
      });
    });
  },
);

describe('parseFeed formats', () => {
  it('reads RSS 2.0 with content:encoded over description, dc:creator, categories and a guid', async () => {
    const feed = await parseFeed(
      rawInput(
        rss(`<item><title>Hello &amp; welcome</title><link>/posts/1</link><guid isPermaLink="false">tag:1</guid>
        <dc:creator>Ada</dc:creator><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>
        <category> Rust </category><category>rust</category><category>Go</category>
        <description>short</description><content:encoded><![CDATA[<h2 id="s1">Part</h2><p>Full <b>text</b></p>]]></content:encoded></item>`),
      ),
      ctx,
    );
    expect(feed.format).toBe('rss');
    expect(feed.title).toBe('Test feed');
    expect(feed.siteUrl).toBe('https://example.com/');
    const [d] = feed.items;
    expect(d).toEqual({
      key: 'tag:1',
      kind: 'article',
      title: 'Hello & welcome',
      url: 'https://example.com/posts/1',
      author: 'Ada',
      published: '2003-06-10T04:00:00.000Z',
      tags: ['Rust', 'Go'],
      blocks: [
        { kind: 'heading', level: 2, text: 'Part', anchor: 's1' },
        { kind: 'paragraph', text: 'Full text' },
      ],
    });
  });

  it('reads Atom with alternate links, content over summary, category labels and the feed author', async () => {
    const atom = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:f</id>
      <updated>2020-01-02T00:00:00Z</updated><author><name>Feed Author</name></author><link href="https://a.example/"/>
      <entry><id>urn:e1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; title</title><link rel="self" href="/self"/><link rel="alternate" type="text/html" href="/p/1"/>
      <published>2020-01-01T10:00:00+02:00</published><updated>2020-01-02T00:00:00Z</updated>
      <category term="go" label="Go"/><category term="rust"/>
      <summary>s</summary><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry>
      <entry><id>urn:e2</id><title>Plain</title><updated>2020-01-03T00:00:00Z</updated><summary>Just a summary.</summary></entry></feed>`;
    const feed = await parseFeed(rawInput(atom, { location: 'https://a.example/atom.xml' }), ctx);
    expect(feed.format).toBe('atom');
    expect(feed.siteUrl).toBe('https://a.example/');
    expect(feed.items[0]).toMatchObject({
      key: 'urn:e1',
      title: 'Bold title',
      url: 'https://a.example/p/1',
      author: 'Feed Author',
      published: '2020-01-01T08:00:00.000Z',
      updated: '2020-01-02T00:00:00.000Z',
      tags: ['Go', 'rust'],
      blocks: [{ kind: 'paragraph', text: 'Body' }],
    });
    expect(feed.items[1]).toMatchObject({ key: 'urn:e2', published: '2020-01-03T00:00:00.000Z' });
    expect(feed.items[1]!.blocks).toEqual([{ kind: 'paragraph', text: 'Just a summary.' }]);
  });

  it('reads RSS 1.0 (RDF) with dc:date, dc:creator and dc:subject', async () => {
    const rdf = `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="http://r.example/"><title>R</title><link>http://r.example/</link><description>d</description></channel>
      <item rdf:about="http://r.example/1"><title>One</title><link>http://r.example/1</link><description>&lt;p&gt;D&lt;/p&gt;</description>
      <dc:date>2003-01-01T10:00:00+01:00</dc:date><dc:creator>Bob</dc:creator><dc:subject>x</dc:subject></item></rdf:RDF>`;
    const feed = await parseFeed(rawInput(rdf), ctx);
    expect(feed.format).toBe('rdf');
    expect(feed.items[0]).toMatchObject({
      key: 'http://r.example/1',
      title: 'One',
      author: 'Bob',
      published: '2003-01-01T09:00:00.000Z',
      tags: ['x'],
      blocks: [{ kind: 'paragraph', text: 'D' }],
    });
  });

  it('reads JSON Feed 1.1 preferring content_html, then content_text, then summary', async () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'J',
      home_page_url: 'https://j.example/',
      authors: [{ name: 'Feed J' }],
      items: [
        {
          id: '1',
          url: 'https://j.example/1',
          title: 'H',
          content_html: '<p>html</p>',
          content_text: 'text',
          tags: ['a', 'A', ' b '],
        },
        {
          id: '2',
          content_text: 'First para.\n\nSecond para.',
          summary: 's',
          authors: [{ name: 'Item J' }],
          date_published: '2021-05-06T07:08:09Z',
        },
        { id: '3', summary: 'only summary' },
      ],
    });
    const feed = await parseFeed(rawInput(json, { location: 'https://j.example/feed.json' }), ctx);
    expect(feed.format).toBe('json');
    expect(feed.items.map((d) => d.blocks)).toEqual([
      [{ kind: 'paragraph', text: 'html' }],
      [
        { kind: 'paragraph', text: 'First para.' },
        { kind: 'paragraph', text: 'Second para.' },
      ],
      [{ kind: 'paragraph', text: 'only summary' }],
    ]);
    expect(feed.items[0]!.tags).toEqual(['a', 'b']);
    expect(feed.items[0]!.author).toBe('Feed J');
    expect(feed.items[1]!.author).toBe('Item J');
    expect(feed.items[1]!.published).toBe('2021-05-06T07:08:09.000Z');
    expect(feed.items[2]!.title).toBe('only summary');
  });

  it('accepts a feed with zero items', async () => {
    const feed = await parseFeed(rawInput(rss('')), ctx);
    expect(feed.items).toEqual([]);
  });
});

describe('parseFeed items with missing fields', () => {
  const bytes =
    rss(`<item><description>&lt;h2&gt;A heading&lt;/h2&gt;&lt;p&gt;text&lt;/p&gt;</description></item>
    <item><description>Some words that make up a fairly long first paragraph of an untitled item in a feed</description></item>
    <item><link>https://example.com/linked</link></item>
    <item></item>`);
  // feedsmith drops the last, empty <item>: nothing in it could ever be indexed.

  it('derives titles, uses the link as key, and never invents a date', async () => {
    const feed = await parseFeed(rawInput(bytes), ctx);
    expect(feed.items.map((d) => d.title)).toEqual([
      'A heading',
      'Some words that make up a fairly long first paragraph of an untitled…',
      'Untitled (Test feed)',
    ]);
    expect(feed.items[2]!.key).toBe('https://example.com/linked');
    expect(feed.items[0]!.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const d of feed.items) expect(d.published).toBeUndefined();
  });

  it('gives the same keys when the same bytes are parsed twice', async () => {
    const a = await parseFeed(rawInput(bytes), ctx);
    const b = await parseFeed(rawInput(bytes), ctx);
    expect(a.items.map((d) => d.key)).toEqual(b.items.map((d) => d.key));
    expect(new Set(a.items.slice(0, 3).map((d) => d.key)).size).toBe(3);
  });
});

describe('parseFeed on hostile and broken input', () => {
  it('refuses malformed XML as FEED_MALFORMED with the reason', async () => {
    const e = await expectCode(
      parseFeed(
        rawInput(
          '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a</channel></rss>',
        ),
        ctx,
      ),
      'FEED_MALFORMED',
    );
    expect(e.message).toMatch(/not well-formed: .+/);
  });

  it('refuses a truncated feed as FEED_MALFORMED', async () => {
    const whole = rss('<item><title>a</title><guid>1</guid></item>');
    const e = await expectCode(parseFeed(rawInput(whole.slice(0, whole.length - 20)), ctx), 'FEED_MALFORMED');
    expect(e.message).toContain('truncated');
  });

  it('refuses an HTML page served as a feed as FEED_IS_HTML', async () => {
    await expectCode(
      parseFeed(
        rawInput('<!DOCTYPE html><html><head><title>Blog</title></head><body><p>hi</p></body></html>', {
          contentType: 'application/rss+xml',
        }),
        ctx,
      ),
      'FEED_IS_HTML',
    );
    await expectCode(parseFeed(rawInput('\n<html lang="en"><body>x</body></html>'), ctx), 'FEED_IS_HTML');
  });

  it('refuses a billion-laughs entity bomb before parsing, expanding nothing', async () => {
    const levels = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const bomb = rss('<item><title>&lol9;</title></item>', `<!DOCTYPE rss [<!ENTITY lol0 "lol">${levels}]>`);
    const e = await expectCode(parseFeed(rawInput(bomb), ctx), 'XML_ENTITY_EXPANSION');
    expect(e.message).not.toContain('lollol');
  });

  it('refuses an external entity (XXE) and never reads the file it names', async () => {
    const xxe = rss(
      '<item><title>&xxe;</title></item>',
      '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    );
    const e = await expectCode(parseFeed(rawInput(xxe), ctx), 'XML_ENTITY_EXPANSION');
    expect(e.message).not.toMatch(/root:/);
  });

  it('does not expand entities even if a declaration slipped past the guard (feedsmith checked directly)', async () => {
    const { parseRssFeed } = await import('feedsmith');
    const internal = rss(
      '<item><title>&e2;</title></item>',
      '<!DOCTYPE rss [<!ENTITY e1 "ha"><!ENTITY e2 "&e1;&e1;">]>',
    );
    const parsed = parseRssFeed(internal);
    expect(parsed.items?.[0]?.title).toBe('&e2;');
    const external = rss(
      '<item><title>&x;</title></item>',
      '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    );
    expect(() => parseRssFeed(external)).toThrow();
  });

  it('decodes an ISO-8859-1 feed by its XML declaration', async () => {
    const head = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Caf';
    const tail = '</title><item><title>Gr\u00fc\u00dfe</title><guid>1</guid></item></channel></rss>';
    const bytes = Uint8Array.from([
      ...Buffer.from(head, 'latin1'),
      0xe9,
      ...Buffer.from(tail, 'latin1'),
      0xfc,
    ]);
    const feed = await parseFeed(rawInput(bytes), ctx);
    expect(feed.title).toBe('Café');
    expect(feed.items[0]!.title).toBe('Grüße');
  });

  it('parses a generated feed of 10,000 items', async () => {
    const items = Array.from(
      { length: 10_000 },
      (_, i) =>
        `<item><title>Item ${i}</title><guid>g${i}</guid><description>&lt;p&gt;body ${i}&lt;/p&gt;</description></item>`,
    ).join('');
    const feed = await parseFeed(rawInput(rss(items)), ctx);
    expect(feed.items).toHaveLength(10_000);
    expect(feed.items[9_999]).toMatchObject({ key: 'g9999', title: 'Item 9999' });
  });

  it('refuses 20,001 items over a configured limit of 20,000 as FEED_TOO_MANY_ITEMS', async () => {
    const items = '<item><title>x</title></item>'.repeat(20_001);
    const e = await expectCode(
      parseFeed(rawInput(rss(items)), testContext({ limits: { maxFeedItems: 20_000 } })),
      'FEED_TOO_MANY_ITEMS',
    );
    expect(e.message).toContain('20001');
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 't',
      items: [{ id: 1 }, { id: 2 }],
    });
    await expectCode(
      parseFeed(rawInput(json), testContext({ limits: { maxFeedItems: 1 } })),
      'FEED_TOO_MANY_ITEMS',
    );
  });

  it('survives 10,000 nested divs in an item', async () => {
    const deep = `${'<div>'.repeat(10_000)}<p>deep text</p>${'</div>'.repeat(10_000)}`;
    const feed = await parseFeed(
      rawInput(rss(`<item><title>Deep</title><description><![CDATA[${deep}]]></description></item>`)),
      ctx,
    );
    expect(feed.items[0]!.blocks).toEqual([{ kind: 'paragraph', text: 'deep text' }]);
  });

  it('reads a JSON feed with wrong types without crashing, keeping what is usable', async () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 42,
      items: [
        { id: 7, title: ['x'], content_html: { a: 1 }, tags: 'solo', date_published: 12, authors: 'nobody' },
        'junk',
        null,
      ],
    });
    const feed = await parseFeed(rawInput(json), ctx);
    expect(feed.title).toBe('42');
    expect(feed.items).toHaveLength(1);
    expect(feed.items[0]!.key).toBe('7');
    expect(feed.items[0]!.published).toBeUndefined();
  });

  it('refuses JSON that is not a JSON Feed, and invalid JSON, as FEED_MALFORMED', async () => {
    await expectCode(parseFeed(rawInput('{"hello": "world"}'), ctx), 'FEED_MALFORMED');
    await expectCode(parseFeed(rawInput('[1, 2, 3]'), ctx), 'FEED_MALFORMED');
    await expectCode(
      parseFeed(rawInput('{"version": "https://jsonfeed.org/version/1", "title": '), ctx),
      'FEED_MALFORMED',
    );
  });

  it('refuses an empty file as FEED_MALFORMED', async () => {
    await expectCode(parseFeed(rawInput(''), ctx), 'FEED_MALFORMED');
    await expectCode(parseFeed(rawInput('  \n\t'), ctx), 'FEED_MALFORMED');
  });

  it('refuses binary garbage as FEED_MALFORMED', async () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
    await expectCode(parseFeed(rawInput(garbage), ctx), 'FEED_MALFORMED');
  });
});

describe('parseDate', () => {
  it.each([
    ['Wed, 21 Aug 2019 02:13:02 +0000', '2019-08-21T02:13:02.000Z'],
    ['21 Aug 2019 02:13:02 GMT', '2019-08-21T02:13:02.000Z'],
    ['Mon, 21 Aug 2019 02:13 EST', '2019-08-21T07:13:00.000Z'],
    ['Wed, 21 August 19 02:13:02 +02:00', '2019-08-21T00:13:02.000Z'],
    ['Thu, 5 Sept 2024 10:00:00 PDT', '2024-09-05T17:00:00.000Z'],
    ['2024-06-07T20:02:59Z', '2024-06-07T20:02:59.000Z'],
    ['2024-06-07T20:02:59.5+05:30', '2024-06-07T14:32:59.500Z'],
    ['2024-06-07 20:02:59', '2024-06-07T20:02:59.000Z'],
    ['2024-06-07', '2024-06-07T00:00:00.000Z'],
  ])('reads %s', (raw, iso) => {
    expect(parseDate(raw)).toBe(iso);
  });

  it.each(['', '   ', 'yesterday', '12', '2024-13-40', '0000-01-01T00:00:00Z', 'Foo, 99 Bar 2020'])(
    'gives nothing for %j',
    (raw) => {
      expect(parseDate(raw)).toBeUndefined();
    },
  );
});
