/**
 * The one error catalogue. Every failure shelf reports to a person or a client is a
 * `ShelfError` with a `code` from `MESSAGES`; the message says what went wrong and how to
 * fix it. The HTTP edge maps `kind` to a status, the CLI maps it to an exit code.
 */

/** What sort of failure a code is; drives HTTP statuses and CLI exit codes. */
export type ErrorKind =
  | 'usage' // the caller asked for something malformed
  | 'not-found'
  | 'conflict'
  | 'input' // outside data (a feed, a file, a page) is broken or hostile
  | 'remote' // a remote server failed or refused
  | 'forbidden'
  | 'unauthorized'
  | 'too-large'
  | 'rate-limited'
  | 'unavailable'
  | 'internal';

interface Entry {
  readonly kind: ErrorKind;
  readonly message: (d: Details) => string;
  readonly hint: string;
}

export type Details = Readonly<Record<string, string | number | undefined>>;

const s = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

export const MESSAGES = {
  USAGE: {
    kind: 'usage',
    message: (d) => s(d.detail),
    hint: 'Run the command with --help to see what it takes.',
  },
  EMPTY_QUERY: {
    kind: 'usage',
    message: () => 'The query is empty.',
    hint: 'Give a few words to search for, e.g. shelf search "uart bootloader".',
  },
  QUERY_TOO_LONG: {
    kind: 'usage',
    message: (d) => `The query is ${s(d.length)} characters long; the limit is ${s(d.limit)}.`,
    hint: 'Shorten the query to its key words.',
  },
  INVALID_OPTION: {
    kind: 'usage',
    message: (d) => `Invalid value for ${s(d.option)}: ${s(d.value)}. ${s(d.expected)}`,
    hint: 'Fix the option value and run the command again.',
  },
  INVALID_CONFIG: {
    kind: 'usage',
    message: (d) => `The configuration is invalid: ${s(d.detail)}`,
    hint: 'Fix shelf.config.json or the SHELF_* environment variable it names.',
  },
  KB_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no knowledge base named "${s(d.name)}".`,
    hint: 'List them with `shelf kb list`, or create it with `shelf kb create NAME`.',
  },
  KB_EXISTS: {
    kind: 'conflict',
    message: (d) => `A knowledge base named "${s(d.name)}" already exists.`,
    hint: 'Pick another name, or use the existing one with --kb.',
  },
  KB_NAME_INVALID: {
    kind: 'usage',
    message: (d) => `"${s(d.name)}" is not a valid knowledge base name.`,
    hint: 'Use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
  },
  KB_EMPTY: {
    kind: 'not-found',
    message: (d) => `The knowledge base "${s(d.name)}" holds no documents yet.`,
    hint: 'Add some with `shelf add PATH-OR-URL`.',
  },
  SOURCE_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no source ${s(d.id)}.`,
    hint: 'List the sources with `shelf sources`.',
  },
  DOCUMENT_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no document ${s(d.id)}.`,
    hint: 'List the documents with `shelf docs`.',
  },
  PATH_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `Nothing exists at ${s(d.path)}.`,
    hint: 'Check the path, or give an http(s) URL.',
  },
  PATH_UNREADABLE: {
    kind: 'input',
    message: (d) => `Cannot read ${s(d.path)}: ${s(d.reason)}.`,
    hint: 'Check the file permissions.',
  },
  UNSUPPORTED_SOURCE: {
    kind: 'input',
    message: (d) =>
      `Cannot tell what kind of document ${s(d.location)} is${d.detail ? ` (${s(d.detail)})` : ''}.`,
    hint: 'shelf reads RSS, Atom, JSON Feed, OPML, PDF, HTML, Markdown and plain text.',
  },
  FEED_MALFORMED: {
    kind: 'input',
    message: (d) => `The feed at ${s(d.location)} is not well-formed: ${s(d.detail)}.`,
    hint: 'Check the URL points at the feed itself; the publisher may be serving a broken file.',
  },
  FEED_IS_HTML: {
    kind: 'input',
    message: (d) => `${s(d.location)} is an HTML page, not a feed.`,
    hint: 'Use the feed URL (look for a link rel="alternate" in the page), or add the page as a page with --as page.',
  },
  FEED_TOO_MANY_ITEMS: {
    kind: 'too-large',
    message: (d) => `The feed at ${s(d.location)} has ${s(d.count)} items; the limit is ${s(d.limit)}.`,
    hint: 'Raise limits.maxFeedItems in shelf.config.json if this feed is genuine.',
  },
  XML_ENTITY_EXPANSION: {
    kind: 'input',
    message: (d) => `${s(d.location)} declares XML entities (${s(d.detail)}), which shelf refuses to expand.`,
    hint: 'Feeds never need entity declarations; this file may be hostile (an entity-expansion bomb).',
  },
  OPML_MALFORMED: {
    kind: 'input',
    message: (d) => `The OPML file ${s(d.location)} is not valid: ${s(d.detail)}.`,
    hint: 'An OPML blogroll needs <outline xmlUrl="..."> elements inside <body>.',
  },
  DOCUMENT_EMPTY: {
    kind: 'input',
    message: (d) => `${s(d.location)} has no readable text.`,
    hint: 'Check that the file is not empty, scanned, or made only of images.',
  },
  FETCH_FAILED: {
    kind: 'remote',
    message: (d) => `Could not fetch ${s(d.url)}: ${s(d.reason)}.`,
    hint: 'Check the URL and your network; run `shelf sync` again later.',
  },
  FETCH_STATUS: {
    kind: 'remote',
    message: (d) => `${s(d.url)} answered HTTP ${s(d.status)}.`,
    hint: 'Check the URL; a 4xx usually means it moved or needs a login.',
  },
  FETCH_TIMEOUT: {
    kind: 'remote',
    message: (d) => `${s(d.url)} did not answer within ${s(d.ms)} ms.`,
    hint: 'Try again later, or raise fetch.timeoutMs in shelf.config.json.',
  },
  FETCH_TOO_LARGE: {
    kind: 'too-large',
    message: (d) => `${s(d.url)} is larger than the ${s(d.limit)}-byte limit.`,
    hint: 'Raise fetch.maxBytes in shelf.config.json if you trust this source.',
  },
  FETCH_TOO_MANY_REDIRECTS: {
    kind: 'remote',
    message: (d) => `${s(d.url)} redirected more than ${s(d.limit)} times (a redirect loop?).`,
    hint: 'Use the final URL directly, or tell the site owner about the loop.',
  },
  FETCH_BLOCKED_ADDRESS: {
    kind: 'forbidden',
    message: (d) => `Refusing to fetch ${s(d.url)}: it resolves to ${s(d.address)}, a ${s(d.range)} address.`,
    hint: 'Private, loopback and link-local targets are blocked; allow them with fetch.allowPrivateAddresses or fetch.allowHosts.',
  },
  FETCH_BAD_URL: {
    kind: 'usage',
    message: (d) => `"${s(d.url)}" is not an http(s) URL.`,
    hint: 'Give a URL that starts with http:// or https://.',
  },
  FILE_TOO_LARGE: {
    kind: 'too-large',
    message: (d) => `${s(d.path)} is ${s(d.size)} bytes; the limit is ${s(d.limit)}.`,
    hint: 'Raise limits.maxDocumentBytes in shelf.config.json.',
  },
  PDF_ENCRYPTED: {
    kind: 'input',
    message: (d) => `${s(d.location)} is encrypted and needs a password.`,
    hint: 'Save an unencrypted copy (e.g. qpdf --decrypt in.pdf out.pdf) and add that.',
  },
  PDF_INVALID: {
    kind: 'input',
    message: (d) => `${s(d.location)} is not a readable PDF: ${s(d.detail)}.`,
    hint: 'The file may be truncated or corrupt; download it again.',
  },
  PDF_TOO_MANY_PAGES: {
    kind: 'too-large',
    message: (d) => `${s(d.location)} has ${s(d.pages)} pages; the limit is ${s(d.limit)}.`,
    hint: 'Raise limits.maxPdfPages in shelf.config.json.',
  },
  PDF_TIMEOUT: {
    kind: 'too-large',
    message: (d) => `Reading ${s(d.location)} took longer than ${s(d.ms)} ms.`,
    hint: 'Raise limits.maxDocumentMs in shelf.config.json.',
  },
  STORE_CORRUPT: {
    kind: 'internal',
    message: (d) => `The database at ${s(d.path)} cannot be used: ${s(d.detail)}.`,
    hint: 'Restore it from a backup, or move it aside and add your sources again.',
  },
  STORE_NEWER: {
    kind: 'internal',
    message: (d) => `The database at ${s(d.path)} was written by a newer shelf (schema ${s(d.version)}).`,
    hint: 'Upgrade shelf.',
  },
  STORE_BUSY: {
    kind: 'unavailable',
    message: () => 'The database is locked by another shelf process.',
    hint: 'Wait for the other process to finish, then try again.',
  },
  STORE_UNIQUE: {
    kind: 'conflict',
    message: (d) => `That already exists: ${s(d.detail)}.`,
    hint: 'Use the existing one, or pick another name.',
  },
  STORE_UNREACHABLE: {
    kind: 'unavailable',
    message: (d) => `The PostgreSQL database at ${s(d.url)} cannot be reached: ${s(d.detail)}.`,
    hint: 'Check that the server runs and that SHELF_DATABASE_URL names the right host, port, user and database.',
  },
  MIGRATE_TARGET_NOT_EMPTY: {
    kind: 'conflict',
    message: (d) => `The target store ${s(d.target)} already holds data (${s(d.detail)}).`,
    hint: 'Migrate into a new, empty database file or PostgreSQL schema.',
  },
  MIGRATE_MISMATCH: {
    kind: 'internal',
    message: (d) => `The copy in ${s(d.target)} differs from the source: ${s(d.detail)}.`,
    hint: 'Nothing was deleted from the source; drop the target and run shelf migrate again.',
  },
  EVAL_MISSING: {
    kind: 'not-found',
    message: (d) => `The test collection file ${s(d.path)} is missing.`,
    hint: 'Point at a BEIR directory holding corpus.jsonl, queries.jsonl and qrels-test.tsv.',
  },
  EVAL_INVALID: {
    kind: 'input',
    message: (d) => `${s(d.path)} line ${s(d.line)} is not valid: ${s(d.detail)}.`,
    hint: 'Fix or regenerate the file; each line must follow the BEIR layout.',
  },
  EVAL_EMPTY: {
    kind: 'input',
    message: (d) => `${s(d.path)} holds no ${s(d.what)}.`,
    hint: 'Check that the file is the complete BEIR file, not an empty download.',
  },
  EMPTY_QUESTION: {
    kind: 'usage',
    message: () => 'The question is empty (or held only control characters).',
    hint: 'Ask a question in words, e.g. shelf ask "how does the SYN queue work?".',
  },
  QUESTION_TOO_LONG: {
    kind: 'usage',
    message: (d) => `The question is ${s(d.length)} characters long; the limit is ${s(d.limit)}.`,
    hint: 'Ask a shorter question; to search a long text, pick its key words.',
  },
  ROUTE_UNKNOWN: {
    kind: 'usage',
    message: (d) => `"${s(d.route)}" is not a question type.`,
    hint: 'Use one of: lookup, howto, code, summary, comparison, list, catalog, vague.',
  },
  QA_INVALID: {
    kind: 'input',
    message: (d) => `${s(d.path)} line ${s(d.line)} is not a valid question: ${s(d.detail)}.`,
    hint: 'Each line is a JSON object: {"question": "...", "kind": "answerable"|"unanswerable"|"vague", "expect": [{"title"|"url": "...", "page": 12}]}.',
  },
  QA_EMPTY: {
    kind: 'input',
    message: (d) => `${s(d.path)} holds no questions.`,
    hint: 'Add one JSON object per line with at least a "question" field.',
  },
  UNAUTHORIZED: {
    kind: 'unauthorized',
    message: (d) => (d.reason === 'missing' ? 'This server needs an API key.' : 'The API key is not valid.'),
    hint: 'Send `Authorization: Bearer KEY`; create a key with `shelf keys create NAME`.',
  },
  RATE_LIMITED: {
    kind: 'rate-limited',
    message: (d) => `Too many requests: the limit is ${s(d.limit)} per minute.`,
    hint: 'Wait for the number of seconds in the Retry-After header, then try again.',
  },
  PAYLOAD_TOO_LARGE: {
    kind: 'too-large',
    message: (d) => `The request body is larger than the ${s(d.limit)}-byte limit.`,
    hint: 'Send a smaller body, or raise server.maxBodyBytes / server.maxUploadBytes in shelf.config.json.',
  },
  BODY_INVALID: {
    kind: 'usage',
    message: (d) => `The request is not valid: ${s(d.detail)}.`,
    hint: 'See /v1/openapi.json for what each endpoint takes.',
  },
  ROUTE_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no ${s(d.method)} ${s(d.path)}.`,
    hint: 'See /v1/openapi.json for the endpoints.',
  },
  JOB_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no job ${s(d.id)}.`,
    hint: 'Jobs are returned by the requests that start them (202 Accepted with a Location header).',
  },
  JOB_INTERRUPTED: {
    kind: 'unavailable',
    message: () => 'The server stopped while this job ran; it runs again when a worker is back.',
    hint: 'Nothing to do: the job is queued again.',
  },
  API_KEY_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `There is no API key ${s(d.id)}.`,
    hint: 'List the keys with `shelf keys list`.',
  },
  PATH_OUTSIDE_ROOTS: {
    kind: 'forbidden',
    message: (d) => `${s(d.path)} is not inside a directory this server may read.`,
    hint: 'Add its directory to server.roots in shelf.config.json, or upload the file instead.',
  },
  SERVER_UNSAFE_BIND: {
    kind: 'usage',
    message: (d) =>
      `Refusing to listen on ${s(d.host)} without API keys: anyone who can reach it could use it.`,
    hint: 'Create a key with `shelf keys create NAME` first, or listen on 127.0.0.1.',
  },
  SERVER_LISTEN_FAILED: {
    kind: 'unavailable',
    message: (d) => `Cannot listen on ${s(d.host)}:${s(d.port)}: ${s(d.reason)}.`,
    hint: 'Pick another port with --port, or stop the process that holds this one.',
  },
  MODEL_NOT_CONFIGURED: {
    kind: 'usage',
    message: (d) => `No ${s(d.service)} server is configured, so ${s(d.detail)} cannot be used.`,
    hint: 'Set SHELF_LLM_URL (chat) or SHELF_EMBED_URL (embeddings), or llm.url / embed.url in shelf.config.json; see docs/models.md.',
  },
  MODEL_UNREACHABLE: {
    kind: 'unavailable',
    message: (d) => `The model server at ${s(d.url)} cannot be reached: ${s(d.reason)}.`,
    hint: 'Start the model server (e.g. `ollama serve`) or fix SHELF_LLM_URL / SHELF_EMBED_URL.',
  },
  MODEL_TIMEOUT: {
    kind: 'unavailable',
    message: (d) => `The model server at ${s(d.url)} did not answer within ${s(d.ms)} ms.`,
    hint: 'A large model may need longer: raise llm.timeoutMs / llm.idleTimeoutMs, or use a smaller model.',
  },
  MODEL_UNAUTHORIZED: {
    kind: 'unauthorized',
    message: (d) => `The model server at ${s(d.url)} refused the API key (HTTP ${s(d.status)}).`,
    hint: 'Check SHELF_LLM_API_KEY / SHELF_EMBED_API_KEY (or llm.apiKey / embed.apiKey).',
  },
  MODEL_NOT_FOUND: {
    kind: 'not-found',
    message: (d) => `The model server at ${s(d.url)} has no model "${s(d.model)}".`,
    hint: 'Pull or load the model first (e.g. `ollama pull NAME`), or pick one the server lists at /v1/models.',
  },
  MODEL_CONTEXT_TOO_LONG: {
    kind: 'too-large',
    message: (d) => `The prompt is longer than the context of model "${s(d.model)}": ${s(d.detail)}.`,
    hint: "Set llm.contextTokens to the model's real context size, or lower --budget.",
  },
  MODEL_RATE_LIMITED: {
    kind: 'rate-limited',
    message: (d) => `The model server at ${s(d.url)} is rate limiting requests (HTTP 429).`,
    hint: 'Wait and try again, or raise llm.maxRetries.',
  },
  MODEL_FAILED: {
    kind: 'remote',
    message: (d) => `The model server at ${s(d.url)} failed: ${s(d.detail)}.`,
    hint: "Check the model server's own log; shelf retries server errors llm.maxRetries times.",
  },
  MODEL_BAD_RESPONSE: {
    kind: 'remote',
    message: (d) => `The model server at ${s(d.url)} sent an answer shelf cannot use: ${s(d.detail)}.`,
    hint: 'Check that the server speaks the OpenAI API (chat completions / embeddings) at that URL.',
  },
  MODEL_CANCELLED: {
    kind: 'usage',
    message: () => 'The request to the model server was cancelled.',
    hint: 'Nothing to fix: the caller stopped waiting for the answer.',
  },
  VECTORS_UNAVAILABLE: {
    kind: 'unavailable',
    message: (d) => `Vector search is not available: ${s(d.reason)}.`,
    hint: 'Reinstall shelf so the sqlite-vec package for this platform is present; search stays lexical meanwhile.',
  },
  DOCUMENT_FILE_UNAVAILABLE: {
    kind: 'not-found',
    message: (d) => `Document ${s(d.id)} has no local file this server may serve (${s(d.reason)}).`,
    hint: 'Only files uploaded or added from inside server.roots can be opened; open the document by its URL instead.',
  },
  UI_NOT_BUILT: {
    kind: 'unavailable',
    message: (d) => `The web UI is not built (no ${s(d.path)}).`,
    hint: 'Run `npm run build` in the shelf checkout, then restart `shelf serve`.',
  },
  INTERNAL: {
    kind: 'internal',
    message: (d) => `Unexpected failure: ${s(d.detail)}.`,
    hint: 'This is a bug in shelf; please report it with the command you ran.',
  },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof MESSAGES;

/** Each code has a section in docs/errors.md (generated from this catalogue). */
const DOCS_BASE = 'docs/errors.md#';

/** A failure from the catalogue: `code`, a message that says how to fix it, and the cause. */
export class ShelfError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly hint: string;
  readonly details: Details;

  constructor(code: ErrorCode, details: Details = {}, options: { cause?: unknown } = {}) {
    const entry: Entry = MESSAGES[code];
    super(entry.message(details), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShelfError';
    this.code = code;
    this.kind = entry.kind;
    this.hint = entry.hint;
    this.details = details;
  }

  /** The documentation anchor for this code. */
  get docs(): string {
    return DOCS_BASE + this.code.toLowerCase().replaceAll('_', '-');
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; docs: string } {
    return { code: this.code, message: this.message, hint: this.hint, docs: this.docs };
  }
}

export function isShelfError(e: unknown, code?: ErrorCode): e is ShelfError {
  return e instanceof ShelfError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a ShelfError, keeping catalogue errors as they are. */
export function toShelfError(e: unknown): ShelfError {
  if (e instanceof ShelfError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new ShelfError('INTERNAL', { detail }, { cause: e });
}

/** CLI exit codes per error kind (documented in README). */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  usage: 2,
  'not-found': 3,
  conflict: 4,
  input: 5,
  remote: 6,
  forbidden: 7,
  unauthorized: 7,
  'too-large': 5,
  'rate-limited': 6,
  unavailable: 8,
  internal: 1,
};

/** HTTP status per error kind; the server maps errors through this table only. */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  usage: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  input: 422,
  'rate-limited': 429,
  internal: 500,
  remote: 502,
  unavailable: 503,
};
