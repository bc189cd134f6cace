/**
 * Core speaks epoch milliseconds; the API speaks ISO 8601 UTC with milliseconds.
 * Every field named `...At` (createdAt, lastSeenAt, at, expiresAt, ...) is a time
 * by convention, so one walk converts a whole response and no route can forget one.
 * User-defined `metadata` objects are passed through untouched.
 */
import { isoTime } from '../core/iso-time.ts';

const isTimeKey = (key: string) => key === 'at' || key.endsWith('At');

export function toApiJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toApiJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    // keys, not entries: GET /api/data/latest walks 3,000 {value, at} objects for 100 sources
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (k === 'metadata')
        out[k] = v; // user-defined: never rewritten
      else out[k] = typeof v === 'number' ? (isTimeKey(k) ? isoTime(v) : v) : toApiJson(v);
    }
    return out;
  }
  return value;
}
