/**
 * GET /api/data and /api/data/latest over real HTTP: raw and aggregated queries
 * (every function, epoch-aligned intervals, half-open ranges, bucket start times),
 * streamed CSV, latest values, idempotent writes, limit, metric and source
 * filters, and the from/to defaults (a manual clock pins "now").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../core/clock.ts';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const NOW = Date.UTC(2026, 10, 28, 10, 0, 0);
const DAY = '2026-11-27';
const at = (hms: string) => `${DAY}T${hms}.000Z`;

describe('HTTP data queries', () => {
  let d: TestDakkio;
  let api: Api;
  let apiKey: string;
  let bucketId: string;
  let s1: string;
  let s2: string;
  let token: string;
  const clock = createManualClock(NOW);
  const wholeDay = `from=${DAY}T00:00:00Z&to=2026-11-28T00:00:00Z`;

  const put = async (dataSourceId: string, values: Record<string, unknown>, timestamp?: string | number) => {
    const r = await api('POST', '/api/data', {
      apiKey,
      body: { bucketId, dataSourceId, values, ...(timestamp === undefined ? {} : { timestamp }) },
    });
    expect(r.status, r.text).toBe(201);
    return r;
  };
  const get = async (query: string) => {
    const r = await api('GET', `/api/data?bucketId=${bucketId}&${query}`, { apiKey });
    expect(r.status, r.text).toBe(200);
    return r;
  };
  const pointsOf = async (query: string) => {
    const r = await get(query);
    expect(r.body.series.length, r.text).toBeLessThanOrEqual(1);
    return r.body.series[0]?.points ?? [];
  };

  beforeAll(async () => {
    d = await startTestDakkio({ overrides: { clock } });
    api = createApiClient(d.baseUrl);
    token = (
      await api('POST', '/api/auth/register', {
        body: { email: 'data@example.com', password: 'correct horse battery' },
      })
    ).body.token;
    bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'b' } })).body.id;
    s1 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's1' } })).body.id;
    s2 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's2' } })).body.id;
    apiKey = (await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } })).body
      .secret;
    // temp on s1: 1..6 spread over seconds, minutes, hours of one day; hum on s1 and temp on s2 for the filters.
    const temps: [string, number][] = [
      ['00:00:00', 1],
      ['00:00:05', 2],
      ['00:00:10', 3],
      ['00:00:59', 4],
      ['00:01:00', 5],
      ['01:00:00', 6],
    ];
    for (const [hms, v] of temps) await put(s1, { temp: v }, at(hms));
    await put(s1, { hum: 50 }, at('00:00:00'));
    await put(s2, { temp: 100 }, at('23:59:59'));
  });
  afterAll(async () => d?.destroy());

  it('returns raw points oldest first with ISO times', async () => {
    const r = await get(`${wholeDay}&dataSourceId=${s1}&metrics=temp`);
    expect(r.body).toEqual({
      series: [
        {
          dataSourceId: s1,
          metric: 'temp',
          points: [
            [at('00:00:00'), 1],
            [at('00:00:05'), 2],
            [at('00:00:10'), 3],
            [at('00:00:59'), 4],
            [at('00:01:00'), 5],
            [at('01:00:00'), 6],
          ],
        },
      ],
    });
  });

  it('ranges are half-open: from inclusive, to exclusive (ISO or epoch ms)', async () => {
    expect(await pointsOf(`dataSourceId=${s1}&metrics=temp&from=${at('00:00:05')}&to=${at('00:01:00')}`)).toEqual([
      [at('00:00:05'), 2],
      [at('00:00:10'), 3],
      [at('00:00:59'), 4],
    ]);
    const from = Date.parse(at('00:00:05'));
    expect(await pointsOf(`dataSourceId=${s1}&metrics=temp&from=${from}&to=${from + 5000}`)).toEqual([
      [at('00:00:05'), 2],
    ]);
    expect(await pointsOf(`dataSourceId=${s1}&metrics=temp&from=${from}&to=${from}`)).toEqual([]);
  });

  it('aggregates every function at 10s, 1m, 1h and 1d on epoch-aligned buckets', async () => {
    const agg = (fn: string, interval: string) =>
      pointsOf(`${wholeDay}&dataSourceId=${s1}&metrics=temp&aggregate=${fn}&interval=${interval}`);
    expect(await agg('avg', '10s')).toEqual([
      [at('00:00:00'), 1.5],
      [at('00:00:10'), 3],
      [at('00:00:50'), 4],
      [at('00:01:00'), 5],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('avg', '1m')).toEqual([
      [at('00:00:00'), 2.5],
      [at('00:01:00'), 5],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('min', '1m')).toEqual([
      [at('00:00:00'), 1],
      [at('00:01:00'), 5],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('max', '1m')).toEqual([
      [at('00:00:00'), 4],
      [at('00:01:00'), 5],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('sum', '1h')).toEqual([
      [at('00:00:00'), 15],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('count', '1h')).toEqual([
      [at('00:00:00'), 5],
      [at('01:00:00'), 1],
    ]);
    expect(await agg('first', '1h')).toEqual([
      [at('00:00:00'), 1],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('last', '1h')).toEqual([
      [at('00:00:00'), 5],
      [at('01:00:00'), 6],
    ]);
    expect(await agg('avg', '1d')).toEqual([[at('00:00:00'), 3.5]]);
    expect(await agg('count', '1d')).toEqual([[at('00:00:00'), 6]]);
  });

  it('an aggregated point carries its bucket start even when from cuts into the bucket', async () => {
    expect(
      await pointsOf(
        `dataSourceId=${s1}&metrics=temp&aggregate=count&interval=1h&from=${at('00:00:05')}&to=${at('01:00:00')}`,
      ),
    ).toEqual([[at('00:00:00'), 4]]);
    // A 1d bucket starts at 00:00 UTC, not 24 h before `to` or at `from`.
    expect(
      await pointsOf(
        `dataSourceId=${s2}&metrics=temp&aggregate=max&interval=1d&from=${at('12:00:00')}&to=2026-11-28T12:00:00Z`,
      ),
    ).toEqual([[at('00:00:00'), 100]]);
  });

  it('filters by metric and source; omitted = everything of the bucket', async () => {
    const all = await get(wholeDay);
    const keys = all.body.series
      .map((s: { dataSourceId: string; metric: string }) => `${s.dataSourceId === s1 ? 's1' : 's2'}/${s.metric}`)
      .sort();
    expect(keys).toEqual(['s1/hum', 's1/temp', 's2/temp']);
    const temp = await get(`${wholeDay}&metrics=temp`);
    expect(temp.body.series.map((s: { dataSourceId: string }) => s.dataSourceId).sort()).toEqual([s1, s2].sort());
    const two = await get(`${wholeDay}&dataSourceId=${s1}&metrics=temp,hum`);
    expect(two.body.series.map((s: { metric: string }) => s.metric).sort()).toEqual(['hum', 'temp']);
    expect((await get(`${wholeDay}&metrics=nothing`)).body.series).toEqual([]);
  });

  it('limit caps points per series, oldest first', async () => {
    const r = await get(`${wholeDay}&metrics=temp&limit=2`);
    const bySource = Object.fromEntries(
      r.body.series.map((s: { dataSourceId: string; points: unknown[] }) => [s.dataSourceId, s.points]),
    );
    expect(bySource[s1]).toEqual([
      [at('00:00:00'), 1],
      [at('00:00:05'), 2],
    ]);
    expect(bySource[s2]).toEqual([[at('23:59:59'), 100]]);
  });

  it('format=csv streams a header and one line per point', async () => {
    const r = await get(`${wholeDay}&dataSourceId=${s1}&format=csv`);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = r.text.trimEnd().split('\n');
    expect(lines[0]).toBe('timestamp,dataSourceId,metric,value');
    expect(lines.slice(1).sort()).toEqual(
      [
        `${at('00:00:00')},${s1},hum,50`,
        ...[
          ['00:00:00', 1],
          ['00:00:05', 2],
          ['00:00:10', 3],
          ['00:00:59', 4],
          ['00:01:00', 5],
          ['01:00:00', 6],
        ].map(([t, v]) => `${at(t as string)},${s1},temp,${v}`),
      ].sort(),
    );
    const agg = await get(`${wholeDay}&dataSourceId=${s1}&metrics=temp&aggregate=sum&interval=1h&format=csv`);
    expect(agg.text.trimEnd().split('\n')).toEqual([
      'timestamp,dataSourceId,metric,value',
      `${at('00:00:00')},${s1},temp,15`,
      `${at('01:00:00')},${s1},temp,6`,
    ]);
    const limited = await get(`${wholeDay}&dataSourceId=${s1}&metrics=temp&format=csv&limit=1`);
    expect(limited.text.trimEnd().split('\n')).toHaveLength(2);
    const empty = await get(`${wholeDay}&metrics=nothing&format=csv`);
    expect(empty.text.trimEnd()).toBe('timestamp,dataSourceId,metric,value');
  });

  it('JSON caps a series at 10,000 points by default; CSV streams all of them unless a limit is given', async () => {
    const base = Date.UTC(2026, 10, 20);
    for (const [start, n] of [
      [0, 10_000],
      [10_000, 2_000],
    ] as const) {
      const readings = Array.from({ length: n }, (_, i) => ({
        dataSourceId: s2,
        values: { many: start + i },
        timestamp: base + (start + i) * 1000,
      }));
      const r = await api('POST', '/api/data/batch', { apiKey, body: { bucketId, readings } });
      expect(r.status).toBe(201);
    }
    const range = `from=${base}&to=${base + 86_400_000}&dataSourceId=${s2}&metrics=many`;
    const json = await pointsOf(range);
    expect(json).toHaveLength(10_000);
    expect(json[9_999]).toEqual([new Date(base + 9_999_000).toISOString(), 9_999]);
    const csv = await get(`${range}&format=csv`);
    const lines = csv.text.trimEnd().split('\n');
    expect(lines).toHaveLength(12_001);
    expect(lines.at(-1)).toBe(`${new Date(base + 11_999_000).toISOString()},${s2},many,11999`);
    expect(await pointsOf(`${range}&limit=12000`)).toHaveLength(12_000);
  });

  it('CSV quotes text values that need it', async () => {
    await put(s2, { note: 'a, "quoted"\nline' }, at('12:00:00'));
    const r = await get(`${wholeDay}&dataSourceId=${s2}&metrics=note&format=csv`);
    expect(r.text).toBe(`timestamp,dataSourceId,metric,value\n${at('12:00:00')},${s2},note,"a, ""quoted""\nline"\n`);
  });

  it('numeric aggregates skip text and read booleans as 0/1; count, first and last take every value', async () => {
    const range = 'from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z';
    await put(s2, { mixed: 'abc', flag: true }, '2026-11-25T01:00:00.000Z');
    await put(s2, { mixed: 2, flag: false }, '2026-11-25T01:00:01.000Z');
    await put(s2, { mixed: 4, flag: true }, '2026-11-25T01:00:02.000Z');
    const agg = async (fn: string) => {
      const r = await get(`${range}&dataSourceId=${s2}&aggregate=${fn}&interval=1h`);
      return Object.fromEntries(
        r.body.series.map((x: { metric: string; points: [string, unknown][] }) => [x.metric, x.points[0]![1]]),
      );
    };
    expect(await agg('avg')).toEqual({ mixed: 3, flag: 2 / 3 });
    expect(await agg('sum')).toEqual({ mixed: 6, flag: 2 });
    expect(await agg('count')).toEqual({ mixed: 3, flag: 3 });
    expect(await agg('first')).toEqual({ mixed: 'abc', flag: true });
    expect(await agg('last')).toEqual({ mixed: 4, flag: true });
  });

  it('latest returns the newest value of every metric', async () => {
    const r = await api('GET', `/api/data/latest?bucketId=${bucketId}&dataSourceId=${s1}`, { apiKey });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      dataSourceId: s1,
      values: { temp: { value: 6, at: at('01:00:00') }, hum: { value: 50, at: at('00:00:00') } },
    });
    const unknown = await api('GET', `/api/data/latest?bucketId=${bucketId}&dataSourceId=ffffffffffffffffffffffff`, {
      apiKey,
    });
    expect(unknown.status).toBe(404);
  });

  it('the same reading twice is one point; a replay with a new value keeps the last', async () => {
    const ts = '2026-11-26T08:00:00.000Z';
    const range = 'from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z';
    await put(s2, { idem: 1 }, ts);
    await put(s2, { idem: 1 }, ts);
    await put(s2, { idem: 1 }, Date.parse(ts));
    expect(await pointsOf(`${range}&metrics=idem`)).toEqual([[ts, 1]]);
    await put(s2, { idem: 2 }, '2026-11-26T09:00:00.000+01:00');
    expect(await pointsOf(`${range}&metrics=idem`)).toEqual([[ts, 2]]);
    const batch = await api('POST', '/api/data/batch', {
      apiKey,
      body: {
        bucketId,
        readings: [
          { dataSourceId: s2, values: { idem: 3 }, timestamp: ts },
          { dataSourceId: s2, values: { idem: 4 }, timestamp: ts },
        ],
      },
    });
    expect(batch.status).toBe(201);
    expect(await pointsOf(`${range}&metrics=idem`)).toEqual([[ts, 4]]);
    expect(await pointsOf(`${range}&metrics=idem&aggregate=count&interval=1d`)).toEqual([
      ['2026-11-26T00:00:00.000Z', 1],
    ]);
  });

  it('timestamp defaults to the receive time; from defaults to 24 h ago and to to now', async () => {
    clock.set(NOW);
    await put(s2, { fresh: 1 }); // at NOW
    await put(s2, { fresh: 2 }, NOW - 3_600_000);
    await put(s2, { fresh: 3 }, NOW - 25 * 3_600_000);
    clock.advance(1); // `to` is exclusive: a point at exactly "now" is not in [from, now)
    expect(await pointsOf('metrics=fresh')).toEqual([
      [new Date(NOW - 3_600_000).toISOString(), 2],
      [new Date(NOW).toISOString(), 1],
    ]);
    expect(await pointsOf(`metrics=fresh&from=${NOW - 26 * 3_600_000}`)).toHaveLength(3);
    expect(await pointsOf(`metrics=fresh&to=${NOW}`)).toEqual([[new Date(NOW - 3_600_000).toISOString(), 2]]);
  });

  it("the overview's last 24 h follow the server's clock", async () => {
    clock.set(NOW + 10 * 86_400_000);
    // The registration token has expired by then: log in again.
    const login = await api('POST', '/api/auth/login', {
      body: { email: 'data@example.com', password: 'correct horse battery' },
    });
    token = login.body.token;
    const before = await api('GET', '/api/analytics/overview', { token });
    expect(before.body.readings.last24h).toBe(0);
    await put(s2, { later: 1 });
    const after = await api('GET', '/api/analytics/overview', { token });
    expect(after.body.readings.last24h).toBe(1);
    expect(after.body.readings.total).toBe(before.body.readings.total + 1);
  });
});
