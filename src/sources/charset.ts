/**
 * Bytes to text for every parser. The order of evidence, strongest first:
 *
 * 1. a byte-order mark (UTF-8, UTF-16LE/BE): it cannot lie about the bytes that follow;
 * 2. the HTTP `charset` parameter: RFC 7303 §3.2 and the HTML standard both let it win
 *    over what the document says about itself (an XML declaration, a `<meta>`);
 * 3. the document's own declaration: `<?xml ... encoding="..."?>` for XML, `<meta charset>`
 *    or `<meta http-equiv="Content-Type" content="...; charset=...">` within the first
 *    1024 bytes for HTML (the HTML prescan window);
 * 4. valid UTF-8 (a strict decode succeeds);
 * 5. a statistical guess (chardet);
 * 6. windows-1252, which maps every byte to a character.
 *
 * Labels go through the WHATWG Encoding Standard via `TextDecoder`, so `iso-8859-1` and
 * `us-ascii` decode as windows-1252, exactly as browsers do (windows-1252 itself is decoded
 * here: Node 20's decoder gets 0x80-0x9F wrong). An unknown label is skipped,
 * not fatal; decoding never throws (bad sequences become U+FFFD).
 */
import chardet from 'chardet';

export interface DecodeHints {
  /** The charset named by the HTTP Content-Type header, if any. */
  readonly charset?: string;
  /** Where to look for an in-document declaration. */
  readonly kind: 'xml' | 'html' | 'text';
}

/** How far into the bytes a document may declare its encoding (HTML prescan). */
const PRESCAN_BYTES = 1024;

/** Decodes `bytes` to a string following the order of evidence in the module header. */
export function decodeText(bytes: Uint8Array, hints: DecodeHints): string {
  const bom = sniffBom(bytes);
  if (bom) return decodeWith(bom.encoding, bytes.subarray(bom.length));

  const fromHttp = hints.charset ? normaliseLabel(hints.charset) : undefined;
  if (fromHttp) return decodeWith(fromHttp, bytes);

  const declared =
    hints.kind === 'xml'
      ? xmlDeclaredEncoding(bytes)
      : hints.kind === 'html'
        ? htmlDeclaredEncoding(bytes)
        : undefined;
  // A UTF-16 declaration in bytes we could read as ASCII is self-contradictory (the
  // HTML standard says the same): the bytes are ASCII-compatible, so treat it as UTF-8.
  if (declared) return decodeWith(declared.startsWith('utf-16') ? 'utf-8' : declared, bytes);

  const strict = tryStrictUtf8(bytes);
  if (strict !== undefined) return strict;

  const guessed = guessEncoding(bytes);
  return decodeWith(guessed ?? 'windows-1252', bytes);
}

/** The encoding a BOM announces, and the BOM's length. */
function sniffBom(bytes: Uint8Array): { encoding: string; length: number } | undefined {
  const [a, b, c] = bytes;
  if (a === 0xef && b === 0xbb && c === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (a === 0xff && b === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (a === 0xfe && b === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/** The WHATWG canonical name for a label, or undefined when the label is unknown. */
function normaliseLabel(label: string): string | undefined {
  const trimmed = label.trim().replace(/^["']|["']$/g, '');
  if (trimmed === '') return undefined;
  try {
    return new TextDecoder(trimmed).encoding;
  } catch {
    return undefined;
  }
}

function decodeWith(encoding: string, bytes: Uint8Array): string {
  if (encoding === 'windows-1252') return decodeWindows1252(bytes);
  try {
    return new TextDecoder(encoding).decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/**
 * WHATWG windows-1252 for bytes 0x80-0x9F (index-windows-1252.txt); the five bytes it leaves
 * undefined map to the C1 control of the same value. Written out because Node 20's
 * `TextDecoder('windows-1252')` decodes as ISO-8859-1 (0x93 comes out as U+0093, not “).
 */
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const chars: string[] = [];
    const end = Math.min(bytes.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      chars.push(b >= 0x80 && b <= 0x9f ? WINDOWS_1252_HIGH[b - 0x80]! : String.fromCharCode(b));
    }
    out += chars.join('');
  }
  return out;
}

function tryStrictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function guessEncoding(bytes: Uint8Array): string | undefined {
  try {
    const guess = chardet.detect(bytes.subarray(0, 64 * 1024));
    if (!guess) return undefined;
    const label = normaliseLabel(guess);
    // A guess of UTF-8 for bytes that failed a strict UTF-8 decode is wrong by definition.
    return label === 'utf-8' ? undefined : label;
  } catch {
    return undefined;
  }
}

/** The first bytes as Latin-1 text: enough to read an ASCII declaration. */
function head(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(0, PRESCAN_BYTES));
}

/** `encoding="..."` of the XML declaration (XML 1.0 §4.3.3), if it is the first thing. */
function xmlDeclaredEncoding(bytes: Uint8Array): string | undefined {
  const m = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head(bytes));
  return m?.[1] ? normaliseLabel(m[1]) : undefined;
}

/** `<meta charset>` or the http-equiv Content-Type form within the prescan window. */
function htmlDeclaredEncoding(bytes: Uint8Array): string | undefined {
  const text = head(bytes).replace(/<!--[\s\S]*?-->/g, '');
  const metaTag = /<meta\b[^>]*>/gi;
  for (const m of text.matchAll(metaTag)) {
    const tag = m[0];
    const direct = /\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i.exec(tag);
    if (direct?.[1]) {
      const label = normaliseLabel(direct[1]);
      if (label) return label;
    }
  }
  // An XHTML page may carry an XML declaration instead.
  return xmlDeclaredEncoding(bytes);
}
