/**
 * How durable a commit to dakkio's SQLite files (readings.db, dakkio.db) is when it is
 * acknowledged (201, PUBACK, an API change answered). Both files run in WAL mode.
 *
 * - `normal` (SQLite's NORMAL, the default): a commit is appended to the WAL and left in
 *   the OS page cache, not fsynced. It survives a crash or SIGKILL of dakkio, but a power
 *   cut or an OS crash may lose the last commits before it, acknowledged or not (the file
 *   stays consistent: SQLite fsyncs the WAL before each checkpoint copies it).
 * - `full` (FULL): the WAL is fsynced in every commit before it returns, so what was
 *   acknowledged also survives a power cut or OS crash (on storage that honours flushes).
 *   One fsync per transaction: the ingest pipeline's group commit (core/ingest/
 *   ingest-pipeline.ts) makes that one per group of requests, not one per request; its
 *   cost is measured in bench/RESULTS.md ("SQLite synchronous = FULL").
 *
 * The level is per connection, so every connection that commits to a file is given it.
 * The WAL checkpointer's connection (sqlite-checkpointer.ts) commits nothing: at NORMAL and
 * FULL alike a checkpoint fsyncs the WAL before copying it and the database file after,
 * which is what keeps the file whole; it gets the same level so that never depends on a
 * build default. Read-only connections (stats worker, exports) have nothing to sync.
 */
import type Database from 'better-sqlite3';

export const SQLITE_SYNCHRONOUS_LEVELS = ['normal', 'full'] as const;
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS_LEVELS)[number];

/** The PRAGMA statement that puts a connection at `level`, for connections opened elsewhere (a worker). */
export function synchronousPragma(level: SqliteSynchronous = 'normal'): string {
  return level === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL';
}

export function applySynchronous(db: Database.Database, level: SqliteSynchronous = 'normal'): void {
  db.pragma(synchronousPragma(level));
}
