/**
 * An unmodified Mosquitto 2.0 at the edge, bridged into dakkio (try_private and
 * notifications at their defaults): devices publish on the edge with the real
 * mosquitto_pub, a topic mapping turns the bridged messages into readings. The
 * bridge stays connected (its `$SYS/broker/connection/<id>/state` notification is
 * accepted), and stopping/starting dakkio and the edge loses nothing the edge
 * acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MOSQUITTO_BIN, requireBinary } from '../mosquitto-compat/testing/mosquitto-binaries.ts';
import { freePort, type MosquittoServer, startMosquitto } from '../mosquitto-compat/testing/mosquitto-server.ts';
import { type CompatDakkio, startCompatDakkio } from './harness/mosquitto-dakkio.ts';
import { mosquittoClientsMissing, mosquittoPub } from './mosquitto-clients.ts';

const missing = mosquittoClientsMissing() ?? (requireBinary(MOSQUITTO_BIN).available ? null : 'mosquitto missing');
if (missing) console.warn(`skipping mosquitto bridge tests: ${missing}`);

/** Polls until `check` holds; the test timeout bounds it (nothing is asserted about speed). */
async function until(check: () => Promise<boolean> | boolean, _what: string): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// an hour ago: inside the default query window (the last 24 h)
const T0 = Date.now() - 3_600_000;
const EMAIL = 'edge@example.com';

