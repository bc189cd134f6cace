/**
 * Test support for the differential conformance suite: a target broker (real
 * Mosquitto now, dakkio's broker when it exists), MQTT.js clients against it, a
 * raw-socket client for packets MQTT.js refuses to send, and waits that end on an
 * event (never a fixed sleep).
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface ConformanceTarget {
  name: string;
  host: string;
  port: number;
  /** a credential allowed `#` and `$x/#` (readwrite) */
  username: string;
  password: string;
}

export interface Session {
  target: ConformanceTarget;
  connect(clientId: string, extra?: Partial<IClientOptions>): Promise<MqttClient>;
  raw(): Promise<RawClient>;
  /** ends every client and socket opened through this session */
  close(): Promise<void>;
}

export interface RawClient {
  send(packet: Packet): void;
  sendBytes(bytes: Buffer): void;
  /** resolves with the next packet of this kind, or rejects when the socket closes first */
  next(cmd: Packet['cmd']): Promise<Packet>;
  closed: Promise<void>;
  destroy(): void;
}

export function openSession(target: ConformanceTarget): Session {
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];
  const url = `mqtt://${target.host}:${target.port}`;
  return {
    target,
    async connect(clientId, extra = {}) {
      const c = mqtt.connect(url, {
        clientId,
        username: target.username,
        password: target.password,
        reconnectPeriod: 0,
        protocolVersion: 4,
        ...extra,
      });
      clients.push(c);
      // Attached before CONNECT: queued messages may arrive right after CONNACK.
      const got: Received[] = [];
      c.on('message', (topic, payload, packet) => {
        got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup });
      });
      received.set(c, got);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', (connack) => {
          sessionPresent.set(c, connack.sessionPresent);
          resolve();
        });
        c.once('error', reject);
      });
      return c;
    },
    async raw() {
      const sock = netConnect(target.port, target.host);
      sockets.push(sock);
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const queue: Packet[] = [];
      const waiters: { cmd: Packet['cmd']; resolve(p: Packet): void; reject(e: Error): void }[] = [];
      let isClosed = false;
      parser.on('packet', (p: Packet) => {
        const i = waiters.findIndex((w) => w.cmd === p.cmd);
        if (i >= 0) waiters.splice(i, 1)[0]?.resolve(p);
        else queue.push(p);
      });
      sock.on('data', (d) => parser.parse(d));
      const closed = new Promise<void>((resolve) =>
        sock.once('close', () => {
          isClosed = true;
          for (const w of waiters.splice(0)) w.reject(new Error(`socket closed before ${w.cmd}`));
          resolve();
        }),
      );
      sock.on('error', () => {});
      return {
        send: (p) => sock.write(mqttPacket.generate(p)),
        sendBytes: (b) => sock.write(b),
        next: (cmd) => {
          const i = queue.findIndex((p) => p.cmd === cmd);
          if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as Packet);
          if (isClosed) return Promise.reject(new Error(`socket closed before ${cmd}`));
          return new Promise((resolve, reject) => waiters.push({ cmd, resolve, reject }));
        },
        closed,
        destroy: () => sock.destroy(),
      };
    },
    async close() {
      for (const c of clients.splice(0)) await c.endAsync(true);
      for (const s of sockets.splice(0)) s.destroy();
    },
  };
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

const received = new WeakMap<MqttClient, Received[]>();
const sessionPresent = new WeakMap<MqttClient, boolean>();

/** The messages a session client received since it connected, in arrival order (a live array). */
export function collect(client: MqttClient): Received[] {
  const got = received.get(client);
  if (!got) throw new Error('not a session client');
  return got;
}

export const wasSessionPresent = (client: MqttClient): boolean => sessionPresent.get(client) ?? false;

/** Resolves once `predicate` holds, checking on every message; rejects after timeoutMs (a hang guard, not a timing check). */
export function until(client: MqttClient, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onMessage = () => {
      if (predicate()) {
        cleanup();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('condition not reached'));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('message', onMessage);
    };
    client.on('message', onMessage);
  });
}

/**
 * Everything `publisher` sent before this call has reached `subscriber` once the
 * sentinel arrives (per-client ordering, [MQTT-4.6.0-6]). The subscriber must be
 * subscribed to `sentinel/#`.
 */
export async function barrier(publisher: MqttClient, subscriber: MqttClient, id: string): Promise<void> {
  const topic = `sentinel/${id}`;
  const seen = new Promise<void>((resolve) => {
    const on = (t: string) => {
      if (t === topic) {
        subscriber.off('message', on);
        resolve();
      }
    };
    subscriber.on('message', on);
  });
  await publisher.publishAsync(topic, 'x', { qos: 1 });
  await seen;
}

/**
 * A CONNECT with an empty client id and clean session 0: mqtt-packet refuses to
 * build one, so it is built with clean session 1 and the flag cleared.
 */
export function connectEmptyIdPersistent(username: string, password: string): Buffer {
  const bytes = mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: '',
    keepalive: 30,
    username,
    password: Buffer.from(password),
  });
  let i = 1;
  while ((bytes[i] ?? 0) & 0x80) i++;
  const flags = i + 1 + 6 + 1; // remaining length, protocol name (2 + 4), level
  bytes[flags] = (bytes[flags] ?? 0) & ~0x02;
  return bytes;
}
