import { z } from 'zod';

/** Request bodies of the data-source endpoints (API.md "Resources"). */
export const dataSourceNameSchema = z.string().trim().min(1).max(200);
export const dataSourceDescriptionSchema = z.string().max(2000).nullable();
/** Free-form JSON object (location, firmware, ...); kept under 64 KiB when serialised. */
export const dataSourceMetadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 65_536, 'metadata must serialise to at most 64 KiB');

export const createDataSourceSchema = z.object({
  name: dataSourceNameSchema,
  description: dataSourceDescriptionSchema.optional(),
  metadata: dataSourceMetadataSchema.optional(),
});
export type CreateDataSourceInput = z.infer<typeof createDataSourceSchema>;

export const updateDataSourceSchema = z.object({
  name: dataSourceNameSchema.optional(),
  description: dataSourceDescriptionSchema.optional(),
  metadata: dataSourceMetadataSchema.optional(),
});
export type UpdateDataSourceInput = z.infer<typeof updateDataSourceSchema>;
