/**
 * Reads from the QuestDB readings table over SQL. Every value is a bind parameter;
 * the only interpolated parts are the validated table name, placeholders we number
 * ourselves, and the SAMPLE BY stride built from a checked integer (QuestDB can't
 * bind a stride).
 */
import { DakkioError } from '../errors.ts';
import type {
  AggregateQuery,
  BucketStats,
  LatestValue,
  RawQuery,
  ReadingValue,
  Series,
  SeriesPointTuple,
  SeriesSelector,
} from '../readings.ts';
import { DELETED_KIND, SERIES_COLUMN, assertTableName, decodeValue, seriesKey } from './questdb-schema.ts';
import { type ReadTarget, selection } from './questdb-selection.ts';
import { cmp, groupSeries } from './questdb-series-rows.ts';
import { isoParam, type QuestDbSql } from './questdb-sql.ts';

export type { ReadTarget } from './questdb-selection.ts';

const DAY_MS = 86_400_000;
const STREAM_PAGE = 10_000;

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

const rawPoint = (r: Row): SeriesPointTuple => [
  num(r.ts),
  decodeValue(String(r.kind), numOrNull(r.num), (r.str as string | null) ?? null),
];

export async function queryRaw(sql: QuestDbSql, target: ReadTarget, q: RawQuery): Promise<Series[]> {
  const t = assertTableName(target.table);
  const params: unknown[] = [];
  const sel = selection(q, target.keyed, params);
  if (sel === null || q.to <= q.from || q.limitPerSeries <= 0) return [];
  params.push(Math.floor(q.limitPerSeries));
  // one indexed series comes out of its index scan in ts order: a plain LIMIT does what
  // the row_number() window does for several, and its rows need no series column
  const text = sel.only
    ? `SELECT ts, kind, num, str FROM ${t} WHERE ${sel.where} ORDER BY ts LIMIT $${params.length}`
    : `SELECT ${sel.seriesCols}, ts, kind, num, str FROM (
       SELECT ${sel.seriesCols}, ts, kind, num, str, row_number() OVER (PARTITION BY ${sel.seriesCols} ORDER BY ts) rn
       FROM ${t} WHERE ${sel.where}
     ) WHERE rn <= $${params.length}`;
  return groupSeries(await sql.query(text, params), sel, rawPoint, q.limitPerSeries);
}

/** Select-list per function: numeric ones see numbers and booleans; count and first/last see every value. */
const aggregateSql: Record<AggregateQuery['fn'], { select: string; numericOnly: boolean }> = {
  avg: { select: 'avg(num) v', numericOnly: true },
  min: { select: 'min(num) v', numericOnly: true },
  max: { select: 'max(num) v', numericOnly: true },
  sum: { select: 'sum(num) v', numericOnly: true },
  count: { select: 'count() v', numericOnly: false },
  first: { select: 'first(kind) k, first(num) v, first(str) sv', numericOnly: false },
  last: { select: 'last(kind) k, last(num) v, last(str) sv', numericOnly: false },
};

/** QuestDB stride text for an interval, in the largest unit that divides it exactly. */
export function sampleStride(intervalMs: number): string {
  const units: [number, string][] = [
    [DAY_MS, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1_000, 's'],
    [1, 'T'],
  ];
  for (const [ms, unit] of units) if (intervalMs % ms === 0) return `${intervalMs / ms}${unit}`;
  return `${intervalMs}T`;
}

/**
 * avg/min/max/sum use numbers and booleans (as 1/0) and ignore strings; count counts
 * every value; first/last return the value with its own type. Buckets are aligned to the Unix epoch: SAMPLE BY … ALIGN TO CALENDAR
 * (UTC) gives that whenever the interval divides a day, which every API interval
 * does; other intervals group by the epoch-floored timestamp instead.
 */
