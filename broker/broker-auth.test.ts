import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../core/clock.ts';
import { createBroker } from './create-broker.ts';
import { ListenError } from './listeners.ts';
import { KEY_REFRESH_MS } from './session-events.ts';
import { type BrokerEnv, createBrokerEnv, testBrokerOptions } from './testing/broker-env.ts';
import { closed, connackCode, connect } from './testing/mqtt-client.ts';

describe('broker authentication', () => {
  let env: BrokerEnv;
  beforeEach(async () => {
    env = await createBrokerEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it('accepts a valid key and refuses missing, malformed and unknown keys with 0x04', async () => {
    const t = await env.createTenant('a@example.com');
    expect(await connackCode(env.mqttUrl, { clientId: 'ok', username: 'dev', password: t.secret })).toBe(0);
    expect(await connackCode(env.mqttUrl, { clientId: 'nokey', username: 'dev' })).toBe(4);
    expect(await connackCode(env.mqttUrl, { clientId: 'junk', username: 'dev', password: 'hunter2' })).toBe(4);
    // well-formed prefix, bad checksum: refused before any lookup
    // (the replaced character must differ from the real one: a fixed 'x' matched it in ~1 run in 36)
    const typo = `${t.secret.slice(0, -1)}${t.secret.endsWith('x') ? 'y' : 'x'}`;
    expect(await connackCode(env.mqttUrl, { clientId: 'typo', password: typo })).toBe(4);
    const counters = env.broker.counters();
    expect(counters.dakkio_mqtt_connections_total).toBe(1);
    expect(counters['dakkio_mqtt_connections_refused_total{reason="missing"}']).toBe(1);
  });

  it('answers an MQTT 5 CONNECT with return code 1 (Aedes 1.x speaks 3.1.1 only)', async () => {
    const t = await env.createTenant('v5@example.com');
    // 0x01 "unacceptable protocol version" [MQTT-3.1.2-2]
    expect(await connackCode(env.mqttUrl, { clientId: 'v5', password: t.secret, protocolVersion: 5 })).toBe(1);
    expect(env.broker.connectedClients()).toBe(0);
  });

  it('refuses revoked and expired keys with 0x05', async () => {
    const t = await env.createTenant('a@example.com');
    await env.keys.revoke(t.ownerId, t.keyId);
    expect(await connackCode(env.mqttUrl, { clientId: 'rev', password: t.secret })).toBe(5);

    const { secret } = await env.keys.create(t.ownerId, { name: 'short', permissions: ['write'], expiresAt: Date.now() + 600 });
    await new Promise((r) => setTimeout(r, 700));
    expect(await connackCode(env.mqttUrl, { clientId: 'exp', password: secret })).toBe(5);
  });

  it('drops every session of a revoked key at once and refuses it afterwards', async () => {
    const t = await env.createTenant('a@example.com');
    const a = await connect(env.mqttUrl, { clientId: 'dev-a', password: t.secret });
    const b = await connect(env.wsUrl, { clientId: 'dev-b', password: t.secret });
    const other = await env.createTenant('b@example.com');
    const c = await connect(env.mqttUrl, { clientId: 'dev-c', password: other.secret });
    expect(env.broker.connectedClients()).toBe(3);

    const started = Date.now();
    await env.keys.revoke(t.ownerId, t.keyId);
    await Promise.all([closed(a), closed(b)]);
    // the spec's bound, not a speed measurement: revocation is event-driven, not polled
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(c.connected).toBe(true);
    expect(await connackCode(env.mqttUrl, { clientId: 'dev-a', password: t.secret })).toBe(5);
    await c.endAsync();
  });

  it('closes the sessions of a key when it expires', async () => {
    const t = await env.createTenant('a@example.com');
    const { secret } = await env.keys.create(t.ownerId, { name: 'short', permissions: ['write'], expiresAt: Date.now() + 1_500 });
    const c = await connect(env.mqttUrl, { clientId: 'exp', password: secret });
    await closed(c);
    expect(env.broker.counters().dakkio_mqtt_sessions_dropped_total).toBe(1);
  });

  it('refuses a client id live under another owner (0x02) and lets the same owner take over', async () => {
    const t = await env.createTenant('a@example.com');
    const intruder = await env.createTenant('b@example.com');
    const first = await connect(env.mqttUrl, { clientId: 'sensor-1', password: t.secret });
    expect(await connackCode(env.mqttUrl, { clientId: 'sensor-1', password: intruder.secret })).toBe(2);
    expect(first.connected).toBe(true);

    const { secret: second } = await env.keys.create(t.ownerId, { name: 'k2', permissions: ['write'] });
    const wasClosed = closed(first);
    const again = await connect(env.mqttUrl, { clientId: 'sensor-1', password: second });
    await wasClosed; // [MQTT-3.1.4-2]
    expect(again.connected).toBe(true);
    await again.endAsync();
  });

  it('keeps sessions on the new secret when a rotated-away secret dies', async () => {
    const t = await env.createTenant('a@example.com');
    const old = await connect(env.mqttUrl, { clientId: 'old', password: t.secret });
    const { secret } = await env.keys.rotate(t.ownerId, t.keyId, { graceSeconds: 1 });
    const fresh = await connect(env.mqttUrl, { clientId: 'new', password: secret });
    await closed(old);
    expect(fresh.connected).toBe(true);
    await fresh.endAsync();
  });

  it('drops the sessions of a deleted owner', async () => {
    const t = await env.createTenant('a@example.com');
    const c = await connect(env.mqttUrl, { clientId: 'x', password: t.secret });
    await env.events.publish({ type: 'owner.deleted', ownerId: t.ownerId });
    await closed(c);
  });
});

describe('long-lived sessions', () => {
  it('re-verify their key while publishing, so the key’s lastUsedAt stays current', async () => {
    const clock = createManualClock();
    const env = await createBrokerEnv({}, { clock });
    try {
      const t = await env.createTenant('a@example.com');
      const dev = await connect(env.mqttUrl, { clientId: 'long', password: t.secret });
      const connectedAt = clock.now();
      expect((await env.keys.get(t.ownerId, t.keyId)).lastUsedAt).toBe(connectedAt);
      clock.advance(KEY_REFRESH_MS + 1_000);
      await dev.publishAsync(`dakkio/${t.bucketId}/${t.dataSourceId}/data/x`, '1', { qos: 1 });
      await expect.poll(async () => (await env.keys.get(t.ownerId, t.keyId)).lastUsedAt).toBe(clock.now());
      await dev.endAsync();
    } finally {
      await env.close();
    }
  });
});

describe('broker limits and listeners', () => {
  it('answers 0x03 once an address exceeds its connection rate', async () => {
    const env = await createBrokerEnv({ connectRatePerIp: 2 });
    try {
      const t = await env.createTenant('a@example.com');
      const codes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => connackCode(env.mqttUrl, { clientId: `c${i}`, password: t.secret })),
      );
      expect(codes).toContain(3);
      expect(env.broker.counters()['dakkio_mqtt_connections_refused_total{reason="rate_limited"}']).toBeGreaterThan(0);
    } finally {
      await env.close();
    }
  });

  it('names the setting when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const env = await createBrokerEnv();
    try {
      const err = await createBroker(env.deps, testBrokerOptions({ mqttPort: port })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).code).toBe('EADDRINUSE');
      expect((err as ListenError).setting).toBe('DAKKIO_MQTT_PORT');
      expect((err as Error).message).toContain('DAKKIO_MQTT_PORT');
      const wsErr = await createBroker(env.deps, testBrokerOptions({ wsPort: port })).catch((e: unknown) => e);
      expect((wsErr as ListenError).setting).toBe('DAKKIO_MQTT_WS_PORT');
    } finally {
      await env.close();
      await new Promise((r) => blocker.close(r));
    }
  });
});
