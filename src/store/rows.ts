/**
 * Row mapping shared by the store adapters: database rows (plain objects with snake_case
 * columns, JSON kept as text) to the Store's records. No driver type appears here.
 */
import type { DocumentKind, PageProblem } from '../core/document.js';
import type { SourceKind } from '../sources/source.js';
import type {
  ApiKeyRecord,
  ChunkRecord,
  DocumentInput,
  DocumentRecord,
  JobError,
  JobRecord,
  JobState,
  KnowledgeBase,
  EmbeddingInfo,
  SourceOptions,
  SourceRecord,
} from './store.js';

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

/** A chunk row; `prefix` reads aliased columns of a join. */
export function toChunk(r: Row, prefix = ''): ChunkRecord {
  const g = (k: string): unknown => r[prefix + k];
  return {
    id: g('id') as number,
    documentId: g('document_id') as number,
    kbId: g('kb_id') as number,
    ordinal: g('ordinal') as number,
    headingPath: json<string[]>(g('heading_path'), []),
    text: g('text') as string,
    tokens: g('tokens') as number,
    // SQLite stores booleans as 0/1, PostgreSQL as booleans.
    hasCode: g('has_code') === 1 || g('has_code') === true,
    ...defined({ anchor: str(g('anchor')), pageStart: num(g('page_start')), pageEnd: num(g('page_end')) }),
  };
}

export function toJob(r: Row): JobRecord {
  return {
    id: r.id as number,
    kind: r.kind as string,
    payload: json<Record<string, unknown>>(r.payload, {}),
    state: r.state as JobState,
    attempts: r.attempts as number,
    maxAttempts: r.max_attempts as number,
    runAt: r.run_at as string,
    progress: {
      done: r.progress_done as number,
      total: r.progress_total as number,
      ...defined({ label: str(r.progress_label) }),
    },
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    ...defined({
      leaseOwner: str(r.lease_owner),
      leaseUntil: str(r.lease_until),
      result: r.result == null ? undefined : json<unknown>(r.result, null),
      error: r.error == null ? undefined : json<JobError>(r.error, { code: 'INTERNAL', message: '' }),
      dedupeKey: str(r.dedupe_key),
      finishedAt: str(r.finished_at),
    }),
  };
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as number,
    name: r.name as string,
    prefix: r.prefix as string,
    createdAt: r.created_at as string,
    ...defined({ revokedAt: str(r.revoked_at) }),
  };
}

export function toKb(r: Row): KnowledgeBase {
  const model = str(r.embed_model);
  const embedding: EmbeddingInfo | undefined =
    model !== undefined
      ? {
          model,
          dimension: num(r.embed_dimension) ?? 0,
          state: r.embed_state === 'embedding' ? 'embedding' : 'ready',
        }
      : undefined;
  return {
    id: r.id as number,
    name: r.name as string,
    createdAt: r.created_at as string,
    ...defined({ primer: str(r.primer), embedding }),
  };
}

/**
 * A document's column values in the order both adapters write them: kind, title, url,
 * author, published, updated, tags, hash, page_count, page_labels, problems, chunk_count.
 */
export function documentValues(d: DocumentInput, chunkCount: number): unknown[] {
  return [
    d.kind,
    d.title,
    d.url ?? null,
    d.author ?? null,
    d.published ?? null,
    d.updated ?? null,
    JSON.stringify(d.tags),
    d.hash,
    d.pageCount ?? null,
    d.pageLabels ? JSON.stringify(d.pageLabels) : null,
    d.problems && d.problems.length > 0 ? JSON.stringify(d.problems) : null,
    chunkCount,
  ];
}