export async function queryAggregate(sql: QuestDbSql, target: ReadTarget, q: AggregateQuery): Promise<Series[]> {
  const t = assertTableName(target.table);
  if (!Number.isSafeInteger(q.intervalMs) || q.intervalMs <= 0) {
    throw new DakkioError('validation_failed', `invalid aggregation interval: ${q.intervalMs}`);
  }
  const params: unknown[] = [];
  const sel = selection(q, target.keyed, params);
  if (sel === null || q.to <= q.from || q.limitPerSeries <= 0) return [];
  const agg = aggregateSql[q.fn];
  const filter = agg.numericOnly ? `${sel.where} AND kind IN ('n', 'b')` : sel.where;
  // one named series needs no series key in its groups: a plain SAMPLE BY (or GROUP BY bucket)
  const keyCols = sel.only ? '' : `${sel.seriesCols}, `;
  let text: string;
  let tsOf: (r: Row) => number;
  if (DAY_MS % q.intervalMs === 0) {
    text = `SELECT ts, ${keyCols}${agg.select} FROM ${t} WHERE ${filter} SAMPLE BY ${sampleStride(q.intervalMs)} ALIGN TO CALENDAR`;
    tsOf = (r) => num(r.ts);
  } else {
    params.push(q.intervalMs * 1000);
    const k = `$${params.length}`;
    text = `SELECT ${keyCols}(cast(ts AS long) / ${k}) * ${k} bstart, ${agg.select} FROM ${t} WHERE ${filter}`;
    tsOf = (r) => Math.floor(num(r.bstart) / 1000);
  }
  // first/last carry the value's kind; a bucket without a value (null) is left out
  const pointOf =
    q.fn === 'first' || q.fn === 'last'
      ? (r: Row): SeriesPointTuple | undefined =>
          r.k === null || r.k === undefined
            ? undefined
            : [tsOf(r), decodeValue(String(r.k), numOrNull(r.v), (r.sv as string | null) ?? null)]
      : (r: Row): SeriesPointTuple | undefined => (r.v === null || r.v === undefined ? undefined : [tsOf(r), num(r.v)]);
  return groupSeries(await sql.query(text, params), sel, pointOf, q.limitPerSeries);
}

/**
 * Pages per series along the designated timestamp, so a huge range never sits in
 * memory. `limit` caps the whole stream.
 */
export async function* streamRaw(
  sql: QuestDbSql,
  target: ReadTarget,
  q: SeriesSelector & { limit?: number },
): AsyncGenerator<{ dataSourceId: string; metric: string; ts: number; value: ReadingValue }> {
  const t = assertTableName(target.table);
  const params: unknown[] = [];
  const sel = selection(q, target.keyed, params);
  if (sel === null || q.to <= q.from) return;
  const limit = q.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  const series = (await sql.query(`SELECT ${sel.seriesCols}, count() n FROM ${t} WHERE ${sel.where}`, params))
    .map((r) => sel.seriesOf(r))
    .sort((a, b) => (a.source === b.source ? cmp(a.metric, b.metric) : cmp(a.source, b.source)));
  // each page of one series: by its key through the index once every row has one
  const seriesWhere = target.keyed ? `${SERIES_COLUMN} = $1` : 'bucket = $1 AND source = $2 AND metric = $3';
  let emitted = 0;
  for (const s of series) {
    let after: number | null = null;
    while (emitted < limit) {
      const page = Math.min(STREAM_PAGE, limit - emitted);
      const which = target.keyed ? [seriesKey(q.bucketId, s.source, s.metric)] : [q.bucketId, s.source, s.metric];
      const n = which.length;
      const rows: Row[] = await sql.query(
        `SELECT ts, kind, num, str FROM ${t}
         WHERE ${seriesWhere} AND kind != '${DELETED_KIND}'
           AND ts >= $${n + 1} AND ts < $${n + 2} ORDER BY ts LIMIT $${n + 3}`,
        [...which, isoParam(after === null ? q.from : after + 1), isoParam(q.to), page],
      );
      for (const r of rows) {
        yield {
          dataSourceId: s.source,
          metric: s.metric,
          ts: num(r.ts),
          value: decodeValue(String(r.kind), numOrNull(r.num), (r.str as string | null) ?? null),
        };
      }
      emitted += rows.length;
      if (rows.length < page) break;
      after = num(rows[rows.length - 1]?.ts);
    }
  }
}

