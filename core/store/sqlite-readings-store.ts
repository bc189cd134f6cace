import type Database from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { DakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { LatestValue, Series, SeriesSelector } from '../readings.ts';
import { type Checkpointer, type CheckpointerOptions, startCheckpointer } from './sqlite-checkpointer.ts';
import { exportRows } from './sqlite-readings-export.ts';
import { aggregateWithStaged, overlayRows } from './sqlite-readings-overlay.ts';
import { createSeriesPurge, type SeriesPurge } from './sqlite-readings-purge.ts';
import { prepareQueries } from './sqlite-readings-queries.ts';
import { sqliteQuietTime } from './sqlite-readings-quiet-time.ts';
import { createSlicedRetention } from './sqlite-readings-retention.ts';
import { decodeValue, openReadingsDb, type SeriesRow } from './sqlite-readings-schema.ts';
import { createSqliteReadingsWriter } from './sqlite-readings-writer.ts';
import { createSqliteStatsReader } from './sqlite-stats-reader.ts';
import type { SqliteSynchronous } from './sqlite-synchronous.ts';

export interface SqliteReadingStoreOptions {
  /** readings.db in the data dir */
  path: string;
  logger: Logger;
  clock?: Clock;
  /** merge staging into the indexed table once this many rows are staged (default 400,000; see MERGE_THRESHOLD_ROWS) */
  mergeThresholdRows?: number;
  /** ...or this long after the first unmerged row was written (default 5,000 ms) */
  mergeDelayMs?: number;
  /** rows moved into the indexed table per background merge slice (default 5,000; tests use tiny ones) */
  mergeSliceRows?: number;
  /** rows removed from `readings` per slice by the deleted-series purge and retention (default 50,000) */
  purgeSliceRows?: number;
  /** 'normal' (default): an acknowledged write survives a crash of dakkio; 'full': a power cut too */
  synchronous?: SqliteSynchronous;
  /** WAL checkpoints off the event loop (sqlite-checkpointer.ts); tests shrink its thresholds */
  checkpoint?: Pick<CheckpointerOptions, 'intervalMs' | 'startAtBytes' | 'maxWalFrames'>;
}

/**
 * How big a generation of staged rows gets before it is merged. A merge writes every
 * index page it touches (to the WAL, then again at the checkpoint), about one page per
 * series in the generation however few rows that series brought, so the write cost per
 * row falls with rows per series per generation. With 3,000 live series, 100k rows or
 * 1 s at ~70k/s gave each series ~25 rows (a sixth of a 4 KiB leaf page): merge slices,
 * their commits and the checkpoint worker cost ~2 µs per message more than at 100
 * series. 400k rows / 5 s bring ~130 rows per series, about a page; in the same run on
 * a 10 M-row table that gave 76k vs 65k messages per server CPU-second (bench/RESULTS.md,
 * "3,000 series: bigger merge generations"). Costs: up to two generations mirrored in
 * memory (~24 bytes a row, ~20 MB) and a longer one-go merge for the rare forced merge
 * (retention with a staged row older than its cutoff); stats, counts, exports and deletes
 * do not merge.
 */
const MERGE_THRESHOLD_ROWS = 400_000;
const MERGE_DELAY_MS = 5000;

const wrap = (err: unknown): DakkioError =>
  err instanceof DakkioError ? err : new DakkioError('store_unavailable', 'readings database error', { cause: err });

/**
 * The embedded ReadingStore: better-sqlite3 12, WAL, its own database file.
 *
 * Durability (sqlite-synchronous.ts): a resolved write() is in the WAL, so it survives SIGKILL (the
 * contract); at synchronous 'full' the WAL was fsynced too: it survives a power cut or OS crash as well.
 *
 * Reads see "last write wins" across both parts. queryRaw, queryAggregate, latest and
 * streamRaw lay the staged rows (mirrored in memory by the writer) over the indexed
 * table, so no read forces a merge: frequent ones would make small, page-scattering
 * merges, and a one-go merge of up to two generations holds the event loop for seconds
 * (the export: sqlite-readings-export.ts). Deletes remove the series and their staged
 * rows at once, their indexed rows in background slices (deleteSeries); retention deletes in slices too.
 * Stats and counts scan in a worker thread and count staged rows there (sqlite-stats-reader.ts).
 * Background merges run in slices between event-loop turns (sqlite-readings-writer.ts).
 */
export async function createSqliteReadingStore(options: SqliteReadingStoreOptions): Promise<ReadingStore> {
  const logger = options.logger.child({ component: 'sqlite-readings' });
  const { synchronous, clock = systemClock } = options;
  let opened: Database.Database | undefined;
  let q: ReturnType<typeof prepareQueries>;
  let writer: ReturnType<typeof createSqliteReadingsWriter>;
  let purge: SeriesPurge | undefined;
  let checkpointer: Checkpointer | undefined;
  try {
    opened = openReadingsDb(options.path, synchronous);
    q = prepareQueries(opened);
    // Also merges rows a killed process left staged.
    writer = createSqliteReadingsWriter(opened, {
      logger,
      clock,
      mergeThresholdRows: options.mergeThresholdRows ?? MERGE_THRESHOLD_ROWS,
      mergeDelayMs: options.mergeDelayMs ?? MERGE_DELAY_MS,
      ...(options.mergeSliceRows !== undefined ? { sliceRows: options.mergeSliceRows } : {}),
    });
    // Also resumes the purge of series deleted before a kill or close.
    purge = createSeriesPurge(opened, { logger, sliceRows: options.purgeSliceRows });
    checkpointer = startCheckpointer(opened, { path: options.path, logger, synchronous, ...options.checkpoint });
  } catch (err) {
    purge?.close();
    void checkpointer?.close();
    opened?.close();
    if (err instanceof DakkioError) throw err;
    throw new DakkioError('store_unavailable', `cannot open readings database at ${options.path}`, { cause: err });
  }
  const db = opened;
  const purger = purge;
  const retention = createSlicedRetention(db, { sliceRows: options.purgeSliceRows });
  const openReaders = new Set<Database.Database>();
  const statsReader = createSqliteStatsReader(options.path);
  let closed = false;

  function checkOpen(): void {
    if (closed) throw new DakkioError('store_unavailable', 'reading store is closed');
  }

  function selectSeries(
    bucketId: string,
    sel: Pick<SeriesSelector, 'dataSourceIds' | 'metrics'>,
    source = q.seriesOfBucket,
  ): SeriesRow[] {
    const sources = sel.dataSourceIds ? new Set(sel.dataSourceIds) : null;
    const metrics = sel.metrics ? new Set(sel.metrics) : null;
    return source
      .all(bucketId)
      .filter((s) => (!sources || sources.has(s.source_id)) && (!metrics || metrics.has(s.metric)));
  }

  function run<T>(fn: () => T): Promise<T> {
    try {
      checkOpen();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(wrap(err));
    }
  }

  async function offLoop<T>(fn: () => Promise<T>): Promise<T> {
    checkOpen();
    try {
      return await fn();
    } catch (err) {
      throw closed ? new DakkioError('store_unavailable', 'reading store is closed') : wrap(err);
    }
  }

  const store: ReadingStore = {
    async write(points) {
      if (closed) throw new DakkioError('store_unavailable', 'reading store is closed');
      try {
        writer.write(points);
      } catch (err) {
        throw wrap(err);
      }
    },

    queryRaw: (query) =>
      run(() => {
        const out: Series[] = [];
        for (const s of selectSeries(query.bucketId, query)) {
          const staged = writer.stagedRange(s.id, query.from, query.to);
          let rows = q.raw.all({ sid: s.id, from: query.from, to: query.to, lim: query.limitPerSeries });
          if (staged.length > 0) rows = overlayRows(rows, staged, query.limitPerSeries);
          if (rows.length === 0) continue;
          out.push({
            dataSourceId: s.source_id,
            metric: s.metric,
            points: rows.map((r) => [r.ts, decodeValue(r.num, r.txt, r.kind)]),
          });
        }
        return out;
      }),

    queryAggregate: (query) =>
      run(() => {
        const stmt = q.aggregate(query.fn);
        const typed = query.fn === 'first' || query.fn === 'last';
        const out: Series[] = [];
        for (const s of selectSeries(query.bucketId, query)) {
          const staged = writer.stagedRange(s.id, query.from, query.to);
          if (staged.length > 0) {
            const points = aggregateWithStaged(q, query, s.id, staged);
            if (points.length > 0) out.push({ dataSourceId: s.source_id, metric: s.metric, points });
            continue;
          }
          const rows = stmt.all({
            sid: s.id,
            from: query.from,
            to: query.to,
            iv: query.intervalMs,
            lim: query.limitPerSeries,
          });
          const points: Series['points'] = [];
          for (const r of rows) {
            if (typed) points.push([r.b, decodeValue(r.num, r.txt, r.kind ?? 0)]);
            else if (r.v !== null) points.push([r.b, r.v]);
          }
          if (points.length > 0) out.push({ dataSourceId: s.source_id, metric: s.metric, points });
        }
        return out;
      }),

    streamRaw: (query) => streamRaw(query),

    latest: (bucketId, dataSourceId) =>
      run(() => {
        const out: LatestValue[] = [];
        const sel = dataSourceId === undefined ? {} : { dataSourceIds: [dataSourceId] };
        for (const s of selectSeries(bucketId, sel)) {
          const merged = q.newest.get(s.id);
          const staged = writer.newestStaged(s.id);
          const r = staged && (!merged || staged.ts >= merged.ts) ? staged : merged;
          if (r) out.push({ dataSourceId: s.source_id, metric: s.metric, ts: r.ts, value: decodeValue(r.num, r.txt, r.kind) });
        }
        return out;
      }),

    // Off the event loop, on their own connection, without merging first (sqlite-stats-reader.ts).
    stats: (bucketId) => offLoop(() => statsReader.stats(bucketId)),

    countReadings: (bucketIds, sinceMs) => offLoop(() => statsReader.countReadings(bucketIds, sinceMs)),

    deleteBucket: (bucketId) => run(() => deleteSeries(selectSeries(bucketId, {}))),

    deleteDataSource: (bucketId, dataSourceId) =>
      run(() => deleteSeries(selectSeries(bucketId, { dataSourceIds: [dataSourceId] }))),

    // Retention runs hourly while ingest goes on: it merges first (up to two generations, seconds on the loop)
    // only when a staged row is older than the cutoff, then deletes in slices (sqlite-readings-retention.ts).
    deleteBefore: (bucketId, cutoffMs) =>
      offLoop(() => {
        if (writer.oldestStagedTs() < cutoffMs) writer.mergeNow();
        return retention.deleteBefore(selectSeries(bucketId, {}).map((s) => s.id), cutoffMs);
      }),

    ...sqliteQuietTime(db, statsReader, () => checkpointer, () => closed), // releaseMemory, workerHeaps
    async health() {
      if (closed) return { ok: false, state: 'down', detail: { reason: 'closed' } };
      try {
        db.prepare('SELECT 1').get();
        const detail = { ...writer.status(), ...purger.status(), ...retention.status(), ...checkpointer!.status() };
        return { ok: true, state: 'ok', detail };
      } catch (err) {
        return { ok: false, state: 'down', detail: { error: String(err) } };
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      retention.close();
      for (const reader of openReaders) reader.close();
      openReaders.clear();
      await statsReader.close();
      await checkpointer!.close();
      purger.close();
      try {
        writer.close();
      } finally {
        db.close();
      }
    },
  };

  /**
   * One transaction removes the series rows, tombstones their ids and deletes their staged
   * rows, then the writer forgets them (mirror, generation being merged): from that commit
   * no read, stats or retention finds them (all go through `series`), no merge brings a row
   * back, no new series takes an id (sqlite-readings-series-ids.ts). Their indexed rows go
   * in slices (sqlite-readings-purge.ts): the first before this returns (a small delete is
   * done with it), the rest between event-loop turns. No merge first; the staging pass
   * (unindexed: tens of ms at 400k-800k rows) is skipped when none of them has staged rows.
   */
  function deleteSeries(series: SeriesRow[]): void {
    if (series.length === 0) return;
    const ids = series.map((s) => s.id);
    const inStaging = writer.hasStaged(ids);
    const json = JSON.stringify(ids);
    db.transaction(() => {
      q.deleteSeriesOf.run(json);
      purger.tombstone(ids);
      if (inStaging) q.deleteStagingOf.run(json);
    })();
    writer.forgetSeries(ids);
    try {
      if (purger.step()) purger.schedule();
    } catch (err) {
      // the delete itself committed: the slices retry what is left
      logger.error({ err }, 'purging deleted series failed');
      purger.schedule();
    }
  }

  async function* streamRaw(query: SeriesSelector & { limit?: number }) {
    checkOpen();
    const select = (sel: SeriesSelector, stmt: Database.Statement<[string], SeriesRow>) => selectSeries(sel.bucketId, sel, stmt);
    const src = { path: options.path, seriesSql: q.seriesOfBucket.source, rawSql: q.raw.source, readers: openReaders };
    yield* exportRows({ ...src, select, snapshotStaged: writer.snapshotStaged }, query);
  }

  logger.debug({ path: options.path }, 'readings store open');
  return store;
}
