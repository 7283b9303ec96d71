/**
 * Ranked search: rank chunks with BM25F over the weighted fields (search/rank.ts), keep
 * the best chunk per document (unless asked for every chunk), and dress each hit with a
 * highlighted snippet and a citation.
 */
import { ShelfError } from '../core/errors.js';
import type { ChunkRecord, DocumentFilter, DocumentRecord, Store } from '../store/store.js';
import { rankChunks } from './rank.js';
import { chunkUrl, citationText, makeSnippet, type Snippet } from './snippet.js';

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 4000;
/** Queries with more distinct terms than this keep their rarest ones (rankChunks maxTerms). */
export const MAX_QUERY_TERMS = 32;

export interface SearchRequest {
  readonly query: string;
  readonly kbIds: readonly number[];
  readonly filter?: DocumentFilter;
  /** Results to return (default 10). */
  readonly limit?: number;
  /** Return every matching chunk instead of the best one per document. */
  readonly allChunks?: boolean;
}

export interface SearchHit {
  readonly rank: number;
  readonly score: number;
  readonly chunk: ChunkRecord;
  readonly document: DocumentRecord;
  readonly snippet: Snippet;
  readonly citation: string;
  readonly url?: string;
}

export interface SearchResult {
  readonly query: string;
  readonly terms: readonly string[];
  readonly hits: readonly SearchHit[];
  readonly candidates: number;
  readonly elapsedMs: number;
}

/** Rejects empty, oversized and control-character-only queries with a clear error. */
export function validateQuery(raw: string): string {
  // Control characters (other than whitespace) are dropped, not fatal.
  // eslint-disable-next-line no-control-regex
  const query = raw.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ').trim();
  if (query.length > MAX_QUERY_LENGTH)
    throw new ShelfError('QUERY_TOO_LONG', { length: query.length, limit: MAX_QUERY_LENGTH });
  if (query === '') throw new ShelfError('EMPTY_QUERY');
  return query;
}

export async function search(store: Store, request: SearchRequest): Promise<SearchResult> {
  const started = performance.now();
  const query = validateQuery(request.query);
  const limit = request.limit ?? 10;
  const ranked = await rankChunks(store, {
    query,
    kbIds: request.kbIds,
    ...(request.filter ? { filter: request.filter } : {}),
    limit,
    perDocument: request.allChunks !== true,
    options: { maxTerms: MAX_QUERY_TERMS },
  });
  const chosen = ranked.hits;
  const rows = await store.getChunksWithDocuments(chosen.map((c) => c.chunkId));
  const termSet = new Set(ranked.terms);
  const hits = rows.map(({ chunk, document }, i): SearchHit => {
    const url = chunkUrl(chunk, document);
    return {
      rank: i + 1,
      score: chosen[i]?.score ?? 0,
      chunk,
      document,
      snippet: makeSnippet(chunk.text, termSet),
      citation: citationText(chunk, document),
      ...(url !== undefined ? { url } : {}),
    };
  });
  return {
    query,
    terms: ranked.terms,
    hits,
    candidates: ranked.candidates,
    elapsedMs: performance.now() - started,
  };
}
