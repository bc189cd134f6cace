import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.ts';
import { silentLogger } from '../logger.ts';
import type { ReadingValue } from '../readings.ts';
import { readingsDdl } from './sqlite-readings-schema.ts';
import { createSqliteReadingsWriter } from './sqlite-readings-writer.ts';

const T0 = Date.UTC(2026, 10, 28);
const point = (source: string, ts: number, value: ReadingValue) => ({
  bucketId: 'b',
  dataSourceId: source,
  metric: 'm',
  ts,
  value,
});

describe('sqlite readings writer: merge in slices', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  function openDb(path: string): Database.Database {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(readingsDdl);
    cleanups.push(() => db.open && db.close());
    return db;
  }
  function writerOn(db: Database.Database) {
    // no automatic merges: the test steps the slices itself
    return createSqliteReadingsWriter(db, {
      logger: silentLogger,
      clock: systemClock,
      mergeThresholdRows: Number.MAX_SAFE_INTEGER,
      mergeDelayMs: 3_600_000,
      sliceRows: 2,
      deleteRows: 5,
    });
  }
  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-writer-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'readings.db');
  }
  const count = (db: Database.Database, table: string) =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const merged = (db: Database.Database) =>
    db.prepare('SELECT series_id AS s, ts, num, txt, kind FROM readings ORDER BY series_id, ts').all();

  it('moves a generation a few series per step; reads see generation and newer rows, the newer winning', () => {
    const db = openDb(tempPath());
    const w = writerOn(db);
    // three series (ids 1, 2, 3 in first-write order), three rows each; ts T0 written twice in series a
    w.write([point('a', T0, 1), point('b', T0, 10), point('c', T0, 100)]);
    w.write([point('a', T0 + 1, 2), point('b', T0 + 1, 'x'), point('c', T0 + 1, true), point('a', T0, 'a-last')]);
    w.write([point('b', T0 + 2, 12), point('c', T0 + 2, 102)]);
    expect(count(db, 'staging')).toBe(9);

    // slice budget 2 rows, every series has 3: one whole series per step, in id order
    expect(w.mergeStep()).toBe(true);
    expect(merged(db)).toEqual([
      { s: 1, ts: T0, num: null, txt: 'a-last', kind: 2 },
      { s: 1, ts: T0 + 1, num: 2, txt: null, kind: 0 },
    ]);
    expect(w.status()).toMatchObject({ stagedRows: 9, mergingRows: 9, merges: 0, lastMergeMs: null });
    // frozen rows stay in staging until the whole generation is in `readings` (a kill re-merges them)
    expect(count(db, 'staging')).toBe(9);

    // writes after the freeze: one to a merged series, one to a series still waiting for its slice
    w.write([point('a', T0 + 1, 'a-new'), point('c', T0 + 2, 'c-new'), point('c', T0 + 3, 103)]);
    expect(w.stagedRange(1, T0, T0 + 10)).toEqual([{ ts: T0 + 1, num: null, txt: 'a-new', kind: 2 }]);
    expect(w.stagedRange(3, T0, T0 + 10)).toEqual([
      { ts: T0, num: 100, txt: null, kind: 0 },
      { ts: T0 + 1, num: 1, txt: null, kind: 1 },
      { ts: T0 + 2, num: null, txt: 'c-new', kind: 2 },
      { ts: T0 + 3, num: 103, txt: null, kind: 0 },
    ]);
    expect(w.stagedRange(3, T0 + 1, T0 + 3).map((r) => r.ts)).toEqual([T0 + 1, T0 + 2]);
    expect(w.newestStaged(3)).toEqual({ ts: T0 + 3, num: 103, txt: null, kind: 0 });
    expect(w.newestStaged(2)).toEqual({ ts: T0 + 2, num: 12, txt: null, kind: 0 });

    expect(w.mergeStep()).toBe(true); // series 2
    expect(w.stagedRange(2, T0, T0 + 10)).toEqual([]);
    expect(w.mergeStep()).toBe(true); // series 3: the whole generation is in `readings`
    expect(count(db, 'staging')).toBe(12);
    // its staging rows go 5 per step, oldest first; the three newer rows stay staged
    expect(w.mergeStep()).toBe(true);
    expect(count(db, 'staging')).toBe(7);
    expect(w.status()).toMatchObject({ mergingRows: 9, merges: 0 });
    expect(w.mergeStep()).toBe(false);
    expect(w.status()).toMatchObject({ stagedRows: 3, mergingRows: 0, merges: 1, lastMergeMs: expect.any(Number) });
    expect(count(db, 'staging')).toBe(3);
    expect(count(db, 'readings')).toBe(8);
    expect(w.stagedRange(3, T0, T0 + 10).map((r) => r.ts)).toEqual([T0 + 2, T0 + 3]);

    // the next generation (1 row of series 1 + 2 of series 3: one slice, the budget is reached
    // only at a series boundary, then one delete step) holds the newer rows and replaces the
    // merged ones of the same ts
    expect(w.mergeStep()).toBe(true);
    expect(w.mergeStep()).toBe(false);
    expect(count(db, 'staging')).toBe(0);
    expect(merged(db)).toEqual([
      { s: 1, ts: T0, num: null, txt: 'a-last', kind: 2 },
      { s: 1, ts: T0 + 1, num: null, txt: 'a-new', kind: 2 },
      { s: 2, ts: T0, num: 10, txt: null, kind: 0 },
      { s: 2, ts: T0 + 1, num: null, txt: 'x', kind: 2 },
      { s: 2, ts: T0 + 2, num: 12, txt: null, kind: 0 },
      { s: 3, ts: T0, num: 100, txt: null, kind: 0 },
      { s: 3, ts: T0 + 1, num: 1, txt: null, kind: 1 },
      { s: 3, ts: T0 + 2, num: null, txt: 'c-new', kind: 2 },
      { s: 3, ts: T0 + 3, num: 103, txt: null, kind: 0 },
    ]);
  });

  it('a process gone half way through a generation loses nothing: the next open re-merges staging, last write winning', () => {
    const path = tempPath();
    const db = openDb(path);
    const w = writerOn(db);
    w.write([point('a', T0, 1), point('b', T0, 10), point('a', T0 + 1, 2), point('b', T0 + 1, 11), point('a', T0, 3)]);
    w.write([point('c', T0, 1), point('c', T0 + 1, 2), point('c', T0 + 2, 3), point('c', T0 + 3, 4)]);
    expect(w.mergeStep()).toBe(true); // series a merged, b and c not yet
    w.write([point('a', T0, 4), point('b', T0 + 1, 'late')]);
    // no close(): as after SIGKILL, only what was committed is on disk
    db.close();

    const db2 = openDb(path);
    const w2 = writerOn(db2); // merges what is staged on open
    expect(count(db2, 'staging')).toBe(0);
    expect(merged(db2)).toEqual([
      { s: 1, ts: T0, num: 4, txt: null, kind: 0 },
      { s: 1, ts: T0 + 1, num: 2, txt: null, kind: 0 },
      { s: 2, ts: T0, num: 10, txt: null, kind: 0 },
      { s: 2, ts: T0 + 1, num: null, txt: 'late', kind: 2 },
      { s: 3, ts: T0, num: 1, txt: null, kind: 0 },
      { s: 3, ts: T0 + 1, num: 2, txt: null, kind: 0 },
      { s: 3, ts: T0 + 2, num: 3, txt: null, kind: 0 },
      { s: 3, ts: T0 + 3, num: 4, txt: null, kind: 0 },
    ]);
    expect(w2.status()).toMatchObject({ stagedRows: 0, mergingRows: 0 });
  });

  it('a process gone half way through deleting a merged generation from staging loses nothing either', () => {
    const path = tempPath();
    const db = openDb(path);
    const w = writerOn(db);
    // 12 rows, series a written twice per ts: the later value must win after the re-merge
    w.write([point('a', T0, 1), point('a', T0 + 1, 2), point('b', T0, 10), point('a', T0, 3)]);
    w.write([point('b', T0 + 1, 11), point('a', T0 + 1, 4), point('b', T0 + 2, 12), point('b', T0 + 3, 13)]);
    w.write([point('b', T0 + 4, 14), point('b', T0 + 5, 15), point('a', T0 + 2, 5), point('a', T0, 6)]);
    while (count(db, 'staging') === 12) w.mergeStep();
    expect(count(db, 'staging')).toBe(7); // 5 deleted, the generation's other 7 still staged
    w.write([point('a', T0 + 1, 'after')]);
    db.close();

    const db2 = openDb(path);
    writerOn(db2);
    expect(count(db2, 'staging')).toBe(0);
    expect(merged(db2)).toEqual([
      { s: 1, ts: T0, num: 6, txt: null, kind: 0 },
      { s: 1, ts: T0 + 1, num: null, txt: 'after', kind: 2 },
      { s: 1, ts: T0 + 2, num: 5, txt: null, kind: 0 },
      ...[10, 11, 12, 13, 14, 15].map((v, i) => ({ s: 2, ts: T0 + i, num: v, txt: null, kind: 0 })),
    ]);
  });

  it('mergeNow in the middle of a generation folds in the rest and everything staged since', () => {
    const db = openDb(tempPath());
    const w = writerOn(db);
    w.write([
      point('a', T0, 1),
      point('b', T0, 10),
      point('a', T0 + 1, 2),
      point('b', T0 + 1, 11),
      point('a', T0 + 2, 3),
    ]);
    expect(w.mergeStep()).toBe(true);
    w.write([point('b', T0, 'newer')]);
    w.mergeNow();
    expect(count(db, 'staging')).toBe(0);
    expect(count(db, 'readings')).toBe(5);
    expect(db.prepare('SELECT txt FROM readings WHERE series_id = 2 AND ts = ?').pluck().get(T0)).toBe('newer');
    expect(w.status()).toMatchObject({ stagedRows: 0, mergingRows: 0 });
    expect(w.stagedRange(1, 0, T0 * 2)).toEqual([]);
    expect(w.mergeStep()).toBe(false);
  });
});
