/**
 * HTML to blocks: the one place where markup becomes headings, paragraphs, lists, code and
 * tables. Used for feed item HTML and for the main content of web pages.
 *
 * Contract:
 * - No markup survives in any text; entities are decoded (htmlparser2 does it).
 * - Prose whitespace is collapsed to single spaces; code text is kept byte for byte as it
 *   displays: the concatenated text of every descendant of `<pre>` (syntax highlighters wrap
 *   each token in a span), `<br>` as a newline, only the newline right after `<pre>` (HTML
 *   standard §13.2.6.4.7) and trailing blank space dropped.
 * - Chrome is dropped: scripts, styles, navigation, forms, iframes, svg, comments, and the
 *   copy/fullscreen buttons that dev.to/forem put around code listings.
 * - Every tree walk is iterative, so 10,000 nested `<div>`s cannot overflow the stack.
 */
import type { AnyNode, Element } from 'domhandler';
import { isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import type { Block } from '../core/document.js';

export interface HtmlToBlocksOptions {
  /** Base URL of the document, for resolving links (used by `findCrossPostUrl`). */
  readonly baseUrl?: string;
}

/** Elements whose content is never reading matter. */
const DROPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'head',
  'title',
  'nav',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'svg',
  'math',
  'canvas',
  'form',
  'input',
  'button',
  'select',
  'option',
  'textarea',
  'label',
  'audio',
  'video',
  'source',
  'track',
  'map',
  'dialog',
]);

/** Elements that end the running paragraph when they start or end. */
const BLOCK_LEVEL = new Set([
  'html',
  'body',
  'main',
  'article',
  'section',
  'aside',
  'header',
  'footer',
  'div',
  'p',
  'blockquote',
  'figure',
  'figcaption',
  'details',
  'summary',
  'address',
  'center',
  'dl',
  'dt',
  'dd',
  'li',
  'hr',
  'caption',
  'fieldset',
  'hgroup',
]);

const HEADING = /^h([1-6])$/;

/**
 * Class tokens of UI chrome inside article HTML: dev.to/forem code panels ("Enter fullscreen
 * mode"), copy buttons, and the action bars of their liquid-tag embeds.
 */
const CHROME_CLASS =
  /(^|[\s])([\w-]*(fullscreen|highlight__panel|actions|copy-button|clipboard|sr-only|visually-hidden)[\w-]*)(\s|$)/i;

/** Text that is UI even when its element carries no telling class. */
const CHROME_TEXT = /^\s*(Enter fullscreen mode|Exit fullscreen mode|Copy code|Copied!?)\s*$/i;

/** Languages that mean "no language". */
const NO_LANGUAGE = new Set(['plaintext', 'plain', 'text', 'txt', 'none', 'nohighlight', 'no-highlight']);

/** Converts an HTML fragment or document to blocks (see the module header). */
export function htmlToBlocks(html: string, _options: HtmlToBlocksOptions = {}): Block[] {
  const doc = parseDocument(html, {
    decodeEntities: true,
    lowerCaseTags: true,
    lowerCaseAttributeNames: true,
  });
  const out = new BlockSink();
  walk(doc.children, out);
  out.flush();
  return out.blocks;
}

/** The blocks as plain text, one block per paragraph (code as is, table cells tab-separated). */
export function blocksToPlainText(blocks: readonly Block[]): string {
  return blocks
    .map((b) => {
      switch (b.kind) {
        case 'heading':
        case 'paragraph':
        case 'code':
          return b.text;
        case 'list':
          return b.items.join('\n');
        case 'table':
          return b.rows.map((r) => r.join('\t')).join('\n');
      }
    })
    .join('\n\n');
}

/**
 * The URL an article says it was cross-posted from, or its `rel=canonical` link, when one of
 * the first few elements carries it ("Cross-posted from <a href>", `<link rel=canonical>`).
 */
