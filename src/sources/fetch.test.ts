import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configFor, type Config } from '../core/config.js';
import { ShelfError, type ErrorCode } from '../core/errors.js';
import type { FetchResult } from '../core/seams.js';
import { createFetcher, parseContentType, type CreateFetcherOptions } from './fetch.js';

/** A route; may return a promise (awaited) or anything else (ignored). */
type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A real HTTP server on 127.0.0.1 whose routes each test sets; it records what it saw. */
interface TestServer {
  readonly server: Server;
  readonly origin: string;
  readonly port: number;
  routes: Map<string, Handler>;
  requests: IncomingMessage[];
}

async function startServer(): Promise<TestServer> {
  const state: TestServer = {
    server: createServer((req, res) => {
      state.requests.push(req);
      const handler = state.routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (handler === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no route');
        return;
      }
      void Promise.resolve(handler(req, res)).catch(() => res.destroy());
    }),
    origin: '',
    port: 0,
    routes: new Map(),
    requests: [],
  };
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  const { port } = state.server.address() as AddressInfo;
  return Object.assign(state, { origin: `http://127.0.0.1:${port}`, port });
}

function fetchConfig(overrides: Partial<Config['fetch']> = {}): Config['fetch'] {
  return { ...configFor('/tmp/shelf-test').fetch, allowHosts: ['127.0.0.1'], ...overrides };
}

function fetcher(overrides: Partial<Config['fetch']> = {}, extra: Partial<CreateFetcherOptions> = {}) {
  return createFetcher({ config: fetchConfig(overrides), ...extra });
}

