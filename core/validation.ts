/**
 * zod issues → the API's validation_failed details, in one place for every edge
 * (HTTP bodies, MQTT payloads, service inputs). A raw ZodError reaching an adapter
 * would surface as a 500.
 */
import type { z } from 'zod';
import { DakkioError, type ErrorDetail } from './errors.ts';

/** Enough to fix a request; a huge batch must not produce a huge error body. */
const MAX_DETAILS = 50;

export function zodDetails(error: z.ZodError, extra: Partial<ErrorDetail> = {}): ErrorDetail[] {
  return error.issues
    .slice(0, MAX_DETAILS)
    .map((i) => ({ ...extra, path: i.path.map(String).join('.'), code: i.code, message: i.message }));
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DakkioError('validation_failed', `invalid ${what}`, { details: zodDetails(parsed.error) });
}