export function findCrossPostUrl(html: string, options: HtmlToBlocksOptions = {}): string | undefined {
  const doc = parseDocument(html.slice(0, 4096), { decodeEntities: true });
  const stack: AnyNode[] = [...doc.children].reverse();
  let seenText = '';
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isText(node)) {
      seenText += node.data;
      continue;
    }
    if (!isTag(node)) continue;
    const rel = (node.attribs.rel ?? '').toLowerCase().split(/\s+/);
    const href = node.attribs.href;
    if (href && rel.includes('canonical')) return resolveUrl(href, options.baseUrl);
    if (node.name === 'a' && href && /(cross[- ]?posted|originally (posted|published))/i.test(seenText))
      return resolveUrl(href, options.baseUrl);
    pushChildren(stack, node.children);
  }
  return undefined;
}

/** Resolves `href` against `base`; undefined when it is not a usable http(s) URL. */
export function resolveUrl(href: string, base: string | undefined): string | undefined {
  try {
    const url = base === undefined ? new URL(href.trim()) : new URL(href.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Collects blocks in order, with a running paragraph and unique heading anchors. */
class BlockSink {
  readonly blocks: Block[] = [];
  private inline = '';
  private readonly anchors = new Map<string, number>();

  text(s: string): void {
    this.inline += s;
  }

  flush(): void {
    const text = normaliseProse(this.inline);
    this.inline = '';
    if (text !== '' && !CHROME_TEXT.test(text)) this.blocks.push({ kind: 'paragraph', text });
  }

  push(block: Block): void {
    this.flush();
    this.blocks.push(block);
  }

  /** An anchor unique within the document: GitHub's rule of -1, -2 suffixes. */
  anchor(wanted: string): string {
    const seen = this.anchors.get(wanted);
    if (seen === undefined) {
      this.anchors.set(wanted, 0);
      return wanted;
    }
    let n = seen + 1;
    while (this.anchors.has(`${wanted}-${n}`)) n++;
    this.anchors.set(wanted, n);
    this.anchors.set(`${wanted}-${n}`, 0);
    return `${wanted}-${n}`;
  }
}

type Frame =
  { readonly node: AnyNode; readonly exit: false } | { readonly node: Element; readonly exit: true };

function pushChildren<T>(stack: T[], children: readonly AnyNode[], wrap?: (n: AnyNode) => T): void {
  for (let i = children.length - 1; i >= 0; i--) {
    const child = children[i]!;
    stack.push(wrap ? wrap(child) : (child as T));
  }
}

const enter = (node: AnyNode): Frame => ({ node, exit: false });

function walk(roots: readonly AnyNode[], out: BlockSink): void {
  const stack: Frame[] = [];
  pushChildren(stack, roots, enter);
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.node;
    if (frame.exit) {
      out.flush();
      continue;
    }
    if (isText(node)) {
      out.text(node.data);
      continue;
    }
    if (!isTag(node) || isDropped(node)) continue;
    const name = node.name;
    const heading = HEADING.exec(name);
    if (heading) {
      const text = inlineText(node);
      if (text !== '') {
        const wanted = headingAnchor(node) ?? slugify(text);
        const anchor = wanted === '' ? undefined : out.anchor(wanted);
        out.push({ kind: 'heading', level: Number(heading[1]), text, ...(anchor ? { anchor } : {}) });
      }
      continue;
    }
    switch (name) {
      case 'pre':
      case 'listing':
      case 'xmp':
      case 'plaintext':
        pushCode(node, out);
        continue;
      case 'ul':
      case 'ol':
      case 'menu':
        pushList(node, out);
        continue;
      case 'table':
        pushTable(node, out);
        continue;
      case 'img': {
        const alt = meaningfulAlt(node.attribs.alt);
        if (alt) out.push({ kind: 'paragraph', text: alt });
        continue;
      }
      case 'br':
        out.text('\n');
        continue;
      case 'hr':
        out.flush();
        continue;
    }
    if (BLOCK_LEVEL.has(name)) {
      out.flush();
      stack.push({ node, exit: true });
    } else if (name === 'td' || name === 'th') {
      out.text(' ');
    }
    pushChildren(stack, node.children, enter);
  }
}

function isDropped(el: Element): boolean {
  if (DROPPED.has(el.name)) return true;
  if (el.attribs.hidden !== undefined || el.attribs['aria-hidden'] === 'true') return true;
  const cls = el.attribs.class;
  return cls !== undefined && CHROME_CLASS.test(cls);
}

/** Collapses whitespace (including no-break spaces) to single spaces. */
function normaliseProse(s: string): string {
  return s.replace(/[\s\u00a0]+/g, ' ').trim();
}

/**
 * The text of an element as prose: descendants' text, `<br>` and cell boundaries as spaces,
 * dropped elements skipped, elements in `stopAt` not entered.
 */
function inlineText(root: Element, stopAt?: ReadonlySet<string>): string {
  let text = '';
  const stack: AnyNode[] = [];
  pushChildren(stack, root.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isText(node)) {
      text += node.data;
      continue;
    }
    if (!isTag(node) || isDropped(node) || stopAt?.has(node.name)) continue;
    if (node.name === 'br' || BLOCK_LEVEL.has(node.name) || node.name === 'td' || node.name === 'th')
      text += ' ';
    pushChildren(stack, node.children);
  }
  const normalised = normaliseProse(text);
  return CHROME_TEXT.test(normalised) ? '' : normalised;
}

/** The raw text of a code listing: every descendant's text, `<br>` as a newline. */
function rawText(root: Element): string {
  let text = '';
  const stack: AnyNode[] = [];
  pushChildren(stack, root.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isText(node)) {
      text += node.data;
      continue;
    }
    if (!isTag(node)) continue;
    if (node.name === 'br') {
      text += '\n';
      continue;
    }
    if (isDropped(node)) continue;
    pushChildren(stack, node.children);
  }
  return text;
}

