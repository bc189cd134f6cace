/** Test helper: MQTT.js clients that fail fast and never reconnect on their own. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export const clientOptions = (opts: IClientOptions = {}): IClientOptions => ({
  reconnectPeriod: 0,
  connectTimeout: 5_000,
  protocolVersion: 4,
  clean: true,
  // MQTT 3.1.1 forbids a password without a user name [MQTT-3.1.2-22]
  ...(opts.password !== undefined && opts.username === undefined ? { username: 'device' } : {}),
  ...opts,
});

export async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, clientOptions(opts), false);
}

/** Connects with a message collector attached before the CONNACK, so a session's queued backlog is seen too. */
export async function connectCollecting(url: string, opts: IClientOptions = {}) {
  const client = mqtt.connect(url, clientOptions(opts));
  const messages = collectMessages(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { client, messages };
}

/** The CONNACK return code a CONNECT gets (0 = accepted; the client is closed either way). */
export async function connackCode(url: string, opts: IClientOptions = {}): Promise<number> {
  try {
    const c = await connect(url, opts);
    await c.endAsync(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

/** Resolves with the next message on a topic matching `topic` (exact string or predicate). */
export function nextMessage(
  client: MqttClient,
  topic: string | ((t: string) => boolean),
): Promise<{ topic: string; payload: Buffer; retain: boolean; json: () => unknown }> {
  const match = typeof topic === 'string' ? (t: string) => t === topic : topic;
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain: boolean }) => {
      if (!match(t)) return;
      client.off('message', onMessage);
      resolve({ topic: t, payload, retain: packet.retain, json: () => JSON.parse(payload.toString('utf8')) });
    };
    client.on('message', onMessage);
  });
}

/** Collects every message that arrives, for "received nothing" checks. */
export function collectMessages(client: MqttClient): { topic: string; payload: string }[] {
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('utf8') }));
  return seen;
}

/** Resolves when the broker (or anything) closes the connection. */
export function closed(client: MqttClient): Promise<void> {
  if (client.disconnected || !client.connected) return Promise.resolve();
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** SUBACK granted QoS per filter (128 = refused). */
export async function subscribeGranted(client: MqttClient, filter: string, qos: 0 | 1 = 1): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos });
    return granted[0]?.qos ?? -1;
  } catch (err) {
    // MQTT.js rejects a SUBACK 0x80 with the packet attached
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted?.[0] !== undefined) return granted[0];
    throw err;
  }
}
