/**
 * API keys and rate limits.
 *
 * A key is `shelf_` + 32 random bytes in base64url: shown once when created, stored only as
 * its SHA-256 (a fast hash is right here: the key is high-entropy, so there is nothing for a
 * slow hash to protect against dictionary attacks). Clients send `Authorization: Bearer KEY`.
 *
 * The rate limiter is a token bucket per client (key id, or address without keys): it holds
 * `perMinute` tokens and refills continuously, so bursts up to the limit pass and a steady
 * stream is held to the limit. It lives in memory: each server instance limits on its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ShelfError } from '../core/errors.js';
import type { ApiKeyRecord, Store } from '../store/store.js';

const KEY_PREFIX = 'shelf_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates and stores a key; the returned `key` is the only time its text exists. */
export async function createApiKey(
  store: Store,
  name: string,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const record = await store.createApiKey({
    name,
    prefix: key.slice(0, KEY_PREFIX.length + 6),
    hash: hashKey(key),
  });
  return { key, record };
}

/** True when at least one key is not revoked. */
export async function hasActiveKeys(store: Store): Promise<boolean> {
  return (await store.listApiKeys()).some((k) => k.revokedAt === undefined);
}

/**
 * The key an Authorization header names, or UNAUTHORIZED. `undefined` header: missing.
 * Revoked keys are refused like unknown ones (the client learns nothing about which).
 */
export async function authenticate(store: Store, header: string | undefined): Promise<ApiKeyRecord> {
  if (header === undefined || header.trim() === '')
    throw new ShelfError('UNAUTHORIZED', { reason: 'missing' });
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const key = match?.[1];
  // Keys are short; refuse absurd headers before hashing them.
  if (!key || key.length > 200) throw new ShelfError('UNAUTHORIZED', { reason: 'invalid' });
  const record = await store.findApiKey(hashKey(key));
  if (!record || record.revokedAt !== undefined) throw new ShelfError('UNAUTHORIZED', { reason: 'invalid' });
  return record;
}

export interface RateLimiter {
  /** Takes one token for `client`: 0 when allowed, else the seconds until one is available. */
  take(client: string, nowMs: number): number;
}

/** A token bucket per client, `perMinute` tokens, refilled continuously. */
export function createRateLimiter(perMinute: number): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = perMinute / 60_000;
  let lastSweep = 0;
  return {
    take(client, nowMs) {
      // Drop full buckets now and then so idle clients do not accumulate.
      if (nowMs - lastSweep > 60_000) {
        lastSweep = nowMs;
        for (const [k, b] of buckets)
          if (b.tokens + (nowMs - b.at) * ratePerMs >= perMinute) buckets.delete(k);
      }
      const b = buckets.get(client) ?? { tokens: perMinute, at: nowMs };
      const tokens = Math.min(perMinute, b.tokens + (nowMs - b.at) * ratePerMs);
      if (tokens >= 1) {
        buckets.set(client, { tokens: tokens - 1, at: nowMs });
        return 0;
      }
      buckets.set(client, { tokens, at: nowMs });
      return Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
    },
  };
}

/** Loopback addresses and names: listening there keeps the server to this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1'
  );
}
