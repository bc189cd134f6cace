/**
 * CRUD for alert rules under a bucket. Everything is scoped by (ownerId, bucketId):
 * a bucket, source, rule or webhook of another owner is not_found, never forbidden.
 * Every change is announced with `alert-rules.changed` so evaluators on every node
 * reload that bucket's rules.
 */
import type { Clock } from '../clock.ts';
import { notFound, validationFailed } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { AlertRulesTable } from '../store/metadata/tables.ts';
import { parseOrThrow } from '../validation.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../pagination.ts';
import {
  type AlertCondition,
  type AlertRule,
  type AlertRuleCreate,
  type AlertRuleUpdate,
  alertRuleCreateSchema,
  alertRuleUpdateSchema,
} from './schemas.ts';

export interface AlertRuleService {
  list(ownerId: string, bucketId: string, page?: PageRequest): Promise<Page<AlertRule>>;
  create(ownerId: string, bucketId: string, body: AlertRuleCreate): Promise<AlertRule>;
  get(ownerId: string, bucketId: string, ruleId: string): Promise<AlertRule>;
  update(ownerId: string, bucketId: string, ruleId: string, patch: AlertRuleUpdate): Promise<AlertRule>;
  delete(ownerId: string, bucketId: string, ruleId: string): Promise<void>;
}

export function rowToRule(row: AlertRulesTable): AlertRule {
  return {
    id: row.id,
    bucketId: row.bucket_id,
    name: row.name,
    dataSourceId: row.data_source_id,
    metric: row.metric,
    condition: JSON.parse(row.condition) as AlertCondition,
    forSeconds: Number(row.for_seconds),
    webhookIds: JSON.parse(row.webhook_ids) as string[],
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function createAlertRuleService(deps: {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
}): AlertRuleService {
  const { db, clock, ids, events } = deps;

  async function assertBucket(ownerId: string, bucketId: string): Promise<void> {
    const row = await db
      .selectFrom('buckets')
      .select('id')
      .where('id', '=', bucketId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('bucket');
  }

  async function assertSource(bucketId: string, dataSourceId: string | null | undefined): Promise<void> {
    if (dataSourceId == null) return;
    const row = await db
      .selectFrom('data_sources')
      .select('id')
      .where('id', '=', dataSourceId)
      .where('bucket_id', '=', bucketId)
      .executeTakeFirst();
    if (!row) throw notFound('data source');
  }

  /** Unknown webhook ids are a validation problem of the body, not a missing URL resource. */
  async function assertWebhooks(ownerId: string, webhookIds: readonly string[]): Promise<void> {
    const unique = [...new Set(webhookIds)];
    if (unique.length === 0) return;
    const rows = await db
      .selectFrom('webhooks')
      .select('id')
      .where('owner_id', '=', ownerId)
      .where('id', 'in', unique)
      .execute();
    const known = new Set(rows.map((r) => r.id));
    const missing = unique.filter((w) => !known.has(w));
    if (missing.length > 0) {
      throw validationFailed('unknown webhook', missing.map((w) => ({ path: 'webhookIds', code: 'webhook_not_found', message: `webhook ${w} not found` })));
    }
  }

  async function findRow(ownerId: string, bucketId: string, ruleId: string): Promise<AlertRulesTable> {
    await assertBucket(ownerId, bucketId);
    const row = await db
      .selectFrom('alert_rules')
      .selectAll()
      .where('id', '=', ruleId)
      .where('bucket_id', '=', bucketId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('alert rule');
    return row;
  }

  function checkForSeconds(condition: AlertCondition, forSeconds: number): void {
    // forSeconds only makes sense for thresholds; an absence rule already has its own duration
    if (condition.op === 'absent' && forSeconds > 0) {
      throw validationFailed('forSeconds does not apply to absence rules', [
        { path: 'forSeconds', code: 'not_applicable', message: 'use condition.seconds for absence rules' },
      ]);
    }
  }

  const changed = (bucketId: string) => events.publish({ type: 'alert-rules.changed', bucketId });

  return {
    async list(ownerId, bucketId, page) {
      await assertBucket(ownerId, bucketId);
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('alert_rules').selectAll().where('bucket_id', '=', bucketId).where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      const rows = await q.orderBy('id').limit(limit + 1).execute();
      return buildPage(rows, limit, rowToRule);
    },

    async create(ownerId, bucketId, body) {
      const input = parseOrThrow(alertRuleCreateSchema, body, 'alert rule');
      await assertBucket(ownerId, bucketId);
      await assertSource(bucketId, input.dataSourceId);
      await assertWebhooks(ownerId, input.webhookIds);
      const forSeconds = input.forSeconds ?? 0;
      checkForSeconds(input.condition, forSeconds);
      const now = clock.now();
      const row: AlertRulesTable = {
        id: ids(),
        owner_id: ownerId,
        bucket_id: bucketId,
        name: input.name,
        data_source_id: input.dataSourceId ?? null,
        metric: input.metric,
        condition_op: input.condition.op,
        condition: JSON.stringify(input.condition),
        for_seconds: forSeconds,
        webhook_ids: JSON.stringify([...new Set(input.webhookIds)]),
        enabled: input.enabled === false ? 0 : 1,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('alert_rules').values(row).execute();
      await changed(bucketId);
      return rowToRule(row);
    },

    async get(ownerId, bucketId, ruleId) {
      return rowToRule(await findRow(ownerId, bucketId, ruleId));
    },

    async update(ownerId, bucketId, ruleId, patch) {
      const input = parseOrThrow(alertRuleUpdateSchema, patch, 'alert rule');
      const row = await findRow(ownerId, bucketId, ruleId);
      if (input.dataSourceId !== undefined) await assertSource(bucketId, input.dataSourceId);
      if (input.webhookIds !== undefined) await assertWebhooks(ownerId, input.webhookIds);
      const current = rowToRule(row);
      const condition = input.condition ?? current.condition;
      const forSeconds = input.forSeconds ?? (input.condition?.op === 'absent' ? 0 : current.forSeconds);
      checkForSeconds(condition, forSeconds);
      const next: AlertRulesTable = {
        ...row,
        name: input.name ?? row.name,
        data_source_id: input.dataSourceId === undefined ? row.data_source_id : input.dataSourceId,
        metric: input.metric ?? row.metric,
        condition_op: condition.op,
        condition: JSON.stringify(condition),
        for_seconds: forSeconds,
        webhook_ids: input.webhookIds ? JSON.stringify([...new Set(input.webhookIds)]) : row.webhook_ids,
        enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
        updated_at: clock.now(),
      };
      await db.updateTable('alert_rules').set(next).where('id', '=', ruleId).execute();
      await changed(bucketId);
      return rowToRule(next);
    },

    async delete(ownerId, bucketId, ruleId) {
      await findRow(ownerId, bucketId, ruleId);
      await db.deleteFrom('alert_rules').where('id', '=', ruleId).execute();
      await changed(bucketId);
    },
  };
}
