/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/): the signed content
 * is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 keyed with the
 * base64-decoded part of the `whsec_` secret, sent as `v1,<base64>`. Hand-written
 * because it is three lines of node:crypto; tests verify it with the independent
 * `standardwebhooks` package.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** `whsec_` + base64 of 24 random bytes (192 bits, within the spec's 24..64 bytes). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(24).toString('base64');
}

export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret, 'base64');
  const sig = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${sig}`;
}

/** The three headers of one attempt; the timestamp is the attempt's, the id is the delivery's. */
export function webhookHeaders(secret: string, msgId: string, nowMs: number, body: string): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(secret, msgId, ts, body),
  };
}
