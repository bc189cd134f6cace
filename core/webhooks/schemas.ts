/** Zod schemas and core types for webhooks (API.md "Webhooks"). */
import { z } from 'zod';

export const webhookEventTypes = ['alert.firing', 'alert.resolved'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
/** Sent by POST /api/webhooks/:id/test regardless of the webhook's event filter. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export const webhookCreateSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length),
  description: z.string().max(500).nullable().optional(),
});
export type WebhookCreate = z.infer<typeof webhookCreateSchema>;

export const webhookUpdateSchema = z.strictObject({
  url: webhookCreateSchema.shape.url.optional(),
  events: webhookCreateSchema.shape.events.optional(),
  description: webhookCreateSchema.shape.description,
});
export type WebhookUpdate = z.infer<typeof webhookUpdateSchema>;

/** Never carries the secret: it is shown once, in the create response. */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  /** extension: when the next attempt is due (null once delivered or failed) */
  nextAttemptAt: number | null;
}

export interface WebhookAttempt {
  attempt: number;
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** first 4 KB of the response body */
  responseBody: string | null;
}
