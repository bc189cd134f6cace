import type { ApiKeyPrincipal } from '../core/auth/principal.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';
import { closed, connect, connectCollecting, nextMessage, subscribeGranted } from './testing/mqtt-client.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

describe('broker live data', () => {
  let env: BrokerEnv;
  let t: Awaited<ReturnType<BrokerEnv['createTenant']>>;
  let topic: string;
  beforeEach(async () => {
    env = await createBrokerEnv();
    t = await env.createTenant('owner@example.com');
    topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
  });
  afterEach(async () => {
    await env.close();
  });

  it('forwards committed readings to +/data and # subscribers in one JSON shape', async () => {
    const { secret } = await env.keys.create(t.ownerId, { name: 'dash', permissions: ['read'] });
    const dash = await connect(env.wsUrl, { clientId: 'dash', password: secret });
    const all = await connect(env.mqttUrl, { clientId: 'all', password: secret });
    expect(await subscribeGranted(dash, `dakkio/${t.bucketId}/+/data`)).toBe(1);
    expect(await subscribeGranted(all, `dakkio/${t.bucketId}/#`)).toBe(1);
    const dev = await connect(env.mqttUrl, { clientId: 'dev', password: t.secret });

    const a = nextMessage(dash, topic);
    const b = nextMessage(all, topic);
    await dev.publishAsync(`${topic}/temperature`, '21.5', { qos: 1 });
    for (const m of [await a, await b]) {
      const body = m.json() as { values: Record<string, unknown>; timestamp: string };
      expect(body.values).toEqual({ temperature: 21.5 });
      expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    }

    // readings from any other entry point (HTTP) go through the same commit hook
    const principal = await env.keys.verify(t.secret);
    const fromHttp = nextMessage(dash, topic);
    await env.deps.ingest.ingest(principal as ApiKeyPrincipal, t.bucketId, [
      { dataSourceId: t.dataSourceId, values: { rpm: 900 }, timestamp: T0 },
    ]);
    expect((await fromHttp).json()).toEqual({ values: { rpm: 900 }, timestamp: new Date(T0).toISOString() });
    expect(env.broker.counters().dakkio_mqtt_messages_forwarded_total).toBe(2);
    await Promise.all([dash.endAsync(), all.endAsync(), dev.endAsync()]);
  });

  it('keeps the retained reading of a data topic for late subscribers', async () => {
    const dev = await connect(env.mqttUrl, { clientId: 'dev', password: t.secret });
    await dev.publishAsync(topic, JSON.stringify({ values: { state: 'open' }, timestamp: T0 }), { qos: 1, retain: true });
    const late = await connect(env.mqttUrl, { clientId: 'late', password: t.secret });
    const msg = nextMessage(late, topic);
    await subscribeGranted(late, `dakkio/${t.bucketId}/+/data`);
    const m = await msg;
    expect(m.retain).toBe(true);
    expect(m.json()).toEqual({ values: { state: 'open' }, timestamp: new Date(T0).toISOString() });
    await Promise.all([dev.endAsync(), late.endAsync()]);
  });

  it('publishes (and stores) the last will of a device that vanishes', async () => {
    const watcher = await connect(env.mqttUrl, { clientId: 'watcher', password: t.secret });
    await subscribeGranted(watcher, `dakkio/${t.bucketId}/+/data`);
    const dev = await connect(env.mqttUrl, {
      clientId: 'dev',
      password: t.secret,
      will: { topic: `${topic}/online`, payload: Buffer.from('false'), qos: 1, retain: false },
    });
    const will = nextMessage(watcher, topic);
    dev.stream.destroy(); // no DISCONNECT: the will must fire [MQTT-3.1.2-8]
    expect(((await will).json() as { values: unknown }).values).toEqual({ online: false });
    expect((await env.readAll(t.bucketId)).map((p) => `${p.metric}=${p.value}`)).toEqual(['online=false']);
    await watcher.endAsync();
  });

  it('does not publish the will of a revoked session', async () => {
    const { key, secret } = await env.keys.create(t.ownerId, { name: 'doomed', permissions: ['write'] });
    const dev = await connect(env.mqttUrl, {
      clientId: 'dev',
      password: secret,
      will: { topic: `${topic}/online`, payload: Buffer.from('false'), qos: 1, retain: false },
    });
    await env.keys.revoke(t.ownerId, key.id);
    await closed(dev);
    await env.pipeline.flush();
    expect(await env.readAll(t.bucketId)).toEqual([]);
  });

  it('publishes alert events on dakkio/<bucketId>/alerts', async () => {
    const sub = await connect(env.mqttUrl, { clientId: 'sub', password: t.secret });
    await subscribeGranted(sub, `dakkio/${t.bucketId}/alerts`);
    const msg = nextMessage(sub, `dakkio/${t.bucketId}/alerts`);
    await env.events.publish({ type: 'alert.event', bucketId: t.bucketId, payload: { state: 'firing', value: 91 } });
    expect((await msg).json()).toEqual({ state: 'firing', value: 91 });
    await sub.endAsync();
  });

  it('delivers a persistent session’s backlog to its owner, never to another owner taking the client id', async () => {
    const alerts = `dakkio/${t.bucketId}/alerts`;
    const first = await connect(env.mqttUrl, { clientId: 'persist', password: t.secret, clean: false });
    await subscribeGranted(first, alerts);
    await first.endAsync();
    await env.broker.publishAlert(t.bucketId, { n: 1 });

    const intruder = await env.createTenant('intruder@example.com');
    const { client: other, messages: stolen } = await connectCollecting(env.mqttUrl, {
      clientId: 'persist',
      password: intruder.secret,
      clean: false,
    });
    // a round trip on the same connection: anything queued would have arrived before this SUBACK
    await subscribeGranted(other, 'dakkio/clients/persist/errors');
    expect(stolen).toEqual([]);
    await other.endAsync();

    await env.broker.publishAlert(t.bucketId, { n: 2 });
    const { client: back, messages: got } = await connectCollecting(env.mqttUrl, {
      clientId: 'persist',
      password: t.secret,
      clean: false,
    });
    await expect.poll(() => got.map((m) => JSON.parse(m.payload).n)).toContain(2);
    expect(got.every((m) => m.topic === alerts)).toBe(true);
    await back.endAsync();
  });

  it('counts connected clients and drains in-flight QoS 1 publishes on close', async () => {
    const devs = await Promise.all([1, 2, 3].map((i) => connect(env.mqttUrl, { clientId: `d${i}`, password: t.secret })));
    expect(env.broker.connectedClients()).toBe(3);
    const acks = devs.map((d, i) => d.publishAsync(`${topic}/m${i}`, String(i), { qos: 1 }).then(() => true, () => false));
    // close as soon as the broker has the publishes in hand
    await new Promise((r) => setTimeout(r, 20));
    await env.broker.close();
    const acked = await Promise.all(acks);
    const stored = (await env.readAll(t.bucketId)).map((p) => p.metric);
    // every acknowledged publish is stored (no PUBACK without a commit)
    acked.forEach((ok, i) => {
      if (ok) expect(stored).toContain(`m${i}`);
    });
    await env.broker.close(); // idempotent
    for (const d of devs) d.end(true);
  });
});
