/**
 * Turns a parsed document into what the store keeps: metadata with a content hash, and
 * chunks with their analysed index fields. Pure: the same document always gives the same
 * hash and chunks.
 */
import { createHash } from 'node:crypto';
import { chunkBlocks, type ChunkOptions } from '../chunk/chunk.js';
import type { ParsedDocument } from '../core/document.js';
import type { ChunkInput, DocumentInput } from '../store/store.js';
import { indexText } from '../text/analyze.js';

/** Bump when chunking or analysis changes, so re-ingesting replaces old chunks. */
export const PREPARE_VERSION = 1;

/** Tags from the document and its source, trimmed and deduplicated case-insensitively. */
export function mergeTags(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const seen = new Map<string, string>();
  for (const list of lists)
    for (const raw of list ?? []) {
      const tag = raw.trim();
      if (tag !== '' && !seen.has(tag.toLowerCase())) seen.set(tag.toLowerCase(), tag);
    }
  return [...seen.values()];
}

export function contentHash(doc: ParsedDocument, tags: readonly string[], chunk: ChunkOptions): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      PREPARE_VERSION,
      chunk,
      doc.kind,
      doc.title,
      doc.url ?? null,
      doc.author ?? null,
      doc.published ?? null,
      doc.updated ?? null,
      tags,
      doc.pageCount ?? null,
      doc.pageLabels ?? null,
      doc.problems ?? null,
    ]),
  );
  for (const block of doc.blocks) h.update(JSON.stringify(block));
  return 'sha256:' + h.digest('hex');
}

export function documentInput(doc: ParsedDocument, tags: readonly string[], hash: string): DocumentInput {
  return {
    key: doc.key,
    kind: doc.kind,
    title: doc.title,
    tags,
    hash,
    ...(doc.url !== undefined ? { url: doc.url } : {}),
    ...(doc.author !== undefined ? { author: doc.author } : {}),
    ...(doc.published !== undefined ? { published: doc.published } : {}),
    ...(doc.updated !== undefined ? { updated: doc.updated } : {}),
    ...(doc.pageCount !== undefined ? { pageCount: doc.pageCount } : {}),
    ...(doc.pageLabels !== undefined ? { pageLabels: doc.pageLabels } : {}),
    ...(doc.problems !== undefined && doc.problems.length > 0 ? { problems: doc.problems } : {}),
  };
}

/** Chunks the document and analyses each chunk's fields for the full-text index. */
export function prepareChunks(
  doc: ParsedDocument,
  tags: readonly string[],
  options: ChunkOptions,
): ChunkInput[] {
  const title = indexText(doc.title);
  const tagTerms = indexText(tags.join(' '));
  return chunkBlocks(doc.blocks, options).map((c) => ({
    ...c,
    index: { title, heading: indexText(c.headingPath.join(' ')), body: indexText(c.text), tags: tagTerms },
  }));
}
