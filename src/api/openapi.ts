import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { z } from 'zod';
import { errorSchema, jsonSchema, snapshotSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document (GET /openapi.json) and its docs page (GET /docs, Swagger UI served from the
 * package's own files: no CDN, no request leaves the machine). Route schemas are generated from the zod
 * schemas the routes validate with (schemas.ts); fastify does not validate or serialize with them
 * (server.ts turns its compilers off): they are documentation, zod answers 400.
 */

export const ERROR_REF = { $ref: '#/components/schemas/Error' } as const;
export const BEARER = 'bearerAuth';

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input: an unknown or malformed query key, path parameter or body field (the message names it), or a body on a GET',
  401: 'missing or wrong bearer token',
  403: 'control endpoints are disabled (API_TOKEN is not set)',
  404: 'not found',
  405: 'method not allowed on this path',
  413: 'body too large (64 KiB)',
  415: 'unsupported content type (send application/json)',
  429: 'too many requests from this address (API_RATE_LIMIT a minute): retry after the Retry-After header\'s seconds',
  500: 'internal error',
  503: 'unavailable',
};

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** needs `Authorization: Bearer <API_TOKEN>` */
  auth?: boolean;
  /** the 200 answer: a zod schema (JSON), or another content type */
  response: z.ZodType | { contentType: string; schema: Record<string, unknown> };
  responseDescription?: string;
  /** error statuses beyond the ones every route has (400, 500), with an optional own description */
  errors?: (number | [number, string])[];
}

/** The fastify route schema (for @fastify/swagger) of a documented route. */
export function routeSchema(doc: RouteDoc): FastifySchema & Record<string, unknown> {
  const response: Record<string, unknown> = {};
  const ok =
    'contentType' in doc.response
      ? { [doc.response.contentType]: { schema: doc.response.schema } }
      : { 'application/json': { schema: jsonSchema(doc.response, 'output') } };
  response['200'] = { description: doc.responseDescription ?? 'OK', content: ok };
  const errors: [number, string | undefined][] = [[400, undefined], [429, undefined], [500, undefined]];
  if (doc.auth) errors.push([401, undefined], [403, undefined], [413, undefined], [415, undefined]);
  for (const e of doc.errors ?? []) errors.push(Array.isArray(e) ? e : [e, undefined]);
  for (const [status, text] of errors.sort((a, b) => a[0] - b[0])) {
    response[String(status)] = { description: text ?? ERROR_TEXT[status] ?? 'error', content: { 'application/json': { schema: ERROR_REF } } };
  }
  const schema: FastifySchema & Record<string, unknown> = { summary: doc.summary, tags: doc.tags, response };
  if (doc.description) schema['description'] = doc.description;
  if (doc.params) schema.params = jsonSchema(doc.params, 'input');
  if (doc.query) {
    const q = jsonSchema(doc.query, 'input');
    if (Object.keys((q['properties'] as object | undefined) ?? {}).length > 0) schema.querystring = q;
  }
  if (doc.body) {
    schema.body = jsonSchema(doc.body, 'input');
    // a body that may be left out: @fastify/swagger marks every body required, transformObject undoes it
    if (doc.body.safeParse(undefined).success) schema['x-body-optional'] = true;
  }
  if (doc.auth) schema['security'] = [{ [BEARER]: [] }];
  return schema;
}

export interface OpenApiInfo {
  version: string;
}

type Doc = { paths?: Record<string, Record<string, { requestBody?: { required?: boolean }; 'x-body-optional'?: boolean }>> };

/**
 * Registers @fastify/swagger and the docs page at /docs (GET /openapi.json is a route of server.ts).
 * Routes are documented when they are added in a plugin registered after this (fastify loads plugins in order).
 */
export function registerOpenApi(app: FastifyInstance, info: OpenApiInfo): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'papertape',
        version: info.version,
        description:
          'High-frequency paper trading: read-only views of the engine, the live stream (SSE) and the controls. ' +
          'Every error is `{"error": {"code", "message"}}`. Endpoints that change anything need `Authorization: Bearer <API_TOKEN>`; ' +
          'with API_TOKEN unset they answer 403.',
      },
      tags: [
        { name: 'engine', description: 'state of the engine, its books and feeds' },
        { name: 'account', description: 'cash, positions, orders, fills, round trips' },
        { name: 'risk', description: 'risk gateway' },
        { name: 'strategies', description: 'the trading strategy and the shadow variants' },
        { name: 'live', description: 'live stream and dashboard data' },
        { name: 'controls', description: 'commands (bearer token): each is an input of the engine, written to the event log' },
        { name: 'meta', description: 'this document and health' },
      ],
      components: {
        securitySchemes: { [BEARER]: { type: 'http', scheme: 'bearer', description: 'API_TOKEN' } },
        schemas: {
          Error: jsonSchema(errorSchema, 'output') as never,
          // the data of the live stream's `snapshot` events (GET /stream)
          StreamSnapshot: jsonSchema(snapshotSchema, 'output') as never,
        },
      },
    },
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: Doc }).openapiObject;
      for (const methods of Object.values(doc.paths ?? {})) {
        for (const op of Object.values(methods)) {
          if (op['x-body-optional']) {
            delete op['x-body-optional'];
            if (op.requestBody) op.requestBody.required = false;
          }
        }
      }
      return doc as never;
    },
  });
  app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
    // the page loads nothing from elsewhere
    staticCSP:
      "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'",
  });
}
