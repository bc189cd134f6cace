/**
 * Retention's deleteBefore removes a bucket's expired rows from `readings` in slices between
 * event-loop turns.
 *
 * Why: it deleted them in one transaction on the event loop. The hourly pass usually drops an
 * hour's worth, but when a bucket's retention is lowered (365 -> 7 days) or after downtime it
 * drops most of the bucket, and every PUBACK and HTTP answer waited for it (~130 ms per 1 M rows
 * on the shared 2-core dev machine; bench/store-delete-bucket-stall.ts --op=retention,
 * bench/RESULTS.md "Retention without stalling ingest").
 *
 * How: like the purge of deleted series (sqlite-readings-purge.ts), whose slice budget it shares:
 * one short transaction per turn deletes up to `sliceRows` rows over up to SERIES_PER_SLICE
 * series, oldest ts first within a series (its n-th row below the cutoff bounds the slice, found
 * through the (series_id, ts) key). The call resolves once the last series is done, so after
 * `await deleteBefore` every row older than the cutoff that was there at the call is gone.
 * Calls queue and run one slice per turn in order, so two at once never double a turn's work.
 *
 * Interleaving: each slice is its own transaction, and what it deletes (rows older than the
 * cutoff, of series listed at the call) is idempotent, so ingest, merges, the purge and other
 * deleteBefore calls (the same bucket twice too) may run between slices. A row older than the
 * cutoff written during the call may survive it; the next hourly pass takes it. A series deleted
 * meanwhile: its rows are the purge's, and deleting some of them here is harmless. A kill or a
 * close between slices leaves committed state: older rows partly deleted, which the next pass
 * finishes; close() rejects the calls still waiting rather than leave them pending forever.
 */
import type Database from 'better-sqlite3';
import { DEFAULT_SLICE_ROWS, SERIES_PER_SLICE } from './sqlite-readings-purge.ts';

export interface SlicedRetention {
  /** Deletes these series' rows with ts < cutoffMs, a slice per event-loop turn; resolves when all are gone. */
  deleteBefore(seriesIds: readonly number[], cutoffMs: number): Promise<void>;
  /** retentionCalls: waiting or running; retentionSlices / retentionRows: since open */
  status(): { retentionCalls: number; retentionSlices: number; retentionRows: number };
  /** Rejects the calls still waiting; what they left is deleted by the next pass. Idempotent. */
  close(): void;
}

interface Job {
  ids: readonly number[];
  cutoff: number;
  /** index in ids of the series the next slice starts with */
  next: number;
  resolve(): void;
  reject(err: unknown): void;
}

export function createSlicedRetention(
  db: Database.Database,
  opts: { sliceRows?: number | undefined } = {},
): SlicedRetention {
  const sliceRows = Math.max(1, opts.sliceRows ?? DEFAULT_SLICE_ROWS);
  // the ts of the series' n-th oldest row below the cutoff (OFFSET n - 1): a full slice ends at it
  const nthBefore = db
    .prepare<[number, number, number], number>(
      'SELECT ts FROM readings WHERE series_id = ? AND ts < ? ORDER BY ts LIMIT 1 OFFSET ?',
    )
    .pluck();
  const deleteUpTo = db.prepare<[number, number]>('DELETE FROM readings WHERE series_id = ? AND ts <= ?');
  const deleteBefore = db.prepare<[number, number]>('DELETE FROM readings WHERE series_id = ? AND ts < ?');

  const jobs: Job[] = [];
  let slices = 0;
  let rows = 0;
  let scheduled = false;
  let closed = false;

  /** One slice of the job; advances job.next past the series it finished. Returns the rows deleted. */
  const sliceTx = db.transaction((job: Job): number => {
    let left = sliceRows;
    let deleted = 0;
    for (let n = 0; n < SERIES_PER_SLICE && job.next < job.ids.length; n++) {
      const id = job.ids[job.next]!;
      const edge = nthBefore.get(id, job.cutoff, left - 1);
      if (edge !== undefined) {
        // at least `left` older rows: this slice ends inside the series (the next one goes on with it)
        return deleted + deleteUpTo.run(id, edge).changes;
      }
      const gone = deleteBefore.run(id, job.cutoff).changes;
      job.next++;
      deleted += gone;
      left -= gone;
      if (left <= 0) break;
    }
    return deleted;
  });

  function run(): void {
    scheduled = false;
    const job = jobs[0];
    if (closed || !job) return;
    try {
      rows += sliceTx(job);
      slices++;
    } catch (err) {
      // The slice rolled back; earlier slices stay committed (older rows, gone either way).
      jobs.shift();
      job.reject(err);
      schedule();
      return;
    }
    if (job.next >= job.ids.length) {
      jobs.shift();
      job.resolve();
    }
    schedule();
  }

  function schedule(): void {
    if (scheduled || closed || jobs.length === 0) return;
    scheduled = true;
    // after the I/O that arrived meanwhile: PUBACKs keep flowing between slices
    setImmediate(run);
  }

  return {
    deleteBefore(seriesIds, cutoffMs) {
      if (closed) return Promise.reject(new Error('retention closed'));
      if (seriesIds.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        jobs.push({ ids: [...seriesIds], cutoff: cutoffMs, next: 0, resolve, reject });
        schedule();
      });
    },
    status: () => ({ retentionCalls: jobs.length, retentionSlices: slices, retentionRows: rows }),
    close() {
      if (closed) return;
      closed = true;
      const err = new Error('reading store closed before retention finished');
      for (const job of jobs.splice(0)) job.reject(err);
    },
  };
}
