/**
 * The same password_file (from the real mosquitto_passwd) and acl_file enforced by
 * the real Mosquitto and by dakkio (files imported over HTTP) give the same
 * allow/deny for every case of the fixture table, observed the same way on both:
 * live delivery, with absence decided by a barrier message that follows on the
 * same path ([MQTT-4.6.0-6] ordering), never by a timer.
 *
 * The acl_file is the fixture plus one `topic read barrier/<n>` per user, so every
 * reader can receive its barrier; no fixture case touches barrier/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACL_CASES, ACL_FIXTURE, FIXTURE_PASSWORD, FIXTURE_USERS } from '../mosquitto-compat/testing/acl-fixture.ts';
import { MOSQUITTO_BIN, MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from '../mosquitto-compat/testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from '../mosquitto-compat/testing/mosquitto-server.ts';
import { type CompatDakkio, startCompatDakkio } from './harness/mosquitto-dakkio.ts';

const available = requireBinary(MOSQUITTO_BIN).available && requireBinary(MOSQUITTO_PASSWD_BIN).available;

const barrierOf = (username: string) => `barrier/${FIXTURE_USERS.indexOf(username as (typeof FIXTURE_USERS)[number])}`;

function aclWithBarriers(): string {
  let acl = ACL_FIXTURE;
  const extra: string[] = [];
  for (const u of FIXTURE_USERS) {
    const line = `topic read ${barrierOf(u)}`;
    if (acl.includes(`\nuser ${u}\n`)) acl = acl.replace(`\nuser ${u}\n`, `\nuser ${u}\n${line}\n`);
    else extra.push(`user ${u}`, line, '');
  }
  // sections for users the fixture leaves to the patterns; patterns still apply to them
  return acl.replace('\npattern ', `\n${extra.join('\n')}\npattern `);
}

interface Target {
  url: string;
  clients: Map<string, MqttClient>;
  observer: MqttClient;
}

async function connect(url: string, username: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username,
    password: FIXTURE_PASSWORD(username),
    clientId,
    clean: true,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
}

/** Subscribes `reader` to `topic` and its barrier, runs `act`, sends the barrier, and tells whether `topic` got `payload` first. */
async function received(reader: MqttClient, topic: string, barrier: string, act: () => Promise<void>, sendBarrier: () => Promise<void>, payload: string) {
  let got = false;
  const done = new Promise<void>((resolve) => {
    const onMessage = (t: string, p: Buffer) => {
      if (t === topic && p.toString() === payload) got = true;
      if (t === barrier) {
        reader.off('message', onMessage);
        resolve();
      }
    };
    reader.on('message', onMessage);
  });
  await reader.subscribeAsync([topic, barrier], { qos: 1 });
  await act();
  await sendBarrier();
  await done;
  await reader.unsubscribeAsync([topic, barrier]);
  return got;
}

describe.skipIf(!available)('acl_file: dakkio vs the real Mosquitto', () => {
  let mosquitto: MosquittoServer;
  let dakkio: CompatDakkio;
  const targets: Target[] = [];
  const acl = aclWithBarriers();

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-acl-'));
    const pwFile = join(dir, 'passwords');
    for (const [i, u] of FIXTURE_USERS.entries()) {
      mosquittoPasswd(pwFile, u, FIXTURE_PASSWORD(u), { create: i === 0, iterations: 1 });
    }
    const passwordFile = readFileSync(pwFile, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    mosquitto = await startMosquitto({ passwordFile, aclFile: acl });
    dakkio = await startCompatDakkio({ email: 'acl@example.com' });
    await dakkio.call('POST', '/api/mqtt/import', { passwordFile, aclFile: acl }, 200);
    for (const url of [mosquitto.url, dakkio.d.mqttUrl]) {
      targets.push({ url, clients: new Map(), observer: await connect(url, 'observer', 'observer-1') });
    }
  });
  afterAll(async () => {
    for (const t of targets) {
      for (const c of t.clients.values()) await c.endAsync(true);
      await t.observer.endAsync(true);
    }
    await mosquitto?.close();
    await dakkio?.d.destroy();
  });

  async function clientFor(t: Target, username: string, clientId: string): Promise<MqttClient> {
    const key = `${username}\u0000${clientId}`;
    let c = t.clients.get(key);
    if (!c) {
      c = await connect(t.url, username, clientId);
      t.clients.set(key, c);
    }
    return c;
  }

  async function allowed(t: Target, tc: (typeof ACL_CASES)[number]): Promise<boolean> {
    const client = await clientFor(t, tc.username, tc.clientId);
    if (tc.action === 'write') {
      const barrier = 'barrier/observer';
      return received(
        t.observer,
        tc.topic,
        barrier,
        async () => void (await client.publishAsync(tc.topic, 'w', { qos: 1 })),
        async () => void (await t.observer.publishAsync(barrier, 'b', { qos: 1 })),
        'w',
      );
    }
    const barrier = barrierOf(tc.username);
    return received(
      client,
      tc.topic,
      barrier,
      async () => void (await t.observer.publishAsync(tc.topic, 'r', { qos: 1 })),
      async () => void (await t.observer.publishAsync(barrier, 'b', { qos: 1 })),
      'r',
    );
  }

  it.each(ACL_CASES)('$username ($clientId) $action $topic', async (tc) => {
    const [onMosquitto, onDakkio] = [await allowed(targets[0]!, tc), await allowed(targets[1]!, tc)];
    expect({ mosquitto: onMosquitto, dakkio: onDakkio }).toEqual({ mosquitto: tc.allowed, dakkio: tc.allowed });
  });
});
