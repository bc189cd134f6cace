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
import { appendStaged, newestStagedRow, type StagedColumns, stagedRows } from './sqlite-readings-staged.ts';
import { KIND_BOOLEAN, KIND_NUMBER, KIND_STRING } from './sqlite-readings-schema.ts';

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

/** Points per multi-row INSERT into staging (5 parameters each). */
const STAGE_CHUNK = 64;

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
  // One statement call per STAGE_CHUNK points: each run() crosses into native code and
  // resets the statement, which was the store's largest per-point cost. Rows keep their
  // order within the VALUES list, so seq still follows the write order.
  const insertStagingChunk = db.prepare(
    `INSERT INTO staging (series_id, ts, num, txt, kind) VALUES ${Array.from({ length: STAGE_CHUNK }, () => '(?, ?, ?, ?, ?)').join(', ')}`,
  );
  const chunkArgs: (number | string | null)[] = new Array(STAGE_CHUNK * 5).fill(null);
  // ORDER BY ... seq makes a later write of the same key land later, so REPLACE keeps it.
  const mergeInsert = db.prepare(
    `INSERT OR REPLACE INTO readings (series_id, ts, num, txt, kind)
     SELECT series_id, ts, num, txt, kind FROM staging ORDER BY series_id, ts, seq`,
  );
  const clearStaging = db.prepare('DELETE FROM staging');

  /** bucket → source → metric → series id: nested, so a lookup builds no key string per point. */
  const cache = new Map<string, Map<string, Map<string, number>>>();
  /**
   * What `staging` holds, per series, as parallel arrays in write order (reads keep the
   * last write of a ts, as the merge will): lets reads lay staged rows over merged ones
   * without scanning the unindexed staging table. Columns rather than a row object per
   * point, because up to a merge's worth of rows live here and each object used to
   * outlive several young-generation collections. Updated only after a commit succeeds.
   */
  const mirror = new Map<number, StagedColumns>();
  // Rows left in staging by a previous process (killed before merging) count too.
  let staged = (db.prepare('SELECT count(*) AS n FROM staging').get() as { n: number }).n;
  let merges = 0;
  let lastMergeAt: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let mergeScheduled = false;
  let closed = false;

  function seriesId(p: ReadingPoint): number {
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

  /** Returns, per point, its series id, for the mirror once the commit succeeded. */
  const writeTx = db.transaction((points: readonly ReadingPoint[]) => {
    const ids: number[] = new Array(points.length);
    const whole = points.length - (points.length % STAGE_CHUNK);
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const sid = seriesId(p);
      ids[i] = sid;
      // encodeValue inlined: no object per point
      const v = p.value;
      const num = typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null;
      const txt = typeof v === 'string' ? v : null;
      const kind = typeof v === 'number' ? KIND_NUMBER : typeof v === 'boolean' ? KIND_BOOLEAN : KIND_STRING;
      if (i >= whole) {
        insertStaging.run(sid, p.ts, num, txt, kind);
        continue;
      }
      const o = (i % STAGE_CHUNK) * 5;
      chunkArgs[o] = sid;
      chunkArgs[o + 1] = p.ts;
      chunkArgs[o + 2] = num;
      chunkArgs[o + 3] = txt;
      chunkArgs[o + 4] = kind;
      if (o === (STAGE_CHUNK - 1) * 5) insertStagingChunk.run(chunkArgs);
    }
    return ids;
  });

  function remember(points: readonly ReadingPoint[], ids: number[]): void {
    for (let i = 0; i < ids.length; i++) {
      const sid = ids[i]!;
      let cols = mirror.get(sid);
      if (!cols) {
        cols = { ts: [], num: [], kind: [], txt: null };
        mirror.set(sid, cols);
      }
      appendStaged(cols, points[i]!);
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
      let ids: number[];
      try {
        ids = writeTx(points);
      } catch (err) {
        // Series rows inserted by the rolled-back transaction are gone; so must their cached ids be.
        cache.clear();
        throw err;
      }
      remember(points, ids);
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
      const cols = mirror.get(seriesId);
      return cols ? stagedRows(cols, from, to) : [];
    },
    newestStaged(seriesId) {
      const cols = mirror.get(seriesId);
      return cols ? newestStagedRow(cols) : undefined;
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
