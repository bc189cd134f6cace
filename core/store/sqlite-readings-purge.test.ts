/**
 * Deleted series' rows leave `readings` in slices (sqlite-readings-purge.ts): the delete
 * returns after the first slice, no read / stats / count / retention / export sees the rows
 * still waiting, no new series inherits them, a SIGKILL mid-purge is resumed at the next
 * open, and a version-1 readings.db (before tombstones) opens and works.
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
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { createSqliteStatsReader } from './sqlite-stats-reader.ts';

const T0 = Date.UTC(2026, 10, 28);
const A = 'b0000000000000000000000a';
const B = 'b0000000000000000000000b';
const S = ['d00000000000000000000001', 'd00000000000000000000002', 'd00000000000000000000003'] as const;
const all = (bucketId: string) => ({ bucketId, from: 0, to: T0 * 2, limitPerSeries: 1_000_000 });
const point = (bucketId: string, source: string, ts: number, value: number | string) => ({ bucketId, dataSourceId: source, metric: 'm', ts, value });
const turn = () => new Promise((r) => setImmediate(r));
type Detail = { purgeSeries: number; purgeSlices: number; purgedRows: number; merges: number };
const detail = async (store: ReadingStore) => (await store.health()).detail as Detail;

describe('sqlite store: deleted series purged in slices', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-purge-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'readings.db');
  }
  async function open(path: string, purgeSliceRows = 10): Promise<ReadingStore> {
    const store = await createSqliteReadingStore({ path, logger: silentLogger, purgeSliceRows });
    cleanups.push(() => store.close());
    return store;
  }
  /** what is on disk, on a connection of its own */
  function onDisk(path: string) {
    const raw = new Database(path, { readonly: true });
    try {
      return {
        orphans: raw.prepare('SELECT count(*) FROM readings WHERE series_id NOT IN (SELECT id FROM series)').pluck().get() as number,
        tombstones: raw.prepare('SELECT id FROM series_tombstones ORDER BY id').pluck().all() as number[],
        seriesIds: raw.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[],
      };
    } finally {
      raw.close();
    }
  }
  /** bucket A: 3 sources × 20 rows, bucket B: 5 rows, all merged into `readings` (the close merges) */
  async function filled(path: string): Promise<void> {
    const store = await createSqliteReadingStore({ path, logger: silentLogger });
    await store.write(S.flatMap((s, i) => Array.from({ length: 20 }, (_, k) => point(A, s, T0 + k, i * 100 + k))));
    await store.write(Array.from({ length: 5 }, (_, k) => point(B, S[0], T0 + k, k)));
    await store.close();
  }

  it('deleteBucket returns after one slice; nothing shows the rows still waiting; the slices finish the job', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path);
    await store.deleteBucket(A);
    // one 10-row slice ran before the call returned; the other 50 rows wait for later turns
    expect(await detail(store)).toMatchObject({ purgeSeries: 3, purgeSlices: 1, purgedRows: 10, merges: 0 });
    expect(onDisk(path)).toMatchObject({ orphans: 50, tombstones: [1, 2, 3] });
    expect(await store.queryRaw(all(A))).toEqual([]);
    expect(await store.queryAggregate({ ...all(A), fn: 'count', intervalMs: 3_600_000 })).toEqual([]);
    expect(await store.latest(A)).toEqual([]);
    const exported = [];
    for await (const r of store.streamRaw({ bucketId: A, from: 0, to: T0 * 2 })) exported.push(r);
    expect(exported).toEqual([]);
    await turn();
    expect(onDisk(path).orphans).toBe(40); // a slice per event-loop turn
    // retention passes over the bucket without touching (or failing on) the waiting rows
    await store.deleteBefore(A, T0 + 1_000);
    expect(onDisk(path).orphans).toBe(40);
    // the other bucket keeps its rows, in reads and in the stats worker's counts
    expect((await store.queryRaw(all(B)))[0]?.points).toHaveLength(5);
    for (let i = 0; i < 100 && (await detail(store)).purgeSeries > 0; i++) await turn();
    expect(await detail(store)).toMatchObject({ purgeSeries: 0, purgedRows: 60 });
    expect(onDisk(path)).toMatchObject({ orphans: 0, tombstones: [] });
    expect((await store.stats(A)).readings).toBe(0);
    expect(await store.countReadings([A, B], 0)).toEqual({ total: 5, since: 5 });
  });

  it('a new series never takes the id of a deleted series whose rows are still waiting', async () => {
    const path = tempPath();
    await filled(path);
    const store = await open(path, 1);
    // bucket B's series has the highest id (4): SQLite's own choice for the next one would be 4 again
    await store.deleteBucket(B);
    expect(onDisk(path)).toMatchObject({ orphans: 4, tombstones: [4], seriesIds: [1, 2, 3] });
    await store.write([point(B, S[0], T0 + 2, 'new')]);
    expect(onDisk(path).seriesIds).toEqual([1, 2, 3, 5]);
    expect((await store.queryRaw(all(B)))[0]?.points).toEqual([[T0 + 2, 'new']]);
    expect(await store.latest(B)).toMatchObject([{ ts: T0 + 2, value: 'new' }]);
    expect(await store.countReadings([B], 0)).toEqual({ total: 1, since: 1 });
    expect((await store.stats(B)).readings).toBe(1);
    for (let i = 0; i < 100 && (await detail(store)).purgeSeries > 0; i++) await turn();
    await store.close();
    const reopened = await open(path);
    expect((await reopened.queryRaw(all(B)))[0]?.points).toEqual([[T0 + 2, 'new']]);
    expect(onDisk(path)).toMatchObject({ orphans: 0, tombstones: [] });
  });

  it('a SIGKILL mid-purge brings nothing back; the next open resumes the purge', async () => {
    const path = tempPath();
    const childFile = join(dirname(fileURLToPath(import.meta.url)), 'sqlite-readings-kill-child.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', childFile, path, '12000', 'delete-bucket-purging'], {
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
    expect(JSON.parse(line.slice('written '.length))).toMatchObject({ purgeSeries: 7, purgedRows: 1000 });
    // b1's 7 series (d0..d6) tombstoned, 11,000 of their rows still in `readings`; b2's series is id 8
    expect(onDisk(path)).toEqual({ orphans: 11_000, tombstones: [1, 2, 3, 4, 5, 6, 7], seriesIds: [8] });
    // the stats worker alone (no store, so no purge running) counts none of them
    const stats = createSqliteStatsReader(path);
    cleanups.push(() => stats.close());
    expect((await stats.stats('b1')).readings).toBe(0);
    expect(await stats.countReadings(['b1', 'b2'], 0)).toEqual({ total: 100, since: 100 });
    const store = await open(path, 1000);
    expect(await store.queryRaw({ ...all('b1') })).toEqual([]);
    await store.write([{ bucketId: 'b1', dataSourceId: 'd0', metric: 'm', ts: T0 + 5, value: 'new' }]);
    expect(onDisk(path).seriesIds).toEqual([8, 9]);
    for (let i = 0; i < 100 && (await detail(store)).purgeSeries > 0; i++) await turn();
    expect(await detail(store)).toMatchObject({ purgeSeries: 0, purgedRows: 11_000 });
    expect(onDisk(path)).toMatchObject({ orphans: 0, tombstones: [] });
    expect((await store.queryRaw(all('b1')))[0]?.points).toEqual([[T0 + 5, 'new']]);
    expect((await store.queryRaw(all('b2')))[0]?.points).toHaveLength(100);
  });

  it('opens a version-1 readings.db (no tombstone table): migrates it, reads and deletes work', async () => {
    const path = tempPath();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE series (id INTEGER PRIMARY KEY, bucket_id TEXT NOT NULL, source_id TEXT NOT NULL, metric TEXT NOT NULL,
        UNIQUE (bucket_id, source_id, metric));
      CREATE TABLE readings (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, num REAL, txt TEXT, kind INTEGER NOT NULL,
        PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
      CREATE TABLE staging (seq INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, ts INTEGER NOT NULL, num REAL, txt TEXT,
        kind INTEGER NOT NULL);
      INSERT INTO series VALUES (1, '${A}', '${S[0]}', 'm'), (2, '${B}', '${S[0]}', 'm');
      INSERT INTO readings VALUES (1, ${T0}, 1.5, NULL, 0), (1, ${T0 + 1}, 2.5, NULL, 0), (2, ${T0}, 7, NULL, 0);
      INSERT INTO staging (series_id, ts, num, txt, kind) VALUES (1, ${T0 + 2}, 3.5, NULL, 0);
    `);
    old.pragma('user_version = 1');
    old.close();
    const store = await open(path);
    expect((await store.queryRaw(all(A)))[0]?.points).toEqual([[T0, 1.5], [T0 + 1, 2.5], [T0 + 2, 3.5]]);
    await store.deleteBucket(A);
    expect(await store.queryRaw(all(A))).toEqual([]);
    expect((await store.queryRaw(all(B)))[0]?.points).toEqual([[T0, 7]]);
    await store.close();
    const raw = new Database(path, { readonly: true });
    cleanups.push(() => {
      raw.close();
    });
    expect(raw.pragma('user_version', { simple: true })).toBe(2);
    expect(raw.prepare('SELECT count(*) FROM readings').pluck().get()).toBe(1);
  });
});
