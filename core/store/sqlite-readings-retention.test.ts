/**
 * Retention's deleteBefore deletes in slices between event-loop turns
 * (sqlite-readings-retention.ts): it yields while it works, resolves only when every older row
 * of the bucket is gone (and no other row), keeps its promise with ingest, merges, deletes and
 * other calls running between slices, rejects a slice's error, and rejects on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';

const T0 = Date.UTC(2026, 10, 28);
const A = 'b0000000000000000000000a';
const B = 'b0000000000000000000000b';
const S = ['d00000000000000000000001', 'd00000000000000000000002', 'd00000000000000000000003'] as const;
const all = (bucketId: string) => ({ bucketId, from: 0, to: T0 * 2, limitPerSeries: 1_000_000 });
const point = (bucketId: string, source: string, ts: number, value: number | string) => ({
  bucketId,
  dataSourceId: source,
  metric: 'm',
  ts,
  value,
});
const turn = () => new Promise((r) => setImmediate(r));
type Detail = { retentionCalls: number; retentionSlices: number; retentionRows: number; merges: number };
const detail = async (store: ReadingStore) => (await store.health()).detail as Detail;
/** ts offsets from T0 of every row of the bucket, per source */
const offsets = async (store: ReadingStore, bucketId: string) =>
  Object.fromEntries(
    (await store.queryRaw(all(bucketId))).map((s) => [s.dataSourceId, s.points.map(([ts]) => ts - T0)]),
  );
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('sqlite store: retention deletes in slices', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-retention-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'readings.db');
  }
  async function open(path: string, extra: { mergeThresholdRows?: number } = {}): Promise<ReadingStore> {
    const store = await createSqliteReadingStore({ path, logger: silentLogger, purgeSliceRows: 10, ...extra });
    cleanups.push(() => store.close());
    return store;
  }
  /** bucket A: 3 sources × 20 rows (ts T0 + 0..19), bucket B: 5 rows, all merged into `readings` (the close merges) */
  async function filled(path: string): Promise<void> {
    const store = await createSqliteReadingStore({ path, logger: silentLogger });
    await store.write(S.flatMap((s, i) => Array.from({ length: 20 }, (_, k) => point(A, s, T0 + k, i * 100 + k))));
    await store.write(Array.from({ length: 5 }, (_, k) => point(B, S[0], T0 + k, k)));
    await store.close();
  }

  it('yields to the event loop between slices and resolves when exactly the older rows of the bucket are gone', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path);
    const order: string[] = [];
    setImmediate(() => order.push('another turn'));
    // 45 rows to drop, 10 per slice: within a series (15 older rows) and across series
    await store.deleteBefore(A, T0 + 15);
    order.push('resolved');
    expect(order).toEqual(['another turn', 'resolved']);
    expect(await detail(store)).toMatchObject({ retentionCalls: 0, retentionSlices: 5, retentionRows: 45, merges: 0 });
    expect(await offsets(store, A)).toEqual({ [S[0]]: range(15, 20), [S[1]]: range(15, 20), [S[2]]: range(15, 20) });
    expect(await offsets(store, B)).toEqual({ [S[0]]: range(0, 5) });
    expect(await store.countReadings([A, B], 0)).toEqual({ total: 20, since: 20 });
  });

  it('keeps its promise with ingest, merges, a bucket delete and other calls between its slices', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path, { mergeThresholdRows: 4 });
    const first = store.deleteBefore(A, T0 + 15);
    const again = store.deleteBefore(A, T0 + 15); // the same bucket twice: idempotent
    const other = store.deleteBefore(B, T0 + 2);
    await turn();
    expect((await detail(store)).retentionCalls).toBe(3);
    // newer rows of A, merged by a background merge (threshold 4) between slices
    await store.write(S.map((s) => point(A, s, T0 + 30, 'new')));
    await store.write([point(A, S[0], T0 + 31, 'new'), point(A, S[1], T0 + 31, 'new')]);
    await turn();
    await store.deleteDataSource(A, S[2]);
    await Promise.all([first, again, other]);
    expect((await detail(store)).merges).toBeGreaterThan(0);
    expect(await offsets(store, A)).toEqual({ [S[0]]: [...range(15, 20), 30, 31], [S[1]]: [...range(15, 20), 30, 31] });
    expect(await offsets(store, B)).toEqual({ [S[0]]: range(2, 5) });
    for (let i = 0; i < 100 && (await store.health()).detail?.['purgeSeries'] !== 0; i++) await turn();
    const raw = new Database(path, { readonly: true });
    cleanups.push(() => {
      raw.close();
    });
    expect(
      raw.prepare('SELECT count(*) FROM readings WHERE series_id NOT IN (SELECT id FROM series)').pluck().get(),
    ).toBe(0);
  });

  it('a failing slice rejects its call (earlier slices stay done); the calls queued behind it go on', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path);
    // a slice that reaches A's row at T0 + 12 of the second source fails, as a disk error would
    const other = new Database(path);
    other.exec(`CREATE TRIGGER fail BEFORE DELETE ON readings WHEN old.ts = ${T0 + 12} AND old.num = 112
      BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    other.close();
    const failing = store.deleteBefore(A, T0 + 15);
    const queued = store.deleteBefore(B, T0 + 3);
    await expect(failing).rejects.toMatchObject({ code: 'store_unavailable' });
    await queued;
    const a = await offsets(store, A);
    expect(a[S[0]]).toEqual(range(15, 20));
    expect(a[S[1]]?.[0]).toBe(5); // rows 0-4 went with the second slice; the third (rows 5-14) rolled back
    expect(a[S[2]]).toEqual(range(0, 20));
    expect(await offsets(store, B)).toEqual({ [S[0]]: [3, 4] });
  });

  it('close while slices are pending rejects the call; the next pass on a reopened store finishes the job', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path);
    const pending = store.deleteBefore(A, T0 + 15);
    await turn();
    expect(await detail(store)).toMatchObject({ retentionCalls: 1, retentionSlices: 1 });
    await store.close();
    await expect(pending).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(store.deleteBefore(A, T0 + 15)).rejects.toMatchObject({ code: 'store_unavailable' });
    const reopened = await open(path);
    expect((await reopened.countReadings([A], 0)).total).toBe(50); // one 10-row slice done
    await reopened.deleteBefore(A, T0 + 15);
    expect(await reopened.countReadings([A], 0)).toEqual({ total: 15, since: 15 });
    expect(await offsets(reopened, B)).toEqual({ [S[0]]: range(0, 5) });
  });
});
