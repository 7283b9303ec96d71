/**
 * Route specifications: each endpoint is declared once with the zod schemas of its path
 * parameters, query and body. The same declaration validates requests (`parseInput`) and
 * generates the OpenAPI 3.1 document (`openApiDocument`), so the two cannot drift apart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ShelfError } from '../core/errors.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface HandlerInput<P, Q, B> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly body: Out<B>;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

export interface RouteSpec<
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  readonly method: Method;
  /** OpenAPI path template, e.g. `/v1/knowledgebases/{kb}`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Also takes `multipart/form-data` with one `file` part (the body schema is then skipped). */
  readonly upload?: boolean;
  /** Answers `text/event-stream` when the client asks for it. */
  readonly stream?: boolean;
  /** Reachable without an API key (health, the OpenAPI document). */
  readonly public?: boolean;
  /** Status → description, for the OpenAPI document. */
  readonly responses: Readonly<Record<number, string>>;
  /** Returns the JSON body, or undefined when it has replied itself (204, streams). */
  readonly handler: (input: HandlerInput<P, Q, B>) => Promise<unknown>;
}

/** Declares a route with its handler's input types inferred from the schemas. */
export function route<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec;
}

/** Validates one part of a request, or BODY_INVALID naming the first offending field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${where}.${issue.path.map(String).join('.')}` : where;
  throw new ShelfError('BODY_INVALID', { detail: `${path}: ${issue?.message ?? 'invalid'}` });
}

/** `/v1/knowledgebases/{kb}` → `/v1/knowledgebases/:kb` (Fastify's syntax). */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  // Requests are described as clients send them (before defaults and coercion).
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** Path and query parameters from object schemas. */
function parameters(spec: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema);
    const props = (js.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) {
      const { description, ...rest } = s;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'hint', 'docs'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        hint: { type: 'string' },
        docs: { type: 'string' },
      },
    },
  },
};

/** The OpenAPI 3.1 document for a list of routes. */
export function openApiDocument(routes: readonly RouteSpec[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, description] of Object.entries(r.responses)) {
      const n = Number(status);
      responses[status] =
        n >= 400
          ? {
              description,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            }
          : n === 204
            ? { description }
            : {
                description,
                content: {
                  'application/json': { schema: { type: 'object' } },
                  ...(r.stream ? { 'text/event-stream': { schema: { type: 'string' } } } : {}),
                },
              };
    }
    const operation: JsonSchema = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      parameters: parameters(r),
      responses,
      ...(r.public ? { security: [] } : {}),
    };
    if (r.body || r.upload) {
      const content: JsonSchema = {};
      if (r.body) content['application/json'] = { schema: jsonSchema(r.body) };
      if (r.upload)
        content['multipart/form-data'] = {
          schema: {
            type: 'object',
            required: ['file'],
            properties: {
              file: { type: 'string', format: 'binary' },
              tags: { type: 'string', description: 'comma-separated tags' },
            },
          },
        };
      operation.requestBody = { required: true, content };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'shelf',
      version: info.version,
      description:
        'A self-hosted knowledge base for technical reading: sources in, ranked search and cited answers out.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
