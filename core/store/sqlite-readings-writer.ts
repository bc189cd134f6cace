/**
 * The write side of the SQLite readings store: interns series, appends to the
 * unindexed `staging` table, and merges staging into `readings` in key order.
 * Synchronous on purpose: better-sqlite3 is synchronous, so a merge step can never
 * interleave with a write or a read on this connection.
 *
 * Background merges run in slices (sqlite-readings-sliced-merge.ts): once
 * `mergeThresholdRows` rows are staged, that generation is frozen and moved into
 * `readings` a few series per event-loop turn, so PUBACKs keep flowing. Reads lay the
 * generation being merged and the rows staged since over `readings` (mirror of both),
 * the later winning.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { ReadingPoint } from '../readings.ts';
import type { StoredRow } from './sqlite-readings-overlay.ts';
import { KIND_BOOLEAN, KIND_NUMBER, KIND_STRING } from './sqlite-readings-schema.ts';
import { createSeriesIds } from './sqlite-readings-series-ids.ts';
import { createSlicedMerge } from './sqlite-readings-sliced-merge.ts';
import { appendStaged, newestStagedRow, type StagedColumns, type StagedView, stagedRangeOf, viewOf } from './sqlite-readings-staged.ts';
import { createRowBatcher } from './sqlite-row-batcher.ts';

export interface SqliteReadingsWriter {
  write(points: readonly ReadingPoint[]): void;
  /** Folds all of staging into `readings` now, in one transaction (no-op when nothing is staged). */
  mergeNow(): void;
  /**
   * One slice of the background merge: starts a generation if none is running and rows
   * are staged, moves up to the slice budget into `readings`. Returns true while work is
   * left. Scheduled by write(); exposed for tests.
   */
  mergeStep(): boolean;
  /** Staged (not yet merged) rows of a series with from <= ts < to, ascending, one per ts (the last written). */
  stagedRange(seriesId: number, from: number, to: number): StoredRow[];
  /**
   * stagedRange of these series as of now, however long it is kept and whatever is written,
   * merged or deleted meanwhile: for a read transaction opened in the same event-loop turn.
   */
  snapshotStaged(seriesIds: readonly number[]): (seriesId: number, from: number, to: number) => StoredRow[];
  /** The staged row of a series with the greatest ts. */
  newestStaged(seriesId: number): StoredRow | undefined;
  /** No staged row is older than this (Infinity when staging is empty): retention merges first only below it. */
  oldestStagedTs(): number;
  /** Whether any of these series may have rows in `staging` (unindexed: deleting them costs a pass over it). */
  hasStaged(seriesIds: readonly number[]): boolean;
  /**
   * These series were deleted with their rows in `staging`, in a transaction that committed
   * (their rows in `readings` are purged in slices, sqlite-readings-purge.ts): drop their
   * mirrored rows (also from the generation being merged, so no slice brings them back)
   * and the series-id cache.
   */
  forgetSeries(seriesIds: readonly number[]): void;
  /** lastMergeMs: how long the last background generation took, first slice to last delete (null before one) */
  status(): { stagedRows: number; mergingRows: number; merges: number; lastMergeAt: number | null; lastMergeMs: number | null };
  /** Merges what is staged so the next open starts clean. Idempotent. */
  close(): void;
}

/**
 * Rows per merge slice (one transaction, one event-loop turn): ~10 ms on the shared
 * 2-core dev machine with a 10 M-row table; the slice ends at a series boundary.
 */
const DEFAULT_SLICE_ROWS = 5000;
/**
 * Staging rows deleted per step once a generation is in `readings`: one DELETE of a
 * 100k-row generation took 20-60 ms on the dev machine, so it is sliced too (by seq, oldest first,
 * which a kill half way leaves consistent: what is left is re-merged, in seq order, on open).
 */
const DELETE_CHUNK = 20_000;

