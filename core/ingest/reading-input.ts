/**
 * Validation of readings at the edge (HTTP bodies, MQTT payloads, batch files).
 * The zod schemas here are the single source for request validation and OpenAPI.
 *
 * Limits: metric names ^[A-Za-z0-9_.:-]{1,64}$; 1..100 values per reading; string
 * values at most MAX_STRING_VALUE_LENGTH (4,096) characters, so one reading stays
 * small next to the 256 KiB MQTT payload cap; timestamps between 1970-01-01 and
 * 9999-12-31 (ISO 8601 with seconds and a zone, or epoch milliseconds).
 */
import { z } from 'zod';
import { DakkioError, type ErrorDetail } from '../errors.ts';
import { zodDetails } from '../validation.ts';
import type { ReadingValue } from '../readings.ts';
import { ASK_ZOD, quickTimestamp, quickValues } from './reading-fast-check.ts';

export const METRIC_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const MAX_VALUES_PER_READING = 100;
export const MAX_STRING_VALUE_LENGTH = 4096;
/** Readings per POST /api/data/batch request or per MQTT message array. */
export const MAX_READINGS_PER_BATCH = 10_000;
/** Exclusive upper bound: 10000-01-01T00:00:00Z. */
const MAX_TIMESTAMP_MS = 253_402_300_800_000;

export const metricNameSchema = z.string().regex(METRIC_NAME_PATTERN, 'metric names match ^[A-Za-z0-9_.:-]{1,64}$');

export const readingValueSchema = z.union([
  z.number(), // zod 4 numbers are finite: NaN and Infinity are refused
  z.boolean(),
  z.string().max(MAX_STRING_VALUE_LENGTH, `string values are at most ${MAX_STRING_VALUE_LENGTH} characters`),
]);

/**
 * zod's record silently drops a `__proto__` key (prototype-pollution guard), so a
 * reading `{"__proto__": 1}` would be acknowledged and lost. Refuse it instead:
 * API.md promises bad input a clear error, never a silent drop.
 */
const refuseProtoKey = (value: unknown, ctx: z.RefinementCtx) => {
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], message: '"__proto__" is not allowed as a metric name' });
  }
  return value;
};

export const readingValuesSchema = z
  .preprocess(refuseProtoKey, z.record(metricNameSchema, readingValueSchema))
  .refine((v) => Object.keys(v).length >= 1, 'at least one value is required')
  .refine((v) => Object.keys(v).length <= MAX_VALUES_PER_READING, `at most ${MAX_VALUES_PER_READING} values per reading`)
  .meta({ description: 'metric name → number | boolean | string', example: { temperature: 22.5, door: false } });

const inRange = (ms: number) => ms >= 0 && ms < MAX_TIMESTAMP_MS;

/** ISO 8601 (with seconds and Z or ±hh:mm) or epoch milliseconds → epoch ms. */
export const timestampSchema = z
  .union([
    z.number().transform((n) => Math.floor(n)),
    z.iso.datetime({ offset: true, error: 'timestamps are ISO 8601 with a zone, or epoch milliseconds' }).transform((s) => Date.parse(s)),
  ])
  .refine(inRange, 'timestamp is out of range (1970 … 9999)')
  .meta({ description: 'ISO 8601 string with zone, or epoch milliseconds; defaults to the receive time' });

export const readingInputSchema = z.object({ values: readingValuesSchema, timestamp: timestampSchema.optional() });

const idField = z.string().min(1).max(64);

/** POST /api/data */
export const postDataBodySchema = z.object({
  bucketId: idField,
  dataSourceId: idField,
  values: readingValuesSchema,
  timestamp: timestampSchema.optional(),
});

/** One item of POST /api/data/batch (JSON), fully validated: for documentation and all-or-nothing requests. */
export const batchReadingSchema = z.object({
  dataSourceId: idField,
  values: readingValuesSchema,
  timestamp: timestampSchema.optional(),
});

/** POST /api/data/batch (application/json), fully validated. */
export const postDataBatchBodySchema = z.object({
  bucketId: idField,
  readings: z.array(batchReadingSchema).min(1).max(MAX_READINGS_PER_BATCH),
});

/**
 * POST /api/data/batch envelope only: items are checked one by one by the ingest
 * service, so `?partial=true` can store the valid ones and list the rest.
 */
