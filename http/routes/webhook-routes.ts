import type { OpenAPIHono } from '@hono/zod-openapi';
import { pageQuerySchema } from '../../core/pagination.ts';
import type { WebhookService } from '../../core/webhooks/webhook-service.ts';
import { webhookCreateSchema, webhookUpdateSchema } from '../../core/webhooks/schemas.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

export function webhookRoutes(webhooks: WebhookService) {
  return (app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares): void => {
    const tag = 'webhooks';
    const owner = (c: Parameters<typeof userOf>[0]) => userOf(c).userId;
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/webhooks',
        tag,
        summary: 'List webhooks',
        auth: 'jwt',
        query: pageQuerySchema,
        success: { status: 200 },
      },
      async ({ query, c }) => webhooks.list(owner(c), query),
    );
    addRoute(
      app,
      mw,
      {
        method: 'post',
        path: '/api/webhooks',
        tag,
        summary: 'Create a webhook (the whsec_ secret is shown only here)',
        auth: 'jwt',
        body: webhookCreateSchema,
        success: { status: 201 },
      },
      async ({ body, c }) => webhooks.create(owner(c), body),
    );
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/webhooks/:webhookId',
        tag,
        summary: 'One webhook',
        auth: 'jwt',
        success: { status: 200 },
      },
      async ({ params, c }) => webhooks.get(owner(c), params.webhookId!),
    );
    addRoute(
      app,
      mw,
      {
        method: 'patch',
        path: '/api/webhooks/:webhookId',
        tag,
        summary: 'Update a webhook',
        auth: 'jwt',
        body: webhookUpdateSchema,
        success: { status: 200 },
      },
      async ({ body, params, c }) => webhooks.update(owner(c), params.webhookId!, body),
    );
    addRoute(
      app,
      mw,
      {
        method: 'delete',
        path: '/api/webhooks/:webhookId',
        tag,
        summary: 'Delete a webhook (and remove it from rules)',
        auth: 'jwt',
        success: { status: 204 },
      },
      async ({ params, c }) => webhooks.delete(owner(c), params.webhookId!),
    );
    addRoute(
      app,
      mw,
      {
        method: 'post',
        path: '/api/webhooks/:webhookId/test',
        tag,
        summary: 'Queue a signed webhook.test event; returns the pending delivery',
        auth: 'jwt',
        success: { status: 201 },
      },
      async ({ params, c }) => webhooks.sendTest(owner(c), params.webhookId!),
    );
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/webhooks/:webhookId/deliveries',
        tag,
        summary: 'Deliveries, newest first',
        auth: 'jwt',
        query: pageQuerySchema,
        success: { status: 200 },
      },
      async ({ query, params, c }) => webhooks.listDeliveries(owner(c), params.webhookId!, query),
    );
    addRoute(
      app,
      mw,
      {
        method: 'get',
        path: '/api/webhooks/:webhookId/deliveries/:deliveryId/attempts',
        tag,
        summary: 'Every attempt of one delivery (status, latency, error, first 4 KB of the response)',
        auth: 'jwt',
        success: { status: 200 },
      },
      async ({ params, c }) => ({
        items: await webhooks.listAttempts(owner(c), params.webhookId!, params.deliveryId!),
      }),
    );
  };
}
