/**
 * QuestDB-only behaviour the shared contract can't see: the non-SAMPLE BY aggregate
 * path, partition drops on retention, hostile names passed as bind values, schema
 * idempotence, the series index and the migration of tables made before it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { makeQuestDbStore, type QuestDbStoreFixture } from '../../test/servers/questdb-fixture.ts';
import { sharedQuestDb } from '../../test/servers/questdb-provided.ts';
import type { ReadingPoint } from '../readings.ts';
import { sampleStride } from './questdb-reader.ts';
import { selectorWhere } from './questdb-selection.ts';
import { assertTableName, createTableSql, seriesKey } from './questdb-schema.ts';

const T0 = Date.UTC(2026, 10, 28);
const DAY = 86_400_000;
const B1 = 'b00000000000000000000001';
const B2 = 'b00000000000000000000002';
const S = 'd00000000000000000000001';
const p = (ts: number, value: number | string | boolean, bucketId = B1, metric = 'm'): ReadingPoint => ({
  bucketId,
  dataSourceId: S,
  metric,
  ts,
  value,
});
const all = { bucketId: B1, from: 0, to: T0 + 365 * DAY, limitPerSeries: 1_000_000 };

describe('questdb schema helpers', () => {
  it('accepts only plain identifiers as table names', () => {
    expect(assertTableName('readings_1')).toBe('readings_1');
    for (const bad of ['', '1abc', 'a b', 'x;DROP TABLE y', 'a"b', 'a'.repeat(65)]) {
      expect(() => assertTableName(bad)).toThrowError(expect.objectContaining({ code: 'validation_failed' }));
    }
    expect(() => createTableSql('r; DROP TABLE readings')).toThrow();
  });

  it('builds series keys that never collide, whatever the ids and metrics hold', () => {
    expect(seriesKey('b1', 's1', 'temp')).toBe('b1/s1/temp');
    expect(seriesKey('b', 'a/b', 'c')).not.toBe(seriesKey('b', 'a', 'b/c'));
    expect(seriesKey('b', 'a%2Fb', 'c')).not.toBe(seriesKey('b', 'a/b', 'c'));
    expect(seriesKey('b/1', 's%1', 'm')).toBe('b%2F1/s%251/m');
  });

  it('writes strides in the largest exact unit', () => {
    expect(sampleStride(10_000)).toBe('10s');
    expect(sampleStride(60_000)).toBe('1m');
    expect(sampleStride(3_600_000)).toBe('1h');
    expect(sampleStride(DAY)).toBe('1d');
    expect(sampleStride(1500)).toBe('1500T');
  });
});

const qdb = sharedQuestDb();

describe.skipIf(!qdb)('questdb store specifics', () => {
  const fixtures: QuestDbStoreFixture[] = [];
  afterEach(async () => {
    for (const f of fixtures.splice(0)) await f.cleanup();
  });
  const open = async (table?: string, extra: { rowsPerRequest?: number } = {}) => {
    const f = await makeQuestDbStore(qdb as NonNullable<typeof qdb>, { ...extra, ...(table ? { table } : {}) });
    fixtures.push(f);
    return f;
  };
  const partitions = async (table: string): Promise<string[]> => {
    const c = new pg.Client({ connectionString: qdb?.pgUrl });
    await c.connect();
    try {
      const r = await c.query(`SELECT name FROM table_partitions('${table}') ORDER BY name`);
      return r.rows.map((row: { name: string }) => row.name);
    } finally {
      await c.end();
    }
  };

  it('aggregates intervals that do not divide a day on epoch-aligned buckets too', async () => {
    const { store } = await open();
    // 7 minutes: epoch-aligned buckets don't start at midnight, so SAMPLE BY can't be used.
    const w = 7 * 60_000;
    const start = Math.ceil(T0 / w) * w + 3 * w - 1; // last ms of an epoch-aligned bucket
    expect((start + 1) % DAY).not.toBe(0);
    await store.write([p(start, 1), p(start + 1, 2), p(start + 2, 4), p(start + w + 1, 8), p(start + 3, 'x')]);
    const avg = await store.queryAggregate({ ...all, fn: 'avg', intervalMs: w });
    expect(avg[0]?.points).toEqual([
      [start + 1 - w, 1],
      [start + 1, 3],
      [start + 1 + w, 8],
    ]);
    const count = await store.queryAggregate({ ...all, fn: 'count', intervalMs: w });
    expect(count[0]?.points).toEqual([
      [start + 1 - w, 1],
      [start + 1, 3],
      [start + 1 + w, 1],
    ]);
    const last = await store.queryAggregate({ ...all, fn: 'last', intervalMs: w });
    expect(last[0]?.points.map((pt) => pt[1])).toEqual([1, 'x', 8]);
  });

  it('retention drops whole expired day partitions and keeps days other buckets still use', async () => {
    const { store, table } = await open();
    await store.write([p(T0 - 3 * DAY, 1), p(T0 - 2 * DAY, 2), p(T0 - DAY + 5, 3), p(T0, 4), p(T0 - DAY, 9, B2)]);
    await store.deleteBefore(B1, T0);
    expect((await store.queryRaw(all))[0]?.points).toEqual([[T0, 4]]); // waits for WAL apply
    // T0-3d and T0-2d held only B1's expired rows; T0-1d still holds B2's row.
    expect(await partitions(table)).toEqual(['2026-11-27', '2026-11-28']);
    expect((await store.queryRaw(all))[0]?.points).toEqual([[T0, 4]]);
    expect((await store.queryRaw({ ...all, bucketId: B2 }))[0]?.points).toEqual([[T0 - DAY, 9]]);
    expect((await store.stats(B1)).perDay).toEqual([{ day: T0, readings: 1 }]);
  });

  it('passes names with quotes and SQL as values, never as SQL', async () => {
    const { store } = await open();
    const evil = "m'); DROP TABLE readings; --";
    await store.write([p(T0, 1, B1, evil), p(T0, 2, B1, 'ok')]);
    expect((await store.queryRaw({ ...all, metrics: [evil] }))[0]).toEqual({
      dataSourceId: S,
      metric: evil,
      points: [[T0, 1]],
    });
    expect(await store.latest(B1, "x' OR '1'='1")).toEqual([]);
    expect((await store.stats(B1)).readings).toBe(2);
  });

  it('splits a big write into several ILP requests and keeps every point', async () => {
    const { store } = await open(undefined, { rowsPerRequest: 10 });
    await store.write(Array.from({ length: 25 }, (_, i) => p(T0 + i, i)));
    expect((await store.queryRaw(all))[0]?.points.map((pt) => pt[1])).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('filters one or a few series with a JIT-compiled filter (bind variables in IN lists are not compiled)', async () => {
    const { store, table } = await open();
    await store.write([p(T0, 1)]);
    const c = new pg.Client({ connectionString: qdb?.pgUrl });
    await c.connect();
    try {
      for (const sel of [
        { ...all, dataSourceIds: [S], metrics: ['m'] },
        { ...all, dataSourceIds: [S, 'd2', 'd3'], metrics: ['m', 'n'] },
      ]) {
        const params: unknown[] = [];
        const where = selectorWhere(sel, params);
        const plan = await c.query(
          `EXPLAIN SELECT ts, avg(num) v FROM ${table} WHERE ${where} SAMPLE BY 1h ALIGN TO CALENDAR`,
          params,
        );
        const text = plan.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n');
        expect(text).toContain('JIT');
        expect(text).toContain('Interval forward scan');
      }
    } finally {
      await c.end();
    }
    const avg = await store.queryAggregate({
      ...all,
      dataSourceIds: [S, 'other'],
      metrics: ['m'],
      fn: 'avg',
      intervalMs: 3_600_000,
    });
    expect(avg).toEqual([{ dataSourceId: S, metric: 'm', points: [[T0, 1]] }]);
  });

  it('reads named series through the series index', async () => {
    const { store, table } = await open();
    await store.write([p(T0, 1), p(T0, 2, B1, 'n')]);
    expect(await store.seriesKeysReady()).toBe(true);
    const c = new pg.Client({ connectionString: qdb?.pgUrl });
    await c.connect();
    try {
      const plan = await c.query(
        `EXPLAIN SELECT ts, avg(num) v FROM ${table} WHERE ts >= $1 AND ts < $2 AND series = $3 SAMPLE BY 1h ALIGN TO CALENDAR`,
        [new Date(0).toISOString(), new Date(T0 + DAY).toISOString(), seriesKey(B1, S, 'm')],
      );
      expect(plan.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n')).toContain(
        'Index forward scan on: series',
      );
    } finally {
      await c.end();
    }
    const avg = await store.queryAggregate({
      ...all,
      dataSourceIds: [S],
      metrics: ['m', 'n'],
      fn: 'avg',
      intervalMs: 3_600_000,
    });
    expect(avg).toEqual([
      { dataSourceId: S, metric: 'm', points: [[T0, 1]] },
      { dataSourceId: S, metric: 'n', points: [[T0, 2]] },
    ]);
  });

  it('migrates a table made before the series column: adds it with its index and keys the old rows', async () => {
    const table = `readings_legacy${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: qdb?.pgUrl });
    await c.connect();
    try {
      // the DDL of the releases before the series index
      await c.query(`CREATE TABLE ${table} (ts TIMESTAMP, bucket SYMBOL, source SYMBOL, metric SYMBOL, kind SYMBOL, num DOUBLE, str VARCHAR)
        TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, bucket, source, metric)`);
      const old = [
        [T0 - 2 * DAY, B1, S, 'm', 'n', 1, null],
        [T0 - DAY, B1, S, 'm', 'n', 3, null],
        [T0 - DAY, B1, 'a/b', 'c', 'n', 10, null],
        [T0 - DAY, B1, 'a', 'b/c', 'n', 20, null],
        [T0, B2, S, 'm%', 's', null, 'on'],
      ];
      for (const [ts, ...rest] of old) {
        await c.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          new Date(ts as number).toISOString(),
          ...rest,
        ]);
      }
      const f = await open(table);
      expect(await f.store.seriesKeysReady()).toBe(true);
      await f.store.write([p(T0 + 1, 5)]);
      // the store's reads wait for QuestDB's WAL apply (waitForWalApply), this raw SELECT does not
      await f.store.countReadings([B1], 0);
      const cols = await c.query(`SELECT "column", indexed FROM table_columns('${table}') WHERE "column" = 'series'`);
      expect(cols.rows).toEqual([{ column: 'series', indexed: true }]);
      const rows = await c.query(`SELECT bucket, source, metric, series FROM ${table}`);
      expect(rows.rows).toHaveLength(6);
      for (const r of rows.rows) expect(r.series).toBe(seriesKey(r.bucket, r.source, r.metric));

      const q = { ...all, from: T0 - 3 * DAY };
      expect((await f.store.queryRaw({ ...q, dataSourceIds: [S], metrics: ['m'] }))[0]?.points).toEqual([
        [T0 - 2 * DAY, 1],
        [T0 - DAY, 3],
        [T0 + 1, 5],
      ]);
      expect(await f.store.queryRaw({ ...q, dataSourceIds: ['a/b'], metrics: ['c'] })).toEqual([
        { dataSourceId: 'a/b', metric: 'c', points: [[T0 - DAY, 10]] },
      ]);
      expect(
        await f.store.queryAggregate({
          ...q,
          bucketId: B2,
          dataSourceIds: [S],
          metrics: ['m%'],
          fn: 'last',
          intervalMs: DAY,
        }),
      ).toEqual([{ dataSourceId: S, metric: 'm%', points: [[T0, 'on']] }]);
      const plan = await c.query(`EXPLAIN SELECT ts FROM ${table} WHERE series = $1`, [seriesKey(B1, 'a/b', 'c')]);
      expect(plan.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n')).toContain(
        'Index forward scan on: series',
      );
      // through the index, not only through the column: the index was built after the keys
      const byIndex = await c.query(`SELECT num FROM ${table} WHERE series = $1`, [seriesKey(B1, S, 'm')]);
      expect(byIndex.rows.map((r: { num: number }) => r.num)).toEqual([1, 3, 5]);
      await f.store.close();

      // rows an older dakkio wrote after the migration (no key, in an indexed column) are
      // keyed again on the next start, and the index still finds them afterwards
      await c.query(`INSERT INTO ${table} (ts, bucket, source, metric, kind, num) VALUES ($1, $2, $3, 'm', 'n', 7)`, [
        new Date(T0 + 2).toISOString(),
        B1,
        S,
      ]);
      const again = await open(table);
      expect(await again.store.seriesKeysReady()).toBe(true);
      const after = await c.query(`SELECT "column", indexed FROM table_columns('${table}') WHERE "column" = 'series'`);
      expect(after.rows).toEqual([{ column: 'series', indexed: true }]);
      const rekeyed = await c.query(`SELECT num FROM ${table} WHERE series = $1`, [seriesKey(B1, S, 'm')]);
      expect(rekeyed.rows.map((r: { num: number }) => r.num)).toEqual([1, 3, 5, 7]);
      expect((await again.store.stats(B1)).readings).toBe(6);
    } finally {
      await c.end();
    }
  });

  it('keeps the series index exact through tombstones and rewrites of deleted keys', async () => {
    const { store } = await open();
    await store.write([p(T0, 1), p(T0 + 1, 2), p(T0, 3, B1, 'n')]);
    await store.deleteDataSource(B1, S);
    expect(await store.queryRaw({ ...all, dataSourceIds: [S], metrics: ['m', 'n'] })).toEqual([]);
    await store.write([p(T0, 4)]);
    expect(await store.seriesKeysReady()).toBe(true);
    expect(await store.queryRaw({ ...all, dataSourceIds: [S], metrics: ['m', 'n'] })).toEqual([
      { dataSourceId: S, metric: 'm', points: [[T0, 4]] },
    ]);
    expect(
      await store.queryAggregate({ ...all, dataSourceIds: [S], metrics: ['m'], fn: 'count', intervalMs: DAY }),
    ).toEqual([{ dataSourceId: S, metric: 'm', points: [[T0, 1]] }]);
  });

  it('creates its schema idempotently and reopens on an existing table', async () => {
    const first = await open();
    await first.store.write([p(T0, 1)]);
    await first.store.close();
    const second = await open(first.table);
    await second.store.write([p(T0 + 1, 2)]);
    expect((await second.store.queryRaw(all))[0]?.points).toEqual([
      [T0, 1],
      [T0 + 1, 2],
    ]);
    expect((await second.store.health()).state).toBe('ok');
  });
});