function pushCode(pre: Element, out: BlockSink): void {
  const text = rawText(pre)
    .replace(/^\r?\n/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/\s+$/, '');
  if (text.trim() === '') return;
  const lang = codeLanguage(pre);
  out.push({ kind: 'code', text, ...(lang ? { lang } : {}) });
}

/** Language from the `<pre>`, its `<code>` child, or the highlighter wrapper around it. */
function codeLanguage(pre: Element): string | undefined {
  const candidates: Element[] = [pre];
  const code = pre.children.find((c): c is Element => isTag(c) && c.name === 'code');
  if (code) candidates.unshift(code);
  if (pre.parent && isTag(pre.parent)) candidates.push(pre.parent);
  for (const el of candidates) {
    const lang = languageOf(el);
    if (lang !== undefined) return NO_LANGUAGE.has(lang) ? undefined : lang;
  }
  return undefined;
}

function languageOf(el: Element): string | undefined {
  const data = el.attribs['data-lang'] ?? el.attribs['data-language'];
  if (data?.trim()) return data.trim().toLowerCase();
  const tokens = (el.attribs.class ?? '').split(/\s+/).filter(Boolean);
  for (const t of tokens) {
    const m = /^(?:language|lang|highlight-source|highlight-text|brush:?)-?(.+)$/i.exec(t);
    if (m?.[1]) return m[1].toLowerCase();
  }
  // Rouge (dev.to/forem, Jekyll) <pre class="highlight rust">; pandoc <pre class="sourceCode c">.
  if (
    (tokens[0] === 'highlight' || tokens[0] === 'sourceCode') &&
    tokens.length === 2 &&
    tokens[1] !== 'js-code-highlight'
  )
    return tokens[1]!.toLowerCase();
  return undefined;
}

interface ListWork {
  readonly li: Element;
  readonly depth: number;
}

