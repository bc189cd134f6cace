/** Alert event history: listing (GET /api/buckets/:bucketId/alert-events) and the published payload shape. */
import { notFound } from '../errors.ts';
import type { ReadingValue } from '../readings.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { AlertEventsTable } from '../store/metadata/tables.ts';
import { decodeTimeCursor, type Page, pageLimit, toTimePage } from './page.ts';
import type { AlertEvent, AlertEventsQuery, AlertRule } from './schemas.ts';

export const rowToEvent = (r: AlertEventsTable): AlertEvent => ({
  id: r.id,
  ruleId: r.rule_id,
  bucketId: r.bucket_id,
  dataSourceId: r.data_source_id,
  metric: r.metric,
  state: r.state,
  value: r.value === null ? null : (JSON.parse(r.value) as ReadingValue),
  at: Number(r.at),
});

/**
 * What MQTT subscribers (dakkio/<bucketId>/alerts) and webhooks receive as `data`:
 * the API's event fields plus the rule's name and condition, with `at` as ISO 8601
 * because this leaves core as-is.
 */
export function eventPayload(event: AlertEvent, rule: AlertRule): Record<string, unknown> {
  return {
    type: event.state === 'firing' ? 'alert.firing' : 'alert.resolved',
    id: event.id,
    ruleId: event.ruleId,
    ruleName: rule.name,
    bucketId: event.bucketId,
    dataSourceId: event.dataSourceId,
    metric: event.metric,
    condition: rule.condition,
    forSeconds: rule.forSeconds,
    state: event.state,
    value: event.value,
    at: new Date(event.at).toISOString(),
  };
}

export type ListEventsQuery = Omit<AlertEventsQuery, 'cursor'> & { cursor?: string | null | undefined };

export interface AlertEventService {
  /** Newest first; `from` inclusive, `to` exclusive (epoch ms). */
  listEvents(ownerId: string, bucketId: string, query?: ListEventsQuery): Promise<Page<AlertEvent>>;
}

export function createAlertEventService(deps: { db: MetadataDb }): AlertEventService {
  const { db } = deps;
  return {
    async listEvents(ownerId, bucketId, query = {}) {
      const bucket = await db
        .selectFrom('buckets')
        .select('id')
        .where('id', '=', bucketId)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (!bucket) throw notFound('bucket');
      const limit = pageLimit({ limit: query.limit });
      const after = decodeTimeCursor(query.cursor);
      let q = db.selectFrom('alert_events').selectAll().where('bucket_id', '=', bucketId);
      if (query.ruleId) q = q.where('rule_id', '=', query.ruleId);
      if (query.from !== undefined) q = q.where('at', '>=', query.from);
      if (query.to !== undefined) q = q.where('at', '<', query.to);
      if (after) q = q.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
      const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      return toTimePage(rows, limit, (r) => Number(r.at), rowToEvent);
    },
  };
}
