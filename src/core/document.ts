/**
 * The data every stage passes along: a parsed Document (metadata plus an ordered list of
 * blocks) and the Chunks the chunker cuts from it. Sources produce Documents, the chunker
 * produces Chunks, the store persists both.
 */

/** Where a block sits in a paged document (PDF). `page` is the physical page, 1-based. */
export interface PagePosition {
  readonly page?: number;
}

export type Block =
  | (PagePosition & {
      readonly kind: 'heading';
      /** 1 is the top level (a chapter, an article's h1/h2), deeper levels nest. */
      readonly level: number;
      readonly text: string;
      /** The section anchor (HTML `id`), without `#`. */
      readonly anchor?: string;
    })
  | (PagePosition & { readonly kind: 'paragraph'; readonly text: string })
  | (PagePosition & { readonly kind: 'list'; readonly ordered: boolean; readonly items: readonly string[] })
  | (PagePosition & { readonly kind: 'code'; readonly text: string; readonly lang?: string })
  | (PagePosition & {
      readonly kind: 'table';
      /** The first row is the header when `header` is true. Cells are plain text. */
      readonly rows: readonly (readonly string[])[];
      readonly header: boolean;
    });

export type BlockKind = Block['kind'];

export type DocumentKind = 'article' | 'page' | 'pdf' | 'markdown' | 'text';

/** A page of a paged document that was left out of the index, and why. */
export interface PageProblem {
  readonly page: number;
  readonly reason: 'no-text' | 'garbled' | 'error';
  readonly detail: string;
}

/** What a source yields: one document, parsed, not yet chunked. */
export interface ParsedDocument {
  /**
   * Stable identity within its source: a feed item's guid/id, else its link, else a
   * content hash; a file's path relative to the source root. Never a timestamp.
   */
  readonly key: string;
  readonly kind: DocumentKind;
  readonly title: string;
  /** The canonical URL (or file:// URL for local files). */
  readonly url?: string;
  readonly author?: string;
  /** ISO 8601. Absent when the source gives no date: never "now". */
  readonly published?: string;
  readonly updated?: string;
  readonly tags: readonly string[];
  readonly blocks: readonly Block[];
  /** Paged documents only. */
  readonly pageCount?: number;
  /** Printed page labels by physical page (index 0 is page 1), when the PDF has them. */
  readonly pageLabels?: readonly string[];
  /** Pages left out of the index (no text layer, garbled), for `shelf docs --problems`. */
  readonly problems?: readonly PageProblem[];
}

/** A piece of a document sized for retrieval and citation. */
export interface ChunkDraft {
  /** 0-based position within the document. */
  readonly ordinal: number;
  /** Heading path from the top: ["Networking", "SYN queue"]. */
  readonly headingPath: readonly string[];
  /** Section anchor of the nearest heading that has one. */
  readonly anchor?: string;
  /** Plain text of the chunk; code blocks are fenced with ``` so they stay recognisable. */
  readonly text: string;
  readonly pageStart?: number;
  readonly pageEnd?: number;
  /** Approximate token count (see text/tokens). */
  readonly tokens: number;
  /** The kinds of block it holds, e.g. to prefer chunks with code for code questions. */
  readonly hasCode: boolean;
}
