/**
 * Files uploaded through the HTTP API live under `<home>/uploads/<random id>/<name>` and are
 * their source's content from then on. They go when nothing refers to them any more: when
 * their source or knowledge base is deleted, or when adding them failed for good.
 */
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { SourceRecord, Store } from '../store/store.js';

/** Where uploads are kept for the data directory `home`. */
export function uploadsDir(home: string): string {
  return join(home, 'uploads');
}

/**
 * The directory holding the upload at `location`, or undefined when `location` is not an
 * upload (a URL, a path of the user's own, anything not exactly `<uploads>/<id>/<name>`).
 */
export function uploadDirectory(uploads: string, location: string): string | undefined {
  if (!isAbsolute(location)) return undefined;
  const parts = relative(uploads, location).split(sep);
  if (parts.length !== 2 || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return join(uploads, parts[0] ?? '');
}

/** Deletes the upload at `location` with its directory; anything else is left alone. */
export async function removeUpload(uploads: string, location: string): Promise<void> {
  const dir = uploadDirectory(uploads, location);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Deletes `source` with its documents from every index, and its file if it was an upload. */
export async function deleteSource(store: Store, uploads: string, source: SourceRecord): Promise<void> {
  await store.deleteSource(source.id);
  await removeUpload(uploads, source.location);
}

/** Deletes knowledge base `kbId` with all its sources and documents, and their uploads. */
export async function deleteKnowledgeBase(store: Store, uploads: string, kbId: number): Promise<void> {
  const sources = await store.listSources(kbId);
  await store.deleteKnowledgeBase(kbId);
  for (const source of sources) await removeUpload(uploads, source.location);
}
