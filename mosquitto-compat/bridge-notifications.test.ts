/**
 * Pins down what a real Mosquitto 2.0 bridge sends on connect, so the broker's
 * handling (accepting the $SYS state notification) rests on observed behaviour.
 * A bare MQTT server (mqtt-packet) records the packets.
 */
import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bridgeStateTopic, isBridgeStateNotification } from './bridge-notifications.ts';
import { MOSQUITTO_BIN, requireBinary } from './testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from './testing/mosquitto-server.ts';

const available = requireBinary(MOSQUITTO_BIN).available;

describe('isBridgeStateNotification', () => {
  it('accepts only the client’s own state topic with 0/1', () => {
    expect(bridgeStateTopic('edge.dakkio')).toBe('$SYS/broker/connection/edge.dakkio/state');
    expect(isBridgeStateNotification('edge.dakkio', '$SYS/broker/connection/edge.dakkio/state', '1')).toBe(true);
    expect(isBridgeStateNotification('edge.dakkio', '$SYS/broker/connection/edge.dakkio/state', Buffer.from('0'))).toBe(true);
    expect(isBridgeStateNotification('edge.dakkio', '$SYS/broker/connection/other/state', '1')).toBe(false);
    expect(isBridgeStateNotification('edge.dakkio', '$SYS/broker/connection/edge.dakkio/state', 'x')).toBe(false);
  });
});

describe.skipIf(!available)('a real Mosquitto 2.0 bridge connecting to a bare server', () => {
  let server: Server | null = null;
  let edge: MosquittoServer | null = null;
  const sockets: Socket[] = [];

  afterEach(async () => {
    await edge?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('sends CONNECT in bridge mode with a $SYS will, then the state notification', async () => {
    const packets: Packet[] = [];
    server = createServer((sock) => {
      sockets.push(sock);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: Packet) => {
        packets.push(p);
        if (p.cmd === 'connect') sock.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        if (p.cmd === 'publish' && p.qos === 1) sock.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId }));
        if (p.cmd === 'unsubscribe') sock.write(mqttPacket.generate({ cmd: 'unsuback', messageId: p.messageId ?? 0, granted: [] }));
      });
      sock.on('data', (d) => parser.parse(d));
    });
    const port = await new Promise<number>((resolve) =>
      server?.listen(0, '127.0.0.1', () => {
        const a = server?.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    edge = await startMosquitto({
      allowAnonymous: true,
      extra: [
        'connection dakkio',
        `address 127.0.0.1:${port}`,
        'topic sensors/# out 1',
        'remote_username edge',
        'remote_password dakkio_secret',
        'try_private true',
      ],
    });
    await vi.waitFor(() => expect(packets.some((p) => p.cmd === 'publish')).toBe(true), { timeout: 20_000 });
    const connect = packets.find((p) => p.cmd === 'connect');
    if (connect?.cmd !== 'connect') throw new Error('no CONNECT');
    expect(connect).toMatchObject({ protocolVersion: 4, bridgeMode: true, clean: false, username: 'edge' });
    expect(connect.clientId).toMatch(/\.dakkio$/);
    expect(connect.will).toMatchObject({ topic: bridgeStateTopic(connect.clientId), qos: 1, retain: true });
    expect(connect.will?.payload.toString()).toBe('0');
    const publish = packets.find((p) => p.cmd === 'publish');
    if (publish?.cmd !== 'publish') throw new Error('no PUBLISH');
    expect(publish).toMatchObject({ topic: bridgeStateTopic(connect.clientId), qos: 1, retain: true });
    expect(isBridgeStateNotification(connect.clientId, publish.topic, publish.payload as Buffer)).toBe(true);
  });
});
