/**
 * What kind of input some bytes are, from strongest to weakest evidence:
 *
 * 1. magic bytes: `%PDF-` within the first 1024 bytes (PDF 1.7 §7.5.2 lets junk precede it);
 *    without them nothing is a PDF, whatever its name or content type says;
 * 2. sniffing the first KB: an XML root of `<rss`, `<feed`, `<rdf:RDF` (feeds) or `<opml`,
 *    JSON naming a `jsonfeed.org` version, `<!doctype html`/`<html`. Content sniffing wins
 *    over a wrong extension or content type for feeds, because servers routinely send RSS
 *    as `text/html` or `text/plain`;
 * 3. the content type;
 * 4. the file extension;
 * 5. text that decodes cleanly is `text`; anything else is `unknown`.
 */
import type { RawInput } from './source.js';

export type DetectedKind = 'feed' | 'opml' | 'pdf' | 'html' | 'markdown' | 'text' | 'unknown';

const SNIFF_BYTES = 1024;

/** Detects the kind of an input (see the module header for the order of evidence). */
export function detectKind(input: RawInput): DetectedKind {
  const headBytes = input.bytes.subarray(0, SNIFF_BYTES);
  if (hasPdfMagic(headBytes)) return 'pdf';
  const head = sniffText(headBytes);
  const sniffed = sniff(head);
  if (sniffed) return sniffed;

  const type = input.contentType.toLowerCase();
  const ext = extension(input.location);
  const binary = looksBinary(headBytes);
  if (binary) return 'unknown';

  if (/^application\/(rss|atom|rdf|feed)\+xml$|^application\/feed\+json$/.test(type)) return 'feed';
  if (type === 'text/x-opml' || type === 'text/x-opml+xml') return 'opml';
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (type === 'text/markdown' || type === 'text/x-markdown') return 'markdown';

  switch (ext) {
    case 'rss':
    case 'atom':
      return 'feed';
    case 'opml':
      return 'opml';
    case 'html':
    case 'htm':
    case 'xhtml':
      return 'html';
    case 'md':
    case 'markdown':
    case 'mdown':
    case 'mkd':
      return 'markdown';
    case 'txt':
    case 'text':
      return 'text';
  }
  if (type === 'text/plain' || type === '')
    return head.trim() === '' && input.bytes.length === 0 ? 'unknown' : 'text';
  return type.startsWith('text/') ? 'text' : 'unknown';
}

function hasPdfMagic(bytes: Uint8Array): boolean {
  const magic = [0x25, 0x50, 0x44, 0x46, 0x2d]; // %PDF-
  outer: for (let i = 0; i + magic.length <= bytes.length; i++) {
    for (let j = 0; j < magic.length; j++) if (bytes[i + j] !== magic[j]) continue outer;
    return true;
  }
  return false;
}

/** The first KB as text: UTF-16 by BOM, else Latin-1 (enough for ASCII markers). */
function sniffText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('latin1').decode(bytes).replace(/^\u00ef\u00bb\u00bf/, '');
}

function sniff(head: string): DetectedKind | undefined {
  const text = head.replace(/^\s+/, '');
  if (text.startsWith('{')) {
    return /"version"\s*:\s*"https?:\/\/jsonfeed\.org\/version\//i.test(text) ? 'feed' : undefined;
  }
  if (!text.startsWith('<')) return undefined;
  // Skip the prolog: declaration, processing instructions, comments, a non-HTML DOCTYPE.
  const prolog = /^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*/.exec(text);
  const rest = text.slice(prolog?.[0].length ?? 0);
  if (/^<!doctype\s+html\b/i.test(rest)) return 'html';
  const afterDoctype = rest.replace(/^<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>\s*(?:<!--[\s\S]*?-->\s*)*/i, '');
  const root = /^<([A-Za-z_][\w.:-]*)/.exec(afterDoctype)?.[1]?.toLowerCase();
  if (root === undefined) return undefined;
  if (root === 'rss' || root === 'feed' || root === 'rdf:rdf' || root.endsWith(':feed')) return 'feed';
  if (root === 'opml') return 'opml';
  if (root === 'html' || root === 'head' || root === 'body') return 'html';
  return undefined;
}

function extension(location: string): string {
  const path = location.replace(/[?#].*$/, '');
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** NUL bytes or many control characters in the first KB: not text. */
function looksBinary(bytes: Uint8Array): boolean {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return false;
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return false;
  let control = 0;
  for (const b of bytes) {
    if (b === 0) return true;
    if (b < 0x09 || (b > 0x0d && b < 0x20)) control++;
  }
  return bytes.length > 0 && control / bytes.length > 0.1;
}
