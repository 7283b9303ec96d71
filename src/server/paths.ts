/**
 * Local paths a client may name: only files and directories inside the configured roots
 * (`server.roots`), judged after resolving symbolic links, so `root/link -> /etc` and
 * `root/../etc` are both refused. With no roots configured, no local path is allowed.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { ShelfError } from '../core/errors.js';

/** True when `child` is `parent` or lies below it. */
function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `path` if it lies inside one of `roots`, else PATH_OUTSIDE_ROOTS. */
export async function resolveInsideRoots(path: string, roots: readonly string[]): Promise<string> {
  if (path.includes('\0')) throw new ShelfError('PATH_OUTSIDE_ROOTS', { path: JSON.stringify(path) });
  if (!isAbsolute(path)) throw new ShelfError('PATH_OUTSIDE_ROOTS', { path });
  let real: string;
  try {
    real = await realpath(resolve(path));
  } catch (e) {
    // Say "outside" rather than "missing" for paths outside the roots: no probing the disk.
    const lexical = resolve(path);
    const inside = await Promise.all(
      roots.map(async (r) => within(await realpath(r).catch(() => resolve(r)), lexical)),
    );
    if (inside.some(Boolean)) throw new ShelfError('PATH_NOT_FOUND', { path }, { cause: e });
    throw new ShelfError('PATH_OUTSIDE_ROOTS', { path });
  }
  for (const root of roots) {
    const realRoot = await realpath(resolve(root)).catch(() => undefined);
    if (realRoot !== undefined && within(realRoot, real)) return real;
  }
  throw new ShelfError('PATH_OUTSIDE_ROOTS', { path });
}
