import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { newReadingsDb } from './testing/readings-db.ts';
import { stagedRows } from './testing/staged-rows.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const B = 'b00000000000000000000001';

describe('sqlite store: stats and counts off the event loop', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A readings.db whose `readings` already holds `rows` rows of two sources (ts = T0 + i s), merged. */
  function largeDb(rows: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-stats-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'readings.db');
    const db = newReadingsDb(path);
    db.prepare("INSERT INTO series (id, bucket_id, source_id, metric) VALUES (1, ?, 'd1', 'm'), (2, ?, 'd2', 'm')").run(
      B,
      B,
    );
    db.prepare(
      `WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?)
       INSERT INTO readings (series_id, ts, num, txt, kind) SELECT 1 + (n % 2), ? + n * 1000, n, NULL, 0 FROM i`,
    ).run(rows, T0);
    db.close();
    return path;
  }

  async function open(path: string): Promise<ReadingStore> {
    // never merges on its own: staged rows stay staged unless something forces a merge
    const store = await createSqliteReadingStore({
      path,
      logger: silentLogger,
      mergeThresholdRows: Number.MAX_SAFE_INTEGER,
      mergeDelayMs: 3_600_000,
    });
    cleanups.push(() => store.close());
    return store;
  }

  const point = (source: string, ts: number, value = 1) => ({
    bucketId: B,
    dataSourceId: source,
    metric: 'm',
    ts,
    value,
  });

  it('the event loop turns and a write completes while stats and counts scan a large table', async () => {
    const rows = 400_000;
    const path = largeDb(rows);
    const store = await open(path);
    let ts = T0 - DAY;
    for (const call of [
      () => store.stats(B).then((s) => s.readings),
      () => store.countReadings([B], 0).then((c) => c.total),
    ]) {
      const order: string[] = [];
      const pending = call().then((n) => {
        order.push('scan');
        return n;
      });
      await store.write([point('d3', ts++)]);
      order.push('write');
      await new Promise((r) => setImmediate(r));
      order.push('turn');
      const counted = await pending;
      // Scanning on the event loop answered before anything else could run.
      expect(order).toEqual(['write', 'turn', 'scan']);
      // Written before the scan was asked for: seen. Written after: not necessarily.
      expect(counted).toBeGreaterThanOrEqual(rows);
    }
    expect(await store.countReadings([B], 0)).toEqual({ total: rows + 2, since: rows + 2 });
  });

  it('counts a key once whether staged, merged, or both, and does not merge', async () => {
    const path = largeDb(10);
    const store = await open(path);
    await store.write([
      point('d1', T0, 5), // already merged: replaces, one reading
      point('d1', T0 + 2 * DAY),
      point('d1', T0 + 2 * DAY, 7), // staged twice: one reading
      point('d2', T0 - DAY), // new first reading of the bucket, on an earlier day
      point('d3', T0 + 5), // a source with staged rows only
    ]);
    // A generation half merged: rows in `readings` whose staging rows are not deleted yet.
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO staging (series_id, ts, num, txt, kind) VALUES (2, ?, 1, NULL, 0), (2, ?, 1, NULL, 0)')
      .run(T0 + 1000, T0 + 3000);
    raw.close();
    expect(stagedRows(path)).toBe(7);

    const stats = await store.stats(B);
    expect(stats).toEqual({
      readings: 13,
      firstAt: T0 - DAY,
      lastAt: T0 + 2 * DAY,
      perDataSource: [
        { dataSourceId: 'd1', readings: 6, firstAt: T0, lastAt: T0 + 2 * DAY },
        { dataSourceId: 'd2', readings: 6, firstAt: T0 - DAY, lastAt: T0 + 9000 },
        { dataSourceId: 'd3', readings: 1, firstAt: T0 + 5, lastAt: T0 + 5 },
      ],
      perDay: [
        { day: T0 - DAY, readings: 1 },
        { day: T0, readings: 11 },
        { day: T0 + 2 * DAY, readings: 1 },
      ],
    });
    expect(await store.countReadings([B], T0 + DAY)).toEqual({ total: 13, since: 1 });
    expect(stagedRows(path)).toBe(7);
  });

  it("sums a flood's staged keys in SQL: the worker's heap keeps no object per key", async () => {
    // 200k keys staged (a QoS 0 flood's tail): one JS object per key put ~28 MiB into the worker's old
    // space, which it kept after the call (bench/RESULTS.md, task W); per series and day it is 100 rows
    const store = await open(largeDb(10));
    await store.write(Array.from({ length: 200_000 }, (_, i) => point(`s${i % 100}`, T0 + DAY + i, i)));
    expect((await store.stats(B)).readings).toBe(200_010);
    const heap = (await store.workerHeaps!(2000)).statsReader!;
    expect(heap.oldMiB + heap.largeMiB).toBeLessThan(12);
  });

  it('rejects once the store is closed, also a call in flight', async () => {
    const store = await open(largeDb(100_000));
    const inFlight = expect(store.stats(B)).rejects.toMatchObject({ code: 'store_unavailable' });
    await store.close();
    await inFlight;
    await expect(store.countReadings([B], 0)).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
