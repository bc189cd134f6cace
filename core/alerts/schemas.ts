/** Zod schemas for alert rules and alert events (API.md "Alert rules"); the HTTP layer validates with these. */
import { z } from 'zod';

const id = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-character hex id');
export const metricNameSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'invalid metric name');

export const thresholdOps = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ThresholdOp = (typeof thresholdOps)[number];

export const thresholdConditionSchema = z.object({
  op: z.enum(thresholdOps),
  value: z.number().finite(),
});

/** Absence: no reading of the metric from a source for `seconds`. Capped at 30 days. */
export const absenceConditionSchema = z.object({
  op: z.literal('absent'),
  seconds: z.number().int().min(1).max(30 * 86400),
});

export const alertConditionSchema = z.discriminatedUnion('op', [thresholdConditionSchema, absenceConditionSchema]);
export type AlertCondition = z.infer<typeof alertConditionSchema>;
export type ThresholdCondition = z.infer<typeof thresholdConditionSchema>;

const ruleFields = {
  name: z.string().trim().min(1).max(200),
  dataSourceId: id.nullable().optional(),
  metric: metricNameSchema,
  condition: alertConditionSchema,
  forSeconds: z.number().int().min(0).max(7 * 86400).optional(),
  webhookIds: z.array(id).max(20),
  enabled: z.boolean().optional(),
};

export const alertRuleCreateSchema = z.strictObject(ruleFields);
export type AlertRuleCreate = z.infer<typeof alertRuleCreateSchema>;

/** PATCH body: every field optional; `dataSourceId: null` widens the rule to every source. */
export const alertRuleUpdateSchema = z.strictObject({
  name: ruleFields.name.optional(),
  dataSourceId: ruleFields.dataSourceId,
  metric: ruleFields.metric.optional(),
  condition: ruleFields.condition.optional(),
  forSeconds: ruleFields.forSeconds,
  webhookIds: ruleFields.webhookIds.optional(),
  enabled: ruleFields.enabled,
});
export type AlertRuleUpdate = z.infer<typeof alertRuleUpdateSchema>;

/** Times in requests may be ISO strings or epoch ms (API.md conventions). */
const timeInput = z.union([
  z.number().int(),
  z.string().regex(/^\d{1,15}$/).transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const alertEventsQuerySchema = z.object({
  ruleId: id.optional(),
  from: timeInput.optional(),
  to: timeInput.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().optional(),
});
export type AlertEventsQuery = z.infer<typeof alertEventsQuerySchema>;

/** A rule as core returns it; times are epoch ms (the HTTP layer renders ISO). */
export interface AlertRule {
  id: string;
  bucketId: string;
  name: string;
  dataSourceId: string | null;
  metric: string;
  condition: AlertCondition;
  forSeconds: number;
  webhookIds: string[];
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export type AlertState = 'firing' | 'resolved';

export interface AlertEvent {
  id: string;
  ruleId: string;
  bucketId: string;
  dataSourceId: string;
  metric: string;
  state: AlertState;
  /** the reading that caused the change; null when an absence rule fires */
  value: number | boolean | string | null;
  /** epoch ms */
  at: number;
}
