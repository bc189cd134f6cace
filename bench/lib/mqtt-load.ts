/**
 * A lean MQTT load generator: raw TCP sockets, PUBLISH packets encoded once with
 * mqtt-packet and then only copied and patched (packet id, timestamp digits), and
 * a hand-rolled reader for the few packet types a publisher receives. mqtt-packet's
 * streaming parser is correct but costs more CPU per PUBACK than the broker under
 * test spends on some baselines, so the generator would become the bottleneck.
 *
 * QoS 1: each publisher keeps `window` PUBLISHes in flight and sends the next one
 * (reusing the packet id) on each PUBACK; latency is PUBLISH written → PUBACK read.
 * QoS 0 has no acknowledgement, so a publisher sends `window` PUBLISHes and a
 * PINGREQ; brokers handle a client's packets in order, so the PINGRESP means the
 * whole burst was processed, and the next burst follows.
 *
 * Paced (QoS 1 with `rate`): a fixed aggregate rate instead of a window. A 2 ms ticker
 * sends what the schedule says is due, round robin over the publishers, whether or not
 * earlier PUBLISHes were acknowledged (open loop: a slow broker shows up as latency,
 * not as a lower send rate that hides it).
 */
import { type Socket, connect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { nextTimestamp } from './bench-timestamps.ts';

export interface LoadOptions {
  port: number;
  publishers: number;
  window: number;
  qos: 0 | 1;
  durationMs: number;
  /** topics publisher p cycles through */
  topicsFor(p: number): string[];
  username?: string;
  password?(p: number): string | undefined;
  metric?: string;
  /** QoS 1 only: aggregate PUBLISHes per second, spread over the publishers (window unused) */
  rate?: number;
}

export interface LoadResult {
  /** messages acknowledged (QoS 1: PUBACKs; QoS 0: bursts confirmed by PINGRESP) inside the measured window */
  messages: number;
  /** every acknowledgement, including those drained after the window */
  totalAcked: number;
  elapsedMs: number;
  perSecond: number;
  /** PUBACK latencies in ms (QoS 1) or burst round trips (QoS 0) */
  latencies: number[];
  /** publishers that lost their connection during the run */
  dropped: number;
  /** acknowledged messages per second of the run, to show degradation over time */
  timeline: number[];
  /** PUBLISHes sent inside the measured window */
  sent: number;
}

const TS_DIGITS = 13;

export interface Template {
  topic: string;
  buf: Buffer;
  idOffset: number;
  tsOffset: number;
}

export function makeTemplate(topic: string, qos: 0 | 1, metric: string): Template {
  const payload = `{"values":{"${metric}":21.5},"timestamp":${'9'.repeat(TS_DIGITS)}}`;
  const buf = mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    messageId: qos ? 0xffff : undefined,
    retain: false,
    dup: false,
  } as mqttPacket.IPublishPacket);
  const payloadStart = buf.length - Buffer.byteLength(payload);
  const idOffset = qos ? payloadStart - 2 : -1;
  const tsOffset = payloadStart + payload.lastIndexOf('9'.repeat(TS_DIGITS));
  return { topic, buf, idOffset, tsOffset };
}

export function encode(t: Template, id: number): Buffer {
  const b = Buffer.allocUnsafe(t.buf.length);
  t.buf.copy(b);
  if (t.idOffset >= 0) b.writeUInt16BE(id, t.idOffset);
  const ts = nextTimestamp(t.topic);
  b.write(String(ts), t.tsOffset, TS_DIGITS, 'latin1');
  return b;
}

/** Splits a byte stream into MQTT packets: calls onPacket(type, buf, bodyStart). */
function framer(onPacket: (type: number, buf: Buffer, body: number) => void) {
  let pending: Buffer | undefined;
  return (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let i = 0;
    while (i < buf.length) {
      let len = 0;
      let mul = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length) {
        const byte = buf[j++]!;
        len += (byte & 0x7f) * mul;
        mul *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + len > buf.length) break;
      onPacket(buf[i]! >> 4, buf, j);
      i = j + len;
    }
    if (i < buf.length) pending = buf.subarray(i);
  };
}

const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Connects one raw MQTT client; resolves once CONNACK 0 arrives. */
export function connectRaw(
  port: number,
  clientId: string,
  creds: { username?: string; password?: string },
  onPacket?: (type: number, buf: Buffer, body: number) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let connected = false;
    socket.once('error', (err) => {
      if (!connected) reject(err);
    });
    socket.on('close', () => {
      if (!connected) reject(new Error(`${clientId}: closed before CONNACK`));
    });
    const read = framer((type, buf, body) => {
      if (!connected && type === 2) {
        const rc = buf[body + 1]!;
        if (rc !== 0) return reject(new Error(`${clientId}: CONNACK return code ${rc}`));
        connected = true;
        socket.on('error', () => {});
        resolve(socket);
        return;
      }
      onPacket?.(type, buf, body);
    });
    socket.on('data', read);
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId,
        keepalive: 0,
        ...(creds.username !== undefined ? { username: creds.username } : {}),
        ...(creds.password !== undefined ? { password: Buffer.from(creds.password) } : {}),
      } as mqttPacket.IConnectPacket),
    );
  });
}

