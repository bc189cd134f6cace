/**
 * One declaration per endpoint drives both request validation and the OpenAPI
 * document (GET /api/openapi.json), so the two cannot drift. We validate here
 * rather than with @hono/zod-openapi's validator because that one silently skips
 * body validation when the Content-Type doesn't match, and API.md wants 415 and
 * our own error shape for every failure.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { ApiKeyPrincipal, UserPrincipal } from '../core/auth/principal.ts';
import { DakkioError } from '../core/errors.ts';
import { parseOrThrow } from '../core/validation.ts';
import type { HttpEnv } from './http-env.ts';
import { toApiJson } from './serialize.ts';

export const JSON_BODY_LIMIT = 1024 * 1024;

type Method = 'get' | 'post' | 'patch' | 'delete' | 'put';
type Auth = 'jwt' | 'api-key' | 'none';

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: Method;
  /** Hono-style path, e.g. /api/buckets/:bucketId */
  path: string;
  tag: string;
  summary: string;
  auth: Auth;
  body?: B;
  query?: Q;
  /** status and schema of the success response (documentation) */
  success: {
    status: 200 | 201 | 204;
    description?: string;
    schema?: z.ZodType;
    contentType?: string;
  };
  bodyLimitBytes?: number;
  /** skip the generic JSON body reading (the handler reads the raw body itself, e.g. batch import) */
  rawBody?: {
    contentTypes: string[];
    description: string;
    /** documentation schema per content type (default: a string), e.g. the JSON form of a batch */
    schemas?: Record<string, z.ZodType>;
  };
}

export interface RouteInput<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  c: Context<HttpEnv>;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export async function readJsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new DakkioError('unsupported_media_type', 'Content-Type must be application/json');
  }
  const text = await c.req.text();
  if (text.trim() === '') throw new DakkioError('invalid_json', 'request body is empty');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DakkioError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A call whose body fields are all optional (key rotation) may come with no body at all,
 * as `curl -X POST` sends it: that means `{}`. Anything that carries a body is read as JSON.
 */
async function readRouteBody(c: Context, schema: z.ZodType): Promise<unknown> {
  const bodiless =
    c.req.header('content-type') === undefined &&
    c.req.header('transfer-encoding') === undefined &&
    (c.req.header('content-length') ?? '0') === '0';
  if (bodiless && schema.safeParse({}).success) return {};
  return readJsonBody(c);
}

const payloadTooLarge = (limit: number) => {
  throw new DakkioError('payload_too_large', `request body exceeds ${limit} bytes`);
};

export const userOf = (c: Context<HttpEnv>): UserPrincipal => {
  const u = c.get('user');
  if (!u) throw new DakkioError('unauthorized', 'authentication required');
  return u;
};
export const keyOf = (c: Context<HttpEnv>): ApiKeyPrincipal => {
  const k = c.get('apiKey');
  if (!k) throw new DakkioError('unauthorized', 'API key required (X-API-Key header)');
  return k;
};

export interface RouteMiddlewares {
  jwt: (c: Context<HttpEnv>, next: () => Promise<void>) => Promise<Response | undefined>;
  apiKey: (c: Context<HttpEnv>, next: () => Promise<void>) => Promise<Response | undefined>;
}

export function addRoute<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>(
  app: OpenAPIHono<HttpEnv>,
  mw: RouteMiddlewares,
  spec: RouteSpec<B, Q>,
  handler: (input: RouteInput<Out<B>, Out<Q>>) => Promise<unknown>,
): void {
  register(app, spec);
  const limit = spec.bodyLimitBytes ?? JSON_BODY_LIMIT;
  const chain = [];
  if (spec.body || spec.rawBody) {
    chain.push(bodyLimit({ maxSize: limit, onError: () => payloadTooLarge(limit) }));
  }
  if (spec.auth === 'jwt') chain.push(mw.jwt);
  if (spec.auth === 'api-key') chain.push(mw.apiKey);
  app.on(spec.method.toUpperCase(), spec.path, ...(chain as []), async (c: Context<HttpEnv>) => {
    const body = spec.body ? parseOrThrow(spec.body, await readRouteBody(c, spec.body), 'request body') : undefined;
    const query = spec.query ? parseOrThrow(spec.query, c.req.query(), 'query parameters') : undefined;
    const result = await handler({
      body,
      query,
      params: c.req.param() as Record<string, string>,
      c,
    } as RouteInput<Out<B>, Out<Q>>);
    if (result instanceof Response) return result;
    if (spec.success.status === 204) return c.body(null, 204);
    return c.json(toApiJson(result) as object, spec.success.status);
  });
}

function register(app: OpenAPIHono<HttpEnv>, spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>): void {
  const path = spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const params = [...spec.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
    name: m[1]!,
    in: 'path' as const,
    required: true,
    schema: { type: 'string' as const, pattern: '^[0-9a-f]{24}$' },
  }));
  const security: Record<string, string[]>[] =
    spec.auth === 'jwt' ? [{ bearerAuth: [] }, { sessionCookie: [] }] : spec.auth === 'api-key' ? [{ apiKey: [] }] : [];
  const content = spec.body
    ? { 'application/json': { schema: spec.body } }
    : spec.rawBody
      ? Object.fromEntries(
          spec.rawBody.contentTypes.map((t) => [
            t,
            { schema: spec.rawBody?.schemas?.[t] ?? { type: 'string' as const } },
          ]),
        )
      : undefined;
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path,
    tags: [spec.tag],
    summary: spec.summary,
    security,
    parameters: params,
    request: {
      ...(spec.query ? { query: spec.query as never } : {}),
      ...(content
        ? {
            body: {
              required: true,
              content,
              description: spec.rawBody?.description,
            },
          }
        : {}),
    },
    responses: {
      [spec.success.status]: {
        description: spec.success.description ?? 'success',
        ...(spec.success.schema
          ? {
              content: {
                [spec.success.contentType ?? 'application/json']: {
                  schema: spec.success.schema,
                },
              },
            }
          : {}),
      },
      default: { description: 'error: {"error": {code, message, details?}}' },
    },
  });
}
