import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReadThrottle } from './read-throttle.ts';

/**
 * A bare Aedes whose authorizePublish holds every callback (an ingest that has not
 * committed yet), with the throttle attached: the number of held publishes must
 * stop near the limit however much the publishers have written, and releasing them
 * must let the rest through without stalling.
 */
const HIGH = 100;
const PUBLISHERS = 5;
const TOTAL = 20_000;

describe('read throttle', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stops reading publishers while too many publishes wait, and resumes them once answered', async () => {
    const held: (() => void)[] = [];
    let maxHeld = 0;
    let answered = 0;
    let pauses = 0;
    const throttle = createReadThrottle({ inFlight: () => held.length, high: HIGH, onPause: () => pauses++ });
    const answerAll = () => {
      for (const cb of held.splice(0)) {
        cb();
        answered++;
      }
      throttle.released();
    };
    const aedes = await Aedes.createBroker({
      authorizePublish(_client: Client | null, _packet: PublishPacket, cb: (err?: Error | null) => void) {
        held.push(() => cb(null));
        maxHeld = Math.max(maxHeld, held.length);
      },
    });
    const server: Server = createServer((sock) => throttle.attach(aedes.handle(sock)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () => new Promise<void>((resolve) => server.close(() => resolve())),
      () => new Promise<void>((resolve) => aedes.close(() => resolve())),
    );
    const port = (server.address() as { port: number }).port;
    const one = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'.repeat(40)), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket);
    const writers: Socket[] = [];
    for (let p = 0; p < PUBLISHERS; p++) {
      const sock: Socket = netConnect({ port, host: '127.0.0.1' });
      writers.push(sock);
      cleanups.push(() => {
        sock.destroy();
      });
      const connack = new Promise<void>((resolve) => sock.once('data', () => resolve()));
      sock.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `pub${p}`, clean: true, keepalive: 0 }));
      await connack;
    }
    cleanups.push(() => {
      throttle.close();
      answerAll();
    });
    const burst = Buffer.concat(Array.from({ length: TOTAL / PUBLISHERS }, () => one));
    for (const w of writers) w.write(burst);

    // nothing answered yet: every publisher read at most once, and those after the limit not at all
    await vi.waitFor(() => expect(throttle.paused).toBeGreaterThan(0), { timeout: 20_000 });
    const perChunk = Math.ceil(65_536 / one.length);
    expect(held.length).toBeLessThanOrEqual(HIGH + perChunk);

    // answer whatever waits: everything arrives, while the backlog never passes one read beyond the limit
    while (answered < TOTAL) {
      await vi.waitFor(() => expect(held.length).toBeGreaterThan(0), { timeout: 20_000 });
      answerAll();
    }
    expect(answered).toBe(TOTAL);
    expect(maxHeld).toBeLessThanOrEqual(HIGH + perChunk);
    expect(pauses).toBeGreaterThan(1);
  });
});
