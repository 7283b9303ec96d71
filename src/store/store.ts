/**
 * The Store seam: everything shelf persists, behind one interface that the SQLite
 * (default) and PostgreSQL backends implement. No driver type crosses it. Every method
 * that writes is atomic: a document's row, its chunks and their index rows appear together
 * or not at all, and deleting removes them from every index.
 *
 * Text analysis happens before the store: callers pass analysed index terms, so both
 * backends index exactly the same terms.
 */
import type { ChunkDraft, DocumentKind, PageProblem } from '../core/document.js';
import type { SourceKind } from '../sources/source.js';

export interface KnowledgeBase {
  readonly id: number;
  readonly name: string;
  /** The persona used by generated answers. */
  readonly primer?: string;
  readonly createdAt: string;
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

/** Document metadata as stored (blocks are not kept: chunks are the stored text). */
export interface DocumentInput {
  readonly key: string;
  readonly kind: DocumentKind;
  readonly title: string;
  readonly url?: string;
  readonly author?: string;
  readonly published?: string;
  readonly updated?: string;
  readonly tags: readonly string[];
  /** sha256 of the parsed content and metadata; unchanged hash = nothing to do. */
  readonly hash: string;
  readonly pageCount?: number;
  readonly pageLabels?: readonly string[];
  readonly problems?: readonly PageProblem[];
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

/** Counts that must all be zero in a consistent store. */
export interface IntegrityReport {
  readonly documentsWithoutChunks: number;
  readonly chunksWithoutIndexRow: number;
  readonly indexRowsWithoutChunk: number;
  readonly chunkCountMismatches: number;
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
  }): Promise<{ id: number; outcome: UpsertOutcome }>;
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
}

/** Default BM25 column weights: a title or heading match says more than a body match. */
export const DEFAULT_FIELD_WEIGHTS: FieldWeights = { title: 4, heading: 2.5, body: 1, tags: 2 };
