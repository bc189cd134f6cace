/**
 * patches/aedes+1.2.0.patch, lib/handlers/index.js: on a clean DISCONNECT Aedes
 * destroyed the socket while its own end-of-stream watch (`finished()`) was still
 * on it, and that watch then built an ERR_STREAM_PREMATURE_CLOSE (a NodeError with
 * a captured stack, ~12% of a disconnect's CPU) only to hand it to client.close().
 * The patch takes the watch off first and closes the client on the socket's
 * 'close', as the watch did. These tests fail on the unpatched file (close() is
 * called with that error) and check that nothing else moved: the will is not sent,
 * 'clientDisconnect' comes once, the socket is closed, no listener is left behind.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BareAedes, startBareAedes } from './testing/bare-aedes.ts';

const aedesDir = dirname(fileURLToPath(import.meta.resolve('aedes')));
const MARKER = 'no premature close on a clean DISCONNECT';

describe('Aedes disconnect patch', () => {
  it('is applied to the Aedes version it was written for', () => {
    const { version } = JSON.parse(readFileSync(join(aedesDir, 'package.json'), 'utf8')) as { version: string };
    const patchFile = fileURLToPath(new URL(`../patches/aedes+${version}.patch`, import.meta.url));
    // an Aedes upgrade needs the patch re-made (or dropped if upstream fixed it)
    expect(readFileSync(patchFile, 'utf8')).toContain(MARKER);
    const handlers = readFileSync(join(aedesDir, 'lib/handlers/index.js'), 'utf8');
    expect(handlers, 'run npm install: its postinstall applies patches/ (patch-package)').toContain(MARKER);
  });

  let aedes: BareAedes | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await aedes?.close();
    aedes = undefined;
  });

  /** The broker's Client for the next client to connect. */
  const nextClient = () => once(aedes!.broker, 'client').then(([c]) => c as Client);

  /**
   * Spies on Client.prototype.close before `device` connects: Aedes binds close() for
   * its end-of-stream watch in the constructor, so only a later client's watch calls the spy.
   */
  async function spyOnClose() {
    const first = nextClient();
    await aedes!.connect({ clientId: 'first' });
    const proto = Object.getPrototypeOf(await first) as { close(done?: unknown): void };
    return vi.spyOn(proto, 'close');
  }

  it('closes the client on a clean DISCONNECT without a premature-close error, will not sent, once', async () => {
    aedes = await startBareAedes();
    const close = await spyOnClose();
    const wills: string[] = [];
    const watcher = await aedes.connect({ clientId: 'watcher' });
    await watcher.subscribeAsync(['will/t', 'marker'], { qos: 1 });
    watcher.on('message', (topic, payload) => {
      if (topic === 'will/t') wills.push(payload.toString());
    });
    const disconnected: string[] = [];
    aedes.broker.on('clientDisconnect', (c) => disconnected.push(c.id));

    const serverSide = nextClient();
    const device = await aedes.connect({
      clientId: 'device',
      will: { topic: 'will/t', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const client = await serverSide;
    const conn = client.conn as Socket;
    const closeListeners = conn.listenerCount('close');
    const socketClosed = once(conn, 'close');
    // a raw DISCONNECT with no FIN behind it: the broker alone closes the connection
    (device.stream as Socket).write(mqttPacket.generate({ cmd: 'disconnect' }));
    await socketClosed;
    await expect.poll(() => disconnected).toContain('device');

    // anything the broker would still do for this client is done before the marker comes back
    const marker = new Promise((resolve) => watcher.once('message', resolve));
    await watcher.publishAsync('marker', 'm', { qos: 1 });
    await marker;

    const calls = close.mock.calls.filter((_, i) => close.mock.contexts[i] === client);
    // unpatched: [[Error: Premature close]] from the end-of-stream watch
    expect(calls).toEqual([[]]);
    expect(client.closed).toBe(true);
    expect(conn.destroyed).toBe(true);
    expect(disconnected.filter((id) => id === 'device')).toHaveLength(1);
    expect(wills).toEqual([]);
    // the watch's 'close' listener and the patch's one-shot one are both gone
    expect(conn.listenerCount('close')).toBeLessThan(closeListeners);
  });

  it('still sends the will when the connection drops without a DISCONNECT', async () => {
    aedes = await startBareAedes();
    const watcher = await aedes.connect({ clientId: 'watcher' });
    await watcher.subscribeAsync('will/t', { qos: 1 });
    const will = new Promise<[string, Buffer]>((resolve) => watcher.once('message', (t, p) => resolve([t, p])));
    const device = await aedes.connect({
      clientId: 'device',
      will: { topic: 'will/t', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    (device.stream as Socket).destroy();
    const [topic, payload] = await will;
    expect([topic, payload.toString()]).toEqual(['will/t', 'gone']);
  });
});
