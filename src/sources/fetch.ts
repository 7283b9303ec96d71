/**
 * The one HTTP client for everything remote: `createFetcher` returns the `Fetcher` seam.
 *
 * Every request goes through a dedicated undici `Agent` whose DNS lookup passes each
 * resolved address through the SSRF guard (`address-guard.ts`) at connect time, so a
 * name cannot resolve to a public address when checked and a private one when used (DNS
 * rebinding). IP literals skip DNS, so they are checked before each request. Redirects are
 * followed here, not by undici, so that every hop's scheme and address are checked again.
 *
 * Limits: one deadline for the whole call (connect, every redirect, last body byte), a body
 * cap applied to decoded bytes while streaming (never more than the cap is held), and a
 * redirect cap with loop detection. Conditional GET (RFC 9110 §13.1.1, §13.1.3) turns a 304
 * into `notModified: true`.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch, type Response } from 'undici';
import type { Config } from '../core/config.js';
import { ShelfError, isShelfError } from '../core/errors.js';
import {
  SILENT_LOGGER,
  type FetchOptions,
  type FetchResult,
  type Fetcher,
  type Logger,
} from '../core/seams.js';
import { assertAddressAllowed, isIpLiteral, type GuardPolicy } from './address-guard.js';

/** Resolves a host name to all of its addresses (like `dns.lookup` with `all: true`). */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface CreateFetcherOptions {
  readonly config: Config['fetch'];
  /** Receives one debug line per request hop. Default: silent. */
  readonly logger?: Logger;
  /**
   * DNS resolution. Default: the system resolver (`dns.lookup`, all addresses). Every address
   * it returns is checked by the guard before a connection is opened.
   */
  readonly resolveHost?: ResolveHost;
}

/** RFC 9110 §15.4: the redirect statuses that carry a Location to follow. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const systemLookup = promisify(dnsLookup);
const SYSTEM_RESOLVE: ResolveHost = (hostname) => systemLookup(hostname, { all: true });

/** Builds the `Fetcher` used for every remote read (feeds, pages, PDFs). */
export function createFetcher(options: CreateFetcherOptions): Fetcher {
  const { config } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const agent = new Agent({
    connect: {
      lookup: guardedLookup({ policy: config, resolve: options.resolveHost ?? SYSTEM_RESOLVE }),
      timeout: config.timeoutMs,
    },
  });
  return {
    fetch: (url, fetchOptions = {}) =>
      fetchWithDeadline({ url, options: fetchOptions, config, agent, logger }),
  };
}

/**
 * A `net` lookup function that resolves the name, refuses the connection when ANY address is
 * blocked (a mixed answer is a rebinding attempt or a misconfiguration either way), and hands
 * the addresses on to `net.connect`.
 */
function guardedLookup(options: { policy: GuardPolicy; resolve: ResolveHost }): LookupFunction {
  const { policy, resolve } = options;
  return (hostname: string, lookupOptions: LookupOptions, callback) => {
    const pick = (all: readonly LookupAddress[]): LookupAddress[] => {
      for (const { address } of all) assertAddressAllowed({ url: hostname, host: hostname, address, policy });
      const family = familyNumber(lookupOptions.family);
      const wanted = family === 0 ? [...all] : all.filter((a) => a.family === family);
      if (wanted.length === 0)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
      return wanted;
    };
    resolve(hostname).then(
      (all) => {
        let wanted: LookupAddress[];
        try {
          wanted = pick(all);
        } catch (e) {
          callback(e as NodeJS.ErrnoException, '', 0);
          return;
        }
        const first = wanted[0] as LookupAddress;
        if (lookupOptions.all === true) callback(null, wanted);
        else callback(null, first.address, first.family);
      },
      (e: unknown) => callback(asError(e), '', 0),
    );
  };
}

