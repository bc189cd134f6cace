import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AlertEventService } from '../../core/alerts/alert-events.ts';
import type { AlertRuleService } from '../../core/alerts/alert-rule-service.ts';
import { alertEventsQuerySchema, alertRuleCreateSchema, alertRuleUpdateSchema } from '../../core/alerts/schemas.ts';
import { pageQuerySchema } from '../../core/pagination.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

export function alertRoutes(deps: { rules: AlertRuleService; events: Pick<AlertEventService, 'listEvents'> }) {
  return (app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares): void => {
    const tag = 'alerts';
    const owner = (c: Parameters<typeof userOf>[0]) => userOf(c).userId;
    const base = '/api/buckets/:bucketId/alert-rules';
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: base,
        tag,
        summary: 'List alert rules of a bucket',
        auth: 'jwt',
        query: pageQuerySchema,
        success: { status: 200 },
      },
      async ({ query, params, c }) => deps.rules.list(owner(c), params.bucketId!, query),
    );
    addRoute(
      app,
      mw,
      {
        method: 'post',
        path: base,
        tag,
        summary: 'Create an alert rule (threshold with forSeconds, or absence)',
        auth: 'jwt',
        body: alertRuleCreateSchema,
        success: { status: 201 },
      },
      async ({ body, params, c }) => deps.rules.create(owner(c), params.bucketId!, body),
    );
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: `${base}/:ruleId`,
        tag,
        summary: 'One alert rule',
        auth: 'jwt',
        success: { status: 200 },
      },
      async ({ params, c }) => deps.rules.get(owner(c), params.bucketId!, params.ruleId!),
    );
    addRoute(
      app,
      mw,
      {
        method: 'patch',
        path: `${base}/:ruleId`,
        tag,
        summary: 'Update an alert rule',
        auth: 'jwt',
        body: alertRuleUpdateSchema,
        success: { status: 200 },
      },
      async ({ body, params, c }) => deps.rules.update(owner(c), params.bucketId!, params.ruleId!, body),
    );
    addRoute(
      app,
      mw,
      {
        method: 'delete',
        path: `${base}/:ruleId`,
        tag,
        summary: 'Delete an alert rule',
        auth: 'jwt',
        success: { status: 204 },
      },
      async ({ params, c }) => deps.rules.delete(owner(c), params.bucketId!, params.ruleId!),
    );
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/buckets/:bucketId/alert-events',
        tag,
        summary: 'Alert history (firing / resolved), newest first',
        auth: 'jwt',
        query: alertEventsQuerySchema,
        success: { status: 200 },
      },
      async ({ query, params, c }) => deps.events.listEvents(owner(c), params.bucketId!, query),
    );
  };
}
