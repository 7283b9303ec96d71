import { describe, expect, it } from 'vitest';
import { decodeText } from './charset.js';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('decodeText', () => {
  it('decodes UTF-8 with and without a BOM, dropping the BOM', () => {
    const utf8 = new TextEncoder().encode('héllo ✓');
    expect(decodeText(utf8, { kind: 'text' })).toBe('héllo ✓');
    expect(decodeText(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8]), { kind: 'text' })).toBe('héllo ✓');
  });

  it('decodes UTF-16LE by its BOM, even against an HTTP charset', () => {
    const body = Buffer.from('<?xml version="1.0"?><rss>é</rss>', 'utf16le');
    expect(decodeText(Uint8Array.from([0xff, 0xfe, ...body]), { kind: 'xml', charset: 'iso-8859-1' })).toBe(
      '<?xml version="1.0"?><rss>é</rss>',
    );
  });

  it('decodes an ISO-8859-1 feed so that 0xE9 and 0xFC become é and ü', () => {
    const feed = bytes('<?xml version="1.0" encoding="ISO-8859-1"?><t>caf', [0xe9], ' gr', [0xfc], 'n</t>');
    expect(decodeText(feed, { kind: 'xml' })).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?><t>café grün</t>',
    );
  });

  it('decodes windows-1252 curly quotes 0x93/0x94 (also when labelled iso-8859-1, per WHATWG)', () => {
    const quoted = bytes([0x93], 'hi', [0x94]);
    expect(decodeText(quoted, { kind: 'text', charset: 'windows-1252' })).toBe('\u201chi\u201d');
    expect(decodeText(quoted, { kind: 'text', charset: 'ISO-8859-1' })).toBe('\u201chi\u201d');
  });

  it('lets the HTTP charset win over a lying XML declaration (RFC 7303 §3.2)', () => {
    const doc = bytes('<?xml version="1.0" encoding="UTF-8"?><t>', [0xe9], '</t>');
    expect(decodeText(doc, { kind: 'xml', charset: 'iso-8859-1' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><t>é</t>',
    );
  });

  it('reads <meta charset> and the http-equiv form in HTML within the first 1024 bytes', () => {
    expect(decodeText(bytes('<meta charset="windows-1252"><p>', [0x80], '</p>'), { kind: 'html' })).toBe(
      '<meta charset="windows-1252"><p>€</p>',
    );
    const equiv = bytes(
      '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15"><p>',
      [0xa4],
    );
    expect(decodeText(equiv, { kind: 'html' })).toContain('<p>€');
    const late = bytes(' '.repeat(1100), '<meta charset="koi8-r">', [0xc1]);
    // Past the prescan window the declaration is ignored; invalid UTF-8 falls to a guess.
    expect(decodeText(late, { kind: 'html' })).not.toContain('\uFFFD\uFFFD');
  });

  it('falls back sensibly on an unknown label and never throws on odd bytes', () => {
    expect(decodeText(bytes('caf', [0xe9]), { kind: 'text', charset: 'x-no-such-charset' })).toBe('café');
    expect(decodeText(bytes('<?xml version="1.0" encoding="bogus"?>ok'), { kind: 'xml' })).toContain('ok');
    const garbage = Uint8Array.from({ length: 2048 }, (_, i) => (i * 31 + 7) % 256);
    expect(() => decodeText(garbage, { kind: 'html' })).not.toThrow();
    expect(decodeText(new Uint8Array(), { kind: 'xml' })).toBe('');
  });

  it('prefers valid UTF-8 over a guess when nothing is declared', () => {
    expect(decodeText(new TextEncoder().encode('naïve façade'), { kind: 'html' })).toBe('naïve façade');
  });
});
