/**
 * `shelf serve`: the HTTP API (Fastify) with its background worker and feed scheduler.
 *
 * Every request passes, in order: security headers (and CORS when origins are configured),
 * API-key authentication (required when listening beyond loopback or when
 * `server.requireKeys` is set; the server refuses to start without a key then), the per-
 * client rate limit, the body limit and JSON depth check, and the route's zod schemas.
 * Every failure leaves as `{ "error": { code, message, hint, docs } }` with the status
 * `errors.ts` maps from the catalogue.
 */
import { readFileSync } from 'node:fs';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { ShelfError } from '../core/errors.js';
import { ingestHandlers } from '../jobs/ingest-jobs.js';
import { uploadsDir } from '../ingest/uploads.js';
import { startScheduler, type Scheduler } from '../jobs/scheduler.js';
import { startWorker, type Worker } from '../jobs/worker.js';
import { rankingUpkeep } from './ranking-upkeep.js';
import type { ApiKeyRecord } from '../store/store.js';
import { authenticate, createRateLimiter, hasActiveKeys, isLoopbackHost } from './auth.js';
import { errorBody, fromFrameworkError, STATUS_BY_KIND } from './errors.js';
import { SECURITY_HEADERS } from './headers.js';
import { parseJsonBody } from './json-body.js';
import { buildRoutes } from './routes.js';
import { fastifyPath, openApiDocument, parseInput, type RouteSpec } from './spec.js';
import { registerStatic } from './static.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without an API key. */
    public?: boolean;
  }
  interface FastifyRequest {
    apiKey?: ApiKeyRecord;
  }
}

/** The package version, read once from package.json (two levels up from src/ or dist/). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface HttpOptions {
  readonly app: App;
  /** Whether clients must send an API key (default: from the host and server.requireKeys). */
  readonly requireKeys: boolean;
  /** Called when a request queued a job. */
  readonly onJobQueued?: () => void;
}

/** Builds the Fastify instance with every route and guard (not listening yet). */
export async function buildHttp(options: HttpOptions): Promise<FastifyInstance> {
  const { app } = options;
  const cfg = app.config.server;
  const limits = { maxBodyBytes: cfg.maxBodyBytes, maxUploadBytes: cfg.maxUploadBytes };
  const fastify = Fastify({
    logger: false,
    bodyLimit: cfg.maxBodyBytes,
    // Ids and names in paths are short; a long parameter is an attack or a mistake.
    routerOptions: { maxParamLength: 200 },
    requestTimeout: 120_000,
    return503OnClosing: true,
  });
  const limiter = createRateLimiter(cfg.rateLimitPerMinute);
  const cors = new Set(cfg.corsOrigins);

  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  await fastify.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: cfg.maxUploadBytes, files: 1, fields: 10, fieldSize: 2000, parts: 12 },
  });

  fastify.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    const origin = request.headers.origin;
    if (origin !== undefined && (cors.has(origin) || cors.has('*'))) {
      void reply.headers({
        'access-control-allow-origin': origin,
        'access-control-allow-headers': 'authorization, content-type, accept',
        'access-control-allow-methods': 'GET, POST, PATCH, DELETE',
        'access-control-expose-headers': 'location, retry-after',
        'access-control-max-age': '600',
        vary: 'Origin',
      });
    }
    if (request.method === 'OPTIONS' && cors.size > 0) return;
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    if (options.requireKeys || header !== undefined) request.apiKey = await authenticate(app.store, header);
    const client = request.apiKey ? `key:${request.apiKey.id}` : `ip:${request.ip}`;
    const wait = limiter.take(client, Date.now());
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new ShelfError('RATE_LIMITED', { limit: cfg.rateLimitPerMinute });
    }
  });

  const sendError = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    let e = fromFrameworkError(err, limits);
    if (e.kind === 'internal') {
      app.logger.warn('request failed', { method: request.method, url: request.url, error: String(err) });
      // Internal details stay in the server log.
      if (!(err instanceof ShelfError)) e = new ShelfError('INTERNAL', { detail: 'see the server log' });
    }
    if (e.code === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer');
    // A request whose body was refused midway cannot be read to its end: close the connection.
    if (e.code === 'PAYLOAD_TOO_LARGE') void reply.header('connection', 'close');
    return reply.code(STATUS_BY_KIND[e.kind]).type('application/json').send(errorBody(e));
  };
  fastify.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  fastify.setNotFoundHandler((request, reply) =>
    sendError(
      new ShelfError('ROUTE_NOT_FOUND', { method: request.method, path: request.url.split('?')[0] }),
      request,
      reply,
    ),
  );
  if (cors.size > 0) fastify.options('/*', (_req, reply) => reply.code(204).send());

  const version = packageVersion();
  let document: unknown;
  const routes: RouteSpec[] = buildRoutes({
    app,
    uploadsDir: uploadsDir(app.config.home),
    onJobQueued: options.onJobQueued ?? (() => undefined),
    version,
    openApi: () => (document ??= openApiDocument(routes, { version })),
  });
  for (const spec of routes) {
    fastify.route({
      method: spec.method,
      url: fastifyPath(spec.path),
      config: { public: spec.public === true },
      handler: async (request, reply) => {
        const params = spec.params ? parseInput(spec.params, request.params, 'path') : undefined;
        const query = spec.query ? parseInput(spec.query, request.query ?? {}, 'query') : undefined;
        // Routes that take uploads validate their JSON body themselves (the body may be multipart).
        const body = spec.body && !spec.upload ? parseInput(spec.body, request.body, 'body') : undefined;
        const out = await spec.handler({ params, query, body, request, reply });
        if (reply.sent) return reply;
        if (out === undefined) return reply.send();
        return out;
      },
    });
  }
  // The web UI at / (after the API routes: /v1/... never falls back to it).
  registerStatic(fastify);
  return fastify;
}

