/**
 * Baseline HTTP endpoint: Hono on @hono/node-server, the same stack as dakkio's,
 * doing only what any JSON endpoint must (parse the body, answer 201 with JSON),
 * with no auth, validation or storage. Prints {"msg":"listening","http":PORT}.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/api/data', async (c) => {
  const body = (await c.req.json()) as { values?: Record<string, unknown> };
  return c.json({ accepted: Object.keys(body.values ?? {}).length }, 201);
});
app.post('/api/data/batch', async (c) => {
  const body = (await c.req.json()) as { readings?: unknown[] };
  return c.json({ accepted: body.readings?.length ?? 0, rejected: [] }, 201);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', http: info.port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
