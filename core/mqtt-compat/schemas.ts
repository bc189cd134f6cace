import { z } from 'zod';
import { idSchema, topicRuleSchema } from '../auth/schemas.ts';

/**
 * Request bodies of the mosquitto-compat endpoints (API.md "Coming from Mosquitto").
 * The HTTP layer validates with these and generates OpenAPI from them; the
 * services in mosquitto-compat/ validate again, so the CLI gets the same rules.
 */

/** Long enough for any real device name; MQTT allows 65535 bytes but nobody needs that. */
export const mqttUsernameSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((u) => !u.includes(':') && !/[\r\n]/.test(u) && !u.includes('\u0000'), 'username must not contain ":" or line breaks');
export const mqttPasswordSchema = z.string().min(1).max(1024);
/** A Mosquitto $7$/$6$/$argon2id$ hash; its inner layout is checked by the service. */
export const mqttPasswordHashSchema = z.string().min(3).max(1024).startsWith('$');
export const mqttRulesSchema = z.array(topicRuleSchema).max(1000);

export const createMqttCredentialSchema = z
  .object({
    username: mqttUsernameSchema,
    password: mqttPasswordSchema.optional(),
    passwordHash: mqttPasswordHashSchema.optional(),
    rules: mqttRulesSchema.default([]),
  })
  .refine((v) => (v.password === undefined) !== (v.passwordHash === undefined), {
    message: 'give exactly one of password or passwordHash',
    path: ['password'],
  });
export type CreateMqttCredentialInput = z.input<typeof createMqttCredentialSchema>;

export const updateMqttCredentialSchema = z
  .object({
    username: mqttUsernameSchema.optional(),
    password: mqttPasswordSchema.optional(),
    passwordHash: mqttPasswordHashSchema.optional(),
    rules: mqttRulesSchema.optional(),
  })
  .refine((v) => v.password === undefined || v.passwordHash === undefined, {
    message: 'give at most one of password or passwordHash',
    path: ['password'],
  });
export type UpdateMqttCredentialInput = z.input<typeof updateMqttCredentialSchema>;

/** Import bodies are whole files; 4 MiB covers tens of thousands of users. */
export const mqttImportSchema = z
  .object({
    passwordFile: z.string().max(4 * 1024 * 1024).optional(),
    aclFile: z.string().max(4 * 1024 * 1024).optional(),
    /** extension: keep the good lines and report the bad ones (default all-or-nothing) */
    partial: z.boolean().optional(),
  })
  .refine((v) => v.passwordFile !== undefined || v.aclFile !== undefined, 'give passwordFile, aclFile or both');
export type MqttImportInput = z.input<typeof mqttImportSchema>;

/** `{n}`: the n-th topic level, 1-based. */
export const levelRefSchema = z.string().regex(/^\{[1-9][0-9]?\}$/, 'a topic level reference like {2}');
export const metricNameSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'metric names match ^[A-Za-z0-9_.:-]{1,64}$');

export const createTopicMappingSchema = z
  .object({
    filter: z.string().min(1).max(1024),
    bucketId: idSchema,
    dataSource: z.union([levelRefSchema, idSchema]),
    metric: z.union([levelRefSchema, metricNameSchema]).optional(),
    payload: z.enum(['value', 'json']),
    createSources: z.boolean().default(false),
  })
  .refine((v) => v.payload === 'json' || v.metric !== undefined, {
    message: 'payload "value" needs a metric ("{n}" or a name)',
    path: ['metric'],
  });
export type CreateTopicMappingInput = z.input<typeof createTopicMappingSchema>;

export const upstreamSubscriptionSchema = z.object({
  filter: z.string().min(1).max(1024),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
});

export const createUpstreamSchema = z.object({
  url: z
    .string()
    .url()
    .max(2048)
    .refine((u) => /^(mqtts?|wss?|tcp|ssl):\/\//.test(u), 'url must be mqtt://, mqtts://, ws:// or wss://'),
  username: z.string().min(1).max(256).optional(),
  password: z.string().min(1).max(1024).optional(),
  clientId: z.string().min(1).max(256),
  subscriptions: z.array(upstreamSubscriptionSchema).min(1).max(100),
  enabled: z.boolean().default(true),
});
export type CreateUpstreamInput = z.input<typeof createUpstreamSchema>;

export const updateUpstreamSchema = z.object({
  url: createUpstreamSchema.shape.url.optional(),
  username: z.string().min(1).max(256).nullable().optional(),
  password: z.string().min(1).max(1024).nullable().optional(),
  clientId: z.string().min(1).max(256).optional(),
  subscriptions: z.array(upstreamSubscriptionSchema).min(1).max(100).optional(),
  enabled: z.boolean().optional(),
});
export type UpdateUpstreamInput = z.input<typeof updateUpstreamSchema>;
