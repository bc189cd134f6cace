/**
 * POST /api/data/batch over real HTTP in its three forms (JSON, NDJSON, CSV):
 * all-or-nothing by default (a broken line is reported with its line number and
 * nothing of the batch is stored), `?partial=true` stores the good readings and
 * lists the bad ones, and more than 10,000 readings are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

describe('HTTP batch import', () => {
  let d: TestDakkio;
  let api: Api;
  let token: string;
  let apiKey: string;

  /** A fresh bucket with two sources per test, so "nothing stored" is easy to check. */
  async function fresh(name: string) {
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name } })).body.id as string;
    const s1 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's1' } })).body
      .id as string;
    const s2 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's2' } })).body
      .id as string;
    return { bucketId, s1, s2 };
  }

  async function stored(bucketId: string): Promise<Record<string, [string, unknown][]>> {
    const q = await api('GET', `/api/data?bucketId=${bucketId}&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z`, {
      apiKey,
    });
    expect(q.status).toBe(200);
    return Object.fromEntries(
      q.body.series.map((s: { dataSourceId: string; metric: string; points: [string, unknown][] }) => [
        `${s.dataSourceId}/${s.metric}`,
        s.points,
      ]),
    );
  }

  const batch = (rawBody: string, contentType: string, partial = false) =>
    api('POST', `/api/data/batch${partial ? '?partial=true' : ''}`, { apiKey, rawBody, contentType });

  const expectRejectedWithLines = (r: ApiResponse, lines: number[]) => {
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.details.map((x: { line: number }) => x.line)).toEqual(lines);
  };

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    token = (
      await api('POST', '/api/auth/register', {
        body: { email: 'batch@example.com', password: 'correct horse battery' },
      })
    ).body.token;
    apiKey = (await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } })).body
      .secret;
  });
  afterAll(async () => d?.destroy());

  it('JSON: stores every reading and counts values', async () => {
    const { bucketId, s1, s2 } = await fresh('json');
    const r = await api('POST', '/api/data/batch', {
      apiKey,
      body: {
        bucketId,
        readings: [
          { dataSourceId: s1, values: { t: 1, ok: true }, timestamp: '2026-11-28T10:00:00.000Z' },
          { dataSourceId: s2, values: { t: 2 }, timestamp: Date.UTC(2026, 10, 28, 10, 0, 1) },
        ],
      },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ accepted: 3, rejected: [] });
    expect(await stored(bucketId)).toEqual({
      [`${s1}/t`]: [['2026-11-28T10:00:00.000Z', 1]],
      [`${s1}/ok`]: [['2026-11-28T10:00:00.000Z', true]],
      [`${s2}/t`]: [['2026-11-28T10:00:01.000Z', 2]],
    });
  });

  it('JSON: one bad reading rejects the batch with its index; partial stores the rest', async () => {
    const { bucketId, s1 } = await fresh('json-bad');
    const readings = [
      { dataSourceId: s1, values: { t: 1 }, timestamp: '2026-11-28T10:00:00.000Z' },
      { dataSourceId: s1, values: { 'bad name': 2 }, timestamp: '2026-11-28T10:00:01.000Z' },
      { dataSourceId: 'ffffffffffffffffffffffff', values: { t: 3 }, timestamp: '2026-11-28T10:00:02.000Z' },
      { dataSourceId: s1, values: { t: 4 }, timestamp: '2026-11-28T10:00:03.000Z' },
    ];
    const all = await api('POST', '/api/data/batch', { apiKey, body: { bucketId, readings } });
    expect(all.status).toBe(400);
    expect(all.body.error.code).toBe('validation_failed');
    expect(JSON.stringify(all.body.error.details)).toContain('readings');
    expect(await stored(bucketId)).toEqual({});

    const partial = await api('POST', '/api/data/batch?partial=true', { apiKey, body: { bucketId, readings } });
    expect(partial.status).toBe(201);
    expect(partial.body.accepted).toBe(2);
    expect(partial.body.rejected.map((x: { index: number; code: string }) => [x.index, x.code])).toEqual([
      [1, 'validation_failed'],
      [2, 'not_found'],
    ]);
    for (const x of partial.body.rejected) expect(x.message).toBeTypeOf('string');
    expect(await stored(bucketId)).toEqual({
      [`${s1}/t`]: [
        ['2026-11-28T10:00:00.000Z', 1],
        ['2026-11-28T10:00:03.000Z', 4],
      ],
    });
  });

  it('NDJSON: stores every line; a broken line rejects all with its line number; partial keeps the rest', async () => {
    const { bucketId, s1, s2 } = await fresh('ndjson');
    const line = (source: string, t: number, sec: number) =>
      JSON.stringify({ bucketId, dataSourceId: source, values: { t }, timestamp: `2026-11-28T10:00:0${sec}.000Z` });
    const good = `${line(s1, 1, 0)}\n${line(s2, 2, 1)}\n`;
    const ok = await batch(good, 'application/x-ndjson');
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ accepted: 2, rejected: [] });

    const b2 = await fresh('ndjson-bad');
    const l = (source: string, t: unknown, sec: number) =>
      JSON.stringify({
        bucketId: b2.bucketId,
        dataSourceId: source,
        values: { t },
        timestamp: `2026-11-28T10:00:0${sec}.000Z`,
      });
    const broken = [
      l(b2.s1, 1, 0),
      '{"bucketId": oops',
      l(b2.s1, 3, 2),
      '',
      l(b2.s2, { no: 1 }, 3),
      l(b2.s2, 5, 4),
    ].join('\n');
    expectRejectedWithLines(await batch(broken, 'application/x-ndjson'), [2, 5]);
    expect(await stored(b2.bucketId)).toEqual({});

    const partial = await batch(broken, 'application/x-ndjson', true);
    expect(partial.status).toBe(201);
    expect(partial.body.accepted).toBe(3);
    expect(partial.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([
      [2, 'invalid_json'],
      [5, 'validation_failed'],
    ]);
    expect(await stored(b2.bucketId)).toEqual({
      [`${b2.s1}/t`]: [
        ['2026-11-28T10:00:00.000Z', 1],
        ['2026-11-28T10:00:02.000Z', 3],
      ],
      [`${b2.s2}/t`]: [['2026-11-28T10:00:04.000Z', 5]],
    });
  });

  it('CSV: typed cells, empty cells skipped; a broken line rejects all with its line number', async () => {
    const { bucketId, s1, s2 } = await fresh('csv');
    const csv = [
      'timestamp,bucketId,dataSourceId,temp,door,state',
      `2026-11-28T10:00:00.000Z,${bucketId},${s1},21.5,true,ok`,
      `${Date.UTC(2026, 10, 28, 10, 0, 1)},${bucketId},${s2},22,,`,
    ].join('\n');
    const ok = await batch(csv, 'text/csv');
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toEqual({ accepted: 4, rejected: [] });
    expect(await stored(bucketId)).toEqual({
      [`${s1}/temp`]: [['2026-11-28T10:00:00.000Z', 21.5]],
      [`${s1}/door`]: [['2026-11-28T10:00:00.000Z', true]],
      [`${s1}/state`]: [['2026-11-28T10:00:00.000Z', 'ok']],
      [`${s2}/temp`]: [['2026-11-28T10:00:01.000Z', 22]],
    });

    const b2 = await fresh('csv-bad');
    const broken = [
      'timestamp,bucketId,dataSourceId,temp',
      `2026-11-28T10:00:00.000Z,${b2.bucketId},${b2.s1},1`,
      `2026-11-28T10:00:01.000Z,${b2.bucketId},${b2.s1}`,
      `not-a-time,${b2.bucketId},${b2.s1},3`,
      `2026-11-28T10:00:03.000Z,${b2.bucketId},${b2.s2},4`,
    ].join('\n');
    expectRejectedWithLines(await batch(broken, 'text/csv'), [3, 4]);
    expect(await stored(b2.bucketId)).toEqual({});

    const partial = await batch(broken, 'text/csv', true);
    expect(partial.status).toBe(201);
    expect(partial.body.accepted).toBe(2);
    expect(partial.body.rejected.map((x: { line: number }) => x.line)).toEqual([3, 4]);
    expect(await stored(b2.bucketId)).toEqual({
      [`${b2.s1}/temp`]: [['2026-11-28T10:00:00.000Z', 1]],
      [`${b2.s2}/temp`]: [['2026-11-28T10:00:03.000Z', 4]],
    });
  });

  it('CSV: a bad header or mixed buckets are refused', async () => {
    const { bucketId, s1 } = await fresh('csv-header');
    const other = await fresh('csv-other');
    expectRejectedWithLines(await batch(`time,bucket,source,t\n1,${bucketId},${s1},1\n`, 'text/csv'), [1]);
    const mixed = `timestamp,bucketId,dataSourceId,t\n1,${bucketId},${s1},1\n2,${other.bucketId},${other.s1},2\n`;
    expectRejectedWithLines(await batch(mixed, 'text/csv'), [3]);
    expect(await stored(bucketId)).toEqual({});
    expect(await stored(other.bucketId)).toEqual({});
  });

  it('10,000 readings are accepted; 10,001 are refused and nothing is stored', async () => {
    const { bucketId, s1 } = await fresh('big');
    const base = Date.UTC(2026, 10, 28);
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => `${base + i * 1000},${bucketId},${s1},${i}`).join('\n');
    const ok = await batch(`timestamp,bucketId,dataSourceId,v\n${rows(10_000)}\n`, 'text/csv');
    expect(ok.status, ok.text.slice(0, 300)).toBe(201);
    expect(ok.body.accepted).toBe(10_000);

    const b2 = await fresh('too-big');
    const tooMany = await Promise.all([
      batch(`timestamp,bucketId,dataSourceId,v\n${rows(10_001).replaceAll(bucketId, b2.bucketId)}\n`, 'text/csv'),
      batch(
        Array.from({ length: 10_001 }, (_, i) =>
          JSON.stringify({ bucketId: b2.bucketId, dataSourceId: b2.s1, values: { v: i }, timestamp: base + i }),
        ).join('\n'),
        'application/x-ndjson',
      ),
      api('POST', '/api/data/batch', {
        apiKey,
        body: {
          bucketId: b2.bucketId,
          readings: Array.from({ length: 10_001 }, (_, i) => ({
            dataSourceId: b2.s1,
            values: { v: i },
            timestamp: base + i,
          })),
        },
      }),
      api('POST', '/api/data/batch?partial=true', {
        apiKey,
        body: {
          bucketId: b2.bucketId,
          readings: Array.from({ length: 10_001 }, (_, i) => ({
            dataSourceId: b2.s1,
            values: { v: i },
            timestamp: base + i,
          })),
        },
      }),
    ]);
    // Every form answers the same: the reading cap is a size limit like the 16 MiB one.
    for (const r of tooMany) {
      expect(r.status, r.text.slice(0, 300)).toBe(413);
      expect(r.body.error.code).toBe('payload_too_large');
    }
    expect(await stored(b2.bucketId)).toEqual({});
  });

  it('an empty batch is refused', async () => {
    const { bucketId } = await fresh('empty');
    const r1 = await api('POST', '/api/data/batch', { apiKey, body: { bucketId, readings: [] } });
    expect(r1.status).toBe(400);
    const r2 = await batch('', 'application/x-ndjson');
    expect(r2.status).toBe(400);
    const r3 = await batch('timestamp,bucketId,dataSourceId,t\n', 'text/csv');
    expect(r3.status).toBe(400);
    for (const r of [r1, r2, r3]) expect(r.body.error.code).toBe('validation_failed');
  });
});
