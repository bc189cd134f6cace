/**
 * Prepared statements over the merged `readings` table; rows still staged are laid
 * over their results by sqlite-readings-overlay.ts and sqlite-readings-export.ts.
 * Per-series statements walk the (series_id, ts) primary key directly.
 * Stats and counts are not here: they run in a worker (sqlite-stats-reader.ts).
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

export interface PartialRow {
  b: number;
  n: number;
  cn: number;
  s: number | null;
  mn: number | null;
  mx: number | null;
}

export interface EdgeRow {
  b: number;
  ts: number;
  num: number | null;
  txt: string | null;
  kind: number;
}

export type PartialParams = { sid: number; from: number; to: number; iv: number; ex: string };

// Merged rows whose ts is still staged are left out: the staged row replaces them.
const notStaged = 'ts NOT IN (SELECT value FROM json_each(@ex))';

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
    /** per-bucket partials for avg/sum/min/max/count, for folding staged rows in */
    partialNumeric: db.prepare<PartialParams, PartialRow>(
      `SELECT ts - (ts % @iv) AS b, count(*) AS n, count(num) AS cn, sum(num) AS s, min(num) AS mn, max(num) AS mx
       FROM readings WHERE ${range} AND ${notStaged} GROUP BY b`,
    ),
    partialFirst: db.prepare<PartialParams, EdgeRow>(
      `SELECT ts - (ts % @iv) AS b, min(ts) AS ts, num, txt, kind
       FROM readings WHERE ${range} AND ${notStaged} GROUP BY b`,
    ),
    partialLast: db.prepare<PartialParams, EdgeRow>(
      `SELECT ts - (ts % @iv) AS b, max(ts) AS ts, num, txt, kind
       FROM readings WHERE ${range} AND ${notStaged} GROUP BY b`,
    ),
    /** the staged rows of the series in a JSON array of ids: one pass over the unindexed table */
    deleteStagingOf: db.prepare<[string]>('DELETE FROM staging WHERE series_id IN (SELECT value FROM json_each(?))'),
    /** the series rows of a JSON array of ids */
    deleteSeriesOf: db.prepare<[string]>('DELETE FROM series WHERE id IN (SELECT value FROM json_each(?))'),
  };
}

export type ReadingQueries = ReturnType<typeof prepareQueries>;
