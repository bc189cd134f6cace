/**
 * GET /api/data and GET /api/data/latest query strings, validated once here for
 * the query service and for OpenAPI.
 */
import { z } from 'zod';
import { metricNameSchema, timestampSchema } from '../ingest/reading-input.ts';
import { aggregateFunctions } from '../readings.ts';

export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 1_000_000;
/** Widest aggregation bucket: a year is already coarser than any dashboard needs. */
export const MAX_INTERVAL_MS = 366 * 86_400_000;

const unitMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const intervalText = z
  .string()
  .regex(/^[1-9]\d{0,8}[smhd]$/, 'interval is <n>s, <n>m, <n>h or <n>d, e.g. 10s, 1m, 1h, 1d')
  .transform((s) => Number(s.slice(0, -1)) * unitMs[s.at(-1) as keyof typeof unitMs]);
const intervalMs = z.number().int().min(1).max(MAX_INTERVAL_MS, 'interval is at most 366d');

const timeText = z.string().transform((s) => (/^\d+$/.test(s) ? Number(s) : s));

const metricsText = z.string().transform((s) =>
  s
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== ''),
);
const metricList = z
  .array(metricNameSchema)
  .max(1000)
  .transform((list) => (list.length === 0 ? undefined : list));

const limitText = z.string().regex(/^\d+$/, 'limit is a positive integer').transform(Number);
const limitNumber = z.number().int().min(1).max(MAX_QUERY_LIMIT);

/**
 * `lenient` also accepts the parsed form of each field, so the query service can
 * re-validate a DataQuery the HTTP layer already parsed; the public schema takes
 * strings only, which is what OpenAPI should describe.
 */
function build(lenient: boolean) {
  const either = <A extends z.ZodType, B extends z.ZodType>(text: A, parsed: B) =>
    lenient ? z.union([parsed, text]) : text;
  return z
    .object({
      bucketId: z.string().min(1),
      dataSourceId: z.string().min(1).optional(),
      metrics: either(metricsText, z.array(z.string())).pipe(metricList).optional().meta({
        description: 'comma-separated metric names; omitted = every metric',
      }),
      from: either(timeText, z.number()).pipe(timestampSchema).optional().meta({
        description: 'inclusive; ISO 8601 with zone or epoch ms; default 24 h ago',
      }),
      to: either(timeText, z.number()).pipe(timestampSchema).optional().meta({
        description: 'exclusive; ISO 8601 with zone or epoch ms; default now',
      }),
      aggregate: z.enum(aggregateFunctions).optional(),
      interval: either(intervalText, z.number()).pipe(intervalMs).optional().meta({
        description: 'aggregation bucket, aligned to the Unix epoch: 10s, 1m, 1h, 1d',
      }),
      limit: either(limitText, z.number()).pipe(limitNumber).optional().meta({
        description: 'points per series, oldest first (default 10,000, max 1,000,000; csv: no cap unless given)',
      }),
      format: z.enum(['json', 'csv']).default('json'),
    })
    .refine((q) => (q.aggregate === undefined) === (q.interval === undefined), {
      message: 'aggregate and interval go together',
      path: ['interval'],
    })
    .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
      message: 'from must not be after to',
      path: ['from'],
    });
}

export const dataQuerySchema = build(false);
/** Accepts raw strings or an already parsed DataQuery (used by the query service). */
export const dataQueryLenientSchema = build(true);

/** Raw query strings. */
export type DataQueryParams = z.input<typeof dataQuerySchema>;
export type DataQuery = z.output<typeof dataQuerySchema>;

export const latestQuerySchema = z.object({
  bucketId: z.string().min(1),
  dataSourceId: z.string().min(1).optional(),
});
