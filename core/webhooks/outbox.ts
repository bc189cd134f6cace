/**
 * Writing into the webhook outbox. Callers pass their own transaction so the
 * delivery row commits atomically with whatever caused it (an alert event): a
 * crash can neither lose it nor, thanks to the unique dedup_key, double it.
 */
import type { Kysely } from 'kysely';
import type { IdGenerator } from '../ids.ts';
import type { MetadataDatabase } from '../store/metadata/tables.ts';

/** The Standard Webhooks payload envelope: `{type, timestamp, data}`. */
export function webhookBody(type: string, atMs: number, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: new Date(atMs).toISOString(), data });
}

export interface EnqueueRequest {
  ownerId: string;
  /** candidate webhooks; those that are not the owner's or don't subscribe to `type` are skipped */
  webhookIds: readonly string[];
  type: string;
  /** the event's own id: with the webhook id it forms the dedup key */
  sourceId: string;
  body: string;
  now: number;
  /** send even if the webhook's event filter doesn't list `type` (test deliveries) */
  ignoreFilter?: boolean;
}

/** Inserts one pending delivery per matching webhook; returns the ids inserted. */
export async function enqueueDeliveries(db: Kysely<MetadataDatabase>, ids: IdGenerator, req: EnqueueRequest): Promise<string[]> {
  if (req.webhookIds.length === 0) return [];
  const hooks = await db
    .selectFrom('webhooks')
    .select(['id', 'events'])
    .where('owner_id', '=', req.ownerId)
    .where('id', 'in', [...new Set(req.webhookIds)])
    .execute();
  const inserted: string[] = [];
  for (const hook of hooks) {
    if (!req.ignoreFilter && !(JSON.parse(hook.events) as string[]).includes(req.type)) continue;
    const id = ids();
    const res = await db
      .insertInto('webhook_deliveries')
      .values({
        id,
        webhook_id: hook.id,
        owner_id: req.ownerId,
        event: req.type,
        dedup_key: `${req.sourceId}:${hook.id}`,
        body: req.body,
        status: 'pending',
        attempts: 0,
        next_attempt_at: req.now,
        last_status_code: null,
        last_error: null,
        created_at: req.now,
        delivered_at: null,
      })
      .onConflict((oc) => oc.column('dedup_key').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) inserted.push(id);
  }
  return inserted;
}
