import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider } from 'kysely';
import { DakkioError } from '../../errors.ts';
import { applySynchronous, type SqliteSynchronous } from '../sqlite-synchronous.ts';
import { migrations } from './migrations/index.ts';
import type { MetadataDatabase } from './tables.ts';

export type MetadataDb = Kysely<MetadataDatabase>;

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** The better-sqlite3 handle behind each Kysely this module made (not behind a `withPlugin` copy of it). */
const handles = new WeakMap<MetadataDb, Database.Database>();

/**
 * The SQLite connection behind `db`, for the few hot lookups that run a prepared statement of their own
 * (DESIGN.md: key verification may, behind its port); undefined for any other database.
 */
export function sqliteHandleOf(db: MetadataDb): Database.Database | undefined {
  return handles.get(db);
}

export interface SqliteMetadataDbOptions {
  /** how durable an acknowledged change is (default 'normal'; ../sqlite-synchronous.ts) */
  synchronous?: SqliteSynchronous;
}

/**
 * Opens (creating if needed) the SQLite metadata database and brings it to the
 * newest schema. `path` ':memory:' is allowed for tests.
 */
export async function createSqliteMetadataDb(path: string, options: SqliteMetadataDbOptions = {}): Promise<MetadataDb> {
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  applySynchronous(sqlite, options.synchronous);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<MetadataDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db);
  handles.set(db, sqlite);
  return db;
}

export async function migrateToLatest(db: Kysely<MetadataDatabase>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DakkioError('internal', `metadata migration ${failed} failed`, { cause: error });
  }
}
