/**
 * The Store seam: everything shelf persists, behind one interface that the SQLite
 * (default) and PostgreSQL backends implement. No driver type crosses it. Every method
 * that writes is atomic: a document's row, its chunks and their index rows appear together
 * or not at all, and deleting removes them from every index.
 *
 * Text analysis happens before the store: callers pass analysed index terms, so both
 * backends index exactly the same terms.
 */
import type { ChunkDraft, DocumentKind, ParsedDocument } from '../core/document.js';
import type { SourceKind } from '../sources/source.js';

export interface KnowledgeBase {
  readonly id: number;
  readonly name: string;
  /** The persona used by generated answers. */
  readonly primer?: string;
  /** The embedding model of the knowledge base's vectors, once one was used. */
  readonly embedding?: EmbeddingInfo;
  readonly createdAt: string;
}

/** The model a knowledge base's vectors come from; vectors of other models are never compared. */
export interface EmbeddingInfo {
  readonly model: string;
  readonly dimension: number;
  /**
   * `ready`: dense search may use the vectors. `embedding`: a (re-)embedding job is filling
   * them in, and search stays lexical until it is done.
   */
  readonly state: 'ready' | 'embedding';
}

/** Vectors for a document's chunks, in chunk order, written in the document's transaction. */
export interface DocumentVectors {
  readonly model: string;
  readonly values: readonly Float32Array[];
}

export interface VectorInput {
  readonly chunkId: number;
  readonly vector: Float32Array;
}

export interface DenseQuery {
  /** Unit-length query vector from the same model. */
  readonly vector: Float32Array;
  readonly model: string;
  /** Knowledge bases to search; empty = all. */
  readonly kbIds: readonly number[];
  readonly filter?: DocumentFilter;
  readonly limit: number;
}

export interface DenseHit {
  readonly chunkId: number;
  readonly documentId: number;
  /** Cosine similarity, higher is better. */
  readonly score: number;
}

export interface KnowledgeBaseSummary extends KnowledgeBase {
  readonly sourceCount: number;
  readonly documentCount: number;
  readonly chunkCount: number;
}

