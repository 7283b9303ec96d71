/**
 * Configuration: flags > environment (SHELF_*) > shelf.config.json > defaults.
 * The result is a plain frozen object passed explicitly; nothing reads globals later.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ShelfError } from './errors.js';

const FetchSchema = z.strictObject({
  /** Whole-request timeout, connect to last byte. */
  timeoutMs: z.number().int().positive().default(20_000),
  /** Largest body accepted from a remote server. */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  maxRedirects: z.number().int().min(0).max(20).default(5),
  /** Allow private, loopback and link-local targets (off: SSRF guard). */
  allowPrivateAddresses: z.boolean().default(false),
  /** Hosts or IP literals allowed even when they resolve to private ranges (e.g. "127.0.0.1"). */
  allowHosts: z.array(z.string()).default([]),
  userAgent: z.string().default('shelf/0.1 (+self-hosted knowledge base)'),
});

const LimitsSchema = z.strictObject({
  maxDocumentBytes: z
    .number()
    .int()
    .positive()
    .default(100 * 1024 * 1024),
  maxFeedItems: z.number().int().positive().default(20_000),
  maxPdfPages: z.number().int().positive().default(5_000),
  maxDocumentMs: z.number().int().positive().default(300_000),
});

const ChunkSchema = z.strictObject({
  /** Target chunk size in tokens. */
  targetTokens: z.number().int().min(32).max(4096).default(220),
  /** Hard ceiling; only a single code block or table row may exceed it. */
  maxTokens: z.number().int().min(64).max(8192).default(400),
  /** Whole sentences repeated from the previous chunk. */
  overlapSentences: z.number().int().min(0).max(5).default(1),
});

const ServerSchema = z.strictObject({
  /** Interface to listen on. Anything beyond loopback requires API keys. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(7411),
  /** Directories whose files API clients may add by path; empty = no local paths at all. */
  roots: z.array(z.string()).default([]),
  /** Requests per minute per API key (per client address without keys). */
  rateLimitPerMinute: z.number().int().positive().default(600),
  /** Largest JSON request body. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Largest uploaded file (multipart), streamed to disk and cut off at this size. */
  maxUploadBytes: z
    .number()
    .int()
    .positive()
    .default(100 * 1024 * 1024),
  /** Origins allowed by CORS; empty = CORS off (no Access-Control-* headers). */
  corsOrigins: z.array(z.string()).default([]),
  /** Require API keys even on loopback (always required beyond it). */
  requireKeys: z.boolean().default(false),
  /** Seconds between checks for feeds due a refresh. */
  feedCheckIntervalS: z.number().int().positive().default(60),
});

/** A URL that must be http(s); model servers are called over plain HTTP APIs. */
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/i, 'expected an http(s) URL');

/** The chat model server (OpenAI-compatible). No url or no model: offline, extractive answers. */
const LlmSchema = z.strictObject({
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 (Ollama). */
  url: httpUrl.optional(),
  model: z.string().min(1).optional(),
  apiKey: z.string().optional(),
  /** The model's context window in tokens; the prompt is fitted to it. */
  contextTokens: z.number().int().min(512).max(2_000_000).default(8192),
  /** Tokens reserved for the answer (sent as max_tokens). */
  maxAnswerTokens: z.number().int().min(16).max(100_000).default(800),
  /** Time to the first byte of the answer, per attempt. */
  timeoutMs: z.number().int().positive().default(60_000),
  /** Longest silence allowed between two streamed pieces of the answer. */
  idleTimeoutMs: z.number().int().positive().default(30_000),
  /** Retries on 429, 5xx and connection failures, with exponential backoff (Retry-After honoured). */
  maxRetries: z.number().int().min(0).max(10).default(2),
  temperature: z.number().min(0).max(2).default(0.1),
  /** Stream the answer token by token; off for servers whose streaming is broken. */
  stream: z.boolean().default(true),
});

