import { z } from 'zod';

/** Request bodies of the bucket endpoints (API.md "Resources"). */
export const bucketNameSchema = z.string().trim().min(1).max(200);
export const bucketDescriptionSchema = z.string().max(2000).nullable();
/** Readings older than this many days are deleted by the retention job; null = keep forever. */
export const retentionDaysSchema = z.number().int().min(1).max(36_500).nullable();

export const createBucketSchema = z.object({
  name: bucketNameSchema,
  description: bucketDescriptionSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
});
export type CreateBucketInput = z.infer<typeof createBucketSchema>;

export const updateBucketSchema = z.object({
  name: bucketNameSchema.optional(),
  description: bucketDescriptionSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
});
export type UpdateBucketInput = z.infer<typeof updateBucketSchema>;
