/**
 * The contract every source kind implements: `(input, ctx) => AsyncIterable<ParsedDocument>`.
 * A source reads bytes (from a path or through the Fetcher), parses them, and yields
 * documents one at a time so a 10,000-item feed or a 1,000-page book never has to be
 * held in memory as a whole.
 */
import type { Config } from '../core/config.js';
import type { ParsedDocument } from '../core/document.js';
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

/** A parser of one kind of input. */
export type Parser = (input: RawInput, ctx: SourceContext) => AsyncIterable<ParsedDocument>;
