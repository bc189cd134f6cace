/**
 * Schema and value encoding of the SQLite readings database (readings.db).
 *
 * Why three tables: inserting 1,000-row transactions spread over thousands of
 * series straight into a (series, ts)-keyed B-tree touches a different leaf page
 * per row, and each touched page is rewritten into the WAL at commit (~26k rows/s
 * measured). So writes append to `staging` (rowid order, a few pages per commit)
 * and a merge step moves staging into `readings` in key order, touching each leaf
 * page once per merge (see bench/store-write-pattern.ts for the figures).
 */
import Database from 'better-sqlite3';
import { DakkioError } from '../errors.ts';
import type { ReadingValue } from '../readings.ts';
import { applySynchronous, type SqliteSynchronous } from './sqlite-synchronous.ts';

/**
 * 2: `series_tombstones` (deleted series whose rows are still being purged from `readings`,
 * sqlite-readings-purge.ts). A version-1 file gains the table on open; a dakkio that knows
 * only version 1 refuses a version-2 file, since it would hand a tombstoned id to a new
 * series, which would then inherit the rows not yet purged.
 */
export const READINGS_SCHEMA_VERSION = 2;

export const readingsDdl = `
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  bucket_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  UNIQUE (bucket_id, source_id, metric)
);
CREATE TABLE IF NOT EXISTS readings (
  series_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  num REAL,
  txt TEXT,
  kind INTEGER NOT NULL,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staging (
  seq INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  num REAL,
  txt TEXT,
  kind INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS series_tombstones (
  id INTEGER PRIMARY KEY
);
`;

/** kind column: how to turn (num, txt) back into a ReadingValue. */
export const KIND_NUMBER = 0;
export const KIND_BOOLEAN = 1;
export const KIND_STRING = 2;

export interface EncodedValue {
  num: number | null;
  txt: string | null;
  kind: number;
}

/**
 * Booleans are stored as 1/0 in `num` so avg/min/max/sum treat them as numbers
 * (avg of an on/off metric is its duty cycle); strings leave `num` NULL, which
 * SQL's aggregate functions skip.
 */
export function encodeValue(value: ReadingValue): EncodedValue {
  if (typeof value === 'number') return { num: value, txt: null, kind: KIND_NUMBER };
  if (typeof value === 'boolean') return { num: value ? 1 : 0, txt: null, kind: KIND_BOOLEAN };
  return { num: null, txt: value, kind: KIND_STRING };
}

export function decodeValue(num: number | null, txt: string | null, kind: number): ReadingValue {
  if (kind === KIND_BOOLEAN) return num === 1;
  if (kind === KIND_STRING) return txt ?? '';
  return num ?? 0;
}

export interface SeriesRow {
  id: number;
  source_id: string;
  metric: string;
}

/** Opens (and creates or checks the schema of) the store's writer connection. */
export function openReadingsDb(path: string, synchronous: SqliteSynchronous = 'normal'): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    applySynchronous(db, synchronous);
    db.pragma('busy_timeout = 5000');
    // Merges touch many index pages; a 32 MiB cache keeps the hot ones.
    db.pragma('cache_size = -32768');
    db.pragma('temp_store = MEMORY');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > READINGS_SCHEMA_VERSION) {
      throw new DakkioError('store_unavailable', `readings database ${path} was written by a newer dakkio`);
    }
    db.exec(readingsDdl);
    // 0: a new file; 1: the DDL above has just added series_tombstones
    if (version < READINGS_SCHEMA_VERSION) db.pragma(`user_version = ${READINGS_SCHEMA_VERSION}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