function familyNumber(family: LookupOptions['family']): number {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

function asError(e: unknown): NodeJS.ErrnoException {
  return e instanceof Error ? e : new Error(String(e));
}

interface Call {
  readonly url: string;
  readonly options: FetchOptions;
  readonly config: Config['fetch'];
  readonly agent: Agent;
  readonly logger: Logger;
}

/** Runs the whole fetch under one deadline and the caller's signal. */
async function fetchWithDeadline(call: Call): Promise<FetchResult> {
  const { url, options, config } = call;
  const start = parseHttpUrl(url);
  const callerSignal = options.signal;
  callerSignal?.throwIfAborted();

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${config.timeoutMs} ms`));
  }, config.timeoutMs);
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    return await followRedirects({ call, start, signal: controller.signal });
  } catch (e) {
    if (timedOut) throw new ShelfError('FETCH_TIMEOUT', { url, ms: config.timeoutMs }, { cause: e });
    if (callerSignal?.aborted === true) throw callerSignal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

/** Parses a URL and refuses anything but http(s) with FETCH_BAD_URL. */
function parseHttpUrl(text: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(text, base);
  } catch (e) {
    throw new ShelfError('FETCH_BAD_URL', { url: text }, { cause: e });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ShelfError('FETCH_BAD_URL', { url: parsed.href });
  return parsed;
}

async function followRedirects(args: { call: Call; start: URL; signal: AbortSignal }): Promise<FetchResult> {
  const { call, start, signal } = args;
  const { config, logger } = call;
  const seen = new Set([start.href]);
  let current = start;
  for (let hop = 0; ; hop++) {
    // IP literals never reach the DNS lookup, so the guard sees them here.
    if (isIpLiteral(current.hostname))
      assertAddressAllowed({
        url: current.href,
        host: current.hostname,
        address: current.hostname,
        policy: config,
      });
    const response = await request({ call, url: current, signal });
    logger.debug('fetch', { url: current.href, status: response.status, hop });
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null)
      return await readResult({ call, url: current, response });
    await discardBody(response);
    const next = parseHttpUrl(location, current);
    next.hash = '';
    if (hop >= config.maxRedirects || seen.has(next.href))
      throw new ShelfError('FETCH_TOO_MANY_REDIRECTS', { url: start.href, limit: config.maxRedirects });
    seen.add(next.href);
    current = next;
  }
}

async function request(args: { call: Call; url: URL; signal: AbortSignal }): Promise<Response> {
  const { call, url, signal } = args;
  const headers: Record<string, string> = {
    'user-agent': call.config.userAgent,
    accept: call.options.accept ?? '*/*',
  };
  if (call.options.etag !== undefined) headers['if-none-match'] = call.options.etag;
  if (call.options.lastModified !== undefined) headers['if-modified-since'] = call.options.lastModified;
  try {
    return await undiciFetch(url.href, { dispatcher: call.agent, redirect: 'manual', headers, signal });
  } catch (e) {
    throw networkError(url, e);
  }
}

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The connection is being dropped anyway; nothing useful to report.
  }
}

async function readResult(args: { call: Call; url: URL; response: Response }): Promise<FetchResult> {
  const { call, url, response } = args;
  const { options, config } = call;
  const { contentType, charset } = parseContentType(response.headers.get('content-type'));
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  const base = {
    url: url.href,
    status: response.status,
    contentType,
    ...(charset !== undefined && { charset }),
  };

  if (response.status === 304) {
    await discardBody(response);
    // A 304 may omit validators (RFC 9110 §15.4.5); the ones sent are still current.
    const keptEtag = etag ?? options.etag;
    const keptLastModified = lastModified ?? options.lastModified;
    return {
      ...base,
      notModified: true,
      body: new Uint8Array(0),
      ...(keptEtag !== undefined && { etag: keptEtag }),
      ...(keptLastModified !== undefined && { lastModified: keptLastModified }),
    };
  }
  if (response.status < 200 || response.status > 299) {
    await discardBody(response);
    throw new ShelfError('FETCH_STATUS', { url: url.href, status: response.status });
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > config.maxBytes) {
    await discardBody(response);
    throw new ShelfError('FETCH_TOO_LARGE', { url: url.href, limit: config.maxBytes });
  }
  const body = await readCapped({ url, response, limit: config.maxBytes });
  return {
    ...base,
    notModified: false,
    body,
    ...(etag !== undefined && { etag }),
    ...(lastModified !== undefined && { lastModified }),
  };
}

/**
 * Reads the (already decoded) body, cancelling the stream, and so the connection, as soon as
 * the running total passes `limit`. Holds at most `limit` bytes plus the chunk in hand.
 */
async function readCapped(args: { url: URL; response: Response; limit: number }): Promise<Uint8Array> {
  const { url, response, limit } = args;
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const step: ReadableStreamReadResult<Uint8Array> = await reader.read();
      if (step.done) break;
      const value = step.value;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ShelfError('FETCH_TOO_LARGE', { url: url.href, limit });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (isShelfError(e)) throw e;
    throw networkError(url, e);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Media type and charset from a Content-Type header (RFC 9110 §8.3), tolerant of junk. */
export function parseContentType(header: string | null): { contentType: string; charset?: string } {
  if (header === null) return { contentType: '' };
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  const contentType = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(type) ? type : '';
  if (semicolon === -1) return { contentType };
  const params = header.slice(semicolon);
  // Each parameter: ; name = token | "quoted \"string\""
  const pattern = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  for (const match of params.matchAll(pattern)) {
    if (match[1]?.toLowerCase() !== 'charset') continue;
    let value = (match[2] ?? '').trim();
    if (value.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"')) return { contentType };
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    value = value.trim().toLowerCase();
    return /^[\w.:()+-]+$/.test(value) ? { contentType, charset: value } : { contentType };
  }
  return { contentType };
}

/** Maps what undici or the socket threw into a catalogue error with a readable reason. */
function networkError(url: URL, e: unknown): ShelfError {
  const chain = causeChain(e);
  const shelf = chain.find((c): c is ShelfError => c instanceof ShelfError);
  if (shelf !== undefined) {
    // The lookup only knew the host name; name the URL being fetched.
    return isShelfError(shelf, 'FETCH_BLOCKED_ADDRESS')
      ? new ShelfError('FETCH_BLOCKED_ADDRESS', { ...shelf.details, url: url.href }, { cause: shelf })
      : shelf;
  }
  const coded = chain.find((c) => typeof errorCode(c) === 'string');
  const code = coded === undefined ? undefined : errorCode(coded);
  // OpenSSL errors carry a short `reason` ("wrong version number") beside a long message.
  const source = coded ?? chain[chain.length - 1];
  const message =
    typeof source === 'object' && source !== null && 'reason' in source && typeof source.reason === 'string'
      ? source.reason
      : source instanceof Error
        ? source.message
        : String(source);
  return new ShelfError(
    'FETCH_FAILED',
    { url: url.href, reason: reasonFor(url, code, message) },
    { cause: e },
  );
}

function reasonFor(url: URL, code: string | undefined, message: string): string {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return `the host ${url.hostname} was not found (DNS)`;
    case 'EAI_AGAIN':
      return `the DNS lookup for ${url.hostname} failed; the resolver may be unreachable`;
    case 'ECONNREFUSED':
      return `the connection to ${url.host} was refused`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the server closed the connection unexpectedly';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${url.hostname} is unreachable from this network`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${url.host} timed out`;
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
    case 'ERR_BROTLI_DECOMPRESSION_FAILED':
      return `the compressed body is corrupt (${message})`;
    default:
      if (
        code !== undefined &&
        /^(ERR_TLS|ERR_SSL|ERR_OSSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code)
      )
        return `the TLS connection failed: ${message}`;
      return message;
  }
}

/** The error, its causes, and the first error of any AggregateError, outermost first. */
function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = e;
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    else current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}
