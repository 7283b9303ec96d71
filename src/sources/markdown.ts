/**
 * Markdown files (CommonMark + GFM tables, via mdast) to one document of kind `markdown`.
 *
 * - Front matter: a leading `---` ... `---` block of simple `key: value` lines (YAML's
 *   common subset: quoted or bare scalars, `[a, b]` flow lists, `- item` block lists). It
 *   gives the title, author, date and tags; anything else in it is ignored. We read it
 *   ourselves rather than pull in a YAML parser: only these four keys matter.
 * - Title: front matter `title`, else the first h1, else the file name without extension.
 * - Code keeps its text exactly and its fence language; raw HTML blocks go through
 *   `htmlToBlocks`; inline HTML tags are dropped, their text kept.
 * - Headings get GitHub-style anchors, unique within the document.
 * - Tree walks are iterative (deeply nested block quotes or lists cannot overflow the stack).
 */
import type { Nodes, Parents, PhrasingContent, RootContent } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import type { Block, ParsedDocument } from '../core/document.js';
import { ShelfError } from '../core/errors.js';
import { decodeText } from './charset.js';
import { parseDate } from './feed.js';
import { htmlToBlocks, slugify } from './html-blocks.js';
import type { RawInput, SourceContext } from './source.js';
import { fileTitle, optionalUrl } from './text.js';

/** Values read from front matter: scalars or lists of scalars. */
export type FrontMatter = Readonly<Record<string, string | readonly string[]>>;