export interface ServeOptions {
  readonly app: App;
  /** Default: config.server.host / port (port 0 picks a free one). */
  readonly host?: string;
  readonly port?: number;
  /** Run the job worker and feed scheduler in this process (default true). */
  readonly jobs?: boolean;
  readonly worker?: {
    readonly leaseMs?: number;
    readonly pollMs?: number;
    readonly concurrency?: number;
    readonly backoffMs?: (attempt: number) => number;
  };
  /** Default: config.server.feedCheckIntervalS. */
  readonly feedCheckIntervalMs?: number;
  /**
   * Rebuilding the ranking state after the index changed (./ranking-upkeep.ts): how often
   * to look, and how long the index must stay unchanged first (RANKING_UPKEEP); false: never.
   */
  readonly rankingUpkeep?: { readonly intervalMs: number; readonly quietMs: number } | false;
}

/** How often `shelf serve` looks for a changed index, and the quiet period before a rebuild. */
export const RANKING_UPKEEP = { intervalMs: 5_000, quietMs: 30_000 };

export interface ShelfServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly http: FastifyInstance;
  /** Stops taking requests, stops the scheduler and the worker (queuing running jobs again). */
  close(): Promise<void>;
}

/** Starts the API; refuses (SERVER_UNSAFE_BIND) to listen beyond loopback without API keys. */
export async function startServer(options: ServeOptions): Promise<ShelfServer> {
  const { app } = options;
  const cfg = app.config.server;
  const host = options.host ?? cfg.host;
  const port = options.port ?? cfg.port;
  const requireKeys = cfg.requireKeys || !isLoopbackHost(host);
  if (requireKeys && !(await hasActiveKeys(app.store))) throw new ShelfError('SERVER_UNSAFE_BIND', { host });

  let worker: Worker | undefined;
  let scheduler: Scheduler | undefined;
  const http = await buildHttp({ app, requireKeys, onJobQueued: () => worker?.wake() });
  try {
    await http.listen({ host, port });
  } catch (e) {
    await http.close();
    throw new ShelfError('SERVER_LISTEN_FAILED', { host, port, reason: (e as Error).message }, { cause: e });
  }
  // Ranking state (and, for an index of moderate size, every posting list) loads in the
  // background and a few warm-up queries run, so the first searches pay neither for the
  // loading nor for the JIT; a search before it is done loads what it needs itself. Then it
  // is kept current as feeds sync and uploads land: rebuilt once the index is quiet.
  const upkeepTiming = options.rankingUpkeep ?? RANKING_UPKEEP;
  const upkeep = rankingUpkeep({
    store: app.store,
    clock: app.clock,
    logger: app.logger,
    quietMs: upkeepTiming ? upkeepTiming.quietMs : Number.POSITIVE_INFINITY,
  });
  void upkeep.warmNow();
  // A look while a build runs does nothing.
  const upkeepTimer = upkeepTiming
    ? setInterval(() => {
        upkeep
          .tick()
          .catch((e: unknown) =>
            app.logger.debug('could not look at the search index', { reason: (e as Error).message }),
          );
      }, upkeepTiming.intervalMs).unref()
    : undefined;
  if (options.jobs !== false) {
    const w = options.worker ?? {};
    worker = startWorker({
      store: app.store,
      clock: app.clock,
      logger: app.logger,
      handlers: ingestHandlers({
        store: app.store,
        fetcher: app.fetcher,
        config: app.config,
        clock: app.clock,
        logger: app.logger,
      }),
      leaseMs: w.leaseMs ?? app.config.jobs.leaseMs,
      pollMs: w.pollMs ?? app.config.jobs.pollMs,
      ...(w.concurrency !== undefined ? { concurrency: w.concurrency } : {}),
      ...(w.backoffMs !== undefined ? { backoffMs: w.backoffMs } : {}),
    });
    const started = worker;
    scheduler = startScheduler({
      store: app.store,
      clock: app.clock,
      logger: app.logger,
      intervalMs: options.feedCheckIntervalMs ?? cfg.feedCheckIntervalS * 1000,
      onQueued: () => started.wake(),
    });
  }
  const address = http.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}`,
    host,
    port: bound,
    http,
    async close() {
      clearInterval(upkeepTimer);
      // Told at once (a compaction stops at its next transaction), waited for last.
      const stopped = upkeep.stop();
      scheduler?.stop();
      await http.close();
      await worker?.stop();
      await stopped;
    },
  };
}
