/**
 * Test helpers for the parsers: a SourceContext whose fetcher throws (parsers must never
 * fetch), RawInput builders, and golden-file comparison (UPDATE_GOLDEN=1 rewrites them).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFor } from '../../core/config.js';
import { NO_PROGRESS, SILENT_LOGGER, SYSTEM_CLOCK } from '../../core/seams.js';
import type { RawInput, SourceContext } from '../source.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '__golden__');

/** A context for parser tests; `overrides` go into the config (e.g. lower limits). */
export function testContext(overrides: Record<string, unknown> = {}): SourceContext {
  return {
    config: configFor('/tmp/x', overrides),
    clock: SYSTEM_CLOCK,
    logger: SILENT_LOGGER,
    progress: NO_PROGRESS,
    fetcher: {
      fetch: (url: string) => Promise.reject(new Error(`parsers must not fetch (asked for ${url})`)),
    },
  };
}

/** A RawInput from a string (UTF-8) or bytes. */
export function rawInput(
  content: string | Uint8Array,
  options: { location?: string; contentType?: string; charset?: string } = {},
): RawInput {
  return {
    location: options.location ?? 'https://example.com/feed.xml',
    bytes: typeof content === 'string' ? new TextEncoder().encode(content) : content,
    contentType: options.contentType ?? '',
    ...(options.charset === undefined ? {} : { charset: options.charset }),
  };
}

/**
 * The golden value stored under `name` (JSON). With UPDATE_GOLDEN=1 the file is (re)written
 * from `actual` first; without it a missing file is an error, never a silent pass.
 */
export function readGolden(name: string, actual: unknown): unknown {
  const path = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, `${JSON.stringify(actual, null, 2)}\n`);
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to write it`);
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