/** Parses a Markdown file into one document of kind `markdown`. */
// eslint-disable-next-line @typescript-eslint/require-await -- async by the source contract; parsing itself is synchronous
export async function parseMarkdown(input: RawInput, _ctx: SourceContext): Promise<ParsedDocument> {
  const source = decodeText(input.bytes, {
    kind: 'text',
    ...(input.charset ? { charset: input.charset } : {}),
  });
  const { data, body } = splitFrontMatter(source);
  const blocks = markdownToBlocks(body);
  if (blocks.length === 0 && data.title === undefined)
    throw new ShelfError('DOCUMENT_EMPTY', { location: input.location });
  const h1 = blocks.find((b) => b.kind === 'heading' && b.level === 1);
  const title =
    scalar(data.title) ?? (h1?.kind === 'heading' ? h1.text : undefined) ?? fileTitle(input.location);
  const author = scalar(data.author) ?? scalar(data.authors);
  const published = parseDate(scalar(data.date) ?? scalar(data.published));
  const updated = parseDate(scalar(data.updated) ?? scalar(data.lastmod) ?? scalar(data.modified));
  const tagValues = [...list(data.tags), ...list(data.categories), ...list(data.keywords)];
  const seen = new Set<string>();
  const tags = tagValues.filter((t) => {
    const k = t.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return {
    key: input.location,
    kind: 'markdown',
    title,
    ...optionalUrl(input.location),
    ...(author ? { author } : {}),
    ...(published ? { published } : {}),
    ...(updated ? { updated } : {}),
    tags,
    blocks,
  };
}

/** Splits a leading `---` front matter block from the Markdown body. */
export function splitFrontMatter(text: string): { data: FrontMatter; body: string } {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { data: {}, body: text };
  const data: Record<string, string | string[]> = {};
  let listKey: string | undefined;
  for (const line of (m[1] ?? '').split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const item = /^\s+-\s+(.*)$|^-\s+(.*)$/.exec(line);
    if (item && listKey !== undefined) {
      const prev = data[listKey];
      const value = unquote(item[1] ?? item[2] ?? '');
      if (value !== '') data[listKey] = [...(Array.isArray(prev) ? prev : []), value];
      continue;
    }
    const kv = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!kv) {
      listKey = undefined;
      continue;
    }
    const key = kv[1]!.toLowerCase();
    const raw = (kv[2] ?? '').trim();
    listKey = raw === '' ? key : undefined;
    if (raw === '') continue;
    const flow = /^\[(.*)\]$/.exec(raw);
    data[key] = flow
      ? (flow[1] ?? '')
          .split(',')
          .map(unquote)
          .filter((v) => v !== '')
      : unquote(raw);
  }
  return { data, body: text.slice(m[0].length) };
}

function unquote(s: string): string {
  const t = s.trim();
  const q = /^"(.*)"$|^'(.*)'$/.exec(t);
  if (!q) return t.replace(/\s+#.*$/, '');
  return q[1] !== undefined ? q[1].replace(/\\"/g, '"') : (q[2] ?? '').replace(/''/g, "'");
}

function scalar(v: string | readonly string[] | undefined): string | undefined {
  const s = typeof v === 'string' ? v : v?.[0];
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** A list value, or a scalar split at commas ("tags: a, b"). */
function list(v: string | readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  const items = typeof v === 'string' ? v.split(',') : [...v];
  return items.map((t) => t.trim()).filter((t) => t !== '');
}

/** Converts Markdown (CommonMark + GFM) to blocks. */
export function markdownToBlocks(markdown: string): Block[] {
  const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  const blocks: Block[] = [];
  const anchors = new Map<string, number>();
  const uniqueAnchor = (wanted: string): string | undefined => {
    if (wanted === '') return undefined;
    let n = anchors.get(wanted);
    if (n === undefined) {
      anchors.set(wanted, 0);
      return wanted;
    }
    let candidate: string;
    do candidate = `${wanted}-${++n}`;
    while (anchors.has(candidate));
    anchors.set(wanted, n);
    anchors.set(candidate, 0);
    return candidate;
  };

  const stack: RootContent[] = [...tree.children].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    switch (node.type) {
      case 'heading': {
        const text = inlineText(node);
        if (text === '') break;
        const anchor = uniqueAnchor(slugify(text));
        blocks.push({ kind: 'heading', level: node.depth, text, ...(anchor ? { anchor } : {}) });
        break;
      }
      case 'paragraph': {
        const text = inlineText(node);
        if (text !== '') blocks.push({ kind: 'paragraph', text });
        break;
      }
      case 'code':
        if (node.value.trim() !== '')
          blocks.push({
            kind: 'code',
            text: node.value,
            ...(node.lang ? { lang: node.lang.toLowerCase() } : {}),
          });
        break;
      case 'list':
        pushList(node, blocks);
        break;
      case 'table': {
        const rows = node.children.map((row) => row.children.map((cell) => inlineText(cell)));
        if (rows.length > 0) blocks.push({ kind: 'table', rows, header: true });
        break;
      }
      case 'html':
        blocks.push(...htmlToBlocks(node.value));
        break;
      case 'blockquote':
      case 'footnoteDefinition':
        for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
        break;
      default:
        // thematicBreak, definition, yaml: nothing to read.
        break;
    }
  }
  return blocks;
}

/** A list, nested lists indented two spaces per level; code inside an item becomes a code block. */
function pushList(list: Extract<Nodes, { type: 'list' }>, blocks: Block[]): void {
  const ordered = list.ordered === true;
  let items: string[] = [];
  const flush = (): void => {
    if (items.length > 0) blocks.push({ kind: 'list', ordered, items });
    items = [];
  };
  type Work = { node: RootContent; depth: number };
  const stack: Work[] = [];
  for (let i = list.children.length - 1; i >= 0; i--) stack.push({ node: list.children[i]!, depth: 0 });
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node.type === 'listItem') {
      const parts: string[] = [];
      const rest: Work[] = [];
      for (const child of node.children) {
        if (child.type === 'paragraph' || child.type === 'heading') parts.push(inlineText(child));
        else if (child.type === 'list')
          for (const li of child.children) rest.push({ node: li, depth: depth + 1 });
        else rest.push({ node: child, depth });
      }
      const text = parts.filter(Boolean).join(' ');
      if (text !== '') {
        const check = node.checked === true ? '[x] ' : node.checked === false ? '[ ] ' : '';
        items.push('  '.repeat(Math.min(depth, 16)) + check + text);
      }
      for (let i = rest.length - 1; i >= 0; i--) stack.push(rest[i]!);
    } else if (node.type === 'code') {
      flush();
      if (node.value.trim() !== '')
        blocks.push({
          kind: 'code',
          text: node.value,
          ...(node.lang ? { lang: node.lang.toLowerCase() } : {}),
        });
    } else if (node.type === 'table' || node.type === 'html' || node.type === 'blockquote') {
      flush();
      blocks.push(...markdownToBlocksOf(node));
    }
  }
  flush();
}

/** Blocks of a single nested node (a table or quote inside a list item). */
function markdownToBlocksOf(node: RootContent): Block[] {
  if (node.type === 'html') return htmlToBlocks(node.value);
  if (node.type === 'table') {
    const rows = node.children.map((row) => row.children.map((cell) => inlineText(cell)));
    return rows.length > 0 ? [{ kind: 'table', rows, header: true }] : [];
  }
  if (node.type === 'blockquote') {
    return node.children.flatMap((c) => {
      if (c.type === 'paragraph') {
        const text = inlineText(c);
        return text ? [{ kind: 'paragraph' as const, text }] : [];
      }
      return markdownToBlocksOf(c);
    });
  }
  return [];
}

/** The plain text of inline content: markup and inline HTML tags dropped, whitespace collapsed. */
function inlineText(parent: Parents): string {
  let text = '';
  const stack: (PhrasingContent | RootContent)[] = [...(parent.children as RootContent[])].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    switch (node.type) {
      case 'text':
      case 'inlineCode':
        text += node.value;
        break;
      case 'break':
        text += ' ';
        break;
      case 'image':
        if (node.alt) text += node.alt;
        break;
      case 'html':
      case 'footnoteReference':
        break;
      default:
        if ('children' in node)
          for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
  }
  return text.replace(/[\s\u00a0]+/g, ' ').trim();
}
