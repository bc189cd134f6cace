/**
 * streamRaw of the SQLite readings store (the CSV export): every row of the selected
 * series, ordered by source, metric and ts, read without merging staging first.
 *
 * Merging first (up to two 400k-row generations in one transaction) held the event loop
 * for seconds on a 10 M-row table: no PUBACK or HTTP answer for any device while one
 * user clicked "export". Instead the export reads `readings` on its own read-only
 * connection inside one read transaction and lays the staged rows over them (a staged
 * row replaces the stored row of the same ts: the last write wins, as the merge does).
 * Both parts are taken in the same event-loop turn: the read transaction's snapshot
 * starts at its first SELECT, and the writer's staged rows are captured right after,
 * before any write, merge slice or delete can commit — so the export holds every row
 * acknowledged before it started exactly once, whatever is merged while it streams.
 * The captured staged rows are views of the writer's columns (they only grow), kept
 * alive by the export until it ends.
 *
 * Its own connection also keeps the writer connection free: better-sqlite3 forbids
 * writes on a connection during .iterate().
 */
import Database from 'better-sqlite3';
import type { ReadingValue, SeriesSelector } from '../readings.ts';
import type { StoredRow } from './sqlite-readings-overlay.ts';
import { decodeValue, type SeriesRow } from './sqlite-readings-schema.ts';

export interface ExportSources {
  path: string;
  /** SQL of the store's series-of-bucket statement (one parameter: the bucket id) */
  seriesSql: string;
  /** SQL of the store's raw-range statement (@sid, @from, @to, @lim) */
  rawSql: string;
  /** The series of the selector, among those the statement returns. */
  select(query: SeriesSelector, stmt: Database.Statement<[string], SeriesRow>): SeriesRow[];
  /** The writer's staged rows of these series as of now (SqliteReadingsWriter.snapshotStaged). */
  snapshotStaged(seriesIds: readonly number[]): (seriesId: number, from: number, to: number) => StoredRow[];
  /** Open export connections, closed by the store's close(). */
  readers: Set<Database.Database>;
}

export interface ExportedRow {
  dataSourceId: string;
  metric: string;
  ts: number;
  value: ReadingValue;
}

export async function* exportRows(src: ExportSources, query: SeriesSelector & { limit?: number }): AsyncGenerator<ExportedRow> {
  const reader = new Database(src.path, { readonly: true, fileMustExist: true });
  src.readers.add(reader);
  try {
    reader.exec('BEGIN');
    // No await between these two: the snapshot and the captured staged rows are one moment.
    const series = src.select(query, reader.prepare<[string], SeriesRow>(src.seriesSql));
    const stagedOf = src.snapshotStaged(series.map((s) => s.id));
    const stmt = reader.prepare<{ sid: number; from: number; to: number; lim: number }, StoredRow>(src.rawSql);
    let left = query.limit ?? Number.MAX_SAFE_INTEGER;
    const row = (s: SeriesRow, r: StoredRow): ExportedRow => ({
      dataSourceId: s.source_id,
      metric: s.metric,
      ts: r.ts,
      value: decodeValue(r.num, r.txt, r.kind),
    });
    for (const s of series) {
      if (left <= 0) break;
      // ascending, one per ts; the first `left` stored rows are enough, whatever the staged ones replace
      const staged = stagedOf(s.id, query.from, query.to);
      let j = 0;
      for (const r of stmt.iterate({ sid: s.id, from: query.from, to: query.to, lim: left })) {
        while (left > 0 && j < staged.length && staged[j]!.ts < r.ts) {
          left--;
          yield row(s, staged[j++]!);
        }
        if (left <= 0) break;
        left--;
        if (j < staged.length && staged[j]!.ts === r.ts) yield row(s, staged[j++]!);
        else yield row(s, r);
      }
      while (left > 0 && j < staged.length) {
        left--;
        yield row(s, staged[j++]!);
      }
    }
  } finally {
    src.readers.delete(reader);
    if (reader.open) reader.close();
  }
}
