import type { OpenAPIHono } from '@hono/zod-openapi';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares } from '../route.ts';

export function registerHealthRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/health',
      tag: 'health',
      summary: '200 once every listener and store is ready; 503 otherwise',
      auth: 'none',
      success: { status: 200 },
    },
    async ({ c }) => {
      const h = await deps.health();
      return c.json({ status: h.ok ? 'ok' : 'unavailable', ...h.detail }, h.ok ? 200 : 503);
    },
  );
}
