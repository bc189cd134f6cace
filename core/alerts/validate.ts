/** Parses with a core schema, turning zod issues into validation_failed details (a raw ZodError would surface as a 500). */
import type { z } from 'zod';
import { validationFailed } from '../errors.ts';

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw validationFailed(`invalid ${what}`, parsed.error.issues.map((i) => ({ path: i.path.join('.'), code: i.code, message: i.message })));
}
