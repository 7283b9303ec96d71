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

export const ConfigSchema = z.strictObject({
  home: z.string(),
  fetch: FetchSchema.default(FetchSchema.parse({})),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  chunk: ChunkSchema.default(ChunkSchema.parse({})),
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