/** Awaits a rejection and returns the ShelfError, failing if it resolved or threw something else. */
async function failure(promise: Promise<FetchResult>, code: ErrorCode): Promise<ShelfError> {
  const error: unknown = await promise.then(
    (r) => new Error(`expected ${code}, got HTTP ${r.status}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShelfError);
  expect((error as ShelfError).code, (error as Error).message).toBe(code);
  return error as ShelfError;
}

const text = (r: FetchResult): string => new TextDecoder().decode(r.body);

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer();
});

beforeEach(() => {
  srv.routes = new Map();
  srv.requests = [];
  srv.server.closeAllConnections();
});

afterAll(async () => {
  srv.server.closeAllConnections();
  srv.server.close();
  await once(srv.server, 'close');
});

describe('createFetcher: plain requests', () => {
  it('returns the body, status, media type, charset and validators of a 200', async () => {
    srv.routes.set('/page', (_req, res) => {
      res.writeHead(200, {
        'content-type': 'Text/HTML; Charset="ISO-8859-1"',
        etag: '"v1"',
        'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
      });
      res.end('<p>cafe</p>');
    });
    const result = await fetcher().fetch(`${srv.origin}/page`, { accept: 'text/html' });
    expect(result).toMatchObject({
      url: `${srv.origin}/page`,
      status: 200,
      notModified: false,
      contentType: 'text/html',
      charset: 'iso-8859-1',
      etag: '"v1"',
      lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT',
    });
    expect(result.body).toBeInstanceOf(Uint8Array);
    expect(text(result)).toBe('<p>cafe</p>');
  });

  it('sends the configured User-Agent and the caller’s Accept header', async () => {
    srv.routes.set('/ua', (_req, res) => res.end('ok'));
    await fetcher({ userAgent: 'shelf-test/1' }).fetch(`${srv.origin}/ua`, { accept: 'application/rss+xml' });
    expect(srv.requests[0]?.headers['user-agent']).toBe('shelf-test/1');
    expect(srv.requests[0]?.headers.accept).toBe('application/rss+xml');
    expect(srv.requests[0]?.headers['if-none-match']).toBeUndefined();
  });

  it('reports an empty media type and no charset when the server sends no Content-Type', async () => {
    srv.routes.set('/bare', (_req, res) => {
      res.removeHeader('content-type');
      res.end('raw');
    });
    const result = await fetcher().fetch(`${srv.origin}/bare`);
    expect(result.contentType).toBe('');
    expect(result.charset).toBeUndefined();
    expect(text(result)).toBe('raw');
  });

  it('refuses URLs that are not http(s) without making a request', async () => {
    const f = fetcher();
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'not a url', 'javascript:alert(1)', ''])
      await failure(f.fetch(url), 'FETCH_BAD_URL');
    expect(srv.requests).toHaveLength(0);
  });
});

describe('createFetcher: address guard', () => {
  it('refuses 127.0.0.1 when it is not allowed, before any request reaches the server', async () => {
    srv.routes.set('/secret', (_req, res) => res.end('secret'));
    const error = await failure(
      fetcher({ allowHosts: [] }).fetch(`${srv.origin}/secret`),
      'FETCH_BLOCKED_ADDRESS',
    );
    expect(error.details).toMatchObject({ address: '127.0.0.1', range: 'loopback' });
    expect(error.message).toContain(`${srv.origin}/secret`);
    expect(srv.requests).toHaveLength(0);
  });

  it('refuses localhost, [::1], the metadata address and RFC 1918 literals', async () => {
    const f = fetcher({ allowHosts: [] });
    const cases: [string, string][] = [
      [`http://localhost:${srv.port}/`, 'loopback'],
      ['http://[::1]:9/', 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['http://10.0.0.1/', 'private (RFC 1918)'],
      ['http://[::ffff:10.0.0.1]/', 'private (RFC 1918) (IPv4-mapped)'],
      ['http://0x7f.1/', 'loopback'],
      ['http://100.64.0.1/', 'carrier-grade NAT (RFC 6598)'],
      ['http://0.0.0.0/', 'unspecified'],
    ];
    for (const [url, range] of cases) {
      const error = await failure(f.fetch(url), 'FETCH_BLOCKED_ADDRESS');
      expect(error.details.range, url).toBe(range);
    }
    expect(srv.requests).toHaveLength(0);
  });

  it('lets 127.0.0.1 through when allowHosts names it', async () => {
    srv.routes.set('/ok', (_req, res) => res.end('ok'));
    expect(text(await fetcher({ allowHosts: ['127.0.0.1'] }).fetch(`${srv.origin}/ok`))).toBe('ok');
  });

  it('lets every address through when allowPrivateAddresses is on', async () => {
    srv.routes.set('/ok', (_req, res) => res.end('ok'));
    const f = fetcher({ allowHosts: [], allowPrivateAddresses: true });
    expect(text(await f.fetch(`http://localhost:${srv.port}/ok`))).toBe('ok');
  });

  it('checks every address DNS returns, so one private answer among public ones is refused', async () => {
    const resolveHost = (): Promise<{ address: string; family: number }[]> =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    const error = await failure(
      fetcher({ allowHosts: [] }, { resolveHost }).fetch(`http://rebind.test:${srv.port}/`),
      'FETCH_BLOCKED_ADDRESS',
    );
    expect(error.details).toMatchObject({ url: `http://rebind.test:${srv.port}/`, address: '127.0.0.1' });
    expect(srv.requests).toHaveLength(0);
  });

  it('connects to the address the resolver gave when allowHosts names the host', async () => {
    srv.routes.set('/named', (req, res) => res.end(req.headers.host));
    const resolveHost = (host: string): Promise<{ address: string; family: number }[]> =>
      Promise.resolve(host === 'shelf.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const allowed = fetcher({ allowHosts: ['SHELF.TEST.'] }, { resolveHost });
    expect(text(await allowed.fetch(`http://shelf.test:${srv.port}/named`))).toBe(`shelf.test:${srv.port}`);
    const refused = fetcher({ allowHosts: [] }, { resolveHost });
    await failure(refused.fetch(`http://shelf.test:${srv.port}/named`), 'FETCH_BLOCKED_ADDRESS');
  });

  it('says the host was not found when DNS has no answer', async () => {
    const resolveHost = (host: string): Promise<never> =>
      Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
    const error = await failure(
      fetcher({}, { resolveHost }).fetch('http://nowhere.test/feed'),
      'FETCH_FAILED',
    );
    expect(error.message).toContain('the host nowhere.test was not found');
  });
});

