import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../app.js';
import { configFor } from '../core/config.js';
import { createApiKey, createRateLimiter, isLoopbackHost } from './auth.js';
import { startServer } from './server.js';
import { startTestApi, type TestApi } from './test-support.js';

describe('API keys over HTTP', () => {
  let api: TestApi;
  let key = '';
  let revoked = '';
  beforeAll(async () => {
    api = await startTestApi({
      server: { requireKeys: true, rateLimitPerMinute: 5 },
      before: async (app) => {
        key = (await createApiKey(app.store, 'test')).key;
        const old = await createApiKey(app.store, 'old');
        revoked = old.key;
        await app.store.revokeApiKey(old.record.id);
      },
    });
  });
  afterAll(() => api.close());

  it('refuses a request without a key with 401 and a Bearer challenge', async () => {
    const r = await api.call('/v1/knowledgebases');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(await r.json()).toMatchObject({
      error: { code: 'UNAUTHORIZED', message: 'This server needs an API key.' },
    });
  });

  it('refuses a wrong key, a revoked key and a malformed header alike', async () => {
    for (const k of ['shelf_wrong', revoked]) {
      const r = await api.call('/v1/knowledgebases', { key: k });
      expect(r.status, k).toBe(401);
      expect(await r.json()).toMatchObject({
        error: { code: 'UNAUTHORIZED', message: 'The API key is not valid.' },
      });
    }
    const basic = await api.call('/v1/knowledgebases', { headers: { authorization: `Basic ${key}` } });
    expect(basic.status).toBe(401);
  });

  it('keeps health and the OpenAPI document public', async () => {
    expect((await api.call('/v1/health')).status).toBe(200);
    expect((await api.call('/v1/openapi.json')).status).toBe(200);
  });

  it('lets a valid key through, then limits it with 429 and Retry-After', async () => {
    // The test server allows 5 requests a minute per key; a 401 above spent none of them.
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let body: unknown;
    for (let i = 0; i < 7; i++) {
      const r = await api.call('/v1/knowledgebases', { key });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        body = await r.json();
      } else await r.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });
});

describe('startServer', () => {
  it('refuses to listen beyond loopback when no API key exists', async () => {
    const app = openApp({ config: configFor(mkdtempSync(join(tmpdir(), 'shelf-bind-'))) });
    try {
      await expect(startServer({ app, host: '0.0.0.0', port: 0, jobs: false })).rejects.toMatchObject({
        code: 'SERVER_UNSAFE_BIND',
      });
      const { record } = await createApiKey(app.store, 'k');
      await app.store.revokeApiKey(record.id);
      // A revoked key does not count.
      await expect(startServer({ app, host: '0.0.0.0', port: 0, jobs: false })).rejects.toMatchObject({
        code: 'SERVER_UNSAFE_BIND',
      });
    } finally {
      await app.close();
    }
  });
});

describe('createRateLimiter', () => {
  it('allows a burst up to the limit per client and refills over time', () => {
    const limiter = createRateLimiter(60);
    for (let i = 0; i < 60; i++) expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBe(1);
    expect(limiter.take('b', 0)).toBe(0);
    // One token per second comes back.
    expect(limiter.take('a', 1000)).toBe(0);
    expect(limiter.take('a', 1000)).toBeGreaterThan(0);
  });
});

describe('isLoopbackHost', () => {
  it('tells loopback addresses from the rest', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.org', '127.0.0.1.example.org'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});
