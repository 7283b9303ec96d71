/**
 * The web UI: the files Vite built into `web/dist`, served at `/` beside the API.
 *
 * - `/assets/*` carry a content hash in their names, so they are cached for a year
 *   (`immutable`); everything else (`index.html`) is revalidated on every load, so a new
 *   build shows at once.
 * - Paths without a file extension that are not files get `index.html` (the single-page
 *   app routes them itself); `/v1/...` never does, so API clients keep JSON errors.
 * - A path is resolved inside the build directory and refused otherwise: `..`, encoded
 *   slashes and NUL bytes cannot reach other files.
 * - The UI's content security policy allows only this origin (plus WebAssembly and blob
 *   workers for pdf.js): the UI makes no outside request and works offline.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ShelfError } from '../core/errors.js';

/** `web/dist` of this checkout (two levels up from src/server or dist/server). */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.pfb': 'application/octet-stream',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** What the UI may load: its own origin only. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  // pdf.js and Preact set inline styles (positions, sizes).
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

export interface StaticOptions {
  /** The built app (default `web/dist` of this checkout). */
  readonly dir?: string;
}

/** The file a URL path names inside `dir`, or undefined when it would leave `dir`. */
export function resolveStaticPath(dir: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const root = resolve(dir);
  const full = resolve(root, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return full;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Registers `GET /` and `GET /*` (not `/v1/...`) serving the built UI. */
export function registerStatic(fastify: FastifyInstance, options: StaticOptions = {}): void {
  const dir = resolve(options.dir ?? WEB_DIST);
  const index = join(dir, 'index.html');

  const send = async (reply: FastifyReply, path: string, cache: string): Promise<FastifyReply> => {
    const body = await readFile(path);
    return reply
      .header('content-type', TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .header('content-security-policy', UI_CSP)
      .send(body);
  };

  const serve = async (url: string, reply: FastifyReply): Promise<FastifyReply> => {
    const path = url.split('?')[0] ?? '/';
    if (path === '/v1' || path.startsWith('/v1/'))
      throw new ShelfError('ROUTE_NOT_FOUND', { method: 'GET', path });
    const file = resolveStaticPath(dir, path);
    if (file !== undefined && file !== dir && (await isFile(file))) {
      const hashed = relative(dir, file).split(sep)[0] === 'assets';
      return send(reply, file, hashed ? IMMUTABLE : REVALIDATE);
    }
    // A missing asset is an error, a missing page is an app route.
    if (extname(path) !== '') throw new ShelfError('ROUTE_NOT_FOUND', { method: 'GET', path });
    if (!(await isFile(index))) throw new ShelfError('UI_NOT_BUILT', { path: index });
    return send(reply, index, REVALIDATE);
  };

  const config = { public: true };
  fastify.get('/', { config }, (request, reply) => serve(request.url, reply));
  fastify.get('/*', { config }, (request, reply) => serve(request.url, reply));
}
