import type { z } from 'zod';
import { validationFailed } from '../core/errors.ts';

/** Parses with a zod schema, turning issues into the API's validation_failed details. */
export function parseZod<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw validationFailed(
    'validation failed',
    r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}
