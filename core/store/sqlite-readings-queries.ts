/**
 * Prepared statements over the merged `readings` table. Every read runs after the
 * staging merge (see sqlite-readings-store.ts), so these only look at `readings`.
 * Per-series statements walk the (series_id, ts) primary key directly.
 */
import type Database from 'better-sqlite3';
import type { AggregateFunction } from '../readings.ts';
import type { SeriesRow } from './sqlite-readings-schema.ts';

export interface ValueRow {
  ts: number;
  num: number | null;
  txt: string | null;
  kind: number;
}

export interface AggregateRow {
  b: number;
  v: number | null;
  num: number | null;
  txt: string | null;
  kind: number | null;
}

const range = 'series_id = @sid AND ts >= @from AND ts < @to';

function aggregateSql(fn: AggregateFunction): string {
  const bucket = 'ts - (ts % @iv)';
  switch (fn) {
    case 'first':
    case 'last':
      // SQLite takes bare columns from the row that holds the min()/max().
      return `SELECT ${bucket} AS b, ${fn === 'first' ? 'min' : 'max'}(ts) AS v, num, txt, kind
              FROM readings WHERE ${range} GROUP BY b ORDER BY b LIMIT @lim`;
    case 'count':
      return `SELECT ${bucket} AS b, count(*) AS v, NULL AS num, NULL AS txt, NULL AS kind
              FROM readings WHERE ${range} GROUP BY b ORDER BY b LIMIT @lim`;
    default:
      // A bucket holding only strings has no numeric value: it yields no point.
      return `SELECT ${bucket} AS b, ${fn}(num) AS v, NULL AS num, NULL AS txt, NULL AS kind
              FROM readings WHERE ${range} AND num IS NOT NULL GROUP BY b ORDER BY b LIMIT @lim`;
  }
}

export function prepareQueries(db: Database.Database) {
  const aggregates = new Map<AggregateFunction, Database.Statement>();
  return {
    seriesOfBucket: db.prepare<[string], SeriesRow>(
      'SELECT id, source_id, metric FROM series WHERE bucket_id = ? ORDER BY source_id, metric',
    ),
    raw: db.prepare<{ sid: number; from: number; to: number; lim: number }, ValueRow>(
      `SELECT ts, num, txt, kind FROM readings WHERE ${range} ORDER BY ts LIMIT @lim`,
    ),
    newest: db.prepare<[number], ValueRow>(
      'SELECT ts, num, txt, kind FROM readings WHERE series_id = ? ORDER BY ts DESC LIMIT 1',
    ),
    aggregate(fn: AggregateFunction): Database.Statement<
      { sid: number; from: number; to: number; iv: number; lim: number },
      AggregateRow
    > {
      let stmt = aggregates.get(fn);
      if (!stmt) {
        stmt = db.prepare(aggregateSql(fn));
        aggregates.set(fn, stmt);
      }
      return stmt as Database.Statement<{ sid: number; from: number; to: number; iv: number; lim: number }, AggregateRow>;
    },
    statsPerSource: db.prepare<[string], { source_id: string; n: number; first: number; last: number }>(
      `SELECT s.source_id, count(*) AS n, min(r.ts) AS first, max(r.ts) AS last
       FROM series s JOIN readings r ON r.series_id = s.id
       WHERE s.bucket_id = ? GROUP BY s.source_id ORDER BY s.source_id`,
    ),
    statsPerDay: db.prepare<[string], { day: number; n: number }>(
      `SELECT r.ts - (r.ts % 86400000) AS day, count(*) AS n
       FROM series s JOIN readings r ON r.series_id = s.id
       WHERE s.bucket_id = ? GROUP BY day ORDER BY day`,
    ),
    count: db.prepare<[number, string], { total: number; since: number | null }>(
      `SELECT count(*) AS total, sum(r.ts >= ?) AS since
       FROM series s JOIN readings r ON r.series_id = s.id
       WHERE s.bucket_id IN (SELECT value FROM json_each(?))`,
    ),
    deleteSeriesBefore: db.prepare<[number, number]>('DELETE FROM readings WHERE series_id = ? AND ts < ?'),
    deleteStagingBefore: db.prepare<[number, number]>('DELETE FROM staging WHERE series_id = ? AND ts < ?'),
    deleteSeriesReadings: db.prepare<[number]>('DELETE FROM readings WHERE series_id = ?'),
    deleteSeriesStaging: db.prepare<[number]>('DELETE FROM staging WHERE series_id = ?'),
    deleteSeries: db.prepare<[number]>('DELETE FROM series WHERE id = ?'),
  };
}

export type ReadingQueries = ReturnType<typeof prepareQueries>;
