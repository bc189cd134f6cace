import { createRequire } from 'node:module';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';
import { connect, subscribeGranted } from './testing/mqtt-client.ts';

/** Numbers mqtt-packet has cached in this process (its numbers.js, which writeToStream fills on first use). */
function cachedNumbers(): number {
  const numbers = createRequire(import.meta.url)('mqtt-packet/numbers') as { cache: Record<number, Buffer> };
  return Object.keys(numbers.cache).length;
}

describe("mqtt-packet's packet-id cache", () => {
  let env: BrokerEnv | undefined;
  afterEach(async () => {
    await env?.close();
  });

  it('is never built once a broker exists: CONNACK, SUBACK, PUBACK and a forwarded PUBLISH still carry the right ids', async () => {
    // vitest runs each test file in its own process (pool: forks), so nothing wrote a packet before this
    expect(cachedNumbers()).toBe(0);
    env = await createBrokerEnv();
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    const t = await env.createTenant('owner@example.com');
    const dev = await connect(env.mqttUrl, { clientId: 'dev-1', password: t.secret });
    try {
      const errors = 'dakkio/clients/dev-1/errors';
      expect(await subscribeGranted(dev, errors)).toBe(1);
      const topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
      for (let i = 0; i < 3; i++) await dev.publishAsync(topic, JSON.stringify({ values: { v: i }, timestamp: 1_000 + i }), { qos: 1 });
      // a refused payload is reported on the error topic: a PUBLISH with a packet id, written by mqtt-packet
      const reported = new Promise<string>((resolve) => dev.once('message', (_t, payload) => resolve(payload.toString())));
      await dev.publishAsync(topic, '{"values": {', { qos: 1 });
      expect(JSON.parse(await reported).code).toBe('invalid_json');
      expect((await env.readAll(t.bucketId)).map((p) => p.value)).toEqual([0, 1, 2]);
      expect(cachedNumbers()).toBe(0);
    } finally {
      await dev.endAsync(true);
    }
  });
});
