/**
 * Ingestion: source → fetch → parse → chunk → store, one transaction per document.
 *
 * - `addSources` registers inputs (paths, URLs, directories, OPML blogrolls) and syncs them.
 *   An input is read and parsed before its source row is written, so a broken feed or a
 *   corrupt PDF leaves the store exactly as it was.
 * - `syncSource` refreshes one source: conditional GET for remote inputs, content hashes
 *   to skip unchanged documents, and only the changed documents are replaced.
 */
import { readdir, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import type { ParsedDocument, PageProblem } from '../core/document.js';
import { ShelfError, toShelfError, type ErrorCode } from '../core/errors.js';
import { NO_PROGRESS } from '../core/seams.js';
import { detectKind } from '../sources/detect.js';
import { parseFeed } from '../sources/feed.js';
import { parseMarkdown } from '../sources/markdown.js';
import { parseOpml } from '../sources/opml.js';
import { parsePage } from '../sources/page.js';
import { parsePdf } from '../sources/pdf/index.js';
import type { RawInput, SourceContext, SourceKind } from '../sources/source.js';
import { parseText } from '../sources/text.js';
import type { KnowledgeBase, SourceOptions, SourceRecord, Store } from '../store/store.js';
import { openPreparer, preparedInOrder } from './prepare-pool.js';
import { contentHash, documentInput, mergeTags } from './prepare.js';
import { fileError, isUrl, readFileInput, readInput } from './read.js';

export interface IngestContext extends SourceContext {
  readonly store: Store;
}

export interface IngestIssue {
  readonly location: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** What one sync did. */
export interface SyncReport {
  readonly sourceId: number | undefined;
  readonly location: string;
  readonly kind: SourceKind | undefined;
  readonly title?: string;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** True when the server answered 304 Not Modified. */
  notModified: boolean;
  /** Inputs that failed (the whole source, or single files of a directory). */
  readonly errors: IngestIssue[];
  /** Pages left out of the index, by document title. */
  readonly problems: { readonly document: string; readonly problems: readonly PageProblem[] }[];
}

export function emptyReport(
  location: string,
  kind: SourceKind | undefined,
  sourceId?: number,
  title?: string,
): SyncReport {
  return {
    sourceId,
    location,
    kind,
    ...(title !== undefined ? { title } : {}),
    added: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
    notModified: false,
    errors: [],
    problems: [],
  };
}

function issue(location: string, e: unknown): IngestIssue {
  const err = toShelfError(e);
  return { location, code: err.code, message: err.message };
}

/** Files a directory source picks up unless `include` says otherwise. */
const DEFAULT_INCLUDE = ['**/*.{md,markdown,mdx,txt,text,rst,html,htm,xhtml,pdf,xml,rss,atom,opml}'];
const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/.git/**', '**/.*/**'];

/** What one input holds: its documents and, for a feed, the feed's title. */
interface ParsedInput {
  readonly title?: string;
  readonly documents: readonly ParsedDocument[];
}

/**
 * Parses one input of a known kind (the dispatcher over source kinds). Everything is
 * parsed before anything is written, so a failure midway stores nothing.
 */
async function parseInput(kind: SourceKind, input: RawInput, ctx: SourceContext): Promise<ParsedInput> {
  switch (kind) {
    case 'feed': {
      const feed = await parseFeed(input, ctx);
      return { ...(feed.title !== '' ? { title: feed.title } : {}), documents: feed.items };
    }
    case 'pdf':
      return { documents: [await parsePdf(input, ctx)] };
    case 'html':
      return { documents: [await parsePage(input, ctx)] };
    case 'markdown':
      return { documents: [await parseMarkdown(input, ctx)] };
    case 'text':
      return { documents: [await parseText(input, ctx)] };
    case 'opml':
    case 'directory':
      throw new ShelfError('INTERNAL', { detail: `${kind} sources hold other sources, not documents` });
  }
}

/** The source kind for a read input, or UNSUPPORTED_SOURCE. */
function kindOf(input: RawInput): Exclude<SourceKind, 'directory'> {
  const detected = detectKind(input);
  if (detected === 'unknown') throw new ShelfError('UNSUPPORTED_SOURCE', { location: input.location });
  return detected;
}

/** Normalises a user's input: URLs as given, paths made absolute. */
export function normaliseLocation(location: string): string {
  return isUrl(location) ? location : resolve(location);
}

/**
 * Stores the documents of one parsed input, one transaction each and in order. Changed
 * documents are chunked ahead on a worker thread (see prepare-pool) while earlier ones
 * are written. Exported for bench/ingest, which times exactly this.
 */
export async function storeDocuments(
  ctx: Pick<IngestContext, 'store' | 'config' | 'progress' | 'signal'>,
  source: SourceRecord,
  docs: readonly ParsedDocument[],
  report: SyncReport,
): Promise<void> {
  const known = await ctx.store.documentHashes(source.id);
  ctx.progress.total(docs.length);
  const plan = docs.map((doc) => {
    const tags = mergeTags(doc.tags, source.options.tags);
    const hash = contentHash(doc, tags, ctx.config.chunk);
    return { doc, tags, hash, changed: known.get(doc.key) !== hash };
  });
  const preparer = openPreparer(plan.filter((p) => p.changed).length);
  try {
    const prepared = preparedInOrder(preparer, plan, (p) =>
      p.changed ? { doc: p.doc, tags: p.tags, options: ctx.config.chunk } : undefined,
    );
    for await (const [{ doc, tags, hash }, chunks] of prepared) {
      ctx.signal?.throwIfAborted();
      if (doc.problems && doc.problems.length > 0)
        report.problems.push({ document: doc.title, problems: doc.problems });
      if (chunks === undefined) {
        report.unchanged++;
      } else {
        const { outcome } = await ctx.store.upsertDocument({
          kbId: source.kbId,
          sourceId: source.id,
          document: documentInput(doc, tags, hash),
          chunks,
        });
        report[outcome]++;
      }
      ctx.progress.tick(1, doc.title);
    }
  } finally {
    await preparer.close();
  }
}

async function syncDirectory(ctx: IngestContext, source: SourceRecord, report: SyncReport): Promise<void> {
  const root = source.location;
  const include = picomatch([...(source.options.include ?? DEFAULT_INCLUDE)], { dot: false, nocase: true });
  const exclude = picomatch([...DEFAULT_EXCLUDE, ...(source.options.exclude ?? [])], { dot: true });
  const files: string[] = [];
  const pending = [root];
  // Iterative walk; symbolic links are not followed (no loops, no escaping the root).
  while (pending.length > 0) {
    const dir = pending.pop() ?? root;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      report.errors.push(issue(dir, fileError(e, dir)));
      continue;
    }
    for (const entry of entries) {
      const path = resolve(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (!exclude(rel + '/') && !exclude(rel + '/x')) pending.push(path);
      } else if (entry.isFile() && include(rel) && !exclude(rel)) files.push(path);
    }
  }
  files.sort();
  ctx.progress.total(files.length);
  const keep: string[] = [];
  for (const file of files) {
    const key = relative(root, file).split(sep).join('/');
    keep.push(key);
    try {
      const input = await readFileInput(file, ctx.config.limits.maxDocumentBytes);
      const kind = kindOf(input);
      if (kind === 'opml')
        throw new ShelfError('UNSUPPORTED_SOURCE', { location: file, detail: 'add OPML files on their own' });
      const { documents } = await parseInput(kind, input, { ...ctx, progress: NO_PROGRESS });
      // Within a directory the file path is the identity; a feed file yields many items.
      const keyed = documents.map((d) =>
        kind === 'feed' ? { ...d, key: `${key}#${d.key}` } : { ...d, key },
      );
      if (kind === 'feed') keep.push(...keyed.map((d) => d.key));
      await storeDocuments({ ...ctx, progress: NO_PROGRESS }, source, keyed, report);
    } catch (e) {
      report.errors.push(issue(file, e));
    }
    ctx.progress.tick(1, key);
  }
  report.removed += await ctx.store.deleteDocumentsExcept(source.id, keep);
}

/** Refreshes one source. Failures are recorded on the source and returned in the report. */
export async function syncSource(ctx: IngestContext, source: SourceRecord): Promise<SyncReport> {
  const report = emptyReport(source.location, source.kind, source.id, source.title);
  const stamp = ctx.clock.now().toISOString();
  try {
    if (source.kind === 'directory') {
      await syncDirectory(ctx, source, report);
    } else if (source.kind === 'opml') {
      const read = await readInput(source.location, ctx);
      if (read.notModified) report.notModified = true;
      else
        for (const outline of parseOpml(read.input))
          report.errors.push(
            ...(await addFeedFromOutline(ctx, source, outline.xmlUrl, outline.title, outline.categories)),
          );
    } else {
      const read = await readInput(source.location, ctx, {
        ...(source.etag !== undefined ? { etag: source.etag } : {}),
        ...(source.lastModified !== undefined ? { lastModified: source.lastModified } : {}),
      });
      if (read.notModified) {
        report.notModified = true;
      } else {
        const { documents } = await parseInput(source.kind, read.input, ctx);
        await storeDocuments(ctx, source, documents, report);
        await ctx.store.updateSource(source.id, {
          etag: read.etag ?? null,
          lastModified: read.lastModified ?? null,
        });
      }
    }
    await ctx.store.updateSource(source.id, {
      lastSyncedAt: stamp,
      lastError: report.errors[0]?.message ?? null,
    });
  } catch (e) {
    const err = toShelfError(e);
    report.errors.push(issue(source.location, err));
    await ctx.store.updateSource(source.id, { lastSyncedAt: stamp, lastError: err.message });
  }
  return report;
}

async function addFeedFromOutline(
  ctx: IngestContext,
  parent: SourceRecord,
  url: string,
  title: string,
  categories: readonly string[],
): Promise<IngestIssue[]> {
  // A feed already in the knowledge base is synced on its own (by `syncAll`), not twice.
  if (await ctx.store.findSource(parent.kbId, url)) return [];
  try {
    const read = await readInput(url, ctx);
    if (read.notModified) return [];
    const { documents } = await parseInput('feed', read.input, ctx);
    const source = await ctx.store.addSource({
      kbId: parent.kbId,
      kind: 'feed',
      location: url,
      title,
      parentId: parent.id,
      options: { tags: mergeTags(parent.options.tags, categories) },
    });
    await storeDocuments(ctx, source, documents, emptyReport(url, 'feed', source.id));
    await ctx.store.updateSource(source.id, {
      etag: read.etag ?? null,
      lastModified: read.lastModified ?? null,
      lastSyncedAt: ctx.clock.now().toISOString(),
    });
    return [];
  } catch (e) {
    return [issue(url, e)];
  }
}

export interface AddOptions {
  readonly kb: KnowledgeBase;
  readonly location: string;
  readonly options?: SourceOptions;
  /** Feeds: seconds between automatic refreshes (default one hour). */
  readonly refreshIntervalS?: number;
}

/**
 * Adds one input as a source and ingests it. An input already added to this knowledge
 * base is synced instead (adding the same feed twice changes nothing). When reading or
 * parsing a new input fails, nothing is written and the error is thrown.
 */
export async function addSource(ctx: IngestContext, add: AddOptions): Promise<SyncReport> {
  const location = normaliseLocation(add.location);
  const existing = await ctx.store.findSource(add.kb.id, location);
  if (existing) return syncSource(ctx, existing);
  const options = add.options ?? {};

  if (!isUrl(location)) {
    let isDirectory = false;
    try {
      isDirectory = (await stat(location)).isDirectory();
    } catch (e) {
      throw fileError(e, location);
    }
    if (isDirectory) {
      const source = await ctx.store.addSource({ kbId: add.kb.id, kind: 'directory', location, options });
      return syncSource(ctx, source);
    }
  }

  const read = await readInput(location, ctx);
  if (read.notModified)
    throw new ShelfError('INTERNAL', { detail: 'unexpected 304 for an unconditional request' });
  const kind = kindOf(read.input);
  if (kind === 'opml') {
    const outlines = parseOpml(read.input);
    const source = await ctx.store.addSource({ kbId: add.kb.id, kind: 'opml', location, options });
    const report = emptyReport(location, 'opml', source.id);
    for (const outline of outlines) {
      const errors = await addFeedFromOutline(ctx, source, outline.xmlUrl, outline.title, outline.categories);
      if (errors.length === 0) report.added++;
      report.errors.push(...errors);
    }
    await ctx.store.updateSource(source.id, { lastSyncedAt: ctx.clock.now().toISOString() });
    return report;
  }
  const parsed = await parseInput(kind, read.input, ctx);
  const title = parsed.title ?? parsed.documents[0]?.title;
  const source = await ctx.store.addSource({
    kbId: add.kb.id,
    kind,
    location,
    ...(title !== undefined ? { title } : {}),
    options,
    ...(kind === 'feed' ? { refreshIntervalS: add.refreshIntervalS ?? 3600 } : {}),
  });
  const report = emptyReport(location, kind, source.id, title);
  await storeDocuments(ctx, source, parsed.documents, report);
  await ctx.store.updateSource(source.id, {
    etag: read.etag ?? null,
    lastModified: read.lastModified ?? null,
    lastSyncedAt: ctx.clock.now().toISOString(),
  });
  return report;
}

/** Syncs every source of a knowledge base (or all), continuing past failures. */
export async function syncAll(ctx: IngestContext, kbId?: number): Promise<SyncReport[]> {
  const reports: SyncReport[] = [];
  // Feeds listed by an OPML source are synced on their own; the OPML file is re-read
  // to pick up new outlines.
  for (const source of await ctx.store.listSources(kbId)) reports.push(await syncSource(ctx, source));
  return reports;
}
