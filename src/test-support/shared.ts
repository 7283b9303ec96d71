/**
 * Access to the third-party material in ../shared (feeds, books, test collections).
 * Those files are never copied into the project. Locally a test that needs them is
 * skipped when they are missing; under CI (SHELF_REQUIRE_SHARED=1, set by .ci/run) it
 * fails instead, so a missing ../shared can never turn into a green run.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of ../shared, beside the project checkout (override: SHELF_SHARED_DIR). */
export const SHARED_DIR = process.env.SHELF_SHARED_DIR ?? resolve(ROOT, '..', 'shared');

export const REQUIRE_SHARED = process.env.SHELF_REQUIRE_SHARED === '1';

/** Path of a file under ../shared. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/**
 * True when every named file exists. When one is missing: throws under CI, returns false
 * otherwise (use with `describe.skipIf(!hasShared(...))`).
 */
export function hasShared(...relativePaths: string[]): boolean {
  const missing = relativePaths.filter((p) => !existsSync(sharedPath(p)));
  if (missing.length === 0) return true;
  if (REQUIRE_SHARED)
    throw new Error(
      `SHELF_REQUIRE_SHARED=1 but these files are missing under ${SHARED_DIR}: ${missing.join(', ')}`,
    );
  return false;
}

/** The project root (for tests that run the built CLI). */
export const PROJECT_ROOT = ROOT;