export const postDataBatchEnvelopeSchema = z.object({
  bucketId: idField,
  readings: z
    .array(z.object({ dataSourceId: z.string(), values: z.unknown(), timestamp: z.unknown().optional() }))
    .min(1)
    .max(MAX_READINGS_PER_BATCH),
});

export interface ValidReading {
  values: Record<string, ReadingValue>;
  /** epoch ms */
  timestamp: number;
}


/** Validates one reading; throws DakkioError('validation_failed') with details. */
export function validateReading(input: unknown, receivedAt: number): ValidReading {
  const parsed = readingInputSchema.safeParse(input);
  if (!parsed.success) throw new DakkioError('validation_failed', 'invalid reading', { details: zodDetails(parsed.error) });
  return { values: parsed.data.values, timestamp: parsed.data.timestamp ?? receivedAt };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(payload: Buffer): string {
  try {
    return utf8.decode(payload);
  } catch {
    throw new DakkioError('validation_failed', 'payload is not valid UTF-8');
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Payload of `dakkio/<bucket>/<source>/data`: `{values, timestamp?}`, a bare object
 * of values (`{"temperature": 22.5}`, where a `timestamp` key is read as the
 * reading's time, as devices commonly send it), or an array of either.
 */
export function parseMqttDataPayload(payload: Buffer, receivedAt: number): ValidReading[] {
  let json: unknown;
  try {
    json = JSON.parse(decodeText(payload));
  } catch (err) {
    if (err instanceof DakkioError) throw err;
    throw new DakkioError('invalid_json', 'payload is not valid JSON');
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new DakkioError('validation_failed', 'empty array of readings');
  if (items.length > MAX_READINGS_PER_BATCH) {
    throw new DakkioError('validation_failed', `at most ${MAX_READINGS_PER_BATCH} readings per message`);
  }
  const out: ValidReading[] = [];
  const details: ErrorDetail[] = [];
  items.forEach((item, index) => {
    const shaped = isPlainObject(item) && !isPlainObject(item['values']) ? bareToReading(item) : item;
    if (isPlainObject(shaped)) {
      const ts = quickTimestamp(shaped['timestamp']);
      const values = shaped['values'];
      if (ts !== ASK_ZOD && quickValues(values)) {
        out.push({ values, timestamp: ts ?? receivedAt });
        return;
      }
    }
    const parsed = readingInputSchema.safeParse(shaped);
    if (parsed.success) out.push({ values: parsed.data.values, timestamp: parsed.data.timestamp ?? receivedAt });
    else details.push(...zodDetails(parsed.error, Array.isArray(json) ? { index } : {}));
  });
  if (details.length > 0) throw new DakkioError('validation_failed', 'invalid reading payload', { details });
  return out;
}

function bareToReading(item: Record<string, unknown>): { values: Record<string, unknown>; timestamp?: unknown } {
  const { timestamp, ...values } = item;
  return timestamp === undefined ? { values } : { values, timestamp };
}

const NUMBER_TEXT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A value written as text (MQTT per-metric topics, CSV cells): `true`/`false` are
 * booleans, a decimal number is a number, anything else is the string itself
 * (trimmed: a trailing newline from `echo | mosquitto_pub` is not part of the value).
 */
export function parseTextValue(text: string): ReadingValue {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (NUMBER_TEXT.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return n;
  }
  return t;
}

/** Payload of `dakkio/<bucket>/<source>/data/<metric>`: one value as plain text. */
export function parseMqttMetricPayload(metric: string, payload: Buffer, receivedAt: number): ValidReading[] {
  if (!METRIC_NAME_PATTERN.test(metric)) {
    throw new DakkioError('validation_failed', 'invalid metric name', {
      details: [{ path: 'metric', message: 'metric names match ^[A-Za-z0-9_.:-]{1,64}$' }],
    });
  }
  const text = decodeText(payload);
  if (text.trim() === '') throw new DakkioError('validation_failed', 'empty payload');
  const value = parseTextValue(text);
  const parsed = readingValueSchema.safeParse(value);
  if (!parsed.success) {
    throw new DakkioError('validation_failed', 'invalid value', { details: zodDetails(parsed.error, { path: metric }) });
  }
  return [{ values: { [metric]: parsed.data }, timestamp: receivedAt }];
}
