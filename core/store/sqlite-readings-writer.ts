/**
 * The write side of the SQLite readings store: interns series, appends to the
 * unindexed `staging` table, and merges staging into `readings` in key order.
 * Synchronous on purpose: better-sqlite3 is synchronous, so a merge can never
 * interleave with a write or a read on this connection.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { ReadingPoint } from '../readings.ts';
import { encodeValue } from './sqlite-readings-schema.ts';

export interface SqliteReadingsWriter {
  write(points: readonly ReadingPoint[]): void;
  /** Folds staging into `readings` now (no-op when nothing is staged). */
  mergeNow(): void;
  /** Drop the series-id cache after series rows were deleted. */
  forgetSeries(): void;
  status(): { stagedRows: number; merges: number; lastMergeAt: number | null };
  /** Merges what is staged so the next open starts clean. Idempotent. */
  close(): void;
}

export function createSqliteReadingsWriter(
  db: Database.Database,
  opts: { logger: Logger; clock: Clock; mergeThresholdRows: number; mergeDelayMs: number },
): SqliteReadingsWriter {
  const selectSeries = db.prepare<[string, string, string], { id: number }>(
    'SELECT id FROM series WHERE bucket_id = ? AND source_id = ? AND metric = ?',
  );
  const insertSeries = db.prepare<[string, string, string]>(
    'INSERT INTO series (bucket_id, source_id, metric) VALUES (?, ?, ?)',
  );
  const insertStaging = db.prepare<[number, number, number | null, string | null, number]>(
    'INSERT INTO staging (series_id, ts, num, txt, kind) VALUES (?, ?, ?, ?, ?)',
  );
  // ORDER BY ... seq makes a later write of the same key land later, so REPLACE keeps it.
  const mergeInsert = db.prepare(
    `INSERT OR REPLACE INTO readings (series_id, ts, num, txt, kind)
     SELECT series_id, ts, num, txt, kind FROM staging ORDER BY series_id, ts, seq`,
  );
  const clearStaging = db.prepare('DELETE FROM staging');

  const cache = new Map<string, number>();
  // Rows left in staging by a previous process (killed before merging) count too.
  let staged = (db.prepare('SELECT count(*) AS n FROM staging').get() as { n: number }).n;
  let merges = 0;
  let lastMergeAt: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let mergeScheduled = false;
  let closed = false;

  function seriesId(p: ReadingPoint): number {
    const key = `${p.bucketId}\u0000${p.dataSourceId}\u0000${p.metric}`;
    let id = cache.get(key);
    if (id === undefined) {
      id = selectSeries.get(p.bucketId, p.dataSourceId, p.metric)?.id;
      if (id === undefined) id = Number(insertSeries.run(p.bucketId, p.dataSourceId, p.metric).lastInsertRowid);
      cache.set(key, id);
    }
    return id;
  }

  const writeTx = db.transaction((points: readonly ReadingPoint[]) => {
    for (const p of points) {
      const v = encodeValue(p.value);
      insertStaging.run(seriesId(p), p.ts, v.num, v.txt, v.kind);
    }
  });

  const mergeTx = db.transaction(() => {
    mergeInsert.run();
    clearStaging.run();
  });

  function mergeNow(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (staged === 0) return;
    const rows = staged;
    const started = performance.now();
    mergeTx();
    staged = 0;
    merges++;
    lastMergeAt = opts.clock.now();
    opts.logger.debug({ rows, ms: Math.round(performance.now() - started) }, 'merged staged readings');
  }

  function backgroundMerge(): void {
    mergeScheduled = false;
    if (closed) return;
    try {
      mergeNow();
    } catch (err) {
      // Staging is intact after a failed merge; the next read or write retries it.
      opts.logger.error({ err }, 'merging staged readings failed');
    }
  }

  return {
    write(points) {
      if (points.length === 0) return;
      try {
        writeTx(points);
      } catch (err) {
        // Series rows inserted by the rolled-back transaction are gone; so must their cached ids be.
        cache.clear();
        throw err;
      }
      staged += points.length;
      if (staged >= opts.mergeThresholdRows) {
        // After the caller's acknowledgement, not before it.
        if (!mergeScheduled) {
          mergeScheduled = true;
          setImmediate(backgroundMerge);
        }
      } else if (!timer) {
        timer = setTimeout(backgroundMerge, opts.mergeDelayMs);
        timer.unref();
      }
    },
    mergeNow,
    forgetSeries() {
      cache.clear();
    },
    status: () => ({ stagedRows: staged, merges, lastMergeAt }),
    close() {
      if (closed) return;
      closed = true;
      try {
        mergeNow();
      } finally {
        if (timer) clearTimeout(timer);
        timer = null;
      }
    },
  };
}
