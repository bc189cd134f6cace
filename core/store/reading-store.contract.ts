/**
 * The one contract every ReadingStore keeps (core/ports/reading-store.ts), run
 * against each implementation: `describeReadingStoreContract('sqlite', makeStore)`.
 * Nothing here may depend on a particular backend.
 *
 * Semantics pinned down here (documented so every store agrees):
 * - ranges are half-open [from, to); aggregate buckets start at ts - ts % interval;
 * - series with no point in range are omitted; tests sort series themselves, so
 *   stores may return them in any order (streamRaw is ordered by source, metric, ts);
 * - avg/min/max/sum use numbers and booleans (true = 1, false = 0) and ignore strings;
 *   a bucket with no numeric value yields no point for them; count counts every value;
 *   first/last return the value with its own type;
 * - booleans come back as booleans, strings as strings.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { ReadingPoint, ReadingValue, Series } from '../readings.ts';

const H = 3_600_000;
const DAY = 86_400_000;
/** 2026-11-28T00:00:00Z: an epoch-aligned day, hour and minute */
const T0 = Date.UTC(2026, 10, 28);
const B1 = 'b00000000000000000000001';
const B2 = 'b00000000000000000000002';
const S1 = 'd00000000000000000000001';
const S2 = 'd00000000000000000000002';

const p = (dataSourceId: string, metric: string, ts: number, value: ReadingValue, bucketId = B1): ReadingPoint => ({
  bucketId,
  dataSourceId,
  metric,
  ts,
  value,
});

const sorted = (series: Series[]) =>
  [...series].sort((a, b) => a.dataSourceId.localeCompare(b.dataSourceId) || a.metric.localeCompare(b.metric));

const all = { bucketId: B1, from: 0, to: T0 + 365 * DAY, limitPerSeries: 1_000_000 };

