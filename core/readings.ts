/** The shape of time-series data inside core. Times are epoch milliseconds (UTC). */

export type ReadingValue = number | boolean | string;

/** One stored point: the unit of storage and of idempotency (bucket, source, metric, ts). */
export interface ReadingPoint {
  bucketId: string;
  dataSourceId: string;
  metric: string;
  ts: number;
  value: ReadingValue;
}

export const aggregateFunctions = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type AggregateFunction = (typeof aggregateFunctions)[number];

export interface SeriesSelector {
  bucketId: string;
  /** undefined = every source of the bucket */
  dataSourceIds?: readonly string[] | undefined;
  /** undefined = every metric */
  metrics?: readonly string[] | undefined;
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
}

export interface RawQuery extends SeriesSelector {
  /** cap on points per series (oldest first) */
  limitPerSeries: number;
}

export interface AggregateQuery extends SeriesSelector {
  fn: AggregateFunction;
  /** bucket width; buckets are aligned to the Unix epoch */
  intervalMs: number;
  limitPerSeries: number;
}

export type SeriesPointTuple = [ts: number, value: ReadingValue];

export interface Series {
  dataSourceId: string;
  metric: string;
  /** ascending by time; for aggregates ts is the bucket start */
  points: SeriesPointTuple[];
}

export interface LatestValue {
  dataSourceId: string;
  metric: string;
  ts: number;
  value: ReadingValue;
}

export interface BucketStats {
  readings: number;
  firstAt: number | null;
  lastAt: number | null;
  perDataSource: { dataSourceId: string; readings: number; firstAt: number | null; lastAt: number | null }[];
  /** day = epoch ms of UTC midnight */
  perDay: { day: number; readings: number }[];
}
