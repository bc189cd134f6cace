import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';
import { closed, collectMessages, connect, nextMessage, subscribeGranted } from './testing/mqtt-client.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

describe('broker ingest (MQTT.js)', () => {
  let env: BrokerEnv;
  let t: Awaited<ReturnType<BrokerEnv['createTenant']>>;
  let dev: MqttClient;
  let topic: string;
  const errorTopic = 'dakkio/clients/dev-1/errors';

  beforeEach(async () => {
    env = await createBrokerEnv();
    t = await env.createTenant('owner@example.com');
    topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    dev = await connect(env.mqttUrl, { clientId: 'dev-1', password: t.secret });
    expect(await subscribeGranted(dev, errorTopic)).toBe(1);
  });
  afterEach(async () => {
    await dev.endAsync(true);
    await env.close();
  });

  it('stores JSON, bare and single-metric payloads at QoS 1, visible as soon as the PUBACK arrives', async () => {
    await dev.publishAsync(topic, JSON.stringify({ values: { temperature: 22.5, ok: true }, timestamp: T0 }), { qos: 1 });
    expect(await env.readAll(t.bucketId)).toHaveLength(2);
    await dev.publishAsync(topic, JSON.stringify({ humidity: 40, timestamp: T0 + 1 }), { qos: 1 });
    await dev.publishAsync(topic, JSON.stringify([{ values: { humidity: 41 }, timestamp: T0 + 2 }, { humidity: 42, timestamp: T0 + 3 }]), {
      qos: 1,
    });
    await dev.publishAsync(`${topic}/label`, 'kitchen', { qos: 1 });
    const points = await env.readAll(t.bucketId);
    const by = (m: string) => points.filter((p) => p.metric === m).map((p) => p.value);
    expect(by('temperature')).toEqual([22.5]);
    expect(by('ok')).toEqual([true]);
    expect(by('humidity')).toEqual([40, 41, 42]);
    expect(by('label')).toEqual(['kitchen']);
    const c = env.broker.counters();
    expect(c.dakkio_mqtt_readings_accepted_total).toBe(6);
    expect(c.dakkio_mqtt_messages_in_total).toBe(4);
    expect(c.dakkio_mqtt_bytes_in_total).toBeGreaterThan(0);
  });

  it('stores QoS 0 (and QoS 2) publishes too', async () => {
    await dev.publishAsync(topic, JSON.stringify({ a: 1, timestamp: T0 }), { qos: 0 });
    await dev.publishAsync(`${topic}/b`, '2.5', { qos: 0 });
    // QoS 0 has no ack; a QoS 1 publish behind them on the same connection is acknowledged in order
    await dev.publishAsync(`${topic}/c`, '3', { qos: 1 });
    // QoS 2 is accepted too: PUBREC after the commit, like QoS 1's PUBACK
    await dev.publishAsync(`${topic}/d`, '4', { qos: 2 });
    const metrics = (await env.readAll(t.bucketId)).map((p) => `${p.metric}=${p.value}`).sort();
    expect(metrics).toEqual(['a=1', 'b=2.5', 'c=3', 'd=4']);
  });

  it('acknowledges bad payloads, stores nothing, explains on the error topic and keeps the connection', async () => {
    const cases: [string, string, string][] = [
      [topic, '{"values": {', 'invalid_json'],
      [topic, JSON.stringify({ values: { temperature: { nested: 1 } } }), 'validation_failed'],
      [topic, JSON.stringify({ values: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, i])) }), 'validation_failed'],
      [`${topic}/bad name`, '1', 'validation_failed'],
      [`dakkio/${t.bucketId}/${env.ids()}/data`, '{"a": 1}', 'not_found'],
    ];
    for (const [to, payload, code] of cases) {
      const err = nextMessage(dev, errorTopic);
      await dev.publishAsync(to, payload, { qos: 1 });
      const body = (await err).json() as { topic: string; code: string; message: string };
      expect(body.code).toBe(code);
      expect(body.topic).toBe(to);
      expect(typeof body.message).toBe('string');
    }
    expect(dev.connected).toBe(true);
    expect(await env.readAll(t.bucketId)).toEqual([]);
    expect(env.broker.counters()['dakkio_mqtt_messages_rejected_total{reason="validation_failed"}']).toBe(3);
  });

  it('refuses payloads over the limit', async () => {
    const err = nextMessage(dev, errorTopic);
    await dev.publishAsync(topic, JSON.stringify({ blob: 'x'.repeat(262_144) }), { qos: 1 });
    expect(((await err).json() as { code: string }).code).toBe('payload_too_large');
    expect(await env.readAll(t.bucketId)).toEqual([]);
    // far beyond the limit the connection is cut before the packet is buffered
    const gone = closed(dev);
    dev.publish(topic, Buffer.alloc(2 * 1024 * 1024, 0x31), { qos: 0 });
    await gone;
    expect(env.broker.counters()['dakkio_mqtt_messages_rejected_total{reason="payload_too_large"}']).toBe(2);
  });

  it('drops and disconnects a write to another owner’s bucket; their subscriber sees nothing', async () => {
    const victim = await env.createTenant('victim@example.com');
    const watcher = await connect(env.mqttUrl, { clientId: 'watcher', password: victim.secret });
    expect(await subscribeGranted(watcher, `dakkio/${victim.bucketId}/#`)).toBe(1);
    const seen = collectMessages(watcher);
    const gone = closed(dev);
    dev.publish(`dakkio/${victim.bucketId}/${victim.dataSourceId}/data`, '{"a": 1}', { qos: 1 });
    await gone;
    // a legitimate write by the owner proves the watcher is live and would have seen the intruder's
    const own = await connect(env.mqttUrl, { clientId: 'own', password: victim.secret });
    const live = nextMessage(watcher, () => true);
    await own.publishAsync(`dakkio/${victim.bucketId}/${victim.dataSourceId}/data`, '{"b": 2}', { qos: 1 });
    await live;
    expect(seen.map((m) => JSON.parse(m.payload).values)).toEqual([{ b: 2 }]);
    expect((await env.readAll(victim.bucketId)).map((p) => p.metric)).toEqual(['b']);
    await Promise.all([watcher.endAsync(), own.endAsync()]);
  });

  it('disconnects a publish without write permission or to reserved topics', async () => {
    const { secret } = await env.keys.create(t.ownerId, { name: 'ro', permissions: ['read'] });
    const ro = await connect(env.mqttUrl, { clientId: 'ro', password: secret });
    const gone = closed(ro);
    ro.publish(topic, '{"a": 1}', { qos: 1 });
    await gone;
    for (const reserved of [`dakkio/${t.bucketId}/alerts`, 'dakkio/clients/dev-2/errors', 'elsewhere/topic', '$SYS/x']) {
      const c = await connect(env.mqttUrl, { clientId: 'rsv', password: t.secret });
      const cut = closed(c);
      c.publish(reserved, 'x', { qos: 0 });
      await cut;
    }
    expect(await env.readAll(t.bucketId)).toEqual([]);
  });

  it('refuses subscriptions outside the key’s rights with SUBACK 0x80', async () => {
    const other = await env.createTenant('other@example.com');
    for (const filter of ['#', '+/x', '$SYS/#', 'dakkio/#', 'dakkio/+/+/data', `dakkio/${other.bucketId}/#`, 'dakkio/clients/dev-2/errors', 'home/x']) {
      expect(await subscribeGranted(dev, filter), filter).toBe(128);
    }
    const { secret } = await env.keys.create(t.ownerId, { name: 'wo', permissions: ['write'] });
    const wo = await connect(env.mqttUrl, { clientId: 'wo', password: secret });
    expect(await subscribeGranted(wo, `dakkio/${t.bucketId}/+/data`)).toBe(128);
    expect(await subscribeGranted(wo, 'dakkio/clients/wo/errors')).toBe(1);
    expect(await subscribeGranted(dev, `dakkio/${t.bucketId}/+/data`)).toBe(1);
    expect(dev.connected).toBe(true);
    await wo.endAsync();
  });

  it('rate-limits publishes per key and says so on the error topic', async () => {
    await dev.endAsync(true);
    await env.close();
    env = await createBrokerEnv({ publishRatePerKey: 3 });
    t = await env.createTenant('owner@example.com');
    topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    dev = await connect(env.mqttUrl, { clientId: 'dev-1', password: t.secret });
    await subscribeGranted(dev, errorTopic);
    const err = nextMessage(dev, errorTopic);
    await Promise.all(Array.from({ length: 6 }, (_, i) => dev.publishAsync(`${topic}/n`, String(i), { qos: 1 })));
    expect(((await err).json() as { code: string }).code).toBe('rate_limited');
    expect(dev.connected).toBe(true);
    expect((await env.readAll(t.bucketId)).length).toBeLessThan(6);
  });
});
