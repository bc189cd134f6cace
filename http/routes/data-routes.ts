/**
 * The data API (API key): single readings, batch import in three formats, raw and
 * aggregated queries (JSON or streamed CSV), latest values. Every path goes through
 * the same core ingest/query services as MQTT.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import { DakkioError } from '../../core/errors.ts';
import { parseCsvBatch, parseNdjsonBatch } from '../../core/ingest/batch-import-parsers.ts';
import type { ReadingSubmission } from '../../core/ingest/ingest-service.ts';
import { quickBatchBody } from '../../core/ingest/reading-fast-check.ts';
import {
  MAX_READINGS_PER_BATCH,
  postDataBatchBodySchema,
  postDataBatchEnvelopeSchema,
  postDataBodySchema,
} from '../../core/ingest/reading-input.ts';
import { dataQuerySchema, latestQuerySchema } from '../../core/query/query-schemas.ts';
import { parseOrThrow } from '../../core/validation.ts';
import type { HttpDeps } from '../deps.ts';
import type { HttpEnv } from '../http-env.ts';
import { addRoute, keyOf, type RouteMiddlewares } from '../route.ts';
import { seriesJson } from '../series-json.ts';

/** API.md: 16 MiB for batch import. */
export const BATCH_BODY_LIMIT = 16 * 1024 * 1024;

const batchQuery = z.object({ partial: z.enum(['true', 'false']).optional() });
const acceptedSchema = z.object({ accepted: z.number().int() });

export function registerDataRoutes(app: OpenAPIHono<HttpEnv>, mw: RouteMiddlewares, deps: HttpDeps): void {
  const tag = 'data';
  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/data',
      tag,
      summary: 'Store one reading (201 = durably stored)',
      auth: 'api-key',
      body: postDataBodySchema,
      success: { status: 201, schema: acceptedSchema },
    },
    async ({ c, body }) => {
      const result = await deps.ingest.ingest(keyOf(c), body.bucketId, [
        {
          dataSourceId: body.dataSourceId,
          values: body.values,
          timestamp: body.timestamp,
        },
      ]);
      return { accepted: result.accepted };
    },
  );

  addRoute(
    app,
    mw,
    {
      method: 'post',
      path: '/api/data/batch',
      tag,
      summary: 'Bulk import: JSON, NDJSON or CSV; all-or-nothing unless ?partial=true',
      auth: 'api-key',
      query: batchQuery,
      bodyLimitBytes: BATCH_BODY_LIMIT,
      rawBody: {
        contentTypes: ['application/json', 'application/x-ndjson', 'text/csv'],
        description:
          'JSON: {bucketId, readings: [...]}; NDJSON: one {bucketId, dataSourceId, values, timestamp?} per line; CSV: header timestamp,bucketId,dataSourceId,<metric>...',
        schemas: { 'application/json': postDataBatchBodySchema },
      },
      success: {
        status: 201,
        description: '{accepted, rejected: [{index|line, code, message}]}',
      },
    },
    async ({ c, query }) => importBatch(c, deps, query.partial === 'true'),
  );

  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/data',
      tag,
      summary: 'Query raw or aggregated readings (json, or csv streamed)',
      auth: 'api-key',
      query: dataQuerySchema,
      success: { status: 200 },
    },
    async ({ c }) => {
      // The route already validated the query for a precise 400; the service takes the raw strings (it validates for MQTT-free callers too).
      const result = await deps.query.query(keyOf(c), c.req.query() as never);
      if (result.format === 'csv') {
        c.header('Content-Type', 'text/csv; charset=utf-8');
        c.header('Content-Disposition', 'attachment; filename="dakkio-data.csv"');
        return stream(c, async (s) => {
          for await (const line of result.lines) await s.write(line);
        });
      }
      // what c.json would send, written in one pass (see series-json.ts)
      return c.body(seriesJson(result.series), undefined, { 'Content-Type': 'application/json' });
    },
  );

  addRoute(
    app,
    mw,
    {
      method: 'get',
      path: '/api/data/latest',
      tag,
      summary: 'Latest value of every metric of a source',
      auth: 'api-key',
      query: latestQuerySchema,
      success: { status: 200 },
    },
    async ({ c, query }) => deps.query.latest(keyOf(c), query.bucketId, query.dataSourceId),
  );
}

async function importBatch(c: Context<HttpEnv>, deps: HttpDeps, partial: boolean) {
  const principal = keyOf(c);
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (err) {
      throw new DakkioError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
    }
    // Same answer as the NDJSON and CSV parsers give: the reading cap is a size limit, not a malformed body.
    const readings = (body as { readings?: unknown } | null)?.readings;
    if (Array.isArray(readings) && readings.length > MAX_READINGS_PER_BATCH) {
      throw new DakkioError('payload_too_large', `at most ${MAX_READINGS_PER_BATCH} readings per request`);
    }
    // A plainly valid body skips both zod passes (the ingest service checks each item once more, cheaply);
    // anything else gets them, for the same 400 and details as before.
    let envelope: { bucketId: string; readings: ReadingSubmission[] };
    if (quickBatchBody(body, MAX_READINGS_PER_BATCH)) envelope = body;
    else {
      if (!partial) parseOrThrow(postDataBatchBodySchema, body, 'batch');
      envelope = parseOrThrow(postDataBatchEnvelopeSchema, body, 'batch');
    }
    const result = await deps.ingest.ingest(principal, envelope.bucketId, envelope.readings, { partial });
    return c.json(result, 201);
  }
  if (type === 'application/x-ndjson' || type === 'text/csv') {
    const text = await c.req.text();
    const batch = type === 'text/csv' ? parseCsvBatch(text) : parseNdjsonBatch(text);
    const result = await deps.ingest.ingestBatch(principal, batch, { partial });
    return c.json(result, 201);
  }
  throw new DakkioError(
    'unsupported_media_type',
    'batch import takes application/json, application/x-ndjson or text/csv',
  );
}
