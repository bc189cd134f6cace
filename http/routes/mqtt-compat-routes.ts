import type { OpenAPIHono } from '@hono/zod-openapi';
import { DakkioError } from '../../core/errors.ts';
import {
  createMqttCredentialSchema,
  createTopicMappingSchema,
  createUpstreamSchema,
  mqttImportSchema,
  updateMqttCredentialSchema,
  updateUpstreamSchema,
} from '../../core/mqtt-compat/schemas.ts';
import { pageQuerySchema } from '../../core/pagination.ts';
import type { MosquittoCompat } from '../../mosquitto-compat/create-mosquitto-compat.ts';
import type { UpstreamView } from '../../mosquitto-compat/upstream-service.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, type RouteMiddlewares, userOf } from '../route.ts';

/** "Coming from Mosquitto" (API.md): MQTT credentials, import, topic mappings, upstream brokers. */
export function mqttCompatRoutes(deps: { compat: Pick<MosquittoCompat, 'credentials' | 'importer' | 'mappings' | 'upstreams' | 'upstreamManager'> }) {
  const { credentials, importer, mappings, upstreams, upstreamManager } = deps.compat;
  const withStatus = (u: UpstreamView) => {
    // API.md's {connected, lastError, messages}, extended with the manager's other counters
    const s = upstreamManager.status(u.id);
    const status = s ?? { connected: false, subscribed: false, lastError: null, messages: 0, stored: 0, unmapped: 0, invalid: 0, lastConnectedAt: null };
    return { ...u, status };
  };

  return (app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares): void => {
    const tag = 'mosquitto';
    const owner = (c: Parameters<typeof userOf>[0]) => userOf(c).userId;

    const creds = '/api/mqtt/credentials';
    addRoute(app, mw, { method: 'get', path: creds, tag, summary: 'List MQTT username/password credentials', auth: 'jwt', query: pageQuerySchema, success: { status: 200 } }, async ({ query, c }) =>
      credentials.list(owner(c), query),
    );
    addRoute(app, mw, { method: 'post', path: creds, tag, summary: 'Create an MQTT credential (password or Mosquitto hash, topic rules)', auth: 'jwt', body: createMqttCredentialSchema, success: { status: 201 } }, async ({ body, c }) =>
      credentials.create(owner(c), body),
    );
    addRoute(app, mw, { method: 'get', path: `${creds}/:id`, tag, summary: 'One MQTT credential', auth: 'jwt', success: { status: 200 } }, async ({ params, c }) =>
      credentials.get(owner(c), params.id!),
    );
    addRoute(app, mw, { method: 'patch', path: `${creds}/:id`, tag, summary: 'Update an MQTT credential (its live sessions are dropped)', auth: 'jwt', body: updateMqttCredentialSchema, success: { status: 200 } }, async ({ body, params, c }) =>
      credentials.update(owner(c), params.id!, body),
    );
    addRoute(app, mw, { method: 'delete', path: `${creds}/:id`, tag, summary: 'Delete an MQTT credential', auth: 'jwt', success: { status: 204 } }, async ({ params, c }) =>
      credentials.delete(owner(c), params.id!),
    );

    addRoute(
      app,
      mw,
      {
        method: 'post',
        path: '/api/mqtt/import',
        tag,
        summary: 'Import a Mosquitto password_file and/or acl_file (all-or-nothing)',
        auth: 'jwt',
        body: mqttImportSchema,
        bodyLimitBytes: 9 * 1024 * 1024,
        success: { status: 200, description: '{imported: {credentials, rules}, rejected: [{file, line, reason}], skipped}' },
      },
      async ({ body, c }) => {
        const r = await importer.importMosquittoFiles(owner(c), body);
        if (!r.committed) {
          throw new DakkioError('validation_failed', `${r.rejected.length} line(s) rejected; nothing was imported`, {
            details: r.rejected.slice(0, 200).map((p) => ({ path: p.file, line: p.line, code: 'rejected_line', message: p.reason })),
          });
        }
        return { imported: r.imported, rejected: r.rejected, skipped: r.skipped };
      },
    );

    const maps = '/api/mqtt/topic-mappings';
    addRoute(app, mw, { method: 'get', path: maps, tag, summary: 'List topic mappings', auth: 'jwt', query: pageQuerySchema, success: { status: 200 } }, async ({ query, c }) =>
      mappings.list(owner(c), query),
    );
    addRoute(app, mw, { method: 'post', path: maps, tag, summary: 'Map legacy topics to readings', auth: 'jwt', body: createTopicMappingSchema, success: { status: 201 } }, async ({ body, c }) =>
      mappings.create(owner(c), body),
    );
    addRoute(app, mw, { method: 'get', path: `${maps}/:id`, tag, summary: 'One topic mapping', auth: 'jwt', success: { status: 200 } }, async ({ params, c }) =>
      mappings.get(owner(c), params.id!),
    );
    addRoute(app, mw, { method: 'delete', path: `${maps}/:id`, tag, summary: 'Delete a topic mapping', auth: 'jwt', success: { status: 204 } }, async ({ params, c }) =>
      mappings.delete(owner(c), params.id!),
    );

    const ups = '/api/mqtt/upstreams';
    addRoute(app, mw, { method: 'get', path: ups, tag, summary: 'List upstream brokers with their status', auth: 'jwt', query: pageQuerySchema, success: { status: 200 } }, async ({ query, c }) => {
      const page = await upstreams.list(owner(c), query);
      return { ...page, items: page.items.map(withStatus) };
    });
    addRoute(app, mw, { method: 'post', path: ups, tag, summary: 'Subscribe to an upstream broker', auth: 'jwt', body: createUpstreamSchema, success: { status: 201 } }, async ({ body, c }) =>
      withStatus(await upstreams.create(owner(c), body)),
    );
    addRoute(app, mw, { method: 'get', path: `${ups}/:id`, tag, summary: 'One upstream broker with status {connected, lastError, messages}', auth: 'jwt', success: { status: 200 } }, async ({ params, c }) =>
      withStatus(await upstreams.get(owner(c), params.id!)),
    );
    addRoute(app, mw, { method: 'patch', path: `${ups}/:id`, tag, summary: 'Update an upstream broker (reconnects it)', auth: 'jwt', body: updateUpstreamSchema, success: { status: 200 } }, async ({ body, params, c }) =>
      withStatus(await upstreams.update(owner(c), params.id!, body)),
    );
    addRoute(app, mw, { method: 'delete', path: `${ups}/:id`, tag, summary: 'Delete an upstream broker', auth: 'jwt', success: { status: 204 } }, async ({ params, c }) =>
      upstreams.delete(owner(c), params.id!),
    );
  };
}
