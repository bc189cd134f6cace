import Database from 'better-sqlite3';
import { vi } from 'vitest';

/**
 * Catches the better-sqlite3 connections opened on this thread while it is on (through the
 * PRAGMA calls every opener makes), so a test can read per-connection settings back on them.
 * stop() ends the watch and returns the ones still open and writable.
 */
export function watchSqliteConnections(): { stop(): Database.Database[] } {
  const seen = new Set<Database.Database>();
  const pragma = Database.prototype.pragma;
  const spy = vi.spyOn(Database.prototype, 'pragma').mockImplementation(function (this: Database.Database, ...a) {
    seen.add(this);
    return pragma.apply(this, a);
  });
  return {
    stop() {
      spy.mockRestore();
      return [...seen].filter((db) => db.open && !db.readonly);
    },
  };
}

/** PRAGMA synchronous of a connection: 1 = NORMAL, 2 = FULL. */
export const synchronousLevel = (db: Database.Database) => db.pragma('synchronous', { simple: true }) as number;
