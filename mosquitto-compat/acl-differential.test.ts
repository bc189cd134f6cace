/**
 * The same acl_file enforced by the real Mosquitto and by our evaluator must give
 * the same allow/deny for every case of the fixture table. Presence or absence of
 * a message is decided without timers: a retained message is set (or not) and then
 * a SUBSCRIBE + UNSUBSCRIBE round trip; Mosquitto queues matching retained messages
 * before it answers the UNSUBSCRIBE.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAclFile } from './acl-file.ts';
import { canPublish, canRead } from './acl-evaluate.ts';
import { ACL_CASES, ACL_FIXTURE, FIXTURE_PASSWORD, FIXTURE_USERS } from './testing/acl-fixture.ts';
import { MOSQUITTO_BIN, MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from './testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from './testing/mosquitto-server.ts';

const available = requireBinary(MOSQUITTO_BIN).available && requireBinary(MOSQUITTO_PASSWD_BIN).available;

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

/** Subscribes to `topic`, unsubscribes, and tells whether a retained payload arrived in between. */
async function retainedPayload(client: MqttClient, topic: string): Promise<string | null> {
  let got: string | null = null;
  const onMessage = (t: string, payload: Buffer) => {
    if (t === topic) got = payload.toString();
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(topic, { qos: 0 });
    await client.unsubscribeAsync(topic);
  } finally {
    client.off('message', onMessage);
  }
  return got;
}

describe.skipIf(!available)('acl_file: dakkio evaluator vs the real Mosquitto', () => {
  let server: MosquittoServer;
  let observer: MqttClient;
  const clients = new Map<string, MqttClient>();
  const { ruleset } = parseAclFile(ACL_FIXTURE);

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-pwf-'));
    const pwFile = join(dir, 'passwords');
    FIXTURE_USERS.forEach((u, i) => {
      mosquittoPasswd(pwFile, u, FIXTURE_PASSWORD(u), { create: i === 0, iterations: 1 });
    });
    const passwordFile = readFileSync(pwFile, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    server = await startMosquitto({ passwordFile, aclFile: ACL_FIXTURE });
    observer = await connect(server.url, 'observer', 'observer-1');
  });

  afterAll(async () => {
    for (const c of clients.values()) await c.endAsync(true);
    await observer?.endAsync(true);
    await server?.close();
  });

  async function clientFor(username: string, clientId: string): Promise<MqttClient> {
    const key = `${username}\u0000${clientId}`;
    let c = clients.get(key);
    if (!c) {
      c = await connect(server.url, username, clientId);
      clients.set(key, c);
    }
    return c;
  }

  it.each(ACL_CASES)('$username ($clientId) $action $topic', async (tc) => {
    const client = await clientFor(tc.username, tc.clientId);
    const who = { username: tc.username, clientId: tc.clientId };
    // start from no retained message on the topic
    await observer.publishAsync(tc.topic, '', { qos: 1, retain: true });
    let mosquittoAllowed: boolean;
    if (tc.action === 'write') {
      await client.publishAsync(tc.topic, 'w', { qos: 1, retain: true });
      mosquittoAllowed = (await retainedPayload(observer, tc.topic)) === 'w';
    } else {
      await observer.publishAsync(tc.topic, 'r', { qos: 1, retain: true });
      mosquittoAllowed = (await retainedPayload(client, tc.topic)) === 'r';
    }
    await observer.publishAsync(tc.topic, '', { qos: 1, retain: true });
    const ours = tc.action === 'write' ? canPublish(ruleset, who, tc.topic) : canRead(ruleset, who, tc.topic);
    expect({ mosquitto: mosquittoAllowed, dakkio: ours }).toEqual({ mosquitto: tc.allowed, dakkio: tc.allowed });
  });

  it('grants the SUBACK for a subscription the ACL would never deliver (as canSubscribe does)', async () => {
    const client = await clientFor('carol', 'c-sub');
    const granted = await client.subscribeAsync('forbidden/#', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
  });
});