/** Per-source settings given when it is added. */
export interface SourceOptions {
  /** Tags added to every document of the source. */
  readonly tags?: readonly string[];
  /** Directory sources: globs of files to include / exclude (relative to the root). */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

export interface SourceRecord {
  readonly id: number;
  readonly kbId: number;
  readonly kind: SourceKind;
  /** An absolute path or an http(s) URL. */
  readonly location: string;
  readonly title?: string;
  /** The OPML source this feed came from. */
  readonly parentId?: number;
  readonly options: SourceOptions;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly lastSyncedAt?: string;
  readonly lastError?: string;
  /** Feeds: seconds between automatic refreshes. */
  readonly refreshIntervalS?: number;
  readonly createdAt: string;
}

export interface NewSource {
  readonly kbId: number;
  readonly kind: SourceKind;
  readonly location: string;
  readonly title?: string;
  readonly parentId?: number;
  readonly options?: SourceOptions;
  readonly refreshIntervalS?: number;
}

export interface SourcePatch {
  readonly title?: string;
  readonly etag?: string | null;
  readonly lastModified?: string | null;
  readonly lastSyncedAt?: string;
  readonly lastError?: string | null;
}

/** Document metadata as stored: the parsed document without its blocks (chunks are the stored text). */
export interface DocumentInput extends Omit<ParsedDocument, 'blocks'> {
  /** sha256 of the parsed content and metadata; unchanged hash = nothing to do. */
  readonly hash: string;
}

export interface DocumentRecord extends DocumentInput {
  readonly id: number;
  readonly kbId: number;
  readonly sourceId: number;
  readonly chunkCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The analysed terms of a chunk's fields, space-separated (see text/analyze). */
export interface IndexFields {
  readonly title: string;
  readonly heading: string;
  readonly body: string;
  readonly tags: string;
}

export interface ChunkInput extends ChunkDraft {
  readonly index: IndexFields;
}

export interface ChunkRecord extends ChunkDraft {
  readonly id: number;
  readonly documentId: number;
  readonly kbId: number;
}

export type UpsertOutcome = 'added' | 'updated' | 'unchanged';

export interface DocumentFilter {
  /** Case-insensitive substring of the author. */
  readonly author?: string;
  /** Exact tag, case-insensitive. */
  readonly tag?: string;
  /** ISO date: published (or, undated, added) on or after. */
  readonly since?: string;
  /** ISO date: published before. */
  readonly until?: string;
  readonly sourceId?: number;
  readonly kind?: DocumentKind;
  /** Only documents with page problems. */
  readonly problems?: boolean;
  /** Case-insensitive substring of the title. */
  readonly title?: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
}

/** BM25 field weights, in index column order. */
export interface FieldWeights {
  readonly title: number;
  readonly heading: number;
  readonly body: number;
  readonly tags: number;
}

export interface LexicalQuery {
  /** Analysed terms, OR-ed. */
  readonly terms: readonly string[];
  /** Knowledge bases to search; empty = all. */
  readonly kbIds: readonly number[];
  readonly filter?: DocumentFilter;
  readonly limit: number;
}

export interface LexicalHit {
  readonly chunkId: number;
  readonly documentId: number;
  /** Higher is better (negated FTS5 bm25). */
  readonly score: number;
}

/** A chunk with the document it belongs to, for rendering results and context. */
export interface ChunkWithDocument {
  readonly chunk: ChunkRecord;
  readonly document: DocumentRecord;
}

export interface TermStats {
  /** Chunks in the searched knowledge bases. */
  readonly chunkCount: number;
  /** Chunks containing each term (document frequency over chunks). */
  readonly df: ReadonlyMap<string, number>;
}

/** Index fields in column order; arrays with several values per chunk follow this order. */
export const INDEX_FIELDS = ['title', 'heading', 'body', 'tags'] as const;
export const FIELD_COUNT = INDEX_FIELDS.length;

/**
 * Per-chunk facts a ranker keeps in memory, as arrays indexed by chunk id (ids are small
 * integers). A slot with no chunk has documentId 0.
 */
export interface ChunkTable {
  /** Arrays cover chunk ids 0 .. size - 1. */
  readonly size: number;
  readonly chunkCount: number;
  readonly documentId: Uint32Array;
  readonly kbId: Uint32Array;
  /** Indexed terms per field: FIELD_COUNT values per chunk id, in INDEX_FIELDS order. */
  readonly fieldLengths: Uint32Array;
}

/** Where a term occurs: every chunk holding it, with its count in each field. */
export interface PostingList {
  /** Chunk ids, ascending. */
  readonly chunkIds: Uint32Array;
  /** Occurrences per field: FIELD_COUNT values per posting, in INDEX_FIELDS order (capped at 65535). */
  readonly fieldTf: Uint16Array;
  /** A value per posting stored with the list (StoredImpacts), when asked for by its key. */
  readonly impacts?: Float32Array;
  /** The numbers stored with those values (StoredImpacts.summaryOf), when there are any. */
  readonly summary?: Float64Array;
}

/**
 * Values a ranker computes per posting (e.g. BM25 impacts), stored with the compact posting
 * lists (Store.compactPostings) and handed back by `postings` to a caller asking with the
 * same key. The key must name everything the values depend on.
 */
export interface StoredImpacts {
  readonly key: string;
  /** The values of `list`'s postings, or undefined to store none for this list. */
  of(list: PostingList): Float32Array | undefined;
  /**
   * A few numbers about the list and its values (say their maximum), stored and handed back
   * with them, so a reader need not work them out from the postings again.
   */
  summaryOf?(list: PostingList, impacts: Float32Array): Float64Array;
}

/** How Store.postings reads lists. */
export interface PostingsRead {
  /**
   * false: the caller does not need per-field counts where it gets stored impacts with their
   * summary, so such a list may come with an empty `fieldTf` (a third less to read, nothing
   * to decode). Default true.
   */
  readonly counts?: boolean;
}

/** Counts that must all be zero in a consistent store. */
export interface IntegrityReport {
  readonly documentsWithoutChunks: number;
  readonly chunksWithoutIndexRow: number;
  readonly indexRowsWithoutChunk: number;
  readonly chunkCountMismatches: number;
}

/** queued → running → succeeded | failed; a failed attempt with retries left goes back to queued. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobProgress {
  readonly done: number;
  readonly total: number;
  readonly label?: string;
}

/** What a failed attempt reported (a catalogue error as JSON). */
export interface JobError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

/**
 * A unit of background work (ingest, feed sync). Workers claim jobs with a lease and renew
 * it while they run; a job whose lease ran out (its worker died) is claimed again, so work
 * survives a restart. The PostgreSQL backend claims with `FOR UPDATE SKIP LOCKED`.
 */
export interface JobRecord {
  readonly id: number;
  readonly kind: string;
  /** JSON object the worker for `kind` understands. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly state: JobState;
  /** Attempts started so far. */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** ISO time before which the job is not claimed (backoff). */
  readonly runAt: string;
  readonly leaseOwner?: string;
  readonly leaseUntil?: string;
  readonly progress: JobProgress;
  readonly result?: unknown;
  /** The last attempt's error (kept while retrying, final when failed). */
  readonly error?: JobError;
  /** At most one queued or running job per key (e.g. one sync per source). */
  readonly dedupeKey?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

export interface NewJob {
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Default 3. */
  readonly maxAttempts?: number;
  readonly dedupeKey?: string;
}

export interface JobFilter {
  readonly state?: JobState;
  readonly kind?: string;
}

/** An API key as stored: the key itself is never kept, only its SHA-256. */
export interface ApiKeyRecord {
  readonly id: number;
  readonly name: string;
  /** The first characters of the key, to recognise it in lists. */
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface Store {
  /** Where the data lives, for messages (a path or a redacted URL). */
  readonly location: string;
  close(): Promise<void>;

  createKnowledgeBase(name: string): Promise<KnowledgeBase>;
  getKnowledgeBase(name: string): Promise<KnowledgeBase | undefined>;
  listKnowledgeBases(): Promise<KnowledgeBaseSummary[]>;
  deleteKnowledgeBase(id: number): Promise<void>;
  setPrimer(id: number, primer: string | null): Promise<void>;

  addSource(source: NewSource): Promise<SourceRecord>;
  getSource(id: number): Promise<SourceRecord | undefined>;
  findSource(kbId: number, location: string): Promise<SourceRecord | undefined>;
  listSources(kbId?: number): Promise<SourceRecord[]>;
  updateSource(id: number, patch: SourcePatch): Promise<void>;
  /** Removes the source, its documents and their chunks from every index. */
  deleteSource(id: number): Promise<void>;

  /**
   * Adds or replaces one document with its chunks in a single transaction, keyed by
   * (source, key). Same hash as stored: nothing is written.
   */
  upsertDocument(input: {
    readonly kbId: number;
    readonly sourceId: number;
    readonly document: DocumentInput;
    readonly chunks: readonly ChunkInput[];
    /** Written with the chunks, in the same transaction (one vector per chunk). */
    readonly vectors?: DocumentVectors;
  }): Promise<{ id: number; outcome: UpsertOutcome }>;
  /**
   * Many upserts (each as `upsertDocument`) in one transaction: all or none are written.
   * Bulk loads use it because every commit costs a full-text index segment.
   */
  upsertDocuments(
    inputs: readonly {
      readonly kbId: number;
      readonly sourceId: number;
      readonly document: DocumentInput;
      readonly chunks: readonly ChunkInput[];
      readonly vectors?: DocumentVectors;
    }[],
  ): Promise<{ id: number; outcome: UpsertOutcome }[]>;
  /** key → hash of a source's documents, to skip unchanged ones before chunking. */
  documentHashes(sourceId: number): Promise<Map<string, string>>;
  getDocument(id: number): Promise<DocumentRecord | undefined>;
  listDocuments(
    kbIds: readonly number[],
    filter: DocumentFilter,
    page: PageRequest,
  ): Promise<Page<DocumentRecord>>;
  getChunks(documentId: number): Promise<ChunkRecord[]>;
  getChunksWithDocuments(chunkIds: readonly number[]): Promise<ChunkWithDocument[]>;
  deleteDocument(id: number): Promise<void>;
  /** Removes a source's documents whose keys are not in `keep` (files gone from a directory). */
  deleteDocumentsExcept(sourceId: number, keep: readonly string[]): Promise<number>;

  /** Candidate chunks by BM25 over the weighted fields, best first. */
  searchLexical(query: LexicalQuery): Promise<LexicalHit[]>;
  termStats(terms: readonly string[], kbIds: readonly number[]): Promise<TermStats>;
  /** Distinct authors (with document counts) in the given knowledge bases. */
  listAuthors(kbIds: readonly number[]): Promise<{ name: string; documents: number }[]>;
  listTags(kbIds: readonly number[]): Promise<{ name: string; documents: number }[]>;

  integrityCheck(): Promise<IntegrityReport>;

  /**
   * Queues a job. With a `dedupeKey` already held by a queued or running job, nothing is
   * added and that job is returned with `created: false`.
   */
  enqueueJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }>;
  getJob(id: number): Promise<JobRecord | undefined>;
  /** Newest first. */
  listJobs(filter: JobFilter, page: PageRequest): Promise<Page<JobRecord>>;
  /**
   * Atomically takes the oldest job that is queued and due, or running with an expired
   * lease: it becomes running, owned by `workerId` until now + `leaseMs`, attempts + 1.
   */
  claimJob(workerId: string, leaseMs: number): Promise<JobRecord | undefined>;
  /** Extends the lease and records progress; false when the worker no longer owns the job. */
  heartbeatJob(id: number, workerId: string, leaseMs: number, progress?: JobProgress): Promise<boolean>;
  /** Marks an owned job succeeded with its result; false when the lease was lost. */
  completeJob(id: number, workerId: string, result: unknown): Promise<boolean>;
  /**
   * Records a failed attempt: with `retryAt` the job is queued again for then, without it
   * the job has failed for good. False when the lease was lost.
   */
  failJob(id: number, workerId: string, error: JobError, retryAt?: string): Promise<boolean>;

