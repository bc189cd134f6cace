/**
 * The README's five-minute tour, step by step, against a real dakkio on ephemeral
 * ports: register, login, bucket, data source, API key, send data, query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

describe('README tour', () => {
  let d: TestDakkio;
  let api: Api;
  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
  });
  afterAll(async () => d?.destroy());

  it('goes from sign-up to a queried reading', async () => {
    const health = await api('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');

    const reg = await api('POST', '/api/auth/register', { body: { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' } });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
    expect(reg.body.user.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const login = await api('POST', '/api/auth/login', { body: { email: 'ada@example.com', password: 'correct horse battery' } });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    expect(login.body.refreshToken).toBeTypeOf('string');

    const bucket = await api('POST', '/api/buckets', { token, body: { name: 'greenhouse', retentionDays: 30 } });
    expect(bucket.status).toBe(201);
    expect(bucket.body).toMatchObject({ name: 'greenhouse', retentionDays: 30 });
    expect(bucket.body.id).toMatch(/^[0-9a-f]{24}$/);

    const source = await api('POST', `/api/buckets/${bucket.body.id}/data-sources`, { token, body: { name: 'sensor-1', metadata: { room: 'north' } } });
    expect(source.status).toBe(201);
    expect(source.body).toMatchObject({ bucketId: bucket.body.id, name: 'sensor-1', metadata: { room: 'north' }, lastSeenAt: null });

    const key = await api('POST', '/api/keys', { token, body: { name: 'greenhouse devices', permissions: ['read', 'write'], bucketIds: [bucket.body.id] } });
    expect(key.status).toBe(201);
    expect(key.body.secret).toMatch(/^dakkio_[a-z0-9]{32}$/);
    expect(JSON.stringify(key.body.key)).not.toContain(key.body.secret);
    const apiKey = key.body.secret as string;

    const sent = await api('POST', '/api/data', {
      apiKey,
      body: { bucketId: bucket.body.id, dataSourceId: source.body.id, values: { temperature: 22.5, humidity: 61, door: false, state: 'ok' }, timestamp: '2026-11-28T10:00:00.000Z' },
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toEqual({ accepted: 4 });

    const q = await api('GET', `/api/data?bucketId=${bucket.body.id}&metrics=temperature,door,state&from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z`, { apiKey });
    expect(q.status).toBe(200);
    const byMetric = Object.fromEntries(q.body.series.map((s: { metric: string; points: unknown[] }) => [s.metric, s.points]));
    expect(byMetric).toEqual({
      temperature: [['2026-11-28T10:00:00.000Z', 22.5]],
      door: [['2026-11-28T10:00:00.000Z', false]],
      state: [['2026-11-28T10:00:00.000Z', 'ok']],
    });

    const agg = await api('GET', `/api/data?bucketId=${bucket.body.id}&metrics=temperature&from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z&aggregate=avg&interval=1h`, { apiKey });
    expect(agg.status).toBe(200);
    expect(agg.body.series[0].points).toEqual([['2026-11-28T10:00:00.000Z', 22.5]]);

    const latest = await api('GET', `/api/data/latest?bucketId=${bucket.body.id}&dataSourceId=${source.body.id}`, { apiKey });
    expect(latest.status).toBe(200);
    expect(latest.body).toEqual({
      dataSourceId: source.body.id,
      values: {
        temperature: { value: 22.5, at: '2026-11-28T10:00:00.000Z' },
        humidity: { value: 61, at: '2026-11-28T10:00:00.000Z' },
        door: { value: false, at: '2026-11-28T10:00:00.000Z' },
        state: { value: 'ok', at: '2026-11-28T10:00:00.000Z' },
      },
    });

    const openapi = await api('GET', '/api/openapi.json');
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.body.paths)).toEqual(expect.arrayContaining(['/api/data', '/api/buckets/{bucketId}', '/api/keys/{keyId}/rotate']));
  });
});
