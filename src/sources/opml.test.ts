import { describe, expect, it } from 'vitest';
import { isShelfError } from '../core/errors.js';
import { rawInput } from './__fixtures__/context.js';
import { parseOpml } from './opml.js';

const opml = (body: string): string =>
  `<?xml version="1.0"?><opml version="2.0"><head><title>Blogroll</title></head><body>${body}</body></opml>`;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isShelfError(e) ? e.code : `not a ShelfError: ${String(e)}`;
  }
  return undefined;
}

describe('parseOpml', () => {
  it('turns nested outlines into feeds whose parent titles are categories', () => {
    const outlines = parseOpml(
      rawInput(
        opml(`<outline text="Tech"><outline text="Systems">
          <outline text="A" title="Blog A" type="rss" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/" category="/x/Kernels,tech"/>
        </outline></outline>
        <outline text="B" xmlUrl="feeds/b.xml"/>
        <outline text="Just a link" type="link" url="https://c.example/"/>
        <outline text="FTP" xmlUrl="ftp://d.example/feed"/>
        <outline text="Script" xmlUrl="javascript:alert(1)"/>`),
        { location: 'https://home.example/lists/blogroll.opml' },
      ),
    );
    expect(outlines).toEqual([
      {
        title: 'Blog A',
        xmlUrl: 'https://a.example/feed',
        htmlUrl: 'https://a.example/',
        categories: ['Tech', 'Systems', 'Kernels'],
      },
      { title: 'B', xmlUrl: 'https://home.example/lists/feeds/b.xml', categories: [] },
    ]);
  });

  it('skips relative xmlUrls when the OPML file is local', () => {
    const outlines = parseOpml(
      rawInput(opml('<outline text="B" xmlUrl="b.xml"/><outline text="C" xmlUrl="http://c.example/rss"/>'), {
        location: '/home/me/blogroll.opml',
      }),
    );
    expect(outlines.map((o) => o.xmlUrl)).toEqual(['http://c.example/rss']);
  });

  it('refuses a file with no feed outlines, an HTML page, an empty file and garbage as OPML_MALFORMED', () => {
    expect(codeOf(() => parseOpml(rawInput(opml(''))))).toBe('OPML_MALFORMED');
    expect(codeOf(() => parseOpml(rawInput(opml('<outline text="folder only"/>'))))).toBe('OPML_MALFORMED');
    expect(codeOf(() => parseOpml(rawInput('<html><body>x</body></html>')))).toBe('OPML_MALFORMED');
    expect(codeOf(() => parseOpml(rawInput('')))).toBe('OPML_MALFORMED');
    expect(
      codeOf(() => parseOpml(rawInput(Uint8Array.from({ length: 512 }, (_, i) => (i * 13) % 256)))),
    ).toBe('OPML_MALFORMED');
  });

  it('refuses entity declarations', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>${opml('<outline text="&b;" xmlUrl="https://x.example/"/>').replace(/^<\?xml[^>]*>/, '')}`;
    expect(codeOf(() => parseOpml(rawInput(bomb)))).toBe('XML_ENTITY_EXPANSION');
  });

  it('survives 5,000 levels of nested outlines', () => {
    const deep = `${'<outline text="f">'.repeat(5_000)}<outline text="leaf" xmlUrl="https://x.example/feed"/>${'</outline>'.repeat(5_000)}`;
    const result = (() => {
      try {
        return parseOpml(rawInput(opml(deep)));
      } catch (e) {
        return e;
      }
    })();
    // Either parsed (categories collapse to one "f") or refused with a catalogue error: never a crash.
    if (Array.isArray(result))
      expect(result[0]).toMatchObject({ xmlUrl: 'https://x.example/feed', categories: ['f'] });
    else expect(isShelfError(result)).toBe(true);
  });
});
