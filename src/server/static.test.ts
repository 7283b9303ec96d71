import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toShelfError } from '../core/errors.js';
import { STATUS_BY_KIND } from './errors.js';
import { registerStatic, resolveStaticPath } from './static.js';

describe('resolveStaticPath', () => {
  const root = '/srv/web/dist';

  it('maps URL paths to files inside the directory', () => {
    expect(resolveStaticPath(root, '/index.html')).toBe('/srv/web/dist/index.html');
    expect(resolveStaticPath(root, '/assets/a%20b.js')).toBe('/srv/web/dist/assets/a b.js');
    expect(resolveStaticPath(root, '/')).toBe('/srv/web/dist');
  });

  it('refuses paths that climb out, encoded or not, and NUL bytes and backslashes', () => {
    for (const p of [
      '/../secret',
      '/assets/../../secret',
      '/%2e%2e/secret',
      '/assets/%2e%2e%2f%2e%2e%2fsecret',
      '/a%00b',
      '/..%5csecret',
      '/%E0%A4%A',
    ])
      expect(resolveStaticPath(root, p), p).toBeUndefined();
  });
});

describe('registerStatic', () => {
  let app: FastifyInstance;
  let missing: FastifyInstance;

  const build = async (dir: string): Promise<FastifyInstance> => {
    const f = Fastify();
    f.setErrorHandler((err, _req, reply) => {
      const e = toShelfError(err);
      return reply.code(STATUS_BY_KIND[e.kind]).send({ error: { code: e.code } });
    });
    f.get('/v1/health', () => ({ status: 'ok' }));
    registerStatic(f, { dir });
    await f.ready();
    return f;
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>shelf</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
    writeFileSync(join(tmpdir(), 'shelf-static-outside.txt'), 'secret');
    app = await build(dir);
    missing = await build(join(dir, 'nope'));
  });

  afterAll(async () => {
    await app.close();
    await missing.close();
  });

  it('serves index.html at / with revalidation and the UI content policy', async () => {
    const r = await app.inject('/');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(r.body).toContain('<title>shelf</title>');
  });

  it('caches hashed assets for a year as immutable', async () => {
    const r = await app.inject('/assets/index-abc123.js');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const other = await app.inject('/robots.txt');
    expect(other.headers['cache-control']).toBe('no-cache');
  });

  it('answers app routes with index.html (single-page fallback), query strings included', async () => {
    for (const path of ['/library', '/documents/12?chunk=3', '/documents/']) {
      const r = await app.inject(path);
      expect(r.statusCode, path).toBe(200);
      expect(r.body).toContain('<title>shelf</title>');
    }
  });

  it('never falls back for the API or for missing assets', async () => {
    const api = await app.inject('/v1/nope');
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND' } });
    expect((await app.inject('/v1/health')).json()).toEqual({ status: 'ok' });
    const asset = await app.inject('/assets/gone-123.js');
    expect(asset.statusCode).toBe(404);
  });

  it('does not serve files outside the build directory', async () => {
    for (const path of [
      '/../shelf-static-outside.txt',
      '/%2e%2e/shelf-static-outside.txt',
      '/assets/..%2f..%2fx.txt',
    ]) {
      const r = await app.inject(path);
      expect(r.body, path).not.toContain('secret');
      expect(r.statusCode, path).toBe(404);
    }
  });

  it('says how to build the UI when it is missing', async () => {
    const r = await missing.inject('/');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ error: { code: 'UI_NOT_BUILT' } });
  });
});
