/**
 * The Hono application: global hygiene (security headers, CORS without
 * credentials, the error shape everywhere, credential placement), then every
 * route group, then the OpenAPI document generated from the same route
 * declarations that validate requests.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { secureHeaders } from 'hono/secure-headers';
import { apiCors } from './middleware/api-cors.ts';
import type { HttpDeps } from './deps.ts';
import { createErrorHandler, errorBody } from './error-mapping.ts';
import type { HttpEnv } from './http-env.ts';
import { createApiKeyAuth } from './middleware/api-key-auth.ts';
import { clientIp } from './middleware/client-ip.ts';
import { refuseMisplacedApiKeys } from './middleware/credential-placement.ts';
import { createSessionAuth } from './middleware/session-auth.ts';
import type { RouteMiddlewares } from './route.ts';
import { registerAnalyticsRoutes } from './routes/analytics-routes.ts';
import { registerAuthRoutes } from './routes/auth-routes.ts';
import { registerBucketRoutes } from './routes/bucket-routes.ts';
import { registerDataRoutes } from './routes/data-routes.ts';
import { registerHealthRoutes } from './routes/health-routes.ts';
import { registerKeyRoutes } from './routes/key-routes.ts';

/** Extra route groups (alerts, webhooks, mosquitto-compat) plug in here without this file knowing them. */
export type RouteGroup = (app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares) => void;

export function createHttpApp(deps: HttpDeps, extraRoutes: RouteGroup[] = []): OpenAPIHono<HttpEnv> {
  const app = new OpenAPIHono<HttpEnv>();
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));

  app.use('*', secureHeaders({ crossOriginResourcePolicy: 'same-origin' }));
  // Answers carry tokens, key secrets and private data: no browser or proxy cache may keep them (OWASP REST).
  app.use('/api/*', async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use(
    '/api/*',
    apiCors({
      origin: deps.corsOrigins,
      credentials: false, // API.md: CORS never allows credentials
      allowHeaders: ['Content-Type', 'Authorization', 'X-API-Key'],
      allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      maxAge: 600,
    }),
  );
  // Hono's onError only sees Error instances; a library rejecting with a plain value (rate-limiter-flexible
  // does) would escape as a bodiless 500. Wrapped here, inside the header middlewares, so the answer keeps them.
  app.use('*', async (_c, next) => {
    try {
      await next();
    } catch (err) {
      throw err instanceof Error ? err : new Error('non-Error value thrown', { cause: err });
    }
  });
  app.use('*', clientIp);
  app.use('*', refuseMisplacedApiKeys);

  const mw: RouteMiddlewares = {
    jwt: createSessionAuth({
      verifyAccessToken: deps.verifyAccessToken,
      publicOrigin: deps.publicOrigin,
    }) as RouteMiddlewares['jwt'],
    apiKey: createApiKeyAuth((secret) => deps.apiKeys.verify(secret)) as RouteMiddlewares['apiKey'],
  };

  registerHealthRoutes(app, mw, deps);
  registerAuthRoutes(app, mw, deps);
  registerKeyRoutes(app, mw, deps);
  registerBucketRoutes(app, mw, deps);
  registerDataRoutes(app, mw, deps);
  registerAnalyticsRoutes(app, mw, deps);
  for (const group of extraRoutes) group(app, mw);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: '__Host-dakkio_session',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  });
  let doc: unknown;
  app.get('/api/openapi.json', (c) => {
    doc ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'dakkio',
        version: '0.1.0',
        description: 'MQTT-first IoT data platform. Errors: {"error": {code, message, details?}}.',
      },
    });
    return c.json(doc as object);
  });
  return app;
}
