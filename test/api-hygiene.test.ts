/**
 * HTTP hygiene over real HTTP: security headers on every answer, CORS that never
 * allows credentials, 500s without stacks or internal messages, an OpenAPI document
 * that describes every route of API.md with its request schemas, and health.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../http/create-http-app.ts';
import type { HttpDeps } from '../http/deps.ts';
import { startHttpServer, type HttpServer } from '../http/http-server.ts';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const ALLOWED_ORIGIN = 'https://app.example.com';

/** API.md's routes (OpenAPI path syntax) with the methods each must have, and whether a JSON body is documented. */
const API_ROUTES: [string, string, boolean][] = [
  ['/api/health', 'get', false],
  ['/api/auth/register', 'post', true],
  ['/api/auth/login', 'post', true],
  ['/api/auth/refresh', 'post', true],
  ['/api/auth/logout', 'post', false],
  ['/api/auth/me', 'get', false],
  ['/api/auth/me', 'patch', true],
  ['/api/auth/me', 'delete', true],
  ['/api/keys', 'get', false],
  ['/api/keys', 'post', true],
  ['/api/keys/{keyId}', 'get', false],
  ['/api/keys/{keyId}', 'delete', false],
  ['/api/keys/{keyId}/rotate', 'post', true],
  ['/api/buckets', 'get', false],
  ['/api/buckets', 'post', true],
  ['/api/buckets/{bucketId}', 'get', false],
  ['/api/buckets/{bucketId}', 'patch', true],
  ['/api/buckets/{bucketId}', 'delete', false],
  ['/api/buckets/{bucketId}/stats', 'get', false],
  ['/api/buckets/{bucketId}/data-sources', 'get', false],
  ['/api/buckets/{bucketId}/data-sources', 'post', true],
  ['/api/buckets/{bucketId}/data-sources/{dataSourceId}', 'get', false],
  ['/api/buckets/{bucketId}/data-sources/{dataSourceId}', 'patch', true],
  ['/api/buckets/{bucketId}/data-sources/{dataSourceId}', 'delete', false],
  ['/api/buckets/{bucketId}/alert-rules', 'get', false],
  ['/api/buckets/{bucketId}/alert-rules', 'post', true],
  ['/api/buckets/{bucketId}/alert-rules/{ruleId}', 'get', false],
  ['/api/buckets/{bucketId}/alert-rules/{ruleId}', 'patch', true],
  ['/api/buckets/{bucketId}/alert-rules/{ruleId}', 'delete', false],
  ['/api/buckets/{bucketId}/alert-events', 'get', false],
  ['/api/webhooks', 'get', false],
  ['/api/webhooks', 'post', true],
  ['/api/webhooks/{webhookId}', 'get', false],
  ['/api/webhooks/{webhookId}', 'patch', true],
  ['/api/webhooks/{webhookId}', 'delete', false],
  ['/api/webhooks/{webhookId}/test', 'post', false],
  ['/api/webhooks/{webhookId}/deliveries', 'get', false],
  ['/api/analytics/overview', 'get', false],
  ['/api/data', 'post', true],
  ['/api/data', 'get', false],
  ['/api/data/batch', 'post', false],
  ['/api/data/latest', 'get', false],
];

/** The mosquitto-compat routes of API.md: each must be in the document exactly when the server serves it. */
const MQTT_COMPAT_ROUTES: [string, string][] = [
  ['/api/mqtt/credentials', 'get'],
  ['/api/mqtt/credentials', 'post'],
  ['/api/mqtt/credentials/{id}', 'get'],
  ['/api/mqtt/import', 'post'],
  ['/api/mqtt/topic-mappings', 'get'],
  ['/api/mqtt/topic-mappings', 'post'],
  ['/api/mqtt/upstreams', 'get'],
  ['/api/mqtt/upstreams', 'post'],
];