export function describeReadingStoreContract(
  name: string,
  makeStore: () => Promise<{ store: ReadingStore; cleanup(): Promise<void> }>,
): void {
  describe(`ReadingStore contract: ${name}`, () => {
    let store: ReadingStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('reports healthy', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    it('accepts an empty write', async () => {
      await store.write([]);
      expect(await store.queryRaw(all)).toEqual([]);
    });

    it('returns raw points ascending within a half-open range', async () => {
      await store.write([p(S1, 'temp', T0 + 2000, 3), p(S1, 'temp', T0, 1), p(S1, 'temp', T0 + 1000, 2)]);
      const series = await store.queryRaw({ ...all, from: T0, to: T0 + 2000 });
      expect(series).toEqual([{ dataSourceId: S1, metric: 'temp', points: [[T0, 1], [T0 + 1000, 2]] }]);
      const later = await store.queryRaw({ ...all, from: T0 + 1, to: T0 + 2001 });
      expect(later[0]?.points).toEqual([[T0 + 1000, 2], [T0 + 2000, 3]]);
    });

    it('returns nothing for an empty range or an unknown bucket', async () => {
      await store.write([p(S1, 'temp', T0, 1)]);
      expect(await store.queryRaw({ ...all, from: T0 + 1, to: T0 + 10 })).toEqual([]);
      expect(await store.queryRaw({ ...all, from: T0, to: T0 })).toEqual([]);
      expect(await store.queryRaw({ ...all, bucketId: B2 })).toEqual([]);
      expect(await store.queryAggregate({ ...all, from: T0 + 1, to: T0 + 10, fn: 'count', intervalMs: H })).toEqual([]);
    });

    it('filters by data sources and metrics and keeps buckets apart', async () => {
      await store.write([
        p(S1, 'temp', T0, 1),
        p(S1, 'hum', T0, 50),
        p(S2, 'temp', T0, 2),
        p(S2, 'temp', T0, 99, B2),
      ]);
      expect(sorted(await store.queryRaw(all)).map((s) => [s.dataSourceId, s.metric, s.points])).toEqual([
        [S1, 'hum', [[T0, 50]]],
        [S1, 'temp', [[T0, 1]]],
        [S2, 'temp', [[T0, 2]]],
      ]);
      const onlyS2 = await store.queryRaw({ ...all, dataSourceIds: [S2] });
      expect(onlyS2).toEqual([{ dataSourceId: S2, metric: 'temp', points: [[T0, 2]] }]);
      const onlyTemp = sorted(await store.queryRaw({ ...all, metrics: ['temp'] }));
      expect(onlyTemp.map((s) => s.dataSourceId)).toEqual([S1, S2]);
      const both = await store.queryRaw({ ...all, dataSourceIds: [S1], metrics: ['hum', 'nope'] });
      expect(both).toEqual([{ dataSourceId: S1, metric: 'hum', points: [[T0, 50]] }]);
      const other = await store.queryRaw({ ...all, bucketId: B2 });
      expect(other).toEqual([{ dataSourceId: S2, metric: 'temp', points: [[T0, 99]] }]);
    });

    it('caps points per series, oldest first', async () => {
      const pts = [];
      for (let i = 0; i < 10; i++) pts.push(p(S1, 'a', T0 + i * 1000, i), p(S1, 'b', T0 + i * 1000, 100 + i));
      await store.write(pts);
      const series = sorted(await store.queryRaw({ ...all, limitPerSeries: 3 }));
      expect(series.map((s) => s.points)).toEqual([
        [[T0, 0], [T0 + 1000, 1], [T0 + 2000, 2]],
        [[T0, 100], [T0 + 1000, 101], [T0 + 2000, 102]],
      ]);
    });

    it('keeps one point per (bucket, source, metric, ts): the last value written', async () => {
      await store.write([p(S1, 'temp', T0, 1), p(S1, 'temp', T0, 2)]);
      await store.write([p(S1, 'temp', T0, 3), p(S1, 'temp', T0 + 1, 4)]);
      await store.write([p(S1, 'temp', T0, 5)]);
      expect((await store.queryRaw(all))[0]?.points).toEqual([[T0, 5], [T0 + 1, 4]]);
      expect((await store.stats(B1)).readings).toBe(2);
      expect(await store.countReadings([B1], 0)).toEqual({ total: 2, since: 2 });
      const count = await store.queryAggregate({ ...all, fn: 'count', intervalMs: DAY });
      expect(count[0]?.points).toEqual([[T0, 2]]);
    });

    it('round-trips numbers, booleans and strings with their types', async () => {
      await store.write([
        p(S1, 'n', T0, 22.5),
        p(S1, 'n', T0 + 1, -0.001),
        p(S1, 'n', T0 + 2, 0),
        p(S1, 'n', T0 + 3, 1e15),
        p(S1, 'on', T0, true),
        p(S1, 'on', T0 + 1, false),
        p(S1, 'msg', T0, 'hello, "world"\nnext line'),
        p(S1, 'msg', T0 + 1, ''),
        p(S1, 'msg', T0 + 2, '42'),
        p(S1, 'msg', T0 + 3, 'true'),
      ]);
      const byMetric = Object.fromEntries((await store.queryRaw(all)).map((s) => [s.metric, s.points]));
      expect(byMetric['n']).toEqual([[T0, 22.5], [T0 + 1, -0.001], [T0 + 2, 0], [T0 + 3, 1e15]]);
      expect(byMetric['on']).toEqual([[T0, true], [T0 + 1, false]]);
      expect(byMetric['msg']).toEqual([[T0, 'hello, "world"\nnext line'], [T0 + 1, ''], [T0 + 2, '42'], [T0 + 3, 'true']]);
    });

    it('a value may change type at the same key', async () => {
      await store.write([p(S1, 'x', T0, 1)]);
      await store.write([p(S1, 'x', T0, 'one')]);
      expect((await store.queryRaw(all))[0]?.points).toEqual([[T0, 'one']]);
    });

    describe('aggregates', () => {
      // Two hours of data starting at T0 + 30 min, so the first bucket starts before `from`.
      const numbers = [
        [T0 + 30 * 60_000, 10],
        [T0 + 45 * 60_000, 20],
        [T0 + H, 5],
        [T0 + H + 1, 7],
        [T0 + 2 * H - 1, 9],
        [T0 + 2 * H, 1000], // excluded: `to` is exclusive
      ] as const;
      const q = { ...all, from: T0 + 30 * 60_000, to: T0 + 2 * H, intervalMs: H };

      beforeEach(async () => {
        await store.write(numbers.map(([ts, v]) => p(S1, 'temp', ts, v)));
      });

      const cases: [string, [number, ReadingValue][]][] = [
        ['avg', [[T0, 15], [T0 + H, 7]]],
        ['min', [[T0, 10], [T0 + H, 5]]],
        ['max', [[T0, 20], [T0 + H, 9]]],
        ['sum', [[T0, 30], [T0 + H, 21]]],
        ['count', [[T0, 2], [T0 + H, 3]]],
        ['first', [[T0, 10], [T0 + H, 5]]],
        ['last', [[T0, 20], [T0 + H, 9]]],
      ];
      for (const [fn, expected] of cases) {
        it(`${fn} over epoch-aligned buckets`, async () => {
          const series = await store.queryAggregate({ ...q, fn: fn as 'avg' });
          expect(series).toEqual([{ dataSourceId: S1, metric: 'temp', points: expected }]);
        });
      }

      it('aligns buckets to the epoch for other widths', async () => {
        const tenMin = await store.queryAggregate({ ...q, fn: 'count', intervalMs: 10 * 60_000 });
        expect(tenMin[0]?.points).toEqual([
          [T0 + 30 * 60_000, 1],
          [T0 + 40 * 60_000, 1],
          [T0 + H, 2],
          [T0 + 110 * 60_000, 1],
        ]);
        const day = await store.queryAggregate({ ...all, fn: 'sum', intervalMs: DAY });
        expect(day[0]?.points).toEqual([[T0, 1051]]);
      });

      it('caps buckets per series, oldest first', async () => {
        const series = await store.queryAggregate({ ...q, fn: 'max', limitPerSeries: 1 });
        expect(series[0]?.points).toEqual([[T0, 20]]);
      });

      it('filters sources and metrics', async () => {
        await store.write([p(S2, 'temp', T0 + H, 1), p(S1, 'hum', T0 + H, 1)]);
        const s2 = await store.queryAggregate({ ...q, fn: 'count', dataSourceIds: [S2] });
        expect(s2).toEqual([{ dataSourceId: S2, metric: 'temp', points: [[T0 + H, 1]] }]);
        const hum = await store.queryAggregate({ ...q, fn: 'count', metrics: ['hum'] });
        expect(hum).toEqual([{ dataSourceId: S1, metric: 'hum', points: [[T0 + H, 1]] }]);
      });
    });

    it('aggregates booleans as 1/0, ignore strings in numeric functions, count everything', async () => {
      await store.write([
        p(S1, 'on', T0, true),
        p(S1, 'on', T0 + 1, false),
        p(S1, 'on', T0 + 2, true),
        p(S1, 'on', T0 + 3, true),
        p(S1, 'msg', T0, 'a'),
        p(S1, 'msg', T0 + 1, 'b'),
        p(S1, 'mix', T0, 'x'),
        p(S1, 'mix', T0 + 1, 4),
        p(S1, 'mix', T0 + 2, 'y'),
      ]);
      const agg = async (fn: 'avg' | 'min' | 'max' | 'sum' | 'count' | 'first' | 'last') =>
        Object.fromEntries(
          (await store.queryAggregate({ ...all, fn, intervalMs: H })).map((s) => [s.metric, s.points]),
        );
      expect(await agg('avg')).toEqual({ on: [[T0, 0.75]], mix: [[T0, 4]] });
      expect(await agg('sum')).toEqual({ on: [[T0, 3]], mix: [[T0, 4]] });
      expect(await agg('min')).toEqual({ on: [[T0, 0]], mix: [[T0, 4]] });
      expect(await agg('max')).toEqual({ on: [[T0, 1]], mix: [[T0, 4]] });
      expect(await agg('count')).toEqual({ on: [[T0, 4]], msg: [[T0, 2]], mix: [[T0, 3]] });
      expect(await agg('first')).toEqual({ on: [[T0, true]], msg: [[T0, 'a']], mix: [[T0, 'x']] });
      expect(await agg('last')).toEqual({ on: [[T0, true]], msg: [[T0, 'b']], mix: [[T0, 'y']] });
    });

    it('latest gives the newest value of every (source, metric)', async () => {
      await store.write([
        p(S1, 'temp', T0, 1),
        p(S1, 'temp', T0 + 5000, 2),
        p(S1, 'temp', T0 + 1000, 3),
        p(S1, 'on', T0, false),
        p(S2, 'msg', T0 + 7, 'hi'),
        p(S2, 'msg', T0 + 9, 'other bucket', B2),
      ]);
      const latest = (await store.latest(B1)).sort(
        (a, b) => a.dataSourceId.localeCompare(b.dataSourceId) || a.metric.localeCompare(b.metric),
      );
      expect(latest).toEqual([
        { dataSourceId: S1, metric: 'on', ts: T0, value: false },
        { dataSourceId: S1, metric: 'temp', ts: T0 + 5000, value: 2 },
        { dataSourceId: S2, metric: 'msg', ts: T0 + 7, value: 'hi' },
      ]);
      expect(await store.latest(B1, S2)).toEqual([{ dataSourceId: S2, metric: 'msg', ts: T0 + 7, value: 'hi' }]);
      expect(await store.latest(B1, 'd00000000000000000000009')).toEqual([]);
    });

    it('deleteBefore drops only older readings of that bucket (retention)', async () => {
      await store.write([
        p(S1, 'temp', T0 - DAY, 1),
        p(S1, 'temp', T0 - 1, 2),
        p(S1, 'temp', T0, 3),
        p(S2, 'hum', T0 - DAY, 4),
        p(S1, 'temp', T0 - DAY, 5, B2),
      ]);
      await store.deleteBefore(B1, T0);
      expect(await store.queryRaw(all)).toEqual([{ dataSourceId: S1, metric: 'temp', points: [[T0, 3]] }]);
      expect((await store.queryRaw({ ...all, bucketId: B2 }))[0]?.points).toEqual([[T0 - DAY, 5]]);
      expect(await store.latest(B1)).toEqual([{ dataSourceId: S1, metric: 'temp', ts: T0, value: 3 }]);
    });

    it('deleteBucket and deleteDataSource remove exactly their readings', async () => {
      await store.write([p(S1, 'temp', T0, 1), p(S2, 'temp', T0, 2), p(S1, 'temp', T0, 3, B2)]);
      await store.deleteDataSource(B1, S1);
      expect(await store.queryRaw(all)).toEqual([{ dataSourceId: S2, metric: 'temp', points: [[T0, 2]] }]);
      await store.deleteBucket(B1);
      expect(await store.queryRaw(all)).toEqual([]);
      expect(await store.latest(B1)).toEqual([]);
      expect((await store.stats(B1)).readings).toBe(0);
      expect((await store.queryRaw({ ...all, bucketId: B2 }))[0]?.points).toEqual([[T0, 3]]);
      // A deleted source can be written again.
      await store.write([p(S1, 'temp', T0 + 1, 7)]);
      expect(await store.queryRaw(all)).toEqual([{ dataSourceId: S1, metric: 'temp', points: [[T0 + 1, 7]] }]);
    });

    it('streamRaw yields every point ordered by source, metric, time', async () => {
      await store.write([
        p(S2, 'a', T0, 1),
        p(S1, 'b', T0 + 1, 'x'),
        p(S1, 'b', T0, true),
        p(S1, 'a', T0 + 5, 2),
        p(S1, 'a', T0 + 10, 3), // excluded by `to`
        p(S1, 'a', T0, 0, B2),
      ]);
      const rows = [];
      for await (const row of store.streamRaw({ bucketId: B1, from: T0, to: T0 + 10 })) rows.push(row);
      expect(rows).toEqual([
        { dataSourceId: S1, metric: 'a', ts: T0 + 5, value: 2 },
        { dataSourceId: S1, metric: 'b', ts: T0, value: true },
        { dataSourceId: S1, metric: 'b', ts: T0 + 1, value: 'x' },
        { dataSourceId: S2, metric: 'a', ts: T0, value: 1 },
      ]);
      const limited = [];
      for await (const row of store.streamRaw({ bucketId: B1, from: T0, to: T0 + 10, limit: 2 })) limited.push(row);
      expect(limited).toEqual(rows.slice(0, 2));
      const filtered = [];
      for await (const row of store.streamRaw({ bucketId: B1, from: 0, to: T0 + 100, dataSourceIds: [S1], metrics: ['a'] })) {
        filtered.push(row.ts);
      }
      expect(filtered).toEqual([T0 + 5, T0 + 10]);
    });

    it('streamRaw can be abandoned early and the store keeps working', async () => {
      await store.write(Array.from({ length: 100 }, (_, i) => p(S1, 'a', T0 + i, i)));
      for await (const row of store.streamRaw({ bucketId: B1, from: 0, to: T0 + 1000 })) {
        if (row.ts >= T0 + 3) break;
      }
      await store.write([p(S1, 'a', T0 + 500, 1)]);
      expect((await store.stats(B1)).readings).toBe(101);
    });

    it('stats summarise a bucket per source and per UTC day', async () => {
      expect(await store.stats(B1)).toEqual({ readings: 0, firstAt: null, lastAt: null, perDataSource: [], perDay: [] });
      await store.write([
        p(S1, 'temp', T0 - 1, 1),
        p(S1, 'hum', T0 + 10, 1),
        p(S2, 'temp', T0 + DAY + 5, 'x'),
        p(S2, 'temp', T0 + 7, true),
        p(S1, 'temp', T0, 1, B2),
      ]);
      const stats = await store.stats(B1);
      expect(stats.readings).toBe(4);
      expect(stats.firstAt).toBe(T0 - 1);
      expect(stats.lastAt).toBe(T0 + DAY + 5);
      expect([...stats.perDataSource].sort((a, b) => a.dataSourceId.localeCompare(b.dataSourceId))).toEqual([
        { dataSourceId: S1, readings: 2, firstAt: T0 - 1, lastAt: T0 + 10 },
        { dataSourceId: S2, readings: 2, firstAt: T0 + 7, lastAt: T0 + DAY + 5 },
      ]);
      expect([...stats.perDay].sort((a, b) => a.day - b.day)).toEqual([
        { day: T0 - DAY, readings: 1 },
        { day: T0, readings: 2 },
        { day: T0 + DAY, readings: 1 },
      ]);
    });

    it('countReadings counts over the given buckets, in total and since an instant', async () => {
      await store.write([p(S1, 'a', T0 - 10, 1), p(S1, 'a', T0, 2), p(S1, 'b', T0 + 1, 3), p(S1, 'a', T0, 4, B2)]);
      expect(await store.countReadings([B1], T0)).toEqual({ total: 3, since: 2 });
      expect(await store.countReadings([B1, B2], T0)).toEqual({ total: 4, since: 3 });
      expect(await store.countReadings([], T0)).toEqual({ total: 0, since: 0 });
      expect(await store.countReadings(['b00000000000000000000009'], 0)).toEqual({ total: 0, since: 0 });
    });

    it('handles a large batch across many series', async () => {
      const pts: ReadingPoint[] = [];
      for (let i = 0; i < 20_000; i++) pts.push(p(`d${String(i % 50).padStart(23, '0')}`, `m${Math.floor(i / 50) % 4}`, T0 + i, i));
      await store.write(pts);
      expect(await store.countReadings([B1], 0)).toEqual({ total: 20_000, since: 20_000 });
      const series = await store.queryRaw(all);
      expect(series).toHaveLength(200);
      expect(series.reduce((n, s) => n + s.points.length, 0)).toBe(20_000);
      const sum = await store.queryAggregate({ ...all, fn: 'sum', intervalMs: DAY });
      expect(sum.reduce((n, s) => n + Number(s.points[0]?.[1]), 0)).toBe((19_999 * 20_000) / 2);
    });
  });
}
