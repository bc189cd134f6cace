/**
 * The background merge of the SQLite readings store, in slices (the writer schedules
 * the steps, one per event-loop turn).
 *
 * Once enough rows are staged, that generation of staged rows is frozen (rows up to a
 * staging seq) and moved into `readings` a few series at a time, one short transaction
 * per step, from the writer's in-memory mirror (series by series, so each slice touches
 * each series' tail page once, as a one-statement merge does). One 100k-row
 * INSERT ... SELECT on a 10 M-row table held the event loop for 200+ ms, long enough to
 * stall every PUBACK behind it.
 *
 * Crash safety: the frozen rows stay in staging until the whole generation is in
 * `readings`, then are deleted by seq range, oldest first, a chunk per step (one
 * 100k-row DELETE took 20-60 ms). A process killed at any point re-merges what is left
 * in staging at the next open, which is idempotent (INSERT OR REPLACE in seq order), so
 * nothing acknowledged is lost and the last write of a key still wins.
 */
import type Database from 'better-sqlite3';
import { createRowBatcher } from './sqlite-row-batcher.ts';
import type { StagedColumns } from './sqlite-readings-staged.ts';
import { KIND_STRING } from './sqlite-readings-schema.ts';

export interface SlicedMerge {
  /** True while a generation is being merged or its staging rows deleted. */
  readonly active: boolean;
  /** Rows of the generation (merged or not). */
  readonly rows: number;
  /**
   * Freezes everything staged up to now as the generation: takes over `mirror` (the
   * writer starts a new one) holding `rows` rows.
   */
  start(mirror: Map<number, StagedColumns>, rows: number): void;
  /**
   * One step: a slice of about `sliceRows` rows into `readings`, or once all are in, a
   * chunk of `deleteRows` of the generation's staging rows. Returns true when the
   * generation is done (merged and deleted).
   */
  step(sliceRows: number, deleteRows: number): boolean;
  /** The generation's rows of a series not yet moved into `readings`. */
  pending(seriesId: number): StagedColumns | undefined;
  /** True while the series has rows of the generation in `staging` (moved into `readings` or not). */
  holds(seriesId: number): boolean;
  /**
   * The series was deleted, with its rows in `readings` and `staging` (the caller's
   * transaction): its pending rows must not be moved into `readings` after all.
   */
  forget(seriesId: number): void;
  /** Forgets the generation (a one-transaction merge folded it in). */
  clear(): void;
}

export function createSlicedMerge(db: Database.Database): SlicedMerge {
  const maxSeq = db.prepare('SELECT max(seq) AS s FROM staging').pluck();
  const minSeq = db.prepare('SELECT min(seq) AS s FROM staging').pluck();
  const clearStagingUpTo = db.prepare<[number]>('DELETE FROM staging WHERE seq <= ?');
  const insert = createRowBatcher(db, 'INSERT OR REPLACE INTO readings (series_id, ts, num, txt, kind)');

  /** Series not yet moved into `readings`. */
  let merging = new Map<number, StagedColumns>();
  /** Rows per series of the whole generation, until it is done. */
  let sizes = new Map<number, number>();
  /** Their ids in key order, and how far the slices got. */
  let queue: number[] = [];
  let next = 0;
  /** Staging seq of the generation's last row; 0 when no generation is being merged. */
  let upTo = 0;
  /** Staging seq up to which the generation's rows are deleted (deletion starts once all are merged). */
  let deletedUpTo = 0;
  let rows = 0;

  /** Moves whole series, in key order, until the budget is spent; returns the queue index reached. */
  const sliceTx = db.transaction((budget: number): number => {
    insert.reset();
    let done = 0;
    let i = next;
    for (; i < queue.length && done < budget; i++) {
      const sid = queue[i]!;
      const cols = merging.get(sid);
      if (!cols) continue; // deleted since the freeze
      const { ts, num, kind, txt } = cols;
      const n = ts.length;
      // write order: a later write of the same ts replaces the earlier one, as the merge's ORDER BY seq does
      for (let r = 0; r < n; r++) {
        const isText = kind[r] === KIND_STRING;
        insert.add(sid, ts[r]!, isText ? null : num[r]!, isText ? (txt?.get(r) ?? '') : null, kind[r]!);
      }
      done += n;
    }
    insert.flush();
    return i;
  });

  return {
    get active() {
      return upTo !== 0;
    },
    get rows() {
      return rows;
    },
    start(mirror, staged) {
      upTo = maxSeq.get() as number;
      deletedUpTo = (minSeq.get() as number) - 1;
      merging = mirror;
      sizes = new Map();
      for (const [sid, cols] of merging) sizes.set(sid, cols.ts.length);
      queue = [...merging.keys()].sort((a, b) => a - b);
      next = 0;
      rows = staged;
    },
    step(sliceRows, deleteRows) {
      if (next < queue.length) {
        const until = sliceTx(sliceRows);
        // Only after the commit: these series are now read from `readings` (plus newer staged rows).
        for (let i = next; i < until; i++) merging.delete(queue[i]!);
        next = until;
        return false;
      }
      // The whole generation is in `readings`: its staging rows can go, a chunk per step.
      deletedUpTo = Math.min(upTo, deletedUpTo + deleteRows);
      clearStagingUpTo.run(deletedUpTo);
      if (deletedUpTo < upTo) return false;
      this.clear();
      return true;
    },
    pending: (seriesId) => merging.get(seriesId),
    holds: (seriesId) => sizes.has(seriesId),
    forget(seriesId) {
      rows -= sizes.get(seriesId) ?? 0;
      sizes.delete(seriesId);
      merging.delete(seriesId);
    },
    clear() {
      merging = new Map();
      sizes = new Map();
      queue = [];
      next = 0;
      upTo = 0;
      rows = 0;
    },
  };
}
