/**
 * DAKKIO_SQLITE_SYNCHRONOUS, through the composition root, reaches both SQLite files a
 * dakkio commits to: readings.db and dakkio.db (1 = NORMAL, 2 = FULL, read back on each
 * connection the start opened on this thread).
 */
import { basename } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { synchronousLevel, watchSqliteConnections } from '../core/store/testing/sqlite-connections.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

describe('DAKKIO_SQLITE_SYNCHRONOUS', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function levelsOfFiles(env: Record<string, string>): Promise<Record<string, number[]>> {
    const watch = watchSqliteConnections();
    cleanups.push(() => watch.stop());
    const d: TestDakkio = await startTestDakkio({ env });
    cleanups.push(() => d.destroy());
    const levels: Record<string, number[]> = {};
    for (const db of watch.stop()) {
      const file = basename(db.name);
      levels[file] = [...(levels[file] ?? []), synchronousLevel(db)];
    }
    return levels;
  }

  it('unset: both files commit at NORMAL', async () => {
    expect(await levelsOfFiles({})).toEqual({ 'readings.db': [1], 'dakkio.db': [1] });
  });

  it('full: both files commit at FULL', async () => {
    expect(await levelsOfFiles({ DAKKIO_SQLITE_SYNCHRONOUS: 'full' })).toEqual({
      'readings.db': [2],
      'dakkio.db': [2],
    });
  });
});
