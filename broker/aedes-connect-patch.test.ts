/**
 * patches/aedes+1.2.0.patch (applied by patch-package on npm install): Aedes'
 * emptyQueue reads a session's outgoing queue through 'data' events instead of
 * piping it through stream.pipeline(), whose AbortController/DOMException cost ~20%
 * of a CONNECT's CPU (an async iterator over it cost ~5-10% more than events).
 * These tests check that the installed Aedes is the one the patch was written for,
 * that the patch is applied, and that the queue still behaves as before: a
 * persistent session gets its backlog in order, a clean session discards it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type BareAedes, startBareAedes } from './testing/bare-aedes.ts';

const aedesDir = dirname(fileURLToPath(import.meta.resolve('aedes')));

describe('Aedes connect patch', () => {
  it('is applied to the Aedes version it was written for', () => {
    const { version } = JSON.parse(readFileSync(join(aedesDir, 'package.json'), 'utf8')) as { version: string };
    const patchFile = fileURLToPath(new URL(`../patches/aedes+${version}.patch`, import.meta.url));
    // an Aedes upgrade needs the patch re-made (or dropped if upstream fixed it)
    expect(readFileSync(patchFile, 'utf8')).toContain('clearQueue(client, persistence, outgoing, done)');
    const connect = readFileSync(join(aedesDir, 'lib/handlers/connect.js'), 'utf8');
    expect(connect, 'run npm install: its postinstall applies patches/ (patch-package)').toContain(
      'clearQueue(client, persistence, outgoing, done)',
    );
    expect(connect).not.toMatch(/^\s+pipeline\(/m);
    expect(connect).not.toContain('for await (const data of outgoing)');
  });

  let aedes: BareAedes | undefined;
  afterEach(async () => {
    await aedes?.close();
    aedes = undefined;
  });

  async function connect(opts: IClientOptions) {
    const got: string[] = [];
    const client = await aedes!.connect(opts);
    client.on('message', (_topic, payload) => got.push(payload.toString()));
    return { client, got };
  }

  /** A persistent session subscribed to q/t goes away, and `messages` are published to it meanwhile. */
  async function leaveBacklog(clientId: string, messages: readonly string[]) {
    aedes = await startBareAedes();
    const first = await connect({ clientId, clean: false });
    await first.client.subscribeAsync('q/t', { qos: 1 });
    await first.client.endAsync();
    const pub = await connect({ clientId: 'pub' });
    for (const n of messages) await pub.client.publishAsync('q/t', n, { qos: 1 });
  }

  /**
   * Anything queued for the session is written before a later message on the same
   * connection: subscribe, publish a marker at the same QoS, wait for it.
   */
  async function untilMarker(session: { client: MqttClient; got: string[] }) {
    await session.client.subscribeAsync('marker', { qos: 1 });
    const pub = await connect({});
    await pub.client.publishAsync('marker', 'marker', { qos: 1 });
    await expect.poll(() => session.got).toContain('marker');
    return session.got.filter((m) => m !== 'marker');
  }

  it('delivers a persistent session’s backlog in order on reconnect', async () => {
    await leaveBacklog('p1', ['1', '2', '3']);
    const back = await connect({ clientId: 'p1', clean: false });
    expect(await untilMarker(back)).toEqual(['1', '2', '3']);
  });

  it('discards the backlog when the session comes back clean', async () => {
    await leaveBacklog('p2', ['1', '2']);
    const clean = await connect({ clientId: 'p2', clean: true });
    expect(await untilMarker(clean)).toEqual([]);
    await clean.client.endAsync();
    // the queue was cleared while it was walked, not left for a later persistent session
    const again = await connect({ clientId: 'p2', clean: false });
    expect(await untilMarker(again)).toEqual([]);
  });
});
