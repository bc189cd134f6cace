import { afterEach, describe, expect, it } from 'vitest';
import type { MqttCredentialPrincipal } from '../core/auth/principal.ts';
import { createBroker } from './create-broker.ts';
import { createCoreEnv, testBrokerOptions } from './testing/broker-env.ts';
import { closed, connackCode, connect, nextMessage, subscribeGranted } from './testing/mqtt-client.ts';
import type { Broker } from './types.ts';

/**
 * The extension points mosquitto-compat plugs into (legacy username/password
 * credentials, topics outside dakkio/) and anonymous access, driven here by small
 * real implementations of those hooks.
 */
describe('broker hooks: legacy credentials, other topics, anonymous', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function start(allowAnonymous = false) {
    const core = await createCoreEnv();
    const ownerId = await core.createUser('legacy@example.com');
    const principal: MqttCredentialPrincipal = {
      kind: 'mqtt-credential',
      credentialId: core.ids(),
      ownerId,
      username: 'meter',
      rules: [{ type: 'topic', access: 'readwrite', filter: 'plant/#' }],
    };
    const broker: Broker = await createBroker(
      {
        ...core.deps,
        authenticateOther: async (username, password) => (username === 'meter' && password === 'pa55word' ? principal : null),
        otherTopics: {
          canPublish: async (p, _clientId, topic) => p?.kind === 'mqtt-credential' && topic.startsWith('plant/'),
          canSubscribe: async (p, _clientId, filter) => p?.kind === 'mqtt-credential' && filter.startsWith('plant/'),
        },
      },
      testBrokerOptions({ allowAnonymous }),
    );
    cleanups.push(async () => {
      await broker.close();
      await core.close();
    });
    return { core, broker, principal, url: `mqtt://127.0.0.1:${broker.ports.mqtt}` };
  }

  it('accepts legacy credentials and routes their topics; denied publishes are acked and dropped', async () => {
    const { core, url, principal } = await start();
    expect(await connackCode(url, { clientId: 'm0', username: 'meter', password: 'wrong' })).toBe(4);
    const a = await connect(url, { clientId: 'm1', username: 'meter', password: 'pa55word' });
    const b = await connect(url, { clientId: 'm2', username: 'meter', password: 'pa55word' });
    expect(await subscribeGranted(b, 'plant/#')).toBe(1);
    expect(await subscribeGranted(b, 'elsewhere/#')).toBe(128);
    const msg = nextMessage(b, 'plant/line1/power');
    await a.publishAsync('plant/line1/power', '42', { qos: 1 });
    expect((await msg).payload.toString()).toBe('42');

    // Mosquitto semantics for a denied publish: acknowledged, dropped, connection kept
    await a.publishAsync('elsewhere/x', '1', { qos: 1 });
    expect(a.connected).toBe(true);

    await core.events.publish({ type: 'mqtt-credential.changed', credentialId: principal.credentialId, ownerId: principal.ownerId });
    await Promise.all([closed(a), closed(b)]);
  });

  it('lets anonymous clients in only when enabled, with no rights on dakkio/ topics', async () => {
    const off = await start(false);
    expect(await connackCode(off.url, { clientId: 'anon' })).toBe(4);
    const on = await start(true);
    const t = await on.core.createTenant('x@example.com');
    const anon = await connect(on.url, { clientId: 'anon' });
    expect(await subscribeGranted(anon, `dakkio/${t.bucketId}/#`)).toBe(128);
    expect(await subscribeGranted(anon, 'dakkio/clients/anon/errors')).toBe(1);
    const gone = closed(anon);
    anon.publish(`dakkio/${t.bucketId}/${t.dataSourceId}/data`, '{"a": 1}', { qos: 1 });
    await gone;
    expect(await on.core.readAll(t.bucketId)).toEqual([]);
  });
});
