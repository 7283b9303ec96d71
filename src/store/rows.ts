/**
 * Row mapping shared by the store adapters: database rows (plain objects with snake_case
 * columns, JSON kept as text) to the Store's records. No driver type appears here.
 */
import type { DocumentKind, PageProblem } from '../core/document.js';
import type { SourceKind } from '../sources/source.js';
import type { DocumentRecord, SourceOptions, SourceRecord } from './store.js';

export type Row = Record<string, unknown>;

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
export const json = <T>(v: unknown, fallback: T): T =>
  typeof v === 'string' ? (JSON.parse(v) as T) : fallback;

/** Copies the defined entries only (exactOptionalPropertyTypes: absent, never undefined). */
export function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

export function toSource(r: Row): SourceRecord {
  return {
    id: r.id as number,
    kbId: r.kb_id as number,
    kind: r.kind as SourceKind,
    location: r.location as string,
    options: json<SourceOptions>(r.options, {}),
    createdAt: r.created_at as string,
    ...defined({
      title: str(r.title),
      parentId: num(r.parent_id),
      etag: str(r.etag),
      lastModified: str(r.last_modified),
      lastSyncedAt: str(r.last_synced_at),
      lastError: str(r.last_error),
      refreshIntervalS: num(r.refresh_interval_s),
    }),
  };
}

/** A document row; `prefix` reads aliased columns of a join (`d_title`, …). */
export function toDocument(r: Row, prefix = ''): DocumentRecord {
  const g = (k: string): unknown => r[prefix + k];
  return {
    id: g('id') as number,
    kbId: g('kb_id') as number,
    sourceId: g('source_id') as number,
    key: g('key') as string,
    kind: g('kind') as DocumentKind,
    title: g('title') as string,
    tags: json<string[]>(g('tags'), []),
    hash: g('hash') as string,
    chunkCount: g('chunk_count') as number,
    createdAt: g('created_at') as string,
    updatedAt: g('updated_at') as string,
    ...defined({
      url: str(g('url')),
      author: str(g('author')),
      published: str(g('published')),
      updated: str(g('updated')),
      pageCount: num(g('page_count')),
      pageLabels: g('page_labels') == null ? undefined : json<string[]>(g('page_labels'), []),
      problems: g('problems') == null ? undefined : json<PageProblem[]>(g('problems'), []),
    }),
  };
}

/** Escapes LIKE wildcards; pair with `ESCAPE '\\'`. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
