import { z } from 'zod';

/** Request bodies of the data-source endpoints (API.md "Resources"). */
export const dataSourceNameSchema = z.string().trim().min(1).max(200);
export const dataSourceDescriptionSchema = z.string().max(2000).nullable();
/** JSON.stringify recurses: a hostile 100,000-level body would overflow the stack (a 500) without this cap. */
export const MAX_METADATA_DEPTH = 32;

function nestsWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

/** Free-form JSON object (location, firmware, ...); kept under 64 KiB when serialised. */
export const dataSourceMetadataSchema = z.record(z.string(), z.unknown()).superRefine((m, ctx) => {
  if (!nestsWithin(m, MAX_METADATA_DEPTH)) {
    ctx.addIssue({ code: 'custom', message: `metadata nests at most ${MAX_METADATA_DEPTH} levels` });
  } else if (JSON.stringify(m).length > 65_536) {
    ctx.addIssue({ code: 'custom', message: 'metadata must serialise to at most 64 KiB' });
  }
});

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
