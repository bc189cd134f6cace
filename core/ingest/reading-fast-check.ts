/**
 * Allocation-free checks for the common, valid reading, run before zod on the ingest
 * hot path (every MQTT message, every batch item). They answer only "plainly valid
 * under readingInputSchema, with this exact output" or "ask zod": anything unusual
 * (an ISO timestamp, a `__proto__` key, a non-plain object, any invalid value) goes
 * to the zod schemas in reading-input.ts, which stay the single source of the rules
 * and of every error message. Hand-written on purpose: zod's generic parse allocates
 * a context, issue arrays and a copied record per reading, which showed up as a
 * third of the broker's CPU in garbage collection (bench/RESULTS.md).
 */
import type { ReadingValue } from '../readings.ts';
import { MAX_STRING_VALUE_LENGTH, MAX_VALUES_PER_READING, METRIC_NAME_PATTERN } from './reading-input.ts';

/** Exclusive upper bound: 10000-01-01T00:00:00Z (as timestampSchema). */
const MAX_TIMESTAMP_MS = 253_402_300_800_000;

/** Sentinel: the fast check cannot decide; run the zod schema. */
export const ASK_ZOD = null;

/**
 * The epoch-ms timestamp zod would produce for a plainly valid input (undefined when
 * absent), or ASK_ZOD. Only numbers are handled here; ISO strings go to zod.
 */
export function quickTimestamp(ts: unknown): number | undefined | typeof ASK_ZOD {
  if (ts === undefined) return undefined;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return ASK_ZOD;
  const ms = Math.floor(ts);
  return ms >= 0 && ms < MAX_TIMESTAMP_MS ? ms : ASK_ZOD;
}

/**
 * True when `v` is a plain object that readingValuesSchema accepts unchanged: 1..100
 * own enumerable metric-name keys (never `__proto__`), each a finite number, a
 * boolean or a short string. zod's output would be an equal copy, so callers may use
 * `v` itself.
 */
export function quickValues(v: unknown): v is Record<string, ReadingValue> {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  let n = 0;
  for (const key in v) {
    if (!Object.hasOwn(v, key) || key === '__proto__' || !METRIC_NAME_PATTERN.test(key)) return false;
    const value = (v as Record<string, unknown>)[key];
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value)) return false;
        break;
      case 'boolean':
        break;
      case 'string':
        if (value.length > MAX_STRING_VALUE_LENGTH) return false;
        break;
      default:
        return false;
    }
    if (++n > MAX_VALUES_PER_READING) return false;
  }
  // symbol keys are invalid metric names for zod; JSON never makes them, so this stays rare
  return n >= 1 && Object.getOwnPropertySymbols(v).length === 0;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 64;

/**
 * True when a POST /api/data/batch JSON body is plainly valid under
 * postDataBatchBodySchema (so also under the envelope schema): its readings can go to
 * the ingest service as they are, without the two zod passes over 1,000s of items.
 * `maxReadings` is MAX_READINGS_PER_BATCH (passed in to keep this module free of cycles).
 */
export function quickBatchBody(
  body: unknown,
  maxReadings: number,
): body is { bucketId: string; readings: { dataSourceId: string; values: Record<string, ReadingValue>; timestamp?: number }[] } {
  if (typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype) return false;
  const { bucketId, readings } = body as { bucketId?: unknown; readings?: unknown };
  if (!isId(bucketId) || !Array.isArray(readings) || readings.length < 1 || readings.length > maxReadings) return false;
  for (let i = 0; i < readings.length; i++) {
    const r: unknown = readings[i];
    if (typeof r !== 'object' || r === null || Object.getPrototypeOf(r) !== Object.prototype) return false;
    const item = r as { dataSourceId?: unknown; values?: unknown; timestamp?: unknown };
    if (!isId(item.dataSourceId) || quickTimestamp(item.timestamp) === ASK_ZOD || !quickValues(item.values)) return false;
  }
  return true;
}
