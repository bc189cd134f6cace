/**
 * DAKKIO_SQLITE_SYNCHRONOUS reaches every connection that commits: the readings store's
 * writer (merges, purge and retention run on it too) and the metadata database. PRAGMA
 * synchronous is per connection, so each is read back on the connection itself
 * (1 = NORMAL, 2 = FULL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { createSqliteMetadataDb, sqliteHandleOf } from './metadata/sqlite-metadata-db.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import type { SqliteSynchronous } from './sqlite-synchronous.ts';
import { synchronousLevel as level, watchSqliteConnections } from './testing/sqlite-connections.ts';

describe('SQLite synchronous level', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function dir(): string {
    const d = mkdtempSync(join(tmpdir(), 'dakkio-sync-'));
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  }

  /** The writable connections the store opens on this thread. */
  async function storeConnections(synchronous?: SqliteSynchronous): Promise<Database.Database[]> {
    const watch = watchSqliteConnections();
    cleanups.push(() => watch.stop());
    const store = await createSqliteReadingStore({
      path: join(dir(), 'readings.db'),
      logger: silentLogger,
      ...(synchronous ? { synchronous } : {}),
    });
    cleanups.push(() => store.close());
    const writable = watch.stop();
    expect(writable.length).toBeGreaterThan(0);
    return writable;
  }

  it("the readings store's connections commit at NORMAL by default and at FULL with synchronous 'full'", async () => {
    for (const db of await storeConnections()) expect(level(db)).toBe(1);
    for (const db of await storeConnections('normal')) expect(level(db)).toBe(1);
    for (const db of await storeConnections('full')) expect(level(db)).toBe(2);
  });

  it("the metadata database commits at NORMAL by default and at FULL with synchronous 'full'", async () => {
    const d = dir();
    const normal = await createSqliteMetadataDb(join(d, 'normal.db'));
    cleanups.push(() => normal.destroy());
    const full = await createSqliteMetadataDb(join(d, 'full.db'), { synchronous: 'full' });
    cleanups.push(() => full.destroy());
    expect(level(sqliteHandleOf(normal)!)).toBe(1);
    expect(level(sqliteHandleOf(full)!)).toBe(2);
  });
});
