/**
 * Reads one input, local or remote, into RawInput bytes under the size limit.
 * Remote inputs go through the Fetcher (conditional GET when validators are given).
 */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { ShelfError } from '../core/errors.js';
import type { SourceContext, RawInput } from '../sources/source.js';

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export type ReadResult =
  | { readonly notModified: true }
  | {
      readonly notModified: false;
      readonly input: RawInput;
      readonly etag?: string;
      readonly lastModified?: string;
    };

const MEDIA_BY_EXTENSION: Readonly<Record<string, string>> = {
  '.pdf': 'application/pdf',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.xhtml': 'application/xhtml+xml',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.mdx': 'text/markdown',
  '.txt': 'text/plain',
  '.text': 'text/plain',
  '.rst': 'text/plain',
  '.xml': 'application/xml',
  '.rss': 'application/rss+xml',
  '.atom': 'application/atom+xml',
  '.json': 'application/json',
  '.opml': 'text/x-opml',
};

/** The media type a file's extension suggests ('' when unknown); content sniffing decides later. */
export function mediaTypeOf(path: string): string {
  return MEDIA_BY_EXTENSION[extname(path).toLowerCase()] ?? '';
}

const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, application/pdf;q=0.8, */*;q=0.5';

export async function readInput(
  location: string,
  ctx: SourceContext,
  validators: { etag?: string; lastModified?: string } = {},
): Promise<ReadResult> {
  if (isUrl(location)) {
    const r = await ctx.fetcher.fetch(location, {
      accept: FEED_ACCEPT,
      ...(validators.etag !== undefined ? { etag: validators.etag } : {}),
      ...(validators.lastModified !== undefined ? { lastModified: validators.lastModified } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (r.notModified) return { notModified: true };
    return {
      notModified: false,
      input: {
        location: r.url,
        bytes: r.body,
        contentType: r.contentType,
        ...(r.charset !== undefined ? { charset: r.charset } : {}),
      },
      ...(r.etag !== undefined ? { etag: r.etag } : {}),
      ...(r.lastModified !== undefined ? { lastModified: r.lastModified } : {}),
    };
  }
  return { notModified: false, input: await readFileInput(location, ctx.config.limits.maxDocumentBytes) };
}

/** Reads a local file, refusing one larger than `maxBytes` before reading it. */
export async function readFileInput(path: string, maxBytes: number): Promise<RawInput> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile())
      throw new ShelfError('UNSUPPORTED_SOURCE', { location: path, detail: 'not a regular file' });
    size = s.size;
  } catch (e) {
    throw fileError(e, path);
  }
  if (size > maxBytes) throw new ShelfError('FILE_TOO_LARGE', { path, size, limit: maxBytes });
  try {
    const handle = await open(path, 'r');
    try {
      const bytes = new Uint8Array(size);
      let offset = 0;
      while (offset < size) {
        const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return { location: path, bytes: bytes.subarray(0, offset), contentType: mediaTypeOf(path) };
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw fileError(e, path);
  }
}

export function fileError(e: unknown, path: string): unknown {
  if (e instanceof ShelfError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ShelfError('PATH_NOT_FOUND', { path }, { cause: e });
  return new ShelfError(
    'PATH_UNREADABLE',
    { path, reason: code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message },
    { cause: e },
  );
}
