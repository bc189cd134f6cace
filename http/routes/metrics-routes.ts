/**
 * Operators' metrics in the Prometheus text format (GET /api/metrics, an API.md
 * extension). Broker counters are server-wide, so they are not shown to every
 * signed-in user (that would leak other tenants' traffic); a scraper presents the
 * operator token from DAKKIO_METRICS_TOKEN instead. Unset = the endpoint is off.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { DakkioError } from '../../core/errors.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares } from '../route.ts';

export interface MetricsSource {
  connectedClients(): number;
  counters(): Record<string, number>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsRoutes(token: string | undefined, source: MetricsSource) {
  const expected = token ? digest(token) : undefined;
  return (app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares): void => {
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/metrics',
        tag: 'operations',
        summary: 'Prometheus metrics (dakkio_mqtt_*); needs Authorization: Bearer <DAKKIO_METRICS_TOKEN>',
        auth: 'none',
        success: { status: 200, description: 'text/plain; version=0.0.4' },
      },
      async ({ c }) => {
        if (!expected) throw new DakkioError('not_found', 'metrics are off; set DAKKIO_METRICS_TOKEN to enable them');
        const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization')?.trim() ?? '')?.[1];
        // Compare digests so the comparison is constant-time whatever the lengths.
        if (!presented || !timingSafeEqual(digest(presented), expected)) {
          throw new DakkioError('unauthorized', 'metrics need the operator token');
        }
        const lines = [`dakkio_mqtt_connected_clients ${source.connectedClients()}`];
        for (const [name, value] of Object.entries(source.counters()).sort(([a], [b]) => a.localeCompare(b))) {
          lines.push(`${name} ${value}`);
        }
        return c.text(`${lines.join('\n')}\n`, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      },
    );
  };
}
