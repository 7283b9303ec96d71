/**
 * The composition root: the one place that picks default implementations for the seams
 * (`options.store ?? openSqliteStore(...)`). Everything else receives them explicitly.
 * With an embedder configured, the store's document writes carry vectors (withEmbeddings);
 * with a chat model configured, answers are generated (`llm`); unset means offline.
 */
import { join } from 'node:path';
import type { Config } from './core/config.js';
import {
  NO_PROGRESS,
  SILENT_LOGGER,
  SYSTEM_CLOCK,
  type Clock,
  type Fetcher,
  type Logger,
  type Progress,
} from './core/seams.js';
import type { IngestContext } from './ingest/ingest.js';
import type { Embedder } from './embed/embedder.js';
import { withEmbeddings } from './embed/embeddings.js';
import { embedderFromConfig } from './embed/openai-embedder.js';
import type { Llm } from './llm/llm.js';
import { llmFromConfig } from './llm/openai-llm.js';
import { openPostgresStore } from './store/postgres/postgres-store.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The chat model for generated answers, when configured. */
  readonly llm?: Llm;
  /** The embedder for dense retrieval, when configured. */
  readonly embedder?: Embedder;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly store?: Store;
  readonly fetcher?: Fetcher;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** null: no model even if the configuration names one. */
  readonly llm?: Llm | null;
  readonly embedder?: Embedder | null;
}

/** Path of the embedded database under the shelf home. */
export function databasePath(config: Config): string {
  return join(config.home, 'shelf.db');
}

/**
 * PostgreSQL when `database.url` (SHELF_DATABASE_URL) is set, else the SQLite file in the
 * home. The PostgreSQL store connects (and loads the pg driver) on first use.
 */
export function openDefaultStore(options: { config: Config; clock: Clock; logger: Logger }): Store {
  const { config, clock, logger } = options;
  const { url, schema } = config.database;
  if (url !== undefined)
    return openPostgresStore({ url, clock, logger, ...(schema !== undefined ? { schema } : {}) });
  return openSqliteStore({ path: databasePath(config), clock });
}

/**
 * The remote fetcher, loaded on first use: most commands never fetch, and the HTTP client
 * and address guard would cost every command their start-up time.
 */
function lazyFetcher(config: Config, logger: Logger): Fetcher {
  let real: Promise<Fetcher> | undefined;
  return {
    fetch: async (url, options) => {
      real ??= import('./sources/fetch.js').then((m) => m.createFetcher({ config: config.fetch, logger }));
      return (await real).fetch(url, options);
    },
  };
}

export function openApp(options: AppOptions): App {
  const { config } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const logger = options.logger ?? SILENT_LOGGER;
  const base = options.store ?? openDefaultStore({ config, clock, logger });
  const fetcher = options.fetcher ?? lazyFetcher(config, logger);
  const llm = options.llm === null ? undefined : (options.llm ?? llmFromConfig(config));
  const embedder = options.embedder === null ? undefined : (options.embedder ?? embedderFromConfig(config));
  const store = embedder ? withEmbeddings(base, embedder, { logger }) : base;
  return {
    config,
    store,
    fetcher,
    clock,
    logger,
    ...(llm ? { llm } : {}),
    ...(embedder ? { embedder } : {}),
    close: () => base.close(),
  };
}

/** What ingestion needs from an app: its store, fetcher, configuration, clock and logger. */
export function ingestContext(app: App, progress: Progress = NO_PROGRESS): IngestContext {
  return {
    store: app.store,
    fetcher: app.fetcher,
    config: app.config,
    clock: app.clock,
    logger: app.logger,
    progress,
  };
}