describe.skipIf(missing !== null)('a Mosquitto 2.0 edge bridged into dakkio', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(credential: 'api-key' | 'imported-password') {
    const dataDir = mkdtempSync(join(tmpdir(), 'dakkio-bridge-'));
    const edgeDir = mkdtempSync(join(tmpdir(), 'dakkio-edge-'));
    const mqttPort = await freePort();
    const dakkioEnv = { DAKKIO_MQTT_PORT: String(mqttPort) };
    let env: CompatDakkio = await startCompatDakkio({ email: EMAIL, dataDir, env: dakkioEnv });
    let edge: MosquittoServer | null = null;
    let watcher: MqttClient | null = null;
    cleanups.push(async () => {
      await watcher?.endAsync(true);
      await edge?.close();
      await env.d.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(edgeDir, { recursive: true, force: true });
    });
    const bucketId = env.bucketId;
    await env.call('POST', '/api/mqtt/topic-mappings', {
      filter: 'home/+/+',
      bucketId,
      // {n} is the n-th topic level (API.md): home=1, livingroom=2, temperature=3
      dataSource: '{2}',
      metric: '{3}',
      payload: 'value',
      createSources: true,
    });
    // JSON bodies that carry their timestamp: a redelivered message lands on the same point
    await env.call('POST', '/api/mqtt/topic-mappings', { filter: 'home/+', bucketId, dataSource: '{2}', payload: 'json', createSources: true });
    // a watcher that may read the bridges' state notifications
    await env.call('POST', '/api/mqtt/credentials', {
      username: 'watcher',
      password: 'watcher-pw',
      rules: [{ type: 'topic', access: 'read', filter: '$SYS/broker/connection/#' }],
    });
    let remotePassword: string;
    if (credential === 'api-key') {
      const k = await env.call('POST', '/api/keys', {
        name: 'edge bridge',
        permissions: ['write'],
        rules: [{ type: 'topic', access: 'readwrite', filter: 'home/#' }],
      });
      remotePassword = k.secret;
    } else {
      // the password a device had on the old broker, imported as its hash
      await env.call('POST', '/api/mqtt/credentials', {
        username: 'edge',
        password: 'edge-bridge-pw',
        rules: [{ type: 'topic', access: 'readwrite', filter: 'home/#' }],
      });
      remotePassword = 'edge-bridge-pw';
    }

    const states: string[] = [];
    watcher = await mqtt.connectAsync(env.d.mqttUrl, { username: 'watcher', password: 'watcher-pw', clientId: 'watcher', reconnectPeriod: 0 });
    watcher.on('message', (_t, p) => states.push(p.toString()));
    await watcher.subscribeAsync('$SYS/broker/connection/+/state', { qos: 1 });

    const edgePort = await freePort();
    const startEdge = () =>
      startMosquitto({
        port: edgePort,
        dir: edgeDir,
        allowAnonymous: true,
        persistence: true,
        extra: [
          'connection dakkio',
          `address 127.0.0.1:${mqttPort}`,
          'remote_clientid edge-bridge',
          'remote_username edge',
          `remote_password ${remotePassword}`,
          'topic home/# out 1',
          'restart_timeout 1',
        ],
      });
    edge = await startEdge();
    await until(() => states.includes('1'), 'the bridge to connect');

    const reader = (await env.call('POST', '/api/keys', { name: 'reader', permissions: ['read'] })).secret as string;
    const readings = async (): Promise<number[]> => {
      const r = await env.api('GET', `/api/data?bucketId=${bucketId}&metrics=temperature`, { apiKey: reader });
      if (r.status !== 200) return [];
      return (r.body.series as { points: [string, number][] }[]).flatMap((s) => s.points.map((p) => p[1]));
    };
    const publishOnEdge = async (value: number, json = false) => {
      const [topic, body] = json
        ? ['home/livingroom', JSON.stringify({ temperature: value, timestamp: T0 + value })]
        : ['home/livingroom/temperature', String(value)];
      const r = await mosquittoPub({ port: edgePort, clientId: `dev-${value}` }, topic, body, 1);
      expect(r.code, r.stderr).toBe(0);
    };
    return {
      states,
      readings,
      publishOnEdge,
      async restartDakkio(between: () => Promise<void>) {
        await env.d.close();
        await between();
        env = await startCompatDakkio({ email: EMAIL, dataDir, env: dakkioEnv, existing: { token: env.token, bucketId } });
      },
      async restartEdge() {
        await edge?.close({ keepDir: true });
        edge = await startEdge();
      },
      edgeLog: () => edge?.log() ?? '',
    };
  }

  it.each(['api-key', 'imported-password'] as const)('stays connected and stores the mapped readings (remote_password = %s)', async (credential) => {
    const t = await setup(credential);
    await t.publishOnEdge(21.5);
    await until(async () => (await t.readings()).includes(21.5), 'the bridged reading');
    // still the same bridge connection: no will ("0") was published
    expect(t.states).toEqual(['1']);
    expect(t.edgeLog()).not.toMatch(/Socket error on client dakkio|Connection Refused/i);
  }, 60_000);

  // the edge (Mosquitto 2.0.11 with persistence) may send a message again after its own restart;
  // the payloads carry their timestamp, so a repeat lands on the same point: each value once
  it('loses nothing the edge acknowledged across dakkio and edge restarts', async () => {
    const t = await setup('imported-password');
    await t.publishOnEdge(1, true);
    await until(async () => (await t.readings()).includes(1), 'the first reading');
    // dakkio down: the edge acknowledges and queues for the bridge; the edge restarts with its queue on disk
    await t.restartDakkio(async () => {
      for (const v of [2, 3, 4]) await t.publishOnEdge(v, true);
      await t.restartEdge();
      await t.publishOnEdge(5, true);
    });
    await until(async () => {
      const got = await t.readings();
      return [1, 2, 3, 4, 5].every((v) => got.includes(v));
    }, 'readings after the restarts');
    // each once: the burst flushed by the bridge stays distinct readings
    expect((await t.readings()).sort()).toEqual([1, 2, 3, 4, 5]);
    // edge restart with dakkio up: still bridged
    await t.restartEdge();
    await t.publishOnEdge(6, true);
    await until(async () => (await t.readings()).includes(6), 'a reading after the edge restart');
    expect((await t.readings()).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  }, 90_000);
});