describe('HTTP hygiene', () => {
  let d: TestDakkio;
  let api: Api;
  let token: string;

  beforeAll(async () => {
    d = await startTestDakkio({ env: { DAKKIO_CORS_ORIGINS: ALLOWED_ORIGIN } });
    api = createApiClient(d.baseUrl);
    token = (
      await api('POST', '/api/auth/register', {
        body: { email: 'hygiene@example.com', password: 'correct horse battery' },
      })
    ).body.token;
  });
  afterAll(async () => d?.destroy());

  const expectSecurityHeaders = (r: ApiResponse, what: string) => {
    expect(r.headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(r.headers.get('x-frame-options'), what).toMatch(/^(DENY|SAMEORIGIN)$/);
    expect(r.headers.get('referrer-policy'), what).toBeTruthy();
    expect(r.headers.get('strict-transport-security'), what).toMatch(/max-age=\d+/);
    expect(r.headers.get('cross-origin-resource-policy'), what).toBeTruthy();
    expect(r.headers.get('x-powered-by'), what).toBeNull();
    expect(r.headers.get('cache-control'), what).toBe('no-store');
  };

  it('GET /api/health is 200 {status: "ok"} without auth', async () => {
    const r = await api('GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
  });

  it('sets security headers on successes, errors, 404s and preflights', async () => {
    expectSecurityHeaders(await api('GET', '/api/health'), 'health');
    const login = await api('POST', '/api/auth/login', {
      body: { email: 'hygiene@example.com', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    expectSecurityHeaders(login, 'login (tokens in the body)');
    const key = await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read'] } });
    expectSecurityHeaders(key, 'key creation (secret in the body)');
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'h' } })).body.id;
    const csv = await api('GET', `/api/data?bucketId=${bucketId}&format=csv`, { apiKey: key.body.secret });
    expect(csv.status).toBe(200);
    expectSecurityHeaders(csv, 'streamed csv');
    expectSecurityHeaders(await api('GET', '/api/buckets', { token }), 'list');
    expectSecurityHeaders(await api('GET', '/api/buckets'), '401');
    expectSecurityHeaders(await api('GET', '/api/no-such-route'), '404');
    expectSecurityHeaders(
      await api('POST', '/api/buckets', { token, rawBody: '{', contentType: 'application/json' }),
      '400',
    );
    expectSecurityHeaders(
      await api('OPTIONS', '/api/buckets', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
      }),
      'preflight',
    );
  });

  it('CORS allows the configured origin and never credentials', async () => {
    const pre = await api('OPTIONS', '/api/buckets', {
      headers: {
        origin: ALLOWED_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const get = await api('GET', '/api/buckets', { token, headers: { origin: ALLOWED_ORIGIN } });
    expect(get.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(get.headers.get('access-control-allow-credentials')).toBeNull();

    const evil = await api('OPTIONS', '/api/buckets', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
    const evilGet = await api('GET', '/api/health', { headers: { origin: 'https://evil.example' } });
    expect(evilGet.headers.get('access-control-allow-origin')).toBeNull();
    expect(evilGet.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('every error is the API.md shape, with no stack', async () => {
    const answers = await Promise.all([
      api('GET', '/api/no-such-route'),
      api('GET', '/api/buckets'),
      api('GET', '/api/buckets/ffffffffffffffffffffffff', { token }),
      api('POST', '/api/buckets', { token, rawBody: '{', contentType: 'application/json' }),
      api('POST', '/api/buckets', { token, rawBody: 'x', contentType: 'text/plain' }),
      api('POST', '/api/buckets', { token, body: { name: 1 } }),
      api('GET', '/api/data'),
    ]);
    for (const r of answers) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.body.error.code).toMatch(/^[a-z_]+$/);
      expect(r.body.error.message).toBeTypeOf('string');
      expect(r.text).not.toMatch(/\.ts:\d+|node_modules|\n\s+at /);
    }
  });

  it('a hostile, deeply nested body is a 400, not a 500', async () => {
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'deep' } })).body.id;
    const depth = 100_000;
    const raw = `{"name":"s","metadata":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const r = await api('POST', `/api/buckets/${bucketId}/data-sources`, {
      token,
      rawBody: raw,
      contentType: 'application/json',
    });
    expect(r.status, r.text.slice(0, 200)).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const fine = await api('POST', `/api/buckets/${bucketId}/data-sources`, {
      token,
      body: { name: 's', metadata: { a: { b: { c: [1, [2]] } } } },
    });
    expect(fine.status).toBe(201);
  });

  it('an unexpected failure is a bare 500 without a stack or the internal message', async () => {
    // The real app and error handler on a real socket, plus one route that fails the way a bug would.
    const deps = {
      logger: pino({ level: 'silent' }),
      allowSignup: true,
      publicOrigin: undefined,
      corsOrigins: [],
    } as unknown as HttpDeps;
    const app = createHttpApp(deps, [
      (a) => {
        a.get('/api/boom', () => {
          throw new Error('secret internal detail at /srv/dakkio/core/x.ts:12');
        });
        a.get('/api/boom-async', async () => {
          await Promise.resolve();
          throw new TypeError("Cannot read properties of undefined (reading 'password_hash')");
        });
        // Some libraries reject with non-Errors (rate-limiter-flexible rejects with a RateLimiterRes).
        a.get('/api/boom-value', async () => {
          throw { secret: 'password_hash' };
        });
      },
    ]);
    let server: HttpServer | undefined;
    try {
      server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
      const local = createApiClient(`http://127.0.0.1:${server.port}`);
      for (const path of ['/api/boom', '/api/boom-async', '/api/boom-value']) {
        const r = await local('GET', path);
        expect(r.status).toBe(500);
        expect(r.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
        expect(r.text).not.toMatch(/secret|password_hash|\.ts:\d+/);
        expectSecurityHeaders(r, path);
      }
    } finally {
      await server?.close();
    }
  });

  it('OpenAPI lists every API.md route with its request schemas', async () => {
    const r = await api('GET', '/api/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\./);
    const missing: string[] = [];
    for (const [path, method, hasJsonBody] of API_ROUTES) {
      const op = doc.paths[path]?.[method];
      if (!op) {
        missing.push(`${method.toUpperCase()} ${path}`);
        continue;
      }
      if (hasJsonBody) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        expect(schema, `${method} ${path} request schema`).toBeDefined();
        expect(
          schema.$ref ?? schema.type ?? schema.anyOf ?? schema.allOf,
          `${method} ${path} request schema`,
        ).toBeDefined();
      }
      for (const param of path.match(/\{\w+\}/g) ?? []) {
        const name = param.slice(1, -1);
        expect(
          op.parameters?.some((p: { name: string; in: string }) => p.name === name && p.in === 'path'),
          `${method} ${path} param ${name}`,
        ).toBe(true);
      }
      if (path !== '/api/health' && !path.startsWith('/api/auth/re') && path !== '/api/auth/login') {
        expect(op.security?.length ?? 0, `${method} ${path} security`).toBeGreaterThan(0);
      }
    }
    expect(missing).toEqual([]);

    // Query parameters and batch content types are described too.
    const query = doc.paths['/api/data'].get.parameters
      .filter((p: { in: string }) => p.in === 'query')
      .map((p: { name: string }) => p.name);
    expect(query).toEqual(
      expect.arrayContaining([
        'bucketId',
        'dataSourceId',
        'metrics',
        'from',
        'to',
        'aggregate',
        'interval',
        'limit',
        'format',
      ]),
    );
    const batchJson = doc.paths['/api/data/batch'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(batchJson.$ref ? doc.components : batchJson)).toContain('readings');
    expect(Object.keys(doc.paths['/api/data/batch'].post.requestBody.content).sort()).toEqual([
      'application/json',
      'application/x-ndjson',
      'text/csv',
    ]);
    const createKey = JSON.stringify(doc.paths['/api/keys'].post.requestBody.content['application/json'].schema);
    const resolved = createKey.includes('$ref') ? JSON.stringify(doc.components) : createKey;
    expect(resolved).toContain('permissions');
  });

  it('OpenAPI describes a mosquitto-compat route exactly when the server serves it', async () => {
    const doc = (await api('GET', '/api/openapi.json')).body;
    for (const [path, method] of MQTT_COMPAT_ROUTES) {
      const concrete = path.replace('{id}', 'ffffffffffffffffffffffff');
      const r = await api(method.toUpperCase(), concrete, { token, ...(method === 'post' ? { body: {} } : {}) });
      const served = !(r.status === 404 && /^no route/.test(r.body?.error?.message ?? ''));
      // Path parameters may have any name in the document ({id}, {credentialId}, ...).
      const shape = new RegExp(`^${path.replace(/\{\w+\}/g, '\\{\\w+\\}')}$`);
      const documented = Object.entries(doc.paths).some(
        ([p, ops]) => shape.test(p) && Boolean((ops as Record<string, unknown>)[method]),
      );
      expect(documented, `${method.toUpperCase()} ${path}: served=${served}`).toBe(served);
    }
  });
});
