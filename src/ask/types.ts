/**
 * The data that flows through `ask`: Route → Candidate[] → Context → Answer, plus the
 * citation map that travels with the answer. Kept in one module so every stage imports
 * types only from here and never from each other.
 */
import type { ChunkRecord, DocumentRecord } from '../store/store.js';

/** Question types; each decides retrieval depth, diversity and the answer's shape. */
export const ROUTE_TYPES = [
  'lookup',
  'howto',
  'code',
  'summary',
  'comparison',
  'list',
  'catalog',
  'vague',
] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];

/** Filters read from the question, in store terms. */
export interface AskFilters {
  /** The full author name as stored (the store matches a case-insensitive substring). */
  readonly author?: string;
  readonly tag?: string;
  /** ISO date, inclusive. */
  readonly since?: string;
  /** ISO date, exclusive. */
  readonly until?: string;
  readonly sourceId?: number;
}

/** What the router decided and why. */
export interface Route {
  readonly type: RouteType;
  /** Name of the rule that chose `type` (shown in the trace). */
  readonly rule: string;
  readonly filters: AskFilters;
  /** One line per filter: which words of the question set it. */
  readonly filterNotes: readonly string[];
  /** The question without filter words and question boilerplate: what retrieval searches. */
  readonly query: string;
  /** Comparison: the two sides, as the question names them. */
  readonly sides?: readonly [string, string];
  /** Set when the question was read as a follow-up: the earlier query it continues. */
  readonly followUpOf?: string;
}

/** One turn of a conversation, as the router needs it for follow-ups. */
export interface Turn {
  readonly question: string;
  readonly route: Route;
  /** The answer given (generated answers send it back to the model as history). */
  readonly answer?: string;
}

/** A retrieved chunk with the evidence that ranked it. */
export interface Candidate {
  readonly chunk: ChunkRecord;
  readonly document: DocumentRecord;
  /** BM25 from the index (higher is better). */
  readonly bm25: number;
  /** Final score after rescoring, in [0, 1]-ish. */
  readonly score: number;
  /** idf-weighted share of query terms present in the chunk, [0, 1]. */
  readonly coverage: number;
}

/** How strongly the knowledge base supports an answer (see retrieve.ts for definitions). */
export interface Evidence {
  /** Best idf-weighted share of the query's terms found in one chunk, [0, 1]. */
  readonly coverage: number;
  /** Best chunk's BM25 (own computation) over the query's maximum possible BM25, [0, 1). */
  readonly strength: number;
  /**
   * Best idf-weighted share of the query's terms said together in one chunk (within a
   * window of a few words, or in its title or heading), [0, 1]; 1 for one-term queries.
   */
  readonly cohesion: number;
  /**
   * Summary questions: best idf-weighted share of the query's terms in a top chunk's
   * document title or heading path, [0, 1]; 1 for other routes.
   */
  readonly topical: number;
  /** Query terms that occur nowhere in the knowledge base. */
  readonly missingTerms: readonly string[];
}

/** One numbered entry of the context and of the citation map. */
export interface Citation {
  readonly n: number;
  readonly documentId: number;
  readonly title: string;
  readonly url?: string;
  readonly author?: string;
  readonly published?: string;
  /** Physical pages (PDF), inclusive. */
  readonly pageStart?: number;
  readonly pageEnd?: number;
  /** "p. 12" / "pp. 12-13" with printed labels when the PDF has them. */
  readonly pages?: string;
  readonly section?: string;
  readonly anchor?: string;
  readonly chunkIds: readonly number[];
  /** The human form: "Title, p. 12" or "Title § Section". */
  readonly label: string;
  /** A verbatim span of one of the chunks (the first sentence the answer quotes, else the best one). */
  readonly quote: string;
}

/** One chunk inside a context block. */
export interface ContextPart {
  readonly chunk: ChunkRecord;
  /** The chunk's text with any sentence overlap with the previous part removed. */
  readonly text: string;
}

export interface ContextBlock {
  readonly n: number;
  readonly document: DocumentRecord;
  readonly parts: readonly ContextPart[];
  readonly tokens: number;
  /** Best relevance among the block's chunks. */
  readonly score: number;
}

export interface Context {
  readonly blocks: readonly ContextBlock[];
  readonly citations: readonly Citation[];
  readonly tokens: number;
  readonly budget: number;
  /** Candidates left out because the budget was spent. */
  readonly dropped: number;
}

/** A piece of the answer: quotes come from the context, the rest from a fixed template. */
export type AnswerPart =
  | { readonly kind: 'template'; readonly text: string }
  | { readonly kind: 'quote'; readonly text: string; readonly n: number; readonly chunkId: number }
  | { readonly kind: 'code'; readonly text: string; readonly n: number; readonly chunkId: number }
  | { readonly kind: 'label'; readonly text: string; readonly n?: number }
  | { readonly kind: 'cite'; readonly n: number }
  /** Text written by a model (checked: invalid citations removed, support scored). */
  | { readonly kind: 'generated'; readonly text: string };

/** One sentence of a generated answer, checked against the blocks it cites. */
export interface SentenceCheck {
  readonly text: string;
  /** Character span in the answer text. */
  readonly start: number;
  readonly end: number;
  /** Block numbers the sentence cites. */
  readonly cites: readonly number[];
  /** idf-weighted share of its content terms found in the cited blocks, [0, 1]; absent when uncited. */
  readonly support?: number;
  /** Cites blocks that do not support it (support under MIN_SUPPORT). */
  readonly unsupported: boolean;
  /** Makes a claim (has content terms, is not a question) but cites nothing. */
  readonly uncited: boolean;
}

/** How a generated answer was made and what the checks found. */
export interface Generation {
  /** The model that answered and its server. */
  readonly model: string;
  readonly url: string;
  /** False when the stream ended early: the answer is what arrived before. */
  readonly complete: boolean;
  readonly incompleteReason?: string;
  readonly finishReason?: string;
  /** Citation numbers the model wrote that are not in the citation map (removed from the text). */
  readonly removedCitations: readonly number[];
  readonly sentences: readonly SentenceCheck[];
  /** Sentences flagged unsupported. */
  readonly unsupported: number;
  /** What the prompt held after fitting it to the model's context. */
  readonly prompt: {
    readonly tokens: number;
    readonly contextTokens: number;
    readonly blocksSent: readonly number[];
    readonly blocksLeftOut: readonly number[];
    readonly historyTurns: number;
  };
}

/** Why a configured model was not used for this answer (the extractive answer stands in). */
export interface ModelFallback {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

export interface Answer {
  /** The rendered text, with [n] markers. */
  readonly text: string;
  readonly parts: readonly AnswerPart[];
  /** The shape the route asked for. */
  readonly shape: RouteType;
  /** True when the evidence was too weak and the answer names the nearest documents instead. */
  readonly declined: boolean;
  /** A clarifying question (vague questions). */
  readonly followUp?: string;
  /** Set when a model wrote the answer. */
  readonly generation?: Generation;
  /** Set when a model was configured but failed, and the answer is extractive. */
  readonly fallback?: ModelFallback;
}

export type { ChunkRecord, DocumentRecord };
