/**
 * Analytics over real HTTP: the overview counts only the caller's buckets, sources,
 * keys and readings (total and last 24 h) and shows an ingest rate after writes;
 * bucket stats give totals, the time span, per-source and per-day counts.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const HOUR = 3_600_000;

describe('HTTP analytics', () => {
  let d: TestDakkio;
  let api: Api;
  let a: { token: string; apiKey: string; bucketId: string; s1: string; s2: string };
  let otherToken: string;
  const now = Date.now();
  const recent = now - HOUR;
  const old = Date.UTC(2026, 0, 15, 12, 0, 0);

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    const token = (
      await api('POST', '/api/auth/register', {
        body: { email: 'stats@example.com', password: 'correct horse battery' },
      })
    ).body.token;
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'b' } })).body.id;
    await api('POST', '/api/buckets', { token, body: { name: 'empty' } });
    const s1 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's1' } })).body.id;
    const s2 = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's2' } })).body.id;
    const apiKey = (await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } })).body
      .secret;
    await api('POST', '/api/keys', { token, body: { name: 'k2', permissions: ['read'] } });
    a = { token, apiKey, bucketId, s1, s2 };

    // The other tenant has data too, which must not show up in a's numbers.
    otherToken = (
      await api('POST', '/api/auth/register', {
        body: { email: 'noise@example.com', password: 'correct horse battery' },
      })
    ).body.token;
    const ob = (await api('POST', '/api/buckets', { token: otherToken, body: { name: 'o' } })).body.id;
    const os = (await api('POST', `/api/buckets/${ob}/data-sources`, { token: otherToken, body: { name: 'o' } })).body
      .id;
    const ok = (await api('POST', '/api/keys', { token: otherToken, body: { name: 'o', permissions: ['write'] } })).body
      .secret;
    const put = await api('POST', '/api/data', {
      apiKey: ok,
      body: { bucketId: ob, dataSourceId: os, values: { x: 1, y: 2, z: 3 }, timestamp: recent },
    });
    expect(put.status).toBe(201);

    const readings = [
      { dataSourceId: s1, values: { t: 1, h: 2 }, timestamp: recent },
      { dataSourceId: s1, values: { t: 3 }, timestamp: old },
      { dataSourceId: s2, values: { t: 4 }, timestamp: old + HOUR },
    ];
    const r = await api('POST', '/api/data/batch', { apiKey, body: { bucketId, readings } });
    expect(r.status).toBe(201);
    expect(r.body.accepted).toBe(4);
  });
  afterAll(async () => d?.destroy());

  it('overview counts the caller’s resources and readings only', async () => {
    const r = await api('GET', '/api/analytics/overview', { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ buckets: 2, dataSources: 2, apiKeys: 2, readings: { total: 4, last24h: 2 } });
    expect(r.body.ingestRate.perSecond1m).toBeGreaterThan(0);
    expect(r.body.mqtt.connectedClients).toBeTypeOf('number');

    const other = await api('GET', '/api/analytics/overview', { token: otherToken });
    expect(other.body).toMatchObject({ buckets: 1, dataSources: 1, apiKeys: 1, readings: { total: 3, last24h: 3 } });
  });

  it('overview counts only the caller’s live MQTT clients', async () => {
    const client = await mqtt.connectAsync(d.mqttUrl, {
      username: 'dev-1',
      password: a.apiKey,
      clientId: 'stats-dev-1',
      reconnectPeriod: 0,
    });
    try {
      const mine = await api('GET', '/api/analytics/overview', { token: a.token });
      expect(mine.body.mqtt.connectedClients).toBe(1);
      const theirs = await api('GET', '/api/analytics/overview', { token: otherToken });
      expect(theirs.body.mqtt.connectedClients).toBe(0);
    } finally {
      await client.endAsync();
    }
    await vi.waitFor(
      async () =>
        expect((await api('GET', '/api/analytics/overview', { token: a.token })).body.mqtt.connectedClients).toBe(0),
      { timeout: 15_000, interval: 50 },
    );
  });

  it('overview needs a JWT', async () => {
    const r = await api('GET', '/api/analytics/overview', { apiKey: a.apiKey });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });

  it('bucket stats give totals, span, per source and per day', async () => {
    const r = await api('GET', `/api/buckets/${a.bucketId}/stats`, { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.readings).toBe(4);
    expect(r.body.firstAt).toBe(new Date(old).toISOString());
    expect(r.body.lastAt).toBe(new Date(recent).toISOString());
    const perSource = Object.fromEntries(
      r.body.perDataSource.map((s: { dataSourceId: string; readings: number }) => [s.dataSourceId, s.readings]),
    );
    expect(perSource).toEqual({ [a.s1]: 3, [a.s2]: 1 });
    const s1 = r.body.perDataSource.find((s: { dataSourceId: string }) => s.dataSourceId === a.s1);
    expect(s1).toMatchObject({ firstAt: new Date(old).toISOString(), lastAt: new Date(recent).toISOString() });
    const perDay = Object.fromEntries(r.body.perDay.map((p: { day: string; readings: number }) => [p.day, p.readings]));
    expect(perDay['2026-01-15']).toBe(2);
    expect(perDay[new Date(recent).toISOString().slice(0, 10)]).toBe(2);
  });

  it('stats of an empty bucket are zeros and nulls', async () => {
    const list = await api('GET', '/api/buckets', { token: a.token });
    const empty = list.body.items.find((b: { name: string }) => b.name === 'empty');
    const r = await api('GET', `/api/buckets/${empty.id}/stats`, { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ readings: 0, firstAt: null, lastAt: null, perDataSource: [], perDay: [] });
  });

  it('deleting a bucket takes its readings out of the overview', async () => {
    const bucketId = (await api('POST', '/api/buckets', { token: a.token, body: { name: 'gone' } })).body.id;
    const src = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token: a.token, body: { name: 's' } }))
      .body.id;
    expect(
      (
        await api('POST', '/api/data', {
          apiKey: a.apiKey,
          body: { bucketId, dataSourceId: src, values: { v: 1 }, timestamp: recent },
        })
      ).status,
    ).toBe(201);
    const before = await api('GET', '/api/analytics/overview', { token: a.token });
    expect(before.body.readings.total).toBe(5);
    expect((await api('DELETE', `/api/buckets/${bucketId}`, { token: a.token })).status).toBe(204);
    const after = await api('GET', '/api/analytics/overview', { token: a.token });
    expect(after.body).toMatchObject({ buckets: 2, dataSources: 2, readings: { total: 4, last24h: 2 } });
    expect((await api('GET', `/api/buckets/${bucketId}/stats`, { token: a.token })).status).toBe(404);
  });
});
