/**
 * Series interning of the SQLite readings store's writer: (bucket, source, metric) →
 * the `series` row id, inserting the row the first time a series is written.
 */
import type Database from 'better-sqlite3';
import type { ReadingPoint } from '../readings.ts';

export interface SeriesIds {
  /** The point's series id; inserts the series row if there is none (inside the caller's transaction). */
  idOf(p: ReadingPoint): number;
  /** Forget every cached id: series rows were deleted, or the transaction that inserted some rolled back. */
  clear(): void;
}

export function createSeriesIds(db: Database.Database): SeriesIds {
  const selectSeries = db.prepare<[string, string, string], { id: number }>(
    'SELECT id FROM series WHERE bucket_id = ? AND source_id = ? AND metric = ?',
  );
  // Not SQLite's default max(id) + 1: the id of a deleted series whose rows are still being
  // purged (series_tombstones, sqlite-readings-purge.ts) must not go to a new series, which
  // would inherit those rows. Both maxima are primary-key lookups.
  const insertSeries = db.prepare<[string, string, string]>(
    `INSERT INTO series (id, bucket_id, source_id, metric) VALUES (
       max(coalesce((SELECT max(id) FROM series), 0), coalesce((SELECT max(id) FROM series_tombstones), 0)) + 1, ?, ?, ?)`,
  );
  /** bucket → source → metric → series id: nested, so a lookup builds no key string per point. */
  const cache = new Map<string, Map<string, Map<string, number>>>();

  function idOf(p: ReadingPoint): number {
    let sources = cache.get(p.bucketId);
    if (!sources) {
      sources = new Map();
      cache.set(p.bucketId, sources);
    }
    let metrics = sources.get(p.dataSourceId);
    if (!metrics) {
      metrics = new Map();
      sources.set(p.dataSourceId, metrics);
    }
    let id = metrics.get(p.metric);
    if (id === undefined) {
      id = selectSeries.get(p.bucketId, p.dataSourceId, p.metric)?.id;
      if (id === undefined) id = Number(insertSeries.run(p.bucketId, p.dataSourceId, p.metric).lastInsertRowid);
      metrics.set(p.metric, id);
    }
    return id;
  }

  return { idOf, clear: () => cache.clear() };
}