/** The embedding server (OpenAI-compatible /v1/embeddings). No url or no model: lexical only. */
const EmbedSchema = z.strictObject({
  url: httpUrl.optional(),
  model: z.string().min(1).optional(),
  apiKey: z.string().optional(),
  /** Texts per request. */
  batchSize: z.number().int().min(1).max(2048).default(64),
  timeoutMs: z.number().int().positive().default(60_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Dense candidates fused with the BM25 candidates. */
  candidates: z.number().int().min(1).max(1000).default(100),
});

/** PostgreSQL instead of the embedded SQLite file (several `shelf serve` sharing one database). */
const DatabaseSchema = z.strictObject({
  /** postgres:// URL (SHELF_DATABASE_URL); unset: SQLite in the shelf home. */
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/i, 'expected a postgres:// URL')
    .optional(),
  /** Schema for shelf's tables, created when missing (SHELF_DATABASE_SCHEMA); default: the search_path. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case identifier')
    .optional(),
});

/** Background jobs run by `shelf serve`. */
const JobsSchema = z.strictObject({
  /** How long a claimed job is held without a heartbeat; a dead worker's job is retaken after it. */
  leaseMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** Idle wait between claims when the queue is empty. */
  pollMs: z.number().int().min(10).max(600_000).default(1000),
});

export const ConfigSchema = z.strictObject({
  home: z.string(),
  fetch: FetchSchema.default(FetchSchema.parse({})),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  chunk: ChunkSchema.default(ChunkSchema.parse({})),
  server: ServerSchema.default(ServerSchema.parse({})),
  llm: LlmSchema.default(LlmSchema.parse({})),
  embed: EmbedSchema.default(EmbedSchema.parse({})),
  database: DatabaseSchema.default(DatabaseSchema.parse({})),
  jobs: JobsSchema.default(JobsSchema.parse({})),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export const DEFAULT_HOME = join(homedir(), '.local', 'share', 'shelf');

/** Nested partial input, as read from a file or built from env and flags. */
type Layer = Record<string, unknown>;

function merge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? merge(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Layer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readConfigFile(path: string, required: boolean): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ShelfError('INVALID_CONFIG', { detail: `cannot read ${path}` }, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ShelfError('INVALID_CONFIG', { detail: `${path} is not valid JSON` }, { cause: e });
  }
  if (!isPlainObject(parsed))
    throw new ShelfError('INVALID_CONFIG', { detail: `${path} must hold an object` });
  return parsed;
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  const fetch: Layer = {};
  if (env.SHELF_ALLOW_PRIVATE_ADDRESSES !== undefined)
    fetch.allowPrivateAddresses = /^(1|true|yes)$/i.test(env.SHELF_ALLOW_PRIVATE_ADDRESSES);
  if (env.SHELF_ALLOW_HOSTS !== undefined)
    fetch.allowHosts = env.SHELF_ALLOW_HOSTS.split(',')
      .map((h) => h.trim())
      .filter(Boolean);
  if (Object.keys(fetch).length > 0) layer.fetch = fetch;
  const llm: Layer = {};
  if (env.SHELF_LLM_URL) llm.url = env.SHELF_LLM_URL;
  if (env.SHELF_LLM_MODEL) llm.model = env.SHELF_LLM_MODEL;
  if (env.SHELF_LLM_API_KEY) llm.apiKey = env.SHELF_LLM_API_KEY;
  if (Object.keys(llm).length > 0) layer.llm = llm;
  const embed: Layer = {};
  if (env.SHELF_EMBED_URL) embed.url = env.SHELF_EMBED_URL;
  if (env.SHELF_EMBED_MODEL) embed.model = env.SHELF_EMBED_MODEL;
  if (env.SHELF_EMBED_API_KEY) embed.apiKey = env.SHELF_EMBED_API_KEY;
  if (Object.keys(embed).length > 0) layer.embed = embed;
  const database: Layer = {};
  if (env.SHELF_DATABASE_URL) database.url = env.SHELF_DATABASE_URL;
  if (env.SHELF_DATABASE_SCHEMA) database.schema = env.SHELF_DATABASE_SCHEMA;
  if (Object.keys(database).length > 0) layer.database = database;
  return layer;
}

export interface LoadConfigOptions {
  /** `--home`, wins over SHELF_HOME. */
  readonly home?: string;
  /** `--config`, wins over SHELF_CONFIG and `$home/shelf.config.json`. */
  readonly configPath?: string;
  /** Values from flags, applied last. */
  readonly overrides?: Layer;
  readonly env?: NodeJS.ProcessEnv;
}

/** Resolves the configuration; throws INVALID_CONFIG naming the offending field. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const home = options.home ?? env.SHELF_HOME ?? DEFAULT_HOME;
  const explicit = options.configPath ?? env.SHELF_CONFIG;
  const file = readConfigFile(explicit ?? join(home, 'shelf.config.json'), explicit !== undefined);
  const layered = merge(merge(merge({}, file), envLayer(env)), options.overrides ?? {});
  layered.home = home;
  const result = ConfigSchema.safeParse(layered);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new ShelfError('INVALID_CONFIG', { detail: `${where}: ${issue?.message ?? 'invalid'}` });
  }
  return result.data;
}

/** A config for tests and tools: defaults plus overrides, no files or environment read. */
export function configFor(home: string, overrides: Layer = {}): Config {
  return ConfigSchema.parse(merge({ home }, overrides));
}
