/**
 * End to end with DAKKIO_STORE=questdb (issue 4): HTTP and MQTT QoS 1 ingest read
 * back through the API; then an outage of QuestDB under MQTT ingest (PUBACKs keep
 * coming via the spool, health and queries say 503), and a dakkio restart while the
 * spool is not empty — every acknowledged reading ends up in QuestDB exactly once.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Api, createApiClient } from './harness/api-client.ts';
import { makeTempDir, startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';
import { type QuestDbServer, startQuestDb } from './servers/questdb.ts';
import { sharedQuestDb } from './servers/questdb-provided.ts';

const qdb = sharedQuestDb();
// Timestamps an hour ahead of the clock (whole minute): a plain-text publish, stamped
// with its receive time, is then older than every timestamped reading, as "newest by
// time, not by arrival" needs, whatever the day and hour the suite runs at (fixed
// 2026-11-28T10:00 timestamps broke it from that hour on).
const BASE = Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000;
const at = (sec: number) => new Date(BASE + sec * 1000).toISOString();
const DAY_MS = 86_400_000;
const range = `from=${new Date(BASE - DAY_MS).toISOString()}&to=${new Date(BASE + DAY_MS).toISOString()}`;

interface Tenant {
  api: Api;
  bucketId: string;
  sourceId: string;
  apiKey: string;
}

async function setUpTenant(baseUrl: string, email: string): Promise<Tenant> {
  const api = createApiClient(baseUrl);
  const reg = await api('POST', '/api/auth/register', { body: { email, password: 'correct horse battery' } });
  expect(reg.status).toBe(201);
  const token = reg.body.token as string;
  const bucket = await api('POST', '/api/buckets', { token, body: { name: 'plant' } });
  const source = await api('POST', `/api/buckets/${bucket.body.id}/data-sources`, { token, body: { name: 'line-1' } });
  const key = await api('POST', '/api/keys', { token, body: { name: 'devices', permissions: ['read', 'write'] } });
  expect([bucket.status, source.status, key.status]).toEqual([201, 201, 201]);
  return { api, bucketId: bucket.body.id, sourceId: source.body.id, apiKey: key.body.secret };
}

const questDbEnv = (server: { httpUrl: string; pgUrl: string }) => ({
  DAKKIO_STORE: 'questdb',
  DAKKIO_QUESTDB_URL: server.httpUrl,
  DAKKIO_QUESTDB_PG_URL: server.pgUrl,
});

async function connect(d: TestDakkio, apiKey: string) {
  return mqtt.connectAsync(d.mqttUrl, { username: 'device', password: apiKey, protocolVersion: 4, reconnectPeriod: 0 });
}

async function points(t: Tenant, metric: string): Promise<[string, unknown][]> {
  const q = await t.api('GET', `/api/data?bucketId=${t.bucketId}&metrics=${metric}&${range}&limit=100000`, { apiKey: t.apiKey });
  expect(q.status).toBe(200);
  return q.body.series[0]?.points ?? [];
}

describe.skipIf(!qdb)('dakkio on QuestDB', () => {
  let d: TestDakkio;
  beforeAll(async () => {
    d = await startTestDakkio({ env: questDbEnv(qdb as NonNullable<typeof qdb>) });
  });
  afterAll(async () => d?.destroy());

  it('stores HTTP and MQTT QoS 1 readings and serves them back', async () => {
    const t = await setUpTenant(d.baseUrl, 'http-mqtt@example.com');
    expect((await t.api('GET', '/api/health')).status).toBe(200);
    const sent = await t.api('POST', '/api/data', {
      apiKey: t.apiKey,
      body: { bucketId: t.bucketId, dataSourceId: t.sourceId, values: { temp: 21.5, on: true, note: 'hi' }, timestamp: at(0) },
    });
    expect(sent.status).toBe(201);

    const client = await connect(d, t.apiKey);
    try {
      // PUBACK arrives only once the readings are stored.
      await client.publishAsync(`dakkio/${t.bucketId}/${t.sourceId}/data`, JSON.stringify({ values: { temp: 22.5 }, timestamp: at(1) }), { qos: 1 });
      await client.publishAsync(`dakkio/${t.bucketId}/${t.sourceId}/data/temp`, '23.5', { qos: 1 });
    } finally {
      await client.endAsync();
    }
    const temps = await points(t, 'temp');
    // The plain-text publish carries no timestamp: it is stamped with the receive time.
    expect(temps).toHaveLength(3);
    expect(temps).toEqual(expect.arrayContaining([[at(0), 21.5], [at(1), 22.5]]));
    expect(temps.map((p) => p[1])).toContain(23.5);
    expect(await points(t, 'on')).toEqual([[at(0), true]]);
    expect(await points(t, 'note')).toEqual([[at(0), 'hi']]);

    const latest = await t.api('GET', `/api/data/latest?bucketId=${t.bucketId}&dataSourceId=${t.sourceId}`, { apiKey: t.apiKey });
    expect(latest.body.values.temp).toEqual({ value: 22.5, at: at(1) }); // newest by time, not by arrival
  });
});

describe.skipIf(!qdb)('dakkio on QuestDB through an outage', () => {
  let server: QuestDbServer;
  let d: TestDakkio | undefined;
  const dataDir = makeTempDir();
  beforeAll(async () => {
    server = await startQuestDb();
  });
  afterAll(async () => {
    await d?.destroy();
    await server?.dispose();
  });

  it('acknowledges MQTT QoS 1 via the spool while QuestDB is down and loses nothing across a dakkio restart', async () => {
    d = await startTestDakkio({ env: questDbEnv(server), dataDir });
    const t = await setUpTenant(d.baseUrl, 'outage@example.com');
    const topic = `dakkio/${t.bucketId}/${t.sourceId}/data`;
    const acked: number[] = [];
    const publish = async (client: MqttClient, from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        await client.publishAsync(topic, JSON.stringify({ values: { seq: i }, timestamp: at(i) }), { qos: 1 });
        acked.push(i);
      }
    };

    let client = await connect(d, t.apiKey);
    await publish(client, 0, 10);
    await server.kill(); // mid-ingest: the device keeps publishing
    await publish(client, 10, 10);
    const health = await t.api('GET', '/api/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ store: 'degraded', storeDetail: { questdb: 'unreachable' } });
    expect(health.body.storeDetail.spoolDepth).toBeGreaterThan(0);
    const refused = await t.api('GET', `/api/data?bucketId=${t.bucketId}&${range}`, { apiKey: t.apiKey });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('store_unavailable');

    // dakkio goes away with readings still spooled, and comes back on the same data dir.
    await client.endAsync();
    await d.close();
    await server.start();
    d = await startTestDakkio({ env: questDbEnv(server), dataDir });
    const api = createApiClient(d.baseUrl);
    const t2 = { ...t, api };
    await vi.waitFor(async () => expect((await api('GET', '/api/health')).status).toBe(200), { timeout: 30_000, interval: 200 });
    client = await connect(d, t.apiKey);
    await publish(client, 20, 5);
    await client.endAsync();

    const seq = await points(t2, 'seq');
    expect(seq.map((p) => p[1])).toEqual(acked);
    expect(seq.map((p) => p[0])).toEqual(acked.map(at));
  });
});