/** A list and its nested lists as one list block; items indented two spaces per level. */
function pushList(list: Element, out: BlockSink): void {
  const ordered = list.name === 'ol';
  let items: string[] = [];
  const emitItems = (): void => {
    if (items.length > 0) out.push({ kind: 'list', ordered, items });
    items = [];
  };
  const stack: ListWork[] = [];
  pushChildren(stack, listItems(list), (li) => ({ li: li as Element, depth: 0 }));
  while (stack.length > 0) {
    const { li, depth } = stack.pop()!;
    const text = inlineText(li, NESTED_IN_ITEM);
    if (text !== '') items.push('  '.repeat(Math.min(depth, 16)) + text);
    const nested = findNested(li);
    for (const el of nested.blocks) {
      // A code listing or table inside an item: close the list so far, emit it, go on.
      emitItems();
      if (el.name === 'table') pushTable(el, out);
      else pushCode(el, out);
    }
    const children: Element[] = nested.lists.flatMap(listItems);
    pushChildren(stack, children, (c) => ({ li: c as Element, depth: depth + 1 }));
  }
  emitItems();
}

const NESTED_IN_ITEM = new Set(['ul', 'ol', 'menu', 'pre', 'table']);

function listItems(list: Element): Element[] {
  const items: Element[] = [];
  // Some generators put items under a wrapper (<div>) inside the list; look through those.
  const stack: AnyNode[] = [];
  pushChildren(stack, list.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node) || isDropped(node)) continue;
    if (node.name === 'li') items.push(node);
    else if (!NESTED_IN_ITEM.has(node.name)) pushChildren(stack, node.children);
  }
  return items;
}

/** Nested lists, code listings and tables inside an item, not looking inside those. */
function findNested(li: Element): { lists: Element[]; blocks: Element[] } {
  const lists: Element[] = [];
  const blocks: Element[] = [];
  const stack: AnyNode[] = [];
  pushChildren(stack, li.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node) || isDropped(node)) continue;
    if (node.name === 'ul' || node.name === 'ol' || node.name === 'menu') lists.push(node);
    else if (node.name === 'pre' || node.name === 'table') blocks.push(node);
    else pushChildren(stack, node.children);
  }
  return { lists, blocks };
}

function pushTable(table: Element, out: BlockSink): void {
  const rows: string[][] = [];
  let header = false;
  const stack: AnyNode[] = [];
  pushChildren(stack, table.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node) || isDropped(node) || node.name === 'table') continue;
    if (node.name === 'caption') {
      const caption = inlineText(node);
      if (caption) out.push({ kind: 'paragraph', text: caption });
      continue;
    }
    if (node.name !== 'tr') {
      pushChildren(stack, node.children);
      continue;
    }
    const cells = node.children.filter((c): c is Element => isTag(c) && (c.name === 'td' || c.name === 'th'));
    if (cells.length === 0) continue;
    if (rows.length === 0) {
      const inHead = node.parent !== null && isTag(node.parent) && node.parent.name === 'thead';
      header = inHead || cells.every((c) => c.name === 'th');
    }
    rows.push(cells.map((c) => inlineText(c)));
  }
  if (rows.some((r) => r.some((c) => c !== ''))) out.push({ kind: 'table', rows, header });
}

/** Alt text worth indexing: words, not a file name or a placeholder. */
function meaningfulAlt(alt: string | undefined): string | undefined {
  const text = normaliseProse(alt ?? '');
  if (text.length < 3) return undefined;
  if (/^(image|img|picture|photo|screenshot|logo|icon|banner|cover|thumbnail)( \d+)?$/i.test(text))
    return undefined;
  if (/^[\w.-]+\.(png|jpe?g|gif|webp|svg|avif|bmp)$/i.test(text)) return undefined;
  if (/^(https?:|data:)/i.test(text)) return undefined;
  return text;
}

/** A heading's anchor: its id, or the name/id of an `<a>` inside it. */
function headingAnchor(h: Element): string | undefined {
  const own = h.attribs.id?.trim();
  if (own) return own;
  const stack: AnyNode[] = [];
  pushChildren(stack, h.children);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isTag(node)) continue;
    const id = node.attribs.id?.trim() ?? (node.name === 'a' ? node.attribs.name?.trim() : undefined);
    if (id) return id;
    pushChildren(stack, node.children);
  }
  return undefined;
}

/**
 * GitHub-style slug: lower case, punctuation other than `-` and `_` removed, each space a
 * hyphen. Empty when nothing is left (a heading of only punctuation).
 */
export function slugify(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
