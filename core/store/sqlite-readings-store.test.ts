import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { stagedRows } from './testing/staged-rows.ts';

const T0 = Date.UTC(2026, 10, 28);
const B = 'b00000000000000000000001';
const S = 'd00000000000000000000001';

function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dakkio-readings-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('sqlite reading store specifics', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function open(path: string, opts: { mergeThresholdRows?: number } = {}): Promise<ReadingStore> {
    const store = await createSqliteReadingStore({ path, logger: silentLogger, ...opts });
    cleanups.push(() => store.close());
    return store;
  }
  function dir(): string {
    const t = tempDir();
    cleanups.push(t.remove);
    return t.dir;
  }
  const point = (ts: number, value: number | string | boolean) => ({
    bucketId: B,
    dataSourceId: S,
    metric: 'm',
    ts,
    value,
  });

  /** close() merges all of staging: the store reopened on the same file starts with none. */
  const mergeByReopening = async (store: ReadingStore, path: string): Promise<ReadingStore> => {
    await store.close();
    return open(path, { mergeThresholdRows: 1_000_000 });
  };

  it('hands its page cache back on request (quiet time) and reads and writes on as before', async () => {
    const store = await open(join(dir(), 'readings.db'), { mergeThresholdRows: 2 });
    await store.write([point(T0, 1), point(T0 + 1, 2), point(T0 + 2, 3)]);
    store.releaseMemory!();
    await store.write([point(T0 + 3, 4)]);
    const [series] = await store.queryRaw({ bucketId: B, from: T0, to: T0 + 10, limitPerSeries: 10 });
    expect(series!.points).toEqual([[T0, 1], [T0 + 1, 2], [T0 + 2, 3], [T0 + 3, 4]]);
    await store.close();
    store.releaseMemory!(); // a quiet moment may come after the close: nothing to do
  });

  it('reads lay staged rows over merged ones, and the merge keeps the same last write', async () => {
    const path = join(dir(), 'readings.db');
    let store = await open(path, { mergeThresholdRows: 1_000_000 });
    const range = { bucketId: B, from: 0, to: T0 * 2 };
    await store.write([point(T0, 1), point(T0 + 1, 1), point(T0 + 7200_000, 50)]);
    store = await mergeByReopening(store, path);
    expect(stagedRows(path)).toBe(0);
    // The same keys rewritten twice inside staging and once more in a later batch, plus new keys.
    await store.write([point(T0, 2), point(T0 + 1, 'two'), point(T0, 3), point(T0 + 2, 10)]);
    await store.write([point(T0 + 1, true)]);
    expect(stagedRows(path)).toBe(5);

    const expectedRaw: [number, number | boolean | string][] = [
      [T0, 3],
      [T0 + 1, true],
      [T0 + 2, 10],
      [T0 + 7200_000, 50],
    ];
    const aggregates = async () => {
      const out: Record<string, unknown> = {};
      for (const fn of ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const) {
        out[fn] = (await store.queryAggregate({ ...range, fn, intervalMs: 3600_000, limitPerSeries: 10 }))[0]?.points;
      }
      return out;
    };
    const expectedAgg = {
      avg: [[T0, 14 / 3], [T0 + 7200_000, 50]],
      min: [[T0, 1], [T0 + 7200_000, 50]],
      max: [[T0, 10], [T0 + 7200_000, 50]],
      sum: [[T0, 14], [T0 + 7200_000, 50]],
      count: [[T0, 3], [T0 + 7200_000, 1]],
      first: [[T0, 3], [T0 + 7200_000, 50]],
      last: [[T0, 10], [T0 + 7200_000, 50]],
    };
    // Read across both parts, without merging.
    expect((await store.queryRaw({ ...range, limitPerSeries: 10 }))[0]?.points).toEqual(expectedRaw);
    expect((await store.queryRaw({ ...range, limitPerSeries: 2 }))[0]?.points).toEqual(expectedRaw.slice(0, 2));
    expect(await aggregates()).toEqual(expectedAgg);
    const capped = await store.queryAggregate({ ...range, fn: 'sum', intervalMs: 3600_000, limitPerSeries: 1 });
    expect(capped[0]?.points).toEqual([[T0, 14]]);
    expect(await store.latest(B)).toEqual([{ dataSourceId: S, metric: 'm', ts: T0 + 7200_000, value: 50 }]);
    await store.write([point(T0 + 7200_000, 'newest')]);
    expect((await store.latest(B))[0]?.value).toBe('newest');
    expect(stagedRows(path)).toBe(6);
    // Stats count a key once whether it is staged, merged or both, and do not merge.
    expect(await store.stats(B)).toMatchObject({ readings: 4, firstAt: T0, lastAt: T0 + 7200_000 });
    expect(await store.countReadings([B], T0 + 2)).toEqual({ total: 4, since: 2 });
    expect(stagedRows(path)).toBe(6);

    // After the merge, the indexed table alone gives the same answers.
    store = await mergeByReopening(store, path);
    expect(stagedRows(path)).toBe(0);
    expect((await store.stats(B)).readings).toBe(4);
    expectedRaw[3] = [T0 + 7200_000, 'newest'];
    expect((await store.queryRaw({ ...range, limitPerSeries: 10 }))[0]?.points).toEqual(expectedRaw);
    const after = await aggregates();
    expect(after['sum']).toEqual([[T0, 14]]);
    expect(after['last']).toEqual([[T0, 10], [T0 + 7200_000, 'newest']]);
  });

  it('a large write (multi-row inserts plus a remainder) keeps order and the last write of a ts', async () => {
    const path = join(dir(), 'readings.db');
    const store = await open(path);
    // 150 points: two full 64-row chunks and 22 single rows; ts repeats every 50, so later writes must win
    const values = (i: number) => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : i % 2 === 0);
    await store.write(Array.from({ length: 150 }, (_, i) => point(T0 + (i % 50), values(i))));
    const expected = Array.from({ length: 50 }, (_, k) => [T0 + k, values(100 + k)]);
    const range = { bucketId: B, from: T0, to: T0 + 50, limitPerSeries: 100 };
    expect((await store.queryRaw(range))[0]?.points).toEqual(expected);
    expect(stagedRows(path)).toBe(150);
    const db = new Database(path, { readonly: true });
    const seqOrder = db.prepare('SELECT ts FROM staging ORDER BY seq').all() as { ts: number }[];
    db.close();
    expect(seqOrder.map((r) => r.ts)).toEqual(Array.from({ length: 150 }, (_, i) => T0 + (i % 50)));
    expect((await store.stats(B)).readings).toBe(50);
    expect((await store.queryRaw(range))[0]?.points).toEqual(expected);
  });

  it('merges in the background once the threshold is reached', async () => {
    const path = join(dir(), 'readings.db');
    const store = await open(path, { mergeThresholdRows: 10 });
    await store.write(Array.from({ length: 12 }, (_, i) => point(T0 + i, i)));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(stagedRows(path)).toBe(0);
    expect((await store.health()).detail).toMatchObject({ stagedRows: 0, merges: 1 });
  });

  it('retention merges staging first only when a staged row is older than the cutoff', async () => {
    const path = join(dir(), 'readings.db');
    const store = await open(path, { mergeThresholdRows: 1_000_000 });
    await store.write(Array.from({ length: 10 }, (_, i) => point(T0 + i, i)));
    await store.deleteBefore(B, T0 + 100); // a staged row is older: merged, then deleted
    expect((await store.health()).detail).toMatchObject({ stagedRows: 0, merges: 1 });
    await store.write(Array.from({ length: 10 }, (_, i) => point(T0 + 200 + i, i)));
    await store.write([point(T0 + 150, 'late')]);
    await store.deleteBefore(B, T0 + 150); // every staged row is at or after the cutoff: no merge
    expect((await store.health()).detail).toMatchObject({ stagedRows: 11, merges: 1 });
    expect(stagedRows(path)).toBe(11);
    const range = { bucketId: B, from: 0, to: T0 * 2, limitPerSeries: 100 };
    expect((await store.queryRaw(range))[0]?.points.map(([ts]) => ts - T0)).toEqual([150, ...Array.from({ length: 10 }, (_, i) => 200 + i)]);
    await store.write([point(T0 + 50, 'older than the next cutoff')]);
    await store.deleteBefore(B, T0 + 201);
    expect((await store.health()).detail).toMatchObject({ stagedRows: 0, merges: 2 });
    expect((await store.queryRaw(range))[0]?.points.map(([ts]) => ts - T0)).toEqual(Array.from({ length: 9 }, (_, i) => 201 + i));
  });

  it('retention after a generation finished with rows staged since: only those count, not the merged ones', async () => {
    const path = join(dir(), 'readings.db');
    const store = await open(path, { mergeThresholdRows: 10 });
    const turn = () => new Promise((r) => setImmediate(r));
    await store.write(Array.from({ length: 12 }, (_, i) => point(T0 + i, i)));
    await turn(); // the generation freezes and moves into readings
    await store.write(Array.from({ length: 5 }, (_, i) => point(T0 + 200 + i, i))); // ingest goes on
    await turn(); // the generation's staging rows are deleted: done, with 5 rows staged since
    expect((await store.health()).detail).toMatchObject({ stagedRows: 5, merges: 1 });
    await store.deleteBefore(B, T0 + 100);
    expect((await store.health()).detail).toMatchObject({ stagedRows: 5, merges: 1 });
    const range = { bucketId: B, from: 0, to: T0 * 2, limitPerSeries: 100 };
    expect((await store.queryRaw(range))[0]?.points.map(([ts]) => ts - T0)).toEqual([200, 201, 202, 203, 204]);
  });

  it('keeps data across close and reopen, including rows still staged', async () => {
    const path = join(dir(), 'readings.db');
    const first = await createSqliteReadingStore({ path, logger: silentLogger, mergeThresholdRows: 1_000_000 });
    await first.write([point(T0, 1), point(T0 + 5, 'x')]);
    await first.close();
    await first.close(); // idempotent
    await expect(first.write([point(T0, 2)])).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(first.latest(B)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect((await first.health()).ok).toBe(false);

    // A process killed before merging leaves rows in staging: simulate by writing them raw.
    const raw = new Database(path);
    const sid = (raw.prepare('SELECT id FROM series').get() as { id: number }).id;
    raw.prepare('INSERT INTO staging (series_id, ts, num, txt, kind) VALUES (?, ?, ?, NULL, 0)').run(sid, T0, 9);
    raw.close();

    const second = await open(path);
    expect((await second.queryRaw({ bucketId: B, from: 0, to: T0 * 2, limitPerSeries: 10 }))[0]?.points).toEqual([
      [T0, 9],
      [T0 + 5, 'x'],
    ]);
  });

  it('a write during an unfinished stream is not blocked and not seen by it', async () => {
    const path = join(dir(), 'readings.db');
    const store = await open(path);
    await store.write(Array.from({ length: 10 }, (_, i) => point(T0 + i, i)));
    const seen: number[] = [];
    for await (const row of store.streamRaw({ bucketId: B, from: 0, to: T0 * 2 })) {
      seen.push(row.ts);
      if (seen.length === 2) {
        await store.write([point(T0 + 100, 1)]);
        await store.deleteBefore(B, T0 + 5);
      }
    }
    expect(seen).toHaveLength(10);
    expect((await store.stats(B)).readings).toBe(6);
  });

  it('what write() acknowledged survives SIGKILL of the process', async () => {
    const path = join(dir(), 'readings.db');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'sqlite-readings-kill-child.ts'), path, '12345'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('written')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const store = await open(path);
    expect(await store.countReadings(['b1'], 0)).toEqual({ total: 12345, since: 12345 });
    const last = await store.queryRaw({ bucketId: 'b1', dataSourceIds: ['d3'], from: 0, to: T0 * 2, limitPerSeries: 1_000_000 });
    expect(last[0]?.points.at(-1)).toEqual([T0 + 12344, 12344]);
  });

  it('refuses a readings database from a newer schema, and a path it cannot open', async () => {
    const path = join(dir(), 'readings.db');
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    await expect(createSqliteReadingStore({ path, logger: silentLogger })).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(
      createSqliteReadingStore({ path: join(dir(), 'missing', 'dir', 'readings.db'), logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
