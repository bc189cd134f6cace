import type { OpenAPIHono } from '@hono/zod-openapi';
import * as schemas from '../../core/auth/schemas.ts';
import { pageQuerySchema } from '../../core/pagination.ts';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

export function registerKeyRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  const tag = 'api-keys';
  const owner = (c: Parameters<typeof userOf>[0]) => userOf(c).userId;
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/keys',
      tag,
      summary: 'Create an API key (the secret is shown only in this response)',
      auth: 'jwt',
      body: schemas.createApiKeySchema,
      success: { status: 201 },
    },
    async ({ body, c }) => deps.apiKeys.create(owner(c), body as never),
  );
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/keys',
      tag,
      summary: 'List API keys (never secrets)',
      auth: 'jwt',
      query: pageQuerySchema,
      success: { status: 200 },
    },
    async ({ query, c }) => deps.apiKeys.list(owner(c), query),
  );
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/keys/:keyId',
      tag,
      summary: 'One API key',
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ params, c }) => deps.apiKeys.get(owner(c), params.keyId!),
  );
  addRoute(
    app,
    mw,
    {
      method: 'delete',
      path: '/api/keys/:keyId',
      tag,
      summary: 'Revoke an API key (immediate; live MQTT sessions dropped)',
      auth: 'jwt',
      success: { status: 204 },
    },
    async ({ params, c }) => deps.apiKeys.revoke(owner(c), params.keyId!),
  );
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/keys/:keyId/rotate',
      tag,
      summary: 'New secret; the old one works for graceSeconds',
      auth: 'jwt',
      body: schemas.rotateApiKeySchema,
      success: { status: 201 },
    },
    async ({ body, params, c }) => deps.apiKeys.rotate(owner(c), params.keyId!, body),
  );
}
