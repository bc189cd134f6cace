import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PENDING_WRITES, DROPPED_SLOW_SUBSCRIBER } from './slow-subscriber-guard.ts';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';
import { connect } from './testing/mqtt-client.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/**
 * A raw MQTT 3.1.1 subscriber that reads its CONNACK and SUBACK, then never reads again.
 * `filter` null: a persistent session reconnecting on its stored subscription (no SUBSCRIBE,
 * Aedes restores it), which then stops reading after its CONNACK.
 */
async function stuckSubscriber(port: number, password: string, filter: string | null, clean = true): Promise<Socket> {
  const sock = netConnect({ port, host: '127.0.0.1' });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const suback = new Promise<void>((resolve, reject) => {
    parser.on('packet', (p) => {
      if (p.cmd === 'connack' && (p as mqttPacket.IConnackPacket).returnCode !== 0) reject(new Error('refused'));
      if (p.cmd === 'suback' || (filter === null && p.cmd === 'connack')) resolve();
    });
    sock.once('error', reject);
  });
  sock.on('data', (b) => parser.parse(b));
  sock.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'stuck',
      clean,
      keepalive: 0,
      username: 'k',
      password: Buffer.from(password),
    }),
  );
  if (filter !== null) {
    sock.write(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: filter, qos: 0 }],
      } as mqttPacket.ISubscribePacket),
    );
  }
  await suback;
  sock.removeAllListeners('data');
  sock.pause();
  return sock;
}

describe('broker with a subscriber that never reads', () => {
  let env: BrokerEnv;
  const sockets: Socket[] = [];
  beforeEach(async () => {
    // no per-key publish limit: the test counts every accepted reading, however fast the machine publishes
    env = await createBrokerEnv({ publishRatePerKey: 0 });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await env.close();
  });

  it('drops its QoS 0 messages (counted) instead of buffering them, and publishers are not held up', async () => {
    const t = await env.createTenant('owner@example.com');
    const topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    sockets.push(await stuckSubscriber(env.broker.ports.mqtt, t.secret, `dakkio/${t.bucketId}/+/data`));
    const dev = await connect(env.mqttUrl, { clientId: 'dev', password: t.secret });
    const values = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`metric_${i}`, 1000.5 + i]));
    const counters = () => env.broker.counters();
    const publish = (i: number) => dev.publishAsync(topic, JSON.stringify({ values, timestamp: T0 + i }), { qos: 1 });

    // until the subscriber's socket (kernel buffers, then the stream's) is full: ~1.4 KB a message
    let i = 0;
    for (; i < 20_000 && counters()[DROPPED_SLOW_SUBSCRIBER] === 0; i++) await publish(i);
    expect(counters()[DROPPED_SLOW_SUBSCRIBER]).toBeGreaterThan(0);

    // from now on at most the pending-write allowance gets through; every other message is dropped
    const before = counters();
    const more = 1_000;
    for (let j = 0; j < more; j++) await publish(i + j);
    // Live forwarding runs after the PUBACK (onCommitted listeners never delay acks) and one group
    // commit may carry several publishes as one forwarded message: wait until forwarding is quiet.
    const settled = () => `${counters().dakkio_mqtt_messages_forwarded_total}/${counters()[DROPPED_SLOW_SUBSCRIBER]}`;
    for (let w = 0, last = ''; w < 200; w++) {
      await new Promise((r) => setTimeout(r, 50));
      if (settled() === last) break;
      last = settled();
    }
    const after = counters();
    const forwarded = after.dakkio_mqtt_messages_forwarded_total! - before.dakkio_mqtt_messages_forwarded_total!;
    const dropped = after[DROPPED_SLOW_SUBSCRIBER]! - before[DROPPED_SLOW_SUBSCRIBER]!;
    expect(forwarded).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    expect(forwarded - dropped).toBeLessThanOrEqual(DEFAULT_MAX_PENDING_WRITES);
    // every publish above was acknowledged after its commit, so the device was never held up
    expect(after.dakkio_mqtt_readings_accepted_total).toBe((i + more) * 40);
    await dev.endAsync();
  });
  it('drops for a persistent session whose subscription Aedes restored on reconnect (no SUBSCRIBE)', async () => {
    const t = await env.createTenant('owner@example.com');
    const topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    // the guard is attached at a granted subscription or, for a persistent session, at authentication:
    // this session's second connection subscribes only through Aedes' restore
    const first = await stuckSubscriber(env.broker.ports.mqtt, t.secret, `dakkio/${t.bucketId}/+/data`, false);
    first.end(mqttPacket.generate({ cmd: 'disconnect' }));
    await new Promise((r) => first.once('close', r));
    sockets.push(await stuckSubscriber(env.broker.ports.mqtt, t.secret, null, false));
    const dev = await connect(env.mqttUrl, { clientId: 'dev', password: t.secret });
    const values = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`metric_${i}`, 1000.5 + i]));
    const counters = () => env.broker.counters();
    let i = 0;
    for (; i < 20_000 && counters()[DROPPED_SLOW_SUBSCRIBER] === 0; i++) {
      await dev.publishAsync(topic, JSON.stringify({ values, timestamp: T0 + i }), { qos: 1 });
    }
    expect(counters()[DROPPED_SLOW_SUBSCRIBER]).toBeGreaterThan(0);
    await dev.endAsync();
  });
});
