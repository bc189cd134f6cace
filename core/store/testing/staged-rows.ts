/**
 * Test helper: how many rows wait in readings.db's unindexed `staging` table (read on
 * a connection of its own, so it sees what is committed). Not imported by library code.
 */
import Database from 'better-sqlite3';

export function stagedRows(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM staging').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