export function createSqliteReadingsWriter(
  db: Database.Database,
  opts: {
    logger: Logger;
    clock: Clock;
    mergeThresholdRows: number;
    mergeDelayMs: number;
    sliceRows?: number;
    deleteRows?: number;
  },
): SqliteReadingsWriter {
  const sliceRows = opts.sliceRows ?? DEFAULT_SLICE_ROWS;
  const deleteRows = opts.deleteRows ?? DELETE_CHUNK;
  const { idOf: seriesId, clear: clearSeriesIds } = createSeriesIds(db);
  const insertStaging = createRowBatcher(db, 'INSERT INTO staging (series_id, ts, num, txt, kind)');
  // ORDER BY ... seq makes a later write of the same key land later, so REPLACE keeps it.
  const mergeInsert = db.prepare(
    `INSERT OR REPLACE INTO readings (series_id, ts, num, txt, kind)
     SELECT series_id, ts, num, txt, kind FROM staging ORDER BY series_id, ts, seq`,
  );
  const clearStaging = db.prepare('DELETE FROM staging');
  const merge = createSlicedMerge(db);

  /**
   * What `staging` holds, per series, as parallel arrays in write order (reads keep the
   * last write of a ts, as the merge will): lets reads lay staged rows over merged ones
   * without scanning the unindexed staging table. Columns rather than a row object per
   * point, because up to a merge's worth of rows live here and each object used to
   * outlive several young-generation collections. Updated only after a commit succeeds.
   */
  let mirror = new Map<number, StagedColumns>();
  // Rows left in staging by a previous process (killed before merging) count too.
  // `staged` counts the rows in staging that are not part of the generation being merged.
  let staged = (db.prepare('SELECT count(*) AS n FROM staging').get() as { n: number }).n;
  // oldest ts staged since the last freeze / in the generation being merged, until its staging rows are gone
  let oldestStaged = Number.POSITIVE_INFINITY;
  let oldestMerging = Number.POSITIVE_INFINITY;
  let merges = 0;
  let lastMergeAt: number | null = null;
  let lastMergeMs: number | null = null;
  /** when the generation being merged was frozen: a generation that takes longer than the writes that fill the next one is falling behind */
  let generationStarted = 0;
  let timer: NodeJS.Timeout | null = null;
  let mergeScheduled = false;
  let closed = false;

  /** Returns, per point, its series id, for the mirror once the commit succeeded. */
  const writeTx = db.transaction((points: readonly ReadingPoint[]) => {
    insertStaging.reset();
    const ids: number[] = new Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const sid = seriesId(p);
      ids[i] = sid;
      // encodeValue inlined: no object per point
      const v = p.value;
      const num = typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null;
      const txt = typeof v === 'string' ? v : null;
      const kind = typeof v === 'number' ? KIND_NUMBER : typeof v === 'boolean' ? KIND_BOOLEAN : KIND_STRING;
      insertStaging.add(sid, p.ts, num, txt, kind);
    }
    insertStaging.flush();
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
      if (points[i]!.ts < oldestStaged) oldestStaged = points[i]!.ts;
    }
  }

  const mergeTx = db.transaction(() => {
    mergeInsert.run();
    clearStaging.run();
  });

  function mergeNow(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (staged === 0 && !merge.active) return;
    const rows = staged + merge.rows;
    const started = performance.now();
    // Also what is left of a generation being merged in slices: re-inserting its
    // already-merged rows is harmless (same values, seq order keeps the last write).
    mergeTx();
    mirror.clear();
    merge.clear();
    staged = 0;
    oldestStaged = oldestMerging = Number.POSITIVE_INFINITY;
    merges++;
    lastMergeAt = opts.clock.now();
    opts.logger.debug({ rows, ms: Math.round(performance.now() - started) }, 'merged staged readings');
  }

  function mergeStep(): boolean {
    if (!merge.active) {
      if (timer) clearTimeout(timer);
      timer = null;
      if (staged === 0) return false;
      merge.start(mirror, staged);
      generationStarted = performance.now();
      mirror = new Map();
      staged = 0;
      oldestMerging = oldestStaged;
      oldestStaged = Number.POSITIVE_INFINITY;
    }
    const started = performance.now();
    const rows = merge.rows;
    // Writes that outrun the slices make the slices bigger rather than the backlog longer.
    const scale = 1 + Math.floor(staged / opts.mergeThresholdRows);
    if (!merge.step(sliceRows * scale, deleteRows * scale)) return true;
    merges++;
    lastMergeAt = opts.clock.now();
    lastMergeMs = Math.round(performance.now() - generationStarted);
    oldestMerging = Number.POSITIVE_INFINITY;
    opts.logger.debug(
      { rows, ms: lastMergeMs, stagedSince: staged, lastSliceMs: Math.round(performance.now() - started) },
      'merged staged readings',
    );
    if (staged >= opts.mergeThresholdRows) return true;
    // rows staged while this generation was merged: merged within mergeDelayMs, as any others
    if (staged > 0 && !timer) {
      timer = setTimeout(backgroundMerge, opts.mergeDelayMs);
      timer.unref();
    }
    return false;
  }

  function backgroundMerge(): void {
    mergeScheduled = false;
    if (closed) return;
    let more = false;
    try {
      more = mergeStep();
    } catch (err) {
      // Staging is intact after a failed slice; the next read barrier merges it in one go,
      // and the next write retries the slices.
      opts.logger.error({ err }, 'merging staged readings failed');
    }
    if (more) {
      // The next slice after the I/O that arrived meanwhile: PUBACKs keep flowing.
      mergeScheduled = true;
      setImmediate(backgroundMerge);
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
        clearSeriesIds();
        throw err;
      }
      remember(points, ids);
      staged += points.length;
      if (staged >= opts.mergeThresholdRows || merge.active) {
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
    mergeStep,
    stagedRange: (seriesId, from, to) => stagedRangeOf(viewOf(merge.pending(seriesId)), viewOf(mirror.get(seriesId)), from, to),
    snapshotStaged(seriesIds) {
      const views = new Map<number, [StagedView | undefined, StagedView | undefined]>();
      for (const id of seriesIds) views.set(id, [viewOf(merge.pending(id)), viewOf(mirror.get(id))]);
      return (id, from, to) => {
        const v = views.get(id);
        return v ? stagedRangeOf(v[0], v[1], from, to) : [];
      };
    },
    newestStaged(seriesId) {
      const newer = mirror.get(seriesId);
      const older = merge.pending(seriesId);
      const a = newer ? newestStagedRow(newer) : undefined;
      const b = older ? newestStagedRow(older) : undefined;
      return a && (!b || a.ts >= b.ts) ? a : b;
    },
    hasStaged: (seriesIds) => seriesIds.some((id) => mirror.has(id) || merge.holds(id)),
    forgetSeries(seriesIds) {
      clearSeriesIds();
      // oldestStaged stays as it is: a lower bound still (retention may merge when it need not)
      for (const id of seriesIds) {
        staged -= mirror.get(id)?.ts.length ?? 0;
        mirror.delete(id);
        merge.forget(id);
      }
    },
    oldestStagedTs: () => Math.min(oldestStaged, oldestMerging),
    status: () => ({ stagedRows: staged + merge.rows, mergingRows: merge.rows, merges, lastMergeAt, lastMergeMs }),
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
