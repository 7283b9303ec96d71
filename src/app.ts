/**
 * The composition root: the one place that picks default implementations for the seams
 * (`options.store ?? openSqliteStore(...)`). Everything else receives them explicitly.
 */
import { join } from 'node:path';
import type { Config } from './core/config.js';
import { SILENT_LOGGER, SYSTEM_CLOCK, type Clock, type Fetcher, type Logger } from './core/seams.js';
import { createFetcher } from './sources/fetch.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly store?: Store;
  readonly fetcher?: Fetcher;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Path of the embedded database under the shelf home. */
export function databasePath(config: Config): string {
  return join(config.home, 'shelf.db');
}

export function openApp(options: AppOptions): App {
  const { config } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const logger = options.logger ?? SILENT_LOGGER;
  const store = options.store ?? openSqliteStore({ path: databasePath(config), clock });
  const fetcher = options.fetcher ?? createFetcher({ config: config.fetch, logger });
  return { config, store, fetcher, clock, logger, close: () => store.close() };
}