export async function latest(
  sql: QuestDbSql,
  target: ReadTarget,
  bucketId: string,
  dataSourceId?: string,
): Promise<LatestValue[]> {
  const t = assertTableName(target.table);
  const params: unknown[] = [bucketId];
  let where = `bucket = $1 AND kind != '${DELETED_KIND}'`;
  if (dataSourceId !== undefined) {
    params.push(dataSourceId);
    where += ' AND source = $2';
  }
  // one key column instead of two: QuestDB 9.3 then tracks the keys it has seen in a list
  // (LatestByDeferredListValuesFiltered) instead of a map of symbol pairs
  const by = target.keyed ? SERIES_COLUMN : 'source, metric';
  const rows = await sql.query(
    `SELECT source, metric, ts, kind, num, str FROM ${t} WHERE ${where} LATEST ON ts PARTITION BY ${by}`,
    params,
  );
  return rows
    .map((r) => ({
      dataSourceId: String(r.source),
      metric: String(r.metric),
      ts: num(r.ts),
      value: decodeValue(String(r.kind), numOrNull(r.num), (r.str as string | null) ?? null),
    }))
    .sort((a, b) =>
      a.dataSourceId === b.dataSourceId ? cmp(a.metric, b.metric) : cmp(a.dataSourceId, b.dataSourceId),
    );
}

export async function stats(sql: QuestDbSql, table: string, bucketId: string): Promise<BucketStats> {
  const t = assertTableName(table);
  const where = `bucket = $1 AND kind != '${DELETED_KIND}'`;
  const perSource = await sql.query(`SELECT source, count() n, min(ts) first, max(ts) last FROM ${t} WHERE ${where}`, [
    bucketId,
  ]);
  const perDay = await sql.query(
    `SELECT timestamp_floor('d', ts) day, count() n FROM ${t} WHERE ${where} ORDER BY day`,
    [bucketId],
  );
  const perDataSource = perSource
    .map((r) => ({
      dataSourceId: String(r.source),
      readings: num(r.n),
      firstAt: numOrNull(r.first),
      lastAt: numOrNull(r.last),
    }))
    .sort((a, b) => cmp(a.dataSourceId, b.dataSourceId));
  const firsts = perDataSource.flatMap((s) => (s.firstAt === null ? [] : [s.firstAt]));
  const lasts = perDataSource.flatMap((s) => (s.lastAt === null ? [] : [s.lastAt]));
  return {
    readings: perDataSource.reduce((n, s) => n + s.readings, 0),
    firstAt: firsts.length ? Math.min(...firsts) : null,
    lastAt: lasts.length ? Math.max(...lasts) : null,
    perDataSource,
    perDay: perDay.map((r) => ({ day: num(r.day), readings: num(r.n) })),
  };
}

export async function countReadings(
  sql: QuestDbSql,
  table: string,
  bucketIds: readonly string[],
  sinceMs: number,
): Promise<{ total: number; since: number }> {
  const t = assertTableName(table);
  if (bucketIds.length === 0) return { total: 0, since: 0 };
  const params: unknown[] = [isoParam(sinceMs), ...bucketIds];
  const inList = bucketIds.map((_, i) => `$${i + 2}`).join(', ');
  const rows = await sql.query(
    `SELECT count() total, sum(CASE WHEN ts >= $1 THEN 1 ELSE 0 END) since
     FROM ${t} WHERE bucket IN (${inList}) AND kind != '${DELETED_KIND}'`,
    params,
  );
  const r = rows[0];
  return { total: num(r?.total ?? 0), since: num(r?.since ?? 0) };
}
