/**
 * The shapes the UI reads from the v1 API (see /v1/openapi.json and src/server/routes.ts).
 * Only the fields the UI uses are declared; the server may send more.
 */

export interface ApiErrorBody {
  readonly error: { code: string; message: string; hint: string; docs: string };
}

export interface ListPage<T> {
  readonly items: T[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export interface KnowledgeBase {
  readonly id: number;
  readonly name: string;
  readonly sourceCount: number;
  readonly documentCount: number;
  readonly chunkCount: number;
  readonly createdAt: string;
}

export interface Source {
  readonly id: number;
  readonly kind: string;
  readonly location: string;
  readonly title?: string;
  readonly parentId?: number;
  readonly lastSyncedAt?: string;
  readonly lastError?: string;
  readonly refreshIntervalS?: number;
  readonly createdAt: string;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Job {
  readonly id: number;
  readonly kind: string;
  readonly state: JobState;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly progress: { done: number; total: number; label?: string };
  readonly result?: { added?: number; updated?: number; sourceId?: number; title?: string };
  readonly error?: { code: string; message: string; hint?: string };
}

export interface DocumentSummary {
  readonly id: number;
  readonly sourceId: number;
  readonly kind: 'article' | 'page' | 'pdf' | 'markdown' | 'text';
  readonly title: string;
  readonly url?: string;
  readonly author?: string;
  readonly published?: string;
  readonly tags: string[];
  readonly chunkCount: number;
  readonly pageCount?: number;
  readonly pageLabels?: string[];
}

export interface Chunk {
  readonly id: number;
  readonly ordinal: number;
  readonly headingPath: string[];
  readonly anchor?: string;
  readonly text: string;
  readonly pageStart?: number;
  readonly pageEnd?: number;
}

export interface DocumentWithChunks extends DocumentSummary {
  readonly chunks: Chunk[];
}

export interface RouteFilters {
  readonly author?: string;
  readonly tag?: string;
  readonly since?: string;
  readonly until?: string;
  readonly sourceId?: number;
}

export interface Route {
  readonly type: string;
  readonly rule: string;
  readonly query: string;
  readonly filters: RouteFilters;
  readonly filterNotes: string[];
  readonly sides?: [string, string];
  readonly followUpOf?: string;
}

export interface Citation {
  readonly n: number;
  readonly documentId: number;
  readonly title: string;
  readonly url?: string;
  readonly author?: string;
  readonly published?: string;
  readonly pageStart?: number;
  readonly pageEnd?: number;
  readonly pages?: string;
  readonly section?: string;
  readonly anchor?: string;
  readonly chunkIds: number[];
  readonly label: string;
  readonly quote: string;
}

/** A sentence of a generated answer with its support check. */
export interface SentenceCheck {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly cites: number[];
  readonly support?: number;
  readonly unsupported: boolean;
  readonly uncited: boolean;
}

export interface Answer {
  readonly text: string;
  readonly shape: string;
  readonly declined: boolean;
  readonly followUp?: string;
  readonly citations: Citation[];
  readonly generation?: { model: string; unsupported: number; sentences: SentenceCheck[] };
}

export interface TraceStage {
  readonly name: string;
  readonly ms: number;
  readonly summary: string;
  readonly detail: Record<string, unknown>;
}

export interface Trace {
  readonly stages: TraceStage[];
  readonly totalMs: number;
}

export interface Nearest {
  readonly documentId: number;
  readonly title: string;
}

/** One event of a streamed answer, in the order the server sends them. */
export type AnswerEvent =
  | { event: 'route'; data: Route }
  | { event: 'sources'; data: { citations: Citation[]; nearest: Nearest[] } }
  | { event: 'token'; data: { text: string } }
  | { event: 'answer'; data: Answer }
  | { event: 'trace'; data: Trace }
  | { event: 'error'; data: ApiErrorBody };
