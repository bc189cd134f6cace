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
import type { StoredRow } from './sqlite-readings-overlay.ts';
import { encodeValue } from './sqlite-readings-schema.ts';

export interface SqliteReadingsWriter {
  write(points: readonly ReadingPoint[]): void;
  /** Folds staging into `readings` now (no-op when nothing is staged). */
  mergeNow(): void;
  /** Staged (not yet merged) rows of a series with from <= ts < to, ascending, one per ts (the last written). */
  stagedRange(seriesId: number, from: number, to: number): StoredRow[];
  /** The staged row of a series with the greatest ts. */
  newestStaged(seriesId: number): StoredRow | undefined;
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
  /**
   * What `staging` holds, by series then ts (a later write of a ts replaces the
   * entry, as the merge will): lets reads lay staged rows over merged ones without
   * scanning the unindexed staging table. Updated only after a commit succeeds.
   */
  const mirror = new Map<number, Map<number, StoredRow>>();
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

  /** Returns, per point, its series id and stored row, for the mirror once the commit succeeded. */
  const writeTx = db.transaction((points: readonly ReadingPoint[]) => {
    const ids: number[] = new Array(points.length);
    const rows: StoredRow[] = new Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const v = encodeValue(p.value);
      const sid = seriesId(p);
      ids[i] = sid;
      rows[i] = { ts: p.ts, num: v.num, txt: v.txt, kind: v.kind };
      insertStaging.run(sid, p.ts, v.num, v.txt, v.kind);
    }
    return { ids, rows };
  });

  function remember(ids: number[], stored: StoredRow[]): void {
    for (let i = 0; i < ids.length; i++) {
      const sid = ids[i]!;
      const r = stored[i]!;
      let rows = mirror.get(sid);
      if (!rows) {
        rows = new Map();
        mirror.set(sid, rows);
      }
      rows.set(r.ts, r);
    }
  }

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
    mirror.clear();
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

  // Rows a killed process left in staging are not in the mirror: fold them in now.
  mergeNow();

  return {
    write(points) {
      if (points.length === 0) return;
      let written: { ids: number[]; rows: StoredRow[] };
      try {
        written = writeTx(points);
      } catch (err) {
        // Series rows inserted by the rolled-back transaction are gone; so must their cached ids be.
        cache.clear();
        throw err;
      }
      remember(written.ids, written.rows);
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
    stagedRange(seriesId, from, to) {
      const rows = mirror.get(seriesId);
      if (!rows) return [];
      const out: StoredRow[] = [];
      for (const r of rows.values()) if (r.ts >= from && r.ts < to) out.push(r);
      return out.sort((a, b) => a.ts - b.ts);
    },
    newestStaged(seriesId) {
      const rows = mirror.get(seriesId);
      let newest: StoredRow | undefined;
      if (rows) for (const r of rows.values()) if (!newest || r.ts > newest.ts) newest = r;
      return newest;
    },
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
