import Database from 'better-sqlite3';
import { READINGS_SCHEMA_VERSION, readingsDdl } from '../sqlite-readings-schema.ts';

/**
 * A new readings.db at the current schema, WAL, with no store around it: for tests that fill
 * `series`, `readings` or `staging` by hand (faster than writing through a store, and rows can be
 * put where only a merge or an old version would put them). The caller closes it.
 */
export function newReadingsDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(readingsDdl);
  db.pragma(`user_version = ${READINGS_SCHEMA_VERSION}`);
  return db;
}
