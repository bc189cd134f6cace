/**
 * Deleted series' rows leave `readings` in slices between event-loop turns.
 *
 * Why: deleteBucket removed every row of the bucket in one transaction on the event loop.
 * On a 1 M-row bucket (3,000 series) that held every PUBACK and HTTP answer for ~130 ms, and
 * the time grows with the bucket (bench/store-delete-bucket-stall.ts, bench/RESULTS.md).
 *
 * How: the delete's own transaction removes the `series` rows (so from its commit on, no
 * read finds the series: every read, the stats worker and retention go through `series`)
 * and records their ids here in `series_tombstones`, durable with it. The rows in
 * `readings` are then deleted a slice at a time — one short transaction per event-loop turn,
 * oldest ts first within a series — and a tombstone goes in the transaction that deletes
 * its series' last rows. New series ids are above every tombstoned id
 * (sqlite-readings-series-ids.ts), so no new series can inherit rows still waiting here.
 *
 * Crash safety: every state a kill can leave is a committed one — series rows gone and
 * tombstones recorded, some of their rows deleted — and the next open resumes the slices.
 * Nothing ever re-creates a `series` row for a tombstoned id, so the rows never come back.
 */
import type Database from 'better-sqlite3';
import type { Logger } from '../logger.ts';

export interface SeriesPurge {
  /** Inside the caller's transaction that deletes these series' rows from `series`. */
  tombstone(seriesIds: readonly number[]): void;
  /**
   * One slice: deletes up to the slice budget of tombstoned series' rows from `readings`,
   * and the tombstones whose rows are all gone. Returns true while work is left.
   */
  step(): boolean;
  /** Runs the slices, one per event-loop turn, until none is left (no-op while they run). */
  schedule(): void;
  /** purgeSeries: tombstones left; purgeSlices / purgedRows: since open */
  status(): { purgeSeries: number; purgeSlices: number; purgedRows: number };
  /** Stops scheduling; what is left is resumed by the next open. */
  close(): void;
}

/**
 * Rows per slice. A 1 M-row bucket (3,000 series) was deleted in ~130 ms on the shared
 * 2-core dev machine, ~0.13 µs a row, so 50,000 rows is a few ms; a slice also ends
 * after this many series, however few rows they hold (each costs a few statements).
 * Retention's slices use the same budget (sqlite-readings-retention.ts).
 */
export const DEFAULT_SLICE_ROWS = 50_000;
export const SERIES_PER_SLICE = 200;
/** after a failed slice (a disk error, say), the next try */
const RETRY_MS = 1000;

export function createSeriesPurge(db: Database.Database, opts: { logger: Logger; sliceRows?: number | undefined }): SeriesPurge {
  const sliceRows = Math.max(1, opts.sliceRows ?? DEFAULT_SLICE_ROWS);
  const insertTombstones = db.prepare<[string]>('INSERT OR IGNORE INTO series_tombstones (id) SELECT value FROM json_each(?)');
  const firstTombstone = db.prepare<[], number>('SELECT id FROM series_tombstones ORDER BY id LIMIT 1').pluck();
  const countTombstones = db.prepare<[], number>('SELECT count(*) FROM series_tombstones').pluck();
  const dropTombstone = db.prepare<[number]>('DELETE FROM series_tombstones WHERE id = ?');
  // the ts of the series' n-th oldest row (OFFSET n - 1): the slice deletes up to it
  const nthTs = db.prepare<[number, number], number>('SELECT ts FROM readings WHERE series_id = ? ORDER BY ts LIMIT 1 OFFSET ?').pluck();
  const deleteUpTo = db.prepare<[number, number]>('DELETE FROM readings WHERE series_id = ? AND ts <= ?');
  const deleteAll = db.prepare<[number]>('DELETE FROM readings WHERE series_id = ?');

  let slices = 0;
  let purged = 0;
  let scheduled = false;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  /** Returns the rows deleted and whether tombstones are left. */
  const sliceTx = db.transaction((): [number, boolean] => {
    let left = sliceRows;
    let deleted = 0;
    for (let n = 0; n < SERIES_PER_SLICE; n++) {
      const id = firstTombstone.get();
      if (id === undefined) return [deleted, false];
      const edge = nthTs.get(id, left - 1);
      if (edge !== undefined) {
        // at least `left` rows: this slice ends inside the series (the tombstone stays)
        deleted += deleteUpTo.run(id, edge).changes;
        return [deleted, true];
      }
      const gone = deleteAll.run(id).changes;
      dropTombstone.run(id);
      deleted += gone;
      left -= gone;
      if (left <= 0) break;
    }
    return [deleted, firstTombstone.get() !== undefined];
  });

  function step(): boolean {
    const [deleted, more] = sliceTx();
    slices++;
    purged += deleted;
    return more;
  }

  function run(): void {
    scheduled = false;
    if (closed) return;
    let more = false;
    try {
      more = step();
    } catch (err) {
      // The slice rolled back: its rows and tombstones are as before. Try again later.
      opts.logger.error({ err }, 'purging deleted series failed');
      retry ??= setTimeout(() => {
        retry = null;
        schedule();
      }, RETRY_MS);
      retry.unref();
      return;
    }
    if (more) schedule();
    else opts.logger.debug({ slices, rows: purged }, 'deleted series purged');
  }

  function schedule(): void {
    if (scheduled || closed) return;
    scheduled = true;
    // after the I/O that arrived meanwhile: PUBACKs keep flowing between slices
    setImmediate(run);
  }

  // Tombstones a killed or closed process left: resume.
  if (firstTombstone.get() !== undefined) schedule();

  return {
    tombstone(seriesIds) {
      insertTombstones.run(JSON.stringify(seriesIds));
    },
    step,
    schedule,
    status: () => ({ purgeSeries: countTombstones.get()!, purgeSlices: slices, purgedRows: purged }),
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
    },
  };
}
