/**
 * The small interfaces stages depend on instead of each other. Implementations live in
 * their own folders; `src/app.ts` (the composition root) picks the defaults.
 */

/** What a fetch returned. `notModified` is true for a 304 answer to a conditional GET. */
export interface FetchResult {
  /** The final URL after redirects. */
  readonly url: string;
  readonly status: number;
  readonly notModified: boolean;
  /** The body bytes (empty for 304). */
  readonly body: Uint8Array;
  /** The media type without parameters, lower-case (e.g. `application/rss+xml`); '' if absent. */
  readonly contentType: string;
  /** The charset named by the Content-Type header, lower-case, if any. */
  readonly charset?: string;
  readonly etag?: string;
  readonly lastModified?: string;
}

export interface FetchOptions {
  /** Validators from the previous fetch: sent as If-None-Match / If-Modified-Since. */
  readonly etag?: string;
  readonly lastModified?: string;
  /** e.g. 'application/rss+xml, application/atom+xml, ...'. */
  readonly accept?: string;
  readonly signal?: AbortSignal;
}

/** One HTTP client for everything remote (timeouts, size cap, redirect cap, address guard). */
export interface Fetcher {
  fetch(url: string, options?: FetchOptions): Promise<FetchResult>;
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export const SYSTEM_CLOCK: Clock = { now: () => new Date() };

export const SILENT_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

/** Progress of long work, for a progress bar or a job record. */
export interface Progress {
  /** Sets the expected total (e.g. items in a feed, pages in a PDF). */
  total(n: number): void;
  /** Advances by n (default 1) with an optional label of what was done. */
  tick(n?: number, label?: string): void;
}

export const NO_PROGRESS: Progress = { total: () => undefined, tick: () => undefined };