describe('createFetcher: redirects', () => {
  /** /hop/N redirects (relatively) to /hop/N-1; /hop/0 answers. */
  function chain(): void {
    srv.routes.set('/final', (_req, res) => res.end('arrived'));
    for (let n = 1; n <= 8; n++)
      srv.routes.set(`/hop/${n}`, (_req, res) => {
        res.writeHead(n % 2 === 0 ? 301 : 307, { location: n === 1 ? '../final' : `/hop/${n - 1}#frag` });
        res.end();
      });
  }

  it('follows a chain within the cap, resolving relative Locations, and reports the final URL', async () => {
    chain();
    const result = await fetcher({ maxRedirects: 5 }).fetch(`${srv.origin}/hop/5`);
    expect(text(result)).toBe('arrived');
    expect(result.url).toBe(`${srv.origin}/final`);
    expect(srv.requests).toHaveLength(6);
  });

  it('refuses a chain longer than maxRedirects', async () => {
    chain();
    const error = await failure(
      fetcher({ maxRedirects: 5 }).fetch(`${srv.origin}/hop/6`),
      'FETCH_TOO_MANY_REDIRECTS',
    );
    expect(error.details).toMatchObject({ url: `${srv.origin}/hop/6`, limit: 5 });
    expect(srv.requests).toHaveLength(6);
  });

  it('refuses every redirect when maxRedirects is 0', async () => {
    chain();
    await failure(fetcher({ maxRedirects: 0 }).fetch(`${srv.origin}/hop/1`), 'FETCH_TOO_MANY_REDIRECTS');
  });

  it('stops a redirect loop as soon as a URL repeats', async () => {
    srv.routes.set('/a', (_req, res) => res.writeHead(302, { location: '/b' }).end());
    srv.routes.set('/b', (_req, res) => res.writeHead(302, { location: `${srv.origin}/a` }).end());
    await failure(fetcher({ maxRedirects: 20 }).fetch(`${srv.origin}/a`), 'FETCH_TOO_MANY_REDIRECTS');
    expect(srv.requests).toHaveLength(2);
  });

  it('checks the address guard again on every hop', async () => {
    srv.routes.set('/meta', (_req, res) =>
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    );
    srv.routes.set('/local', (_req, res) =>
      res.writeHead(302, { location: `http://localhost:${srv.port}/` }).end(),
    );
    const f = fetcher();
    const meta = await failure(f.fetch(`${srv.origin}/meta`), 'FETCH_BLOCKED_ADDRESS');
    expect(meta.details).toMatchObject({ address: '169.254.169.254', range: 'link-local' });
    const local = await failure(f.fetch(`${srv.origin}/local`), 'FETCH_BLOCKED_ADDRESS');
    expect(local.details.url).toBe(`http://localhost:${srv.port}/`);
    expect(srv.requests).toHaveLength(2);
  });

  it('refuses a redirect to a scheme other than http(s)', async () => {
    srv.routes.set('/ftp', (_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
    await failure(fetcher().fetch(`${srv.origin}/ftp`), 'FETCH_BAD_URL');
  });

  it('treats a redirect status without a Location as a failed status', async () => {
    srv.routes.set('/nowhere', (_req, res) => res.writeHead(302).end());
    const error = await failure(fetcher().fetch(`${srv.origin}/nowhere`), 'FETCH_STATUS');
    expect(error.details.status).toBe(302);
  });
});

describe('createFetcher: size cap', () => {
  it('refuses at once a Content-Length above the cap, without waiting for the body', async () => {
    let closed!: Promise<unknown>;
    srv.routes.set('/big', (_req, res) => {
      closed = once(res, 'close');
      res.writeHead(200, { 'content-length': '10000000' });
      res.write('only the start'); // then hang: a client waiting for the body would time out instead
    });
    const error = await failure(
      fetcher({ maxBytes: 1000, timeoutMs: 10_000 }).fetch(`${srv.origin}/big`),
      'FETCH_TOO_LARGE',
    );
    expect(error.details.limit).toBe(1000);
    await closed; // the client dropped the connection instead of leaving it half-read
  });

  it('stops reading a chunked body as soon as it passes the cap and drops the connection', async () => {
    const bound = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(16 * 1024, 'x');
    let sent = 0;
    let completed = false;
    let closed!: Promise<unknown>;
    srv.routes.set('/stream', async (_req, res) => {
      closed = once(res, 'close');
      res.writeHead(200, { 'content-type': 'text/plain' });
      while (sent < bound && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) await Promise.race([once(res, 'drain'), closed]);
      }
      if (!res.destroyed) {
        res.end();
        completed = true;
      }
    });
    await failure(fetcher({ maxBytes: 64 * 1024 }).fetch(`${srv.origin}/stream`), 'FETCH_TOO_LARGE');
    await closed;
    expect(completed).toBe(false);
    expect(sent).toBeGreaterThan(64 * 1024);
    expect(sent).toBeLessThan(bound);
  });

  it('accepts a body of exactly the cap', async () => {
    srv.routes.set('/exact', (_req, res) => res.end(Buffer.alloc(1000, 'y')));
    expect((await fetcher({ maxBytes: 1000 }).fetch(`${srv.origin}/exact`)).body.byteLength).toBe(1000);
  });
});

describe('createFetcher: content encoding', () => {
  it('decodes a gzip body', async () => {
    const original = 'gzip body '.repeat(100);
    srv.routes.set('/gz', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain; charset=utf-8' });
      res.end(gzipSync(original));
    });
    const result = await fetcher().fetch(`${srv.origin}/gz`);
    expect(text(result)).toBe(original);
    expect(result.charset).toBe('utf-8');
  });

  it('applies the cap to decoded bytes, so a small gzip bomb is refused', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    srv.routes.set('/bomb', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await failure(fetcher({ maxBytes: 64 * 1024 }).fetch(`${srv.origin}/bomb`), 'FETCH_TOO_LARGE');
  });

  it('reports a corrupt gzip body as a failed fetch', async () => {
    srv.routes.set('/corrupt', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(Buffer.from('this is not gzip at all, just text pretending'));
    });
    await failure(fetcher().fetch(`${srv.origin}/corrupt`), 'FETCH_FAILED');
  });
});

