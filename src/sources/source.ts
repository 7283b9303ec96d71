/**
 * What every source parser works with: raw bytes of one input (read from a path or
 * through the Fetcher) and a context of seams and limits. Each parser is a function
 * `(input, ctx) => Promise<ParsedDocument | ParsedFeed>`; `ingest/ingest.ts` dispatches
 * on the source kind. Parsing completes before anything is stored, so a broken input
 * never leaves half a document behind.
 */
import type { Config } from '../core/config.js';
import type { Clock, Fetcher, Logger, Progress } from '../core/seams.js';

export type SourceKind = 'feed' | 'opml' | 'pdf' | 'html' | 'markdown' | 'text' | 'directory';

export interface SourceContext {
  readonly fetcher: Fetcher;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
}

/** Raw bytes of one input with what is known about their type. */
export interface RawInput {
  /** A path or URL, for messages and for resolving relative links. */
  readonly location: string;
  readonly bytes: Uint8Array;
  /** Media type from HTTP (lower-case, no parameters) or '' for files. */
  readonly contentType: string;
  /** Charset from HTTP Content-Type, if any. */
  readonly charset?: string;
}
