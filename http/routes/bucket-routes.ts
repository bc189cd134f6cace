import type { OpenAPIHono } from '@hono/zod-openapi';
import * as bucketSchemas from '../../core/buckets/schemas.ts';
import * as sourceSchemas from '../../core/data-sources/schemas.ts';
import { pageQuerySchema } from '../../core/pagination.ts';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

export function registerBucketRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  const owner = (c: Parameters<typeof userOf>[0]) => userOf(c).userId;
  let tag = 'buckets';
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/buckets',
      tag,
      summary: 'List buckets',
      auth: 'jwt',
      query: pageQuerySchema,
      success: { status: 200 },
    },
    async ({ query, c }) => deps.buckets.list(owner(c), query),
  );
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/buckets',
      tag,
      summary: 'Create a bucket',
      auth: 'jwt',
      body: bucketSchemas.createBucketSchema,
      success: { status: 201 },
    },
    async ({ body, c }) => deps.buckets.create(owner(c), body as never),
  );
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/buckets/:bucketId',
      tag,
      summary: 'One bucket',
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ params, c }) => deps.buckets.get(owner(c), params.bucketId!),
  );
  addRoute(
    app,
    mw,
    {
      method: 'patch',
      path: '/api/buckets/:bucketId',
      tag,
      summary: 'Update a bucket',
      auth: 'jwt',
      body: bucketSchemas.updateBucketSchema,
      success: { status: 200 },
    },
    async ({ body, params, c }) => deps.buckets.update(owner(c), params.bucketId!, body as never),
  );
  addRoute(
    app,
    mw,
    {
      method: 'delete',
      path: '/api/buckets/:bucketId',
      tag,
      summary: 'Delete a bucket with its data sources, readings and alert rules',
      auth: 'jwt',
      success: { status: 204 },
    },
    async ({ params, c }) => deps.buckets.delete(owner(c), params.bucketId!),
  );
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/buckets/:bucketId/stats',
      tag,
      summary: 'Reading counts and time span of a bucket',
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ params, c }) => {
      const stats = await deps.readingStats(owner(c), params.bucketId!);
      return {
        ...stats,
        perDay: stats.perDay.map((d) => ({
          day: new Date(d.day).toISOString().slice(0, 10),
          readings: d.readings,
        })),
      };
    },
  );

  tag = 'data-sources';
  const base = '/api/buckets/:bucketId/data-sources';
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: base,
      tag,
      summary: 'List data sources of a bucket',
      auth: 'jwt',
      query: pageQuerySchema,
      success: { status: 200 },
    },
    async ({ query, params, c }) => deps.dataSources.list(owner(c), params.bucketId!, query),
  );
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: base,
      tag,
      summary: 'Create a data source',
      auth: 'jwt',
      body: sourceSchemas.createDataSourceSchema,
      success: { status: 201 },
    },
    async ({ body, params, c }) => deps.dataSources.create(owner(c), params.bucketId!, body as never),
  );
  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: `${base}/:dataSourceId`,
      tag,
      summary: 'One data source',
      auth: 'jwt',
      success: { status: 200 },
    },
    async ({ params, c }) => deps.dataSources.get(owner(c), params.bucketId!, params.dataSourceId!),
  );
  addRoute(
    app,
    mw,
    {
      method: 'patch',
      path: `${base}/:dataSourceId`,
      tag,
      summary: 'Update a data source',
      auth: 'jwt',
      body: sourceSchemas.updateDataSourceSchema,
      success: { status: 200 },
    },
    async ({ body, params, c }) =>
      deps.dataSources.update(owner(c), params.bucketId!, params.dataSourceId!, body as never),
  );
  addRoute(
    app,
    mw,
    {
      method: 'delete',
      path: `${base}/:dataSourceId`,
      tag,
      summary: 'Delete a data source and its readings',
      auth: 'jwt',
      success: { status: 204 },
    },
    async ({ params, c }) => deps.dataSources.delete(owner(c), params.bucketId!, params.dataSourceId!),
  );
}
