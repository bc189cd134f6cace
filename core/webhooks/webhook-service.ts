/**
 * Webhook CRUD, delivery listing and test sends, scoped by owner (another owner's
 * webhook is not_found). The secret is generated here, returned once by create(),
 * and kept in the metadata DB because signing needs it.
 */
import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { EventBus } from '../ports/event-bus.ts';
import { parseOrThrow } from '../validation.ts';
import { decodeTimeCursor, pageLimit, toTimePage } from '../alerts/page.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../pagination.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { WebhookDeliveriesTable, WebhooksTable } from '../store/metadata/tables.ts';
import { checkWebhookUrl } from './address-policy.ts';
import { enqueueDeliveries, webhookBody } from './outbox.ts';
import {
  type Webhook,
  type WebhookAttempt,
  type WebhookCreate,
  type WebhookDelivery,
  type WebhookEventType,
  type WebhookUpdate,
  WEBHOOK_TEST_EVENT,
  webhookCreateSchema,
  webhookUpdateSchema,
} from './schemas.ts';
import { generateWebhookSecret } from './signing.ts';

export interface WebhookService {
  list(ownerId: string, page?: PageRequest): Promise<Page<Webhook>>;
  create(ownerId: string, body: WebhookCreate): Promise<{ webhook: Webhook; secret: string }>;
  get(ownerId: string, webhookId: string): Promise<Webhook>;
  update(ownerId: string, webhookId: string, patch: WebhookUpdate): Promise<Webhook>;
  delete(ownerId: string, webhookId: string): Promise<void>;
  /** newest first */
  listDeliveries(ownerId: string, webhookId: string, page?: PageRequest): Promise<Page<WebhookDelivery>>;
  /** extension: the attempt log of one delivery, oldest first */
  listAttempts(ownerId: string, webhookId: string, deliveryId: string): Promise<WebhookAttempt[]>;
  /** Enqueues a signed `webhook.test` event through the outbox; returns the pending delivery. */
  sendTest(ownerId: string, webhookId: string): Promise<WebhookDelivery>;
}

export interface WebhookServiceDeps {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  /** announces `alert-rules.changed` when deleting a webhook edits rules that named it */
  events?: EventBus;
  allowPrivate: boolean;
  /** injectable DNS for URL checks (tests) */
  resolveHost?: (host: string) => Promise<string[]>;
  /** called after a delivery was enqueued, e.g. `() => dispatcher.wake()` */
  onEnqueued?: () => void;
}

const toWebhook = (r: WebhooksTable): Webhook => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEventType[],
  description: r.description,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const toDelivery = (r: WebhookDeliveriesTable): WebhookDelivery => ({
  id: r.id,
  event: r.event,
  status: r.status,
  attempts: Number(r.attempts),
  lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
  lastError: r.last_error,
  createdAt: Number(r.created_at),
  deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
});

export function createWebhookService(deps: WebhookServiceDeps): WebhookService {
  const { db, clock, ids } = deps;
  const policy = { allowPrivate: deps.allowPrivate, ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}) };

  async function findRow(ownerId: string, webhookId: string): Promise<WebhooksTable> {
    const row = await db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', webhookId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('webhook');
    return row;
  }

  return {
    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('webhooks').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      const rows = await q.orderBy('id').limit(limit + 1).execute();
      return buildPage(rows, limit, toWebhook);
    },

    async create(ownerId, body) {
      const input = parseOrThrow(webhookCreateSchema, body, 'webhook');
      const url = await checkWebhookUrl(input.url, policy);
      const now = clock.now();
      const secret = generateWebhookSecret();
      const row: WebhooksTable = {
        id: ids(),
        owner_id: ownerId,
        url,
        events: JSON.stringify([...new Set(input.events)]),
        description: input.description ?? null,
        secret,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('webhooks').values(row).execute();
      return { webhook: toWebhook(row), secret };
    },

    async get(ownerId, webhookId) {
      return toWebhook(await findRow(ownerId, webhookId));
    },

    async update(ownerId, webhookId, patch) {
      const input = parseOrThrow(webhookUpdateSchema, patch, 'webhook');
      const row = await findRow(ownerId, webhookId);
      const next: WebhooksTable = {
        ...row,
        url: input.url === undefined ? row.url : await checkWebhookUrl(input.url, policy),
        events: input.events ? JSON.stringify([...new Set(input.events)]) : row.events,
        description: input.description === undefined ? row.description : input.description,
        updated_at: clock.now(),
      };
      await db.updateTable('webhooks').set(next).where('id', '=', webhookId).execute();
      return toWebhook(next);
    },

    async delete(ownerId, webhookId) {
      await findRow(ownerId, webhookId);
      // pending deliveries go with it (FK cascade); rules that named it forget it
      const rules = await db
        .selectFrom('alert_rules')
        .select(['id', 'bucket_id', 'webhook_ids'])
        .where('owner_id', '=', ownerId)
        .where('webhook_ids', 'like', `%${webhookId}%`)
        .execute();
      await db.transaction().execute(async (trx) => {
        for (const r of rules) {
          const remaining = (JSON.parse(r.webhook_ids) as string[]).filter((w) => w !== webhookId);
          await trx.updateTable('alert_rules').set({ webhook_ids: JSON.stringify(remaining) }).where('id', '=', r.id).execute();
        }
        await trx.deleteFrom('webhooks').where('id', '=', webhookId).execute();
      });
      for (const bucketId of new Set(rules.map((r) => r.bucket_id))) {
        await deps.events?.publish({ type: 'alert-rules.changed', bucketId });
      }
    },

    async listDeliveries(ownerId, webhookId, page) {
      await findRow(ownerId, webhookId);
      const limit = pageLimit(page);
      const after = decodeTimeCursor(page?.cursor);
      let q = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
      if (after) {
        q = q.where((eb) => eb.or([eb('created_at', '<', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)])]));
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      return toTimePage(rows, limit, (r) => Number(r.created_at), toDelivery);
    },

    async listAttempts(ownerId, webhookId, deliveryId) {
      await findRow(ownerId, webhookId);
      const rows = await db
        .selectFrom('webhook_attempts')
        .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
        .selectAll('webhook_attempts')
        .where('webhook_deliveries.webhook_id', '=', webhookId)
        .where('webhook_attempts.delivery_id', '=', deliveryId)
        .orderBy('webhook_attempts.attempt')
        .execute();
      return rows.map((r) => ({
        attempt: Number(r.attempt),
        at: Number(r.at),
        statusCode: r.status_code === null ? null : Number(r.status_code),
        latencyMs: Number(r.latency_ms),
        error: r.error,
        responseBody: r.response_body,
      }));
    },

    async sendTest(ownerId, webhookId) {
      await findRow(ownerId, webhookId);
      const now = clock.now();
      const eventId = ids();
      const body = webhookBody(WEBHOOK_TEST_EVENT, now, { id: eventId, webhookId, message: 'dakkio test event' });
      const [deliveryId] = await enqueueDeliveries(db, ids, {
        ownerId,
        webhookIds: [webhookId],
        type: WEBHOOK_TEST_EVENT,
        sourceId: eventId,
        body,
        now,
        ignoreFilter: true,
      });
      const row = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId ?? '').executeTakeFirst();
      if (!row) throw notFound('webhook');
      deps.onEnqueued?.();
      return toDelivery(row);
    },
  };
}
