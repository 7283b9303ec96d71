/**
 * Plain text files: paragraphs split at blank lines, indented blocks (four spaces or a tab
 * on every line, as in Markdown's indented code) kept verbatim as code. The title is the
 * first line when it is short and stands alone, else the file name.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Block, ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import { decodeText } from './charset.js';
import type { RawInput, SourceContext } from './source.js';

/** A first line longer than this is prose, not a title. */
const MAX_TITLE_CHARS = 100;

/** Parses a plain text file into one document of kind `text`. */
// eslint-disable-next-line @typescript-eslint/require-await -- async by the source contract; parsing itself is synchronous
export async function parseText(input: RawInput, _ctx: SourceContext): Promise<ParsedDocument> {
  const text = decodeText(input.bytes, {
    kind: 'text',
    ...(input.charset ? { charset: input.charset } : {}),
  });
  const blocks = textToBlocks(text);
  if (blocks.length === 0) throw new ShelfError('DOCUMENT_EMPTY', { location: input.location });
  const firstLine = text.replace(/^\s+/, '').split(/\r?\n/, 1)[0]?.trim() ?? '';
  const first = blocks[0];
  // A short first line followed by a blank line reads as a title.
  const standsAlone = first?.kind === 'paragraph' && first.text === firstLine;
  const title =
    firstLine !== '' && firstLine.length <= MAX_TITLE_CHARS && standsAlone
      ? firstLine
      : fileTitle(input.location);
  return {
    key: input.location,
    kind: 'text',
    title,
    ...optionalUrl(input.location),
    tags: [],
    blocks,
  };
}

/**
 * Splits text into blocks: runs of lines indented by four spaces or a tab become code (the
 * indent removed, inner blank lines kept), the rest paragraphs split at blank lines with
 * whitespace collapsed.
 */
export function textToBlocks(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  let code: string[] = [];
  const flushPara = (): void => {
    const t = para
      .join(' ')
      .replace(/[\s\u00a0]+/g, ' ')
      .trim();
    if (t !== '') blocks.push({ kind: 'paragraph', text: t });
    para = [];
  };
  const flushCode = (): void => {
    while (code.length > 0 && code[code.length - 1]!.trim() === '') code.pop();
    if (code.length > 0) blocks.push({ kind: 'code', text: code.join('\n') });
    code = [];
  };
  for (const line of lines) {
    const indented = /^( {4}|\t)/.exec(line);
    const blank = line.trim() === '';
    if (indented && !blank && para.length === 0) {
      code.push(line.slice(indented[0].length));
    } else if (blank) {
      if (code.length > 0) code.push('');
      else flushPara();
    } else {
      flushCode();
      para.push(line);
    }
  }
  flushCode();
  flushPara();
  return blocks;
}

/** The file name without directories and extension, percent-decoded. */
export function fileTitle(location: string): string {
  let name = location.replace(/[?#].*$/, '').replace(/[/\\]+$/, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  try {
    name = decodeURIComponent(name);
  } catch {
    // Not percent-encoded after all: keep it as it is.
  }
  const stem = name.replace(/\.[A-Za-z0-9]{1,8}$/, '');
  return stem.trim() || name || location;
}

/** The location as a URL: http(s) as given, an absolute path as file://. */
export function locationUrl(location: string): string | undefined {
  if (/^https?:\/\//i.test(location)) return location;
  if (isAbsolute(location)) return pathToFileURL(location).href;
  return undefined;
}

/** `{ url }` for the location when it has one, for spreading into a document. */
export function optionalUrl(location: string): { url?: string } {
  const url = locationUrl(location);
  return url === undefined ? {} : { url };
}
