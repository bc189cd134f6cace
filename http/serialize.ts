/**
 * Core speaks epoch milliseconds; the API speaks ISO 8601 UTC with milliseconds.
 * Every field named `...At` (createdAt, lastSeenAt, at, expiresAt, ...) is a time
 * by convention, so one walk converts a whole response and no route can forget one.
 * User-defined `metadata` objects are passed through untouched.
 */
const isTimeKey = (key: string) => key === 'at' || key.endsWith('At');

export function toApiJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toApiJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'metadata')
        out[k] = v; // user-defined: never rewritten
      else out[k] = isTimeKey(k) && typeof v === 'number' ? new Date(v).toISOString() : toApiJson(v);
    }
    return out;
  }
  return value;
}

export const isoTime = (ms: number) => new Date(ms).toISOString();
