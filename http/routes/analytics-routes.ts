import type { OpenAPIHono } from '@hono/zod-openapi';
import { systemClock } from '../../core/clock.ts';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

const DAY_MS = 86_400_000;

export function registerAnalyticsRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/analytics/overview',
      tag: 'analytics',
      summary: "Counts, reading totals, ingest rate and live MQTT clients of the caller's account",
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ c }) => {
      const ownerId = userOf(c).userId;
      const bucketIds = await deps.buckets.listIdsByOwner(ownerId);
      const [buckets, dataSources, apiKeys, readings] = await Promise.all([
        deps.buckets.countByOwner(ownerId),
        deps.dataSources.countByOwner(ownerId),
        deps.apiKeys.countByOwner ? deps.apiKeys.countByOwner(ownerId) : Promise.resolve(0),
        deps.countReadings(bucketIds, (deps.clock ?? systemClock).now() - DAY_MS),
      ]);
      return {
        buckets,
        dataSources,
        apiKeys,
        readings: { total: readings.total, last24h: readings.since },
        ingestRate: { perSecond1m: deps.ingestRatePerSecond(bucketIds) },
        mqtt: { connectedClients: deps.mqtt.connectedClients(ownerId) },
      };
    },
  );
}
