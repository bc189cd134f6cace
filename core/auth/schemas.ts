import { z } from 'zod';
import { ID_PATTERN } from '../ids.ts';

/**
 * Request bodies of the auth and API-key endpoints (API.md). The HTTP layer
 * validates with these and generates OpenAPI from them, so they are the contract.
 */

export const PASSWORD_MIN_LENGTH = 8;
/** scrypt hashes any length, but a cap keeps a megabyte "password" from being a cheap DoS. */
export const PASSWORD_MAX_LENGTH = 1024;

export const emailSchema = z.email().max(254);
export const passwordSchema = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);
export const idSchema = z.string().regex(ID_PATTERN, 'must be a 24-character hex id');

/** API.md: times in requests may be ISO 8601 strings or epoch milliseconds; core works in epoch ms. */
export const timeInputSchema = z
  .union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])
  .transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

export const registerSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  name: z.string().trim().min(1).max(200).optional(),
});
export type RegisterInput = z.infer<typeof registerSchema>;

export const loginSchema = z.object({
  // Not emailSchema: a malformed email must get the same 401 as a wrong one, not a 400 that reveals anything.
  email: z.string().max(254),
  password: z.string().max(PASSWORD_MAX_LENGTH),
  /** the dashboard asks for an HTTP-only cookie instead of tokens in the body */
  session: z.literal('cookie').optional(),
});
export type LoginInput = z.infer<typeof loginSchema>;

export const refreshSchema = z.object({ refreshToken: z.string().min(1).max(200) });

export const updateMeSchema = z.object({
  name: z.string().trim().min(1).max(200).nullable().optional(),
  email: emailSchema.optional(),
  password: z.object({ current: z.string().max(PASSWORD_MAX_LENGTH), new: passwordSchema }).optional(),
});
export type UpdateMeInput = z.infer<typeof updateMeSchema>;

export const deleteMeSchema = z.object({ password: z.string().max(PASSWORD_MAX_LENGTH) });

export const permissionSchema = z.enum(['read', 'write']);

export const topicRuleSchema = z.object({
  type: z.enum(['topic', 'pattern']),
  access: z.enum(['read', 'write', 'readwrite', 'deny']),
  filter: z.string().min(1).max(65_535),
});

export const createApiKeySchema = z.object({
  name: z.string().trim().min(1).max(200),
  permissions: z
    .array(permissionSchema)
    .min(1)
    .max(2)
    .refine((p) => new Set(p).size === p.length, 'permissions must not repeat'),
  /** omitted or null = every bucket of the owner, present and future */
  bucketIds: z.array(idSchema).min(1).max(1000).nullable().optional(),
  expiresAt: timeInputSchema.nullable().optional(),
  rules: z.array(topicRuleSchema).max(1000).nullable().optional(),
});
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;

export const rotateApiKeySchema = z.object({
  graceSeconds: z.number().int().min(0).max(86_400).optional(),
});