  /** Stores a new key by its SHA-256 (hex); names need not be unique. */
  createApiKey(key: {
    readonly name: string;
    readonly prefix: string;
    readonly hash: string;
  }): Promise<ApiKeyRecord>;
  /** The key with this SHA-256, revoked or not. */
  findApiKey(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** False when there is no such key; revoking twice keeps the first time. */
  revokeApiKey(id: number): Promise<boolean>;

  /**
   * An opaque value that changes whenever the full-text index may have changed, through
   * this handle or another process. Rankers key their in-memory caches on it.
   */
  indexVersion(): Promise<string>;
  /** Every chunk's document, knowledge base and field lengths (see ChunkTable). */
  chunkTable(): Promise<ChunkTable>;
  /** Chunks holding each term, over every knowledge base (0 for unknown terms); cheap. */
  documentFrequencies(terms: readonly string[]): Promise<Map<string, number>>;
  /**
   * The posting list of each term (an empty list for unknown terms), with the impacts stored
   * under `impactKey` where there are any (see compactPostings).
   */
  postings(
    terms: readonly string[],
    impactKey?: string,
    read?: PostingsRead,
  ): Promise<Map<string, PostingList>>;
  /**
   * Every term's posting list, read in one pass (to warm a ranker), or undefined when the
   * index holds more than `maxPostings` postings in all.
   */
  allPostings(maxPostings: number): Promise<Map<string, PostingList> | undefined>;
  /**
   * The terms held by the most chunks, most first, as many as hold at most `maxPostings`
   * postings in all: the lists that cost most to read at query time, for a ranker to load
   * ahead. None where the backend cannot count them cheaply (SQLite without current compact
   * lists: its full-text index counts a term's chunks by reading its list).
   */
  frequentTerms(maxPostings: number): Promise<string[]>;
  /**
   * Writes the store's compact copy of every posting list, where it keeps one (SQLite: see
   * sqlite/posting-lists.ts), so `postings` and `allPostings` read it instead of the
   * full-text index until chunks are added past it. Results never depend on it. Returns the
   * postings written: 0 when the copy is already current (with the same `impacts` key) or
   * the store keeps none. One pass over the whole index, in short write transactions: for
   * after bulk loads and at start-up. With `impacts`, their values are stored too. Once
   * `options.signal` is aborted it stops between two transactions and throws the signal's
   * reason; a pass stopped that way leaves no copy in use (the next pass writes it all).
   */
  compactPostings(impacts?: StoredImpacts, options?: { readonly signal?: AbortSignal }): Promise<number>;
  /** Those of `chunkIds` whose documents match `filter`. */
  filterChunks(chunkIds: readonly number[], filter: DocumentFilter): Promise<Set<number>>;

  getKnowledgeBaseById(id: number): Promise<KnowledgeBase | undefined>;
  /** Records (or, with null, forgets) the embedding model of a knowledge base. */
  setEmbedding(kbId: number, info: EmbeddingInfo | null): Promise<void>;
  /** Stores vectors of `model` for existing chunks (replacing earlier ones); returns how many. */
  putVectors(model: string, vectors: readonly VectorInput[]): Promise<number>;
  /** Removes a knowledge base's vectors, except those of `keepModel`; returns how many. */
  deleteVectors(kbId: number, keepModel?: string): Promise<number>;
  /** Up to `limit` chunk ids of the knowledge base with no vector of `model`, ascending. */
  missingVectors(kbId: number, model: string, limit: number): Promise<number[]>;
  /** Chunks of the knowledge base, and how many have a vector of `model`. */
  vectorCounts(kbId: number, model: string): Promise<{ chunks: number; embedded: number }>;
  /**
   * Nearest chunks by cosine similarity among vectors of `query.model`, best first.
   * Throws VECTORS_UNAVAILABLE when the backend has no vector support.
   */
  searchDense(query: DenseQuery): Promise<DenseHit[]>;
}

/** Default BM25 column weights: a title or heading match says more than a body match. */
export const DEFAULT_FIELD_WEIGHTS: FieldWeights = { title: 4, heading: 2.5, body: 1, tags: 2 };

/**
 * Store.frequentTerms from (term, postings) pairs, most postings first: each term in turn
 * while the total stays within `maxPostings` (a term too large for what is left is passed
 * over for the smaller ones after it).
 */
export function withinPostings(rows: readonly (readonly [string, number])[], maxPostings: number): string[] {
  const out: string[] = [];
  let total = 0;
  for (const [term, n] of rows) {
    if (total + n > maxPostings) continue;
    total += n;
    out.push(term);
  }
  return out;
}
