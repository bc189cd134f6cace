/**
 * The SQLite store's user-initiated whole-series operations — streamRaw (CSV export),
 * deleteDataSource, deleteBucket — with rows in all three places: `readings`, the
 * generation being merged (part moved, part pending) and staged since. None of them may
 * merge staging first (a one-go merge of up to two generations held the event loop for
 * seconds); the writer's merge count shows whether one happened.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { ReadingValue } from '../readings.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { stagedRows } from './testing/staged-rows.ts';

const T0 = Date.UTC(2026, 10, 28);
const B = 'b00000000000000000000001';
const B2 = 'b00000000000000000000002';
const S = ['d00000000000000000000001', 'd00000000000000000000002', 'd00000000000000000000003'] as const;
const range = { bucketId: B, from: 0, to: T0 * 2, limitPerSeries: 1_000 };

const point = (source: string, ts: number, value: ReadingValue, bucketId = B) => ({ bucketId, dataSourceId: source, metric: 'm', ts, value });
const turn = () => new Promise((r) => setImmediate(r));
const detail = async (store: ReadingStore) => (await store.health()).detail as { stagedRows: number; mergingRows: number; merges: number };

describe('sqlite store: export and deletes without a merge first', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-user-ops-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'readings.db');
  }
  async function open(path: string): Promise<ReadingStore> {
    // a generation every 6 rows, moved one series per slice (one slice per event-loop turn)
    const store = await createSqliteReadingStore({ path, logger: silentLogger, mergeThresholdRows: 6, mergeSliceRows: 1 });
    cleanups.push(() => store.close());
    return store;
  }
  async function untilMerges(store: ReadingStore, n: number): Promise<void> {
    for (let i = 0; i < 100 && (await detail(store)).merges < n; i++) await turn();
    expect((await detail(store)).merges).toBe(n);
  }

  /**
   * Three sources (series 1-3): ts 0-2 in `readings` (generation 1, done); ts 10-12 in
   * generation 2, whose first slice moved source 0 into `readings` and left 1 and 2 pending;
   * ts 20 and a rewrite of ts 11 staged since the freeze (the rewrite wins).
   */
  async function rowsInAllThreeParts(store: ReadingStore, bucketId = B): Promise<void> {
    await store.write(S.flatMap((s, i) => [0, 1, 2].map((k) => point(s, T0 + k, i * 100 + k, bucketId))));
    await untilMerges(store, 1);
    await store.write(S.flatMap((s, i) => [10, 11, 12].map((k) => point(s, T0 + k, i * 100 + k, bucketId))));
    await turn();
    expect(await detail(store)).toMatchObject({ stagedRows: 9, mergingRows: 9, merges: 1 });
    await store.write(S.flatMap((s) => [point(s, T0 + 20, 'newer', bucketId), point(s, T0 + 11, 'rewritten', bucketId)]));
  }
  const expected = (i: number) => [
    ...[0, 1, 2, 10].map((k) => [T0 + k, i * 100 + k]),
    [T0 + 11, 'rewritten'],
    [T0 + 12, i * 100 + 12],
    [T0 + 20, 'newer'],
  ];

  it('streamRaw lays staged rows over the stored ones (every row once, the last write winning) and merges nothing', async () => {
    const store = await open(tempPath());
    await rowsInAllThreeParts(store);
    const before = await detail(store);
    const rows: [string, number, ReadingValue][] = [];
    for await (const r of store.streamRaw({ bucketId: B, from: 0, to: T0 * 2 })) {
      rows.push([r.dataSourceId, r.ts, r.value]);
      if (rows.length === 1) {
        expect(await detail(store)).toEqual(before); // nothing merged to start it
        // what happens while it streams is not seen: more slices, a write, a delete
        await turn();
        await turn();
        await store.write([point(S[2], T0 + 11, 'after the export began'), point(S[2], T0 + 30, 'later')]);
        await store.deleteDataSource(B, S[1]);
      }
    }
    expect(before).toMatchObject({ stagedRows: 15, mergingRows: 9, merges: 1 });
    expect(rows).toEqual(S.flatMap((s, i) => expected(i).map(([ts, v]) => [s, ts, v])));
    const limited = [];
    for await (const r of store.streamRaw({ bucketId: B, from: T0 + 1, to: T0 + 21, limit: 9 })) limited.push([r.dataSourceId, r.ts]);
    expect(limited).toEqual([...[1, 2, 10, 11, 12, 20].map((k) => [S[0], T0 + k]), ...[1, 2, 10].map((k) => [S[2], T0 + k])]);
    const after = await store.queryRaw(range);
    expect(after.map((s) => s.dataSourceId)).toEqual([S[0], S[2]]);
    expect(after[1]!.points).toContainEqual([T0 + 11, 'after the export began']);
  });

  it('deleteDataSource removes its rows from every part at once, merges nothing, and a new series never inherits them', async () => {
    const path = tempPath();
    const store = await open(path);
    await rowsInAllThreeParts(store);
    await store.deleteDataSource(B, S[0]); // moved part of the generation, and staged since
    await store.deleteDataSource(B, S[2]); // pending part of the generation, and staged since
    expect(await detail(store)).toMatchObject({ stagedRows: 5, mergingRows: 3, merges: 1 });
    expect(stagedRows(path)).toBe(5); // source 1's: 3 of the generation + 2 since
    const only1 = [{ dataSourceId: S[1], metric: 'm', points: expected(1) }];
    expect(await store.queryRaw(range)).toEqual(only1);
    expect(await store.stats(B)).toMatchObject({ readings: 7, perDataSource: [{ dataSourceId: S[1], readings: 7 }] });
    // the next series gets source 2's freed id (3): it must not show, nor be merged with, its rows
    await store.write([point('d-new', T0 + 5, 'new'), point(S[0], T0, 'other bucket', B2)]);
    expect((await store.queryRaw({ ...range, dataSourceIds: ['d-new'] }))[0]?.points).toEqual([[T0 + 5, 'new']]);
    await untilMerges(store, 2);
    for (let i = 0; i < 20; i++) await turn(); // and any generation after it
    const settled = [{ dataSourceId: 'd-new', metric: 'm', points: [[T0 + 5, 'new']] }, ...only1];
    expect(await store.queryRaw(range)).toEqual(settled);
    await store.close(); // merges what is left
    const reopened = await open(path);
    expect(await reopened.queryRaw(range)).toEqual(settled);
    expect((await reopened.queryRaw({ ...range, bucketId: B2 }))[0]?.points).toEqual([[T0, 'other bucket']]);
  });

  it('deleteBucket removes the bucket from every part at once and merges nothing; other buckets keep theirs', async () => {
    const path = tempPath();
    const store = await open(path);
    await rowsInAllThreeParts(store);
    await store.write([point(S[0], T0, 'other bucket', B2)]);
    await store.deleteBucket(B);
    expect(await detail(store)).toMatchObject({ stagedRows: 1, mergingRows: 0, merges: 1 });
    expect(stagedRows(path)).toBe(1);
    expect(await store.queryRaw(range)).toEqual([]);
    expect(await store.latest(B)).toEqual([]);
    expect((await store.stats(B)).readings).toBe(0);
    for (let i = 0; i < 20; i++) await turn();
    await store.close();
    const reopened = await open(path);
    expect(await reopened.queryRaw(range)).toEqual([]);
    expect((await reopened.queryRaw({ ...range, bucketId: B2 }))[0]?.points).toEqual([[T0, 'other bucket']]);
  });

  it('a deleted source stays deleted after SIGKILL with the generation half merged', async () => {
    const path = tempPath();
    const childFile = join(dirname(fileURLToPath(import.meta.url)), 'sqlite-readings-kill-child.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', childFile, path, '12345', 'delete-mid-merge'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const end = out.indexOf('\n');
        if (end >= 0) resolve(out.slice(0, end));
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // the kill landed mid-generation: d1's part moved into `readings`, d5's still pending
    expect(JSON.parse(line.slice('written '.length))).toMatchObject({ merges: 0, mergingRows: 12345 - 1764 - 1763 });
    const store = await open(path);
    const all = await store.queryRaw({ ...range, bucketId: 'b1', limitPerSeries: 1_000_000 });
    expect(all.map((s) => s.dataSourceId)).toEqual(['d0', 'd2', 'd3', 'd4', 'd6']);
    expect(all.map((s) => s.points.length)).toEqual([1765, 1765, 1765, 1764, 1764]);
    expect(all[4]!.points[0]).toEqual([T0 + 6, 'rewritten']);
    expect(all[0]!.points.at(-1)).toEqual([T0 + 20_000, -1]);
    expect(await store.countReadings(['b1'], 0)).toEqual({ total: 8823, since: 8823 });
    // nor were their staged rows merged at the open under their freed series ids (a new series could take one)
    const raw = new Database(path, { readonly: true });
    cleanups.push(() => {
      raw.close();
    });
    expect(raw.prepare('SELECT count(*) FROM readings WHERE series_id NOT IN (SELECT id FROM series)').pluck().get()).toBe(0);
  });
});