export function disconnectRaw(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    socket.end(DISCONNECT);
    setTimeout(() => socket.destroy(), 2000).unref();
  });
}

export async function runMqttLoad(o: LoadOptions): Promise<LoadResult> {
  const metric = o.metric ?? 'temperature';
  const latencies: number[] = [];
  let running = false;
  let inWindow = 0;
  let totalAcked = 0;
  let outstanding = 0;
  let dropped = 0;
  let onIdle: (() => void) | undefined;
  const timeline: number[] = [];
  let t0 = 0;
  let sent = 0;
  const paced = o.rate !== undefined && o.qos === 1;

  const pubs = await Promise.all(
    Array.from({ length: o.publishers }, async (_, p) => {
      const templates = o.topicsFor(p).map((t) => makeTemplate(t, o.qos, metric));
      let cursor = p % templates.length;
      const sentAt = new Float64Array(65536);
      let socket!: Socket;
      const nextTemplate = () => {
        cursor = (cursor + 1) % templates.length;
        return templates[cursor]!;
      };
      const send = (id: number) => {
        sentAt[id] = performance.now();
        outstanding++;
        if (running) sent++;
        socket.write(encode(nextTemplate(), id));
      };
      // paced: packet ids cycle through 1..65535 (an id is reused ~65k messages later)
      let nextId = 0;
      const sendNext = () => {
        nextId = (nextId % 65535) + 1;
        send(nextId);
      };
      const sendBurst = () => {
        sentAt[0] = performance.now();
        outstanding += o.window;
        for (let k = 0; k < o.window; k++) socket.write(encode(nextTemplate(), 0));
        socket.write(PINGREQ);
      };
      const acked = (n: number, since: number) => {
        outstanding -= n;
        totalAcked += n;
        if (running) {
          const now = performance.now();
          inWindow += n;
          latencies.push(now - since);
          const sec = Math.floor((now - t0) / 1000);
          timeline[sec] = (timeline[sec] ?? 0) + n;
        }
        if (outstanding === 0 && onIdle) onIdle();
      };
      socket = await connectRaw(
        o.port,
        `bench-${process.pid}-${p}-${Date.now() % 100000}`,
        { username: o.username, password: o.password?.(p) },
        (type, buf, body) => {
          if (type === 4 && o.qos === 1) {
            const id = buf.readUInt16BE(body);
            acked(1, sentAt[id]!);
            if (running && !paced) send(id);
          } else if (type === 13 && o.qos === 0) {
            acked(o.window, sentAt[0]!);
            if (running) sendBurst();
          }
        },
      );
      // cork per chunk: one PUBACK chunk triggers many PUBLISHes, written as one segment
      socket.prependListener('data', () => {
        socket.cork();
        process.nextTick(() => socket.uncork());
      });
      socket.on('close', () => {
        if (running) dropped++;
      });
      return {
        socket,
        sendNext,
        start: () => (o.qos === 1 ? Array.from({ length: o.window }, (_, k) => send(k + 1)) : sendBurst()),
      };
    }),
  );

  running = true;
  t0 = performance.now();
  let ticker: NodeJS.Timeout | undefined;
  if (paced) {
    let rr = 0;
    ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * o.rate!) / 1000) - sent;
      for (const p of pubs) p.socket.cork();
      for (let k = 0; k < due; k++) pubs[rr++ % pubs.length]!.sendNext();
      for (const p of pubs) p.socket.uncork();
    }, 2);
  } else for (const p of pubs) p.start();
  await new Promise((r) => setTimeout(r, o.durationMs));
  running = false;
  if (ticker) clearInterval(ticker);
  const elapsedMs = performance.now() - t0;
  const messages = inWindow;
  // drain what is still in flight so the stored-row count can be compared with the acks
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      onIdle = resolve;
      setTimeout(resolve, 30_000);
    });
  }
  await Promise.all(pubs.map((p) => disconnectRaw(p.socket)));
  return {
    messages,
    totalAcked,
    elapsedMs,
    perSecond: messages / (elapsedMs / 1000),
    latencies,
    dropped,
    // whole seconds only: the last bin would hold the sliver of acks before the window closed
    timeline: Array.from(timeline, (v) => v ?? 0).slice(0, Math.floor(o.durationMs / 1000)),
    sent,
  };
}
