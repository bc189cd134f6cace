import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { createBucketService } from '../core/buckets/bucket-service.ts';
import { createDataSourceService } from '../core/data-sources/data-source-service.ts';
import { createIngestPipeline, type IngestPipeline } from '../core/ingest/ingest-pipeline.ts';
import { silentLogger } from '../core/logger.ts';
import type { ReadingPoint } from '../core/readings.ts';
import { MOSQUITTO_BIN, requireBinary } from './testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from './testing/mosquitto-server.ts';
import { insertUser } from './testing/users.ts';
import { createTopicMappingService, type TopicMappingService } from './topic-mapping-service.ts';
import { createUpstreamManager, type UpstreamManager } from './upstream-manager.ts';
import { createUpstreamService, type UpstreamService } from './upstream-service.ts';

const available = requireBinary(MOSQUITTO_BIN).available;
const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const WAIT = { timeout: 20_000, interval: 20 };

describe.skipIf(!available)('upstream broker: the real mosquitto as upstream', () => {
  let env: TestEnv;
  let server: MosquittoServer;
  let pipeline: IngestPipeline;
  let mappings: TopicMappingService;
  let upstreams: UpstreamService;
  let bucketId: string;
  let owner: string;
  let publisher: MqttClient | null = null;
  const managers: UpstreamManager[] = [];

  const newManager = (submit = (points: readonly ReadingPoint[]) => pipeline.submit(points)) => {
    const m = createUpstreamManager({
      db: env.db,
      mappings,
      submit,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    managers.push(m);
    return m;
  };

  beforeEach(async () => {
    env = await createTestEnv();
    server = await startMosquitto({ allowAnonymous: true });
    pipeline = createIngestPipeline({ store: env.readingStore, logger: silentLogger });
    const deps = { db: env.db, clock: env.clock, ids: env.ids, events: env.events, readingStore: env.readingStore };
    mappings = createTopicMappingService({ ...deps, dataSources: createDataSourceService(deps) });
    upstreams = createUpstreamService(deps);
    owner = await insertUser(env, 'owner@example.com');
    bucketId = (await createBucketService(deps).create(owner, { name: 'plant' })).id;
    await mappings.create(owner, { filter: 'plant/+', bucketId, dataSource: '{2}', payload: 'json', createSources: true });
  });

  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    await publisher?.endAsync(true);
    publisher = null;
    await pipeline.close();
    await mappings.close();
    await server.close();
    await env.close();
  });

  async function storedTimestamps(): Promise<number[]> {
    const series = await env.readingStore.queryRaw({ bucketId, from: 0, to: T0 * 2, limitPerSeries: 1_000_000 });
    return series.filter((s) => s.metric === 'temp').flatMap((s) => s.points.map(([ts]) => ts));
  }

  it('stores every QoS 1 message exactly once across a dakkio crash mid-stream', async () => {
    const up = await upstreams.create(owner, {
      url: server.url,
      clientId: 'dakkio-upstream-1',
      subscriptions: [{ filter: 'plant/#', qos: 1 }],
    });
    // The first dakkio "crashes" mid-stream: its 11th commit never completes.
    let commits = 0;
    const first = newManager((points) => (++commits > 10 ? new Promise<void>(() => {}) : pipeline.submit(points)));
    await first.start();
    await vi.waitFor(() => expect(first.status(up.id)?.subscribed).toBe(true), WAIT);

    publisher = await mqtt.connectAsync(server.url, { clientId: 'edge-publisher', reconnectPeriod: 0 });
    const send = (i: number) =>
      publisher?.publishAsync('plant/m1', JSON.stringify({ values: { temp: i }, timestamp: T0 + i }), { qos: 1 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
    await vi.waitFor(() => expect(first.status(up.id)).toMatchObject({ messages: 11, stored: 10 }), WAIT);
    await first.close();
    expect((await storedTimestamps()).length).toBe(10);
    // published while dakkio is down: the upstream queues them in the persistent session
    await Promise.all(Array.from({ length: 40 }, (_, i) => send(40 + i)));

    const second = newManager();
    await second.start();
    await vi.waitFor(async () => expect((await storedTimestamps()).length).toBe(80), WAIT);
    const ts = await storedTimestamps();
    expect(new Set(ts).size).toBe(80);
    expect(Math.min(...ts)).toBe(T0);
    expect(Math.max(...ts)).toBe(T0 + 79);
    const status = second.status(up.id);
    expect(status).toMatchObject({ connected: true, lastError: null, invalid: 0, unmapped: 0 });
  });

  it('counts unmapped and invalid messages, acknowledges them, and reports status', async () => {
    const up = await upstreams.create(owner, {
      url: server.url,
      clientId: 'dakkio-upstream-2',
      subscriptions: [{ filter: '#', qos: 1 }],
    });
    const m = newManager();
    await m.start();
    await vi.waitFor(() => expect(m.status(up.id)?.subscribed).toBe(true), WAIT);
    publisher = await mqtt.connectAsync(server.url, { clientId: 'pub-2', reconnectPeriod: 0 });
    await publisher.publishAsync('elsewhere/x', '1', { qos: 1 });
    await publisher.publishAsync('plant/m2', '{not json', { qos: 1 });
    await publisher.publishAsync('plant/m2', JSON.stringify({ temp: 1, timestamp: T0 }), { qos: 1 });
    await vi.waitFor(() => expect(m.status(up.id)).toMatchObject({ messages: 3, unmapped: 1, invalid: 1, stored: 1 }), WAIT);
  });

  it('reconnects with backoff when the upstream restarts, and stops when disabled', async () => {
    const up = await upstreams.create(owner, {
      url: server.url,
      clientId: 'dakkio-upstream-3',
      subscriptions: [{ filter: 'plant/#', qos: 1 }],
    });
    const m = newManager();
    await m.start();
    await vi.waitFor(() => expect(m.status(up.id)?.connected).toBe(true), WAIT);
    const port = server.port;
    await server.close();
    await vi.waitFor(() => expect(m.status(up.id)?.connected).toBe(false), WAIT);
    await vi.waitFor(() => expect(m.status(up.id)?.lastError).toMatch(/ECONNREFUSED/), WAIT);
    server = await startMosquitto({ allowAnonymous: true, port });
    await vi.waitFor(() => expect(m.status(up.id)?.subscribed).toBe(true), WAIT);
    await upstreams.update(owner, up.id, { enabled: false });
    await m.reload(up.id);
    expect(m.status(up.id)).toBeNull();
  });
});