describe('createFetcher: conditional GET', () => {
  it('round-trips ETag and Last-Modified and turns a 304 into notModified with the validators kept', async () => {
    const lastModified = 'Tue, 07 Jan 2025 10:00:00 GMT';
    srv.routes.set('/feed', (req, res) => {
      if (req.headers['if-none-match'] === '"abc"' && req.headers['if-modified-since'] === lastModified) {
        res.writeHead(304, { etag: '"abc"' }).end(); // no Last-Modified: RFC 9110 lets a 304 omit it
        return;
      }
      res.writeHead(200, {
        etag: '"abc"',
        'last-modified': lastModified,
        'content-type': 'application/rss+xml',
      });
      res.end('<rss/>');
    });
    const f = fetcher();
    const first = await f.fetch(`${srv.origin}/feed`);
    expect(first).toMatchObject({ notModified: false, etag: '"abc"', lastModified });
    const second = await f.fetch(`${srv.origin}/feed`, {
      etag: first.etag!,
      lastModified: first.lastModified!,
    });
    expect(second).toMatchObject({ status: 304, notModified: true, etag: '"abc"', lastModified });
    expect(second.body.byteLength).toBe(0);
    expect(srv.requests[1]?.headers['if-none-match']).toBe('"abc"');
  });
});

describe('createFetcher: time limits and cancellation', () => {
  it('gives up with FETCH_TIMEOUT when the server never answers', async () => {
    srv.routes.set('/hang', () => undefined);
    const error = await failure(fetcher({ timeoutMs: 300 }).fetch(`${srv.origin}/hang`), 'FETCH_TIMEOUT');
    expect(error.details).toMatchObject({ url: `${srv.origin}/hang`, ms: 300 });
  });

  it('gives up with FETCH_TIMEOUT when the body stalls half-way', async () => {
    srv.routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first half');
    });
    await failure(fetcher({ timeoutMs: 300 }).fetch(`${srv.origin}/stall`), 'FETCH_TIMEOUT');
  });

  it('rejects with the caller’s abort reason when the caller aborts', async () => {
    srv.routes.set('/hang', () => undefined);
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const pending = fetcher({ timeoutMs: 60_000 }).fetch(`${srv.origin}/hang`, { signal: controller.signal });
    setImmediate(() => controller.abort(reason));
    await expect(pending).rejects.toBe(reason);
    await expect(fetcher().fetch(`${srv.origin}/hang`, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });
});

describe('createFetcher: failures', () => {
  it('reports 404 and 500 as FETCH_STATUS with the status', async () => {
    srv.routes.set('/boom', (_req, res) => res.writeHead(500).end('oops'));
    const f = fetcher();
    expect((await failure(f.fetch(`${srv.origin}/missing`), 'FETCH_STATUS')).details.status).toBe(404);
    expect((await failure(f.fetch(`${srv.origin}/boom`), 'FETCH_STATUS')).details.status).toBe(500);
  });

  it('reports a refused connection with a readable reason', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const error = await failure(fetcher().fetch(`http://127.0.0.1:${port}/`), 'FETCH_FAILED');
    expect(error.message).toContain('refused');
  });

  it('reports a TLS failure with a readable reason', async () => {
    // An https request to a plain-HTTP port fails in the TLS handshake.
    const error = await failure(fetcher().fetch(`https://127.0.0.1:${srv.port}/`), 'FETCH_FAILED');
    expect(error.message).toMatch(/the TLS connection failed: [a-z]/);
  });
});

describe('parseContentType', () => {
  it.each([
    [null, '', undefined],
    ['', '', undefined],
    ['text/html', 'text/html', undefined],
    ['APPLICATION/RSS+XML ; charset = UTF-8', 'application/rss+xml', 'utf-8'],
    ['text/html; foo=bar; charset="windows-1252"', 'text/html', 'windows-1252'],
    ['text/html; foo="a;charset=evil"; charset=koi8-r', 'text/html', 'koi8-r'],
    ['text/html; charset=', 'text/html', undefined],
    ['text/html; charset="unterminated', 'text/html', undefined],
    ['text/html; charset=<script>', 'text/html', undefined],
    ['garbage', '', undefined],
    ['text/html text/plain', '', undefined],
    [';charset=utf-8', '', 'utf-8'],
  ])('reads %j as %j with charset %j', (header, contentType, charset) => {
    const parsed = parseContentType(header);
    expect(parsed.contentType).toBe(contentType);
    expect(parsed.charset).toBe(charset);
  });
});
