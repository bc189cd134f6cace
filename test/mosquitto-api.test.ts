/**
 * The "Coming from Mosquitto" HTTP API end to end, with live MQTT clients:
 * credential CRUD (owner-scoped, live sessions dropped on change), topic mappings
 * (QoS 1 PUBACK after the commit, the message still delivered to subscribers),
 * API keys with Mosquitto-style rules for topics outside dakkio/, upstream CRUD.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CompatDakkio, startCompatDakkio } from './harness/mosquitto-dakkio.ts';

describe('/api/mqtt end to end', () => {
  let env: CompatDakkio;
  let other: string;
  const clients: MqttClient[] = [];
  const connect = async (username: string, password: string, clientId: string) => {
    const c = await mqtt.connectAsync(env.d.mqttUrl, { username, password, clientId, reconnectPeriod: 0, protocolVersion: 4 });
    clients.push(c);
    return c;
  };
  const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.connected ? c.once('close', () => resolve()) : resolve()));

  beforeAll(async () => {
    env = await startCompatDakkio({ email: 'api@example.com' });
    other = (await env.api('POST', '/api/auth/register', { body: { email: 'other@example.com', password: 'correct horse battery' } })).body.token;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
  });
  afterAll(async () => env?.d.destroy());

  it('credentials: create, read, update (drops live sessions), delete; owner-scoped; validated', async () => {
    const cred = await env.call('POST', '/api/mqtt/credentials', {
      username: 'thermo',
      password: 'thermo-pw',
      rules: [{ type: 'topic', access: 'readwrite', filter: 'house/#' }],
    });
    expect(cred).toMatchObject({ username: 'thermo', passwordFormat: 'dakkio-scrypt', rules: [{ filter: 'house/#' }] });
    expect(JSON.stringify(cred)).not.toMatch(/thermo-pw|passwordHash|scrypt\$/);
    expect((await env.call('GET', '/api/mqtt/credentials')).items.map((c: { id: string }) => c.id)).toEqual([cred.id]);
    expect((await env.api('GET', `/api/mqtt/credentials/${cred.id}`, { token: other })).status).toBe(404);
    expect((await env.api('DELETE', `/api/mqtt/credentials/${cred.id}`, { token: other })).status).toBe(404);
    const bad = await env.api('POST', '/api/mqtt/credentials', {
      token: env.token,
      body: { username: 'x', password: 'y', rules: [{ type: 'topic', access: 'readwrite', filter: 'a/#/b' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect((await env.api('POST', '/api/mqtt/credentials', { token: env.token, body: { username: 'thermo', password: 'z' } })).status).toBe(409);

    const live = await connect('thermo', 'thermo-pw', 'thermo-1');
    const gone = closed(live);
    const patched = await env.call('PATCH', `/api/mqtt/credentials/${cred.id}`, {
      rules: [{ type: 'topic', access: 'read', filter: 'house/#' }],
    });
    expect(patched.rules).toEqual([{ type: 'topic', access: 'read', filter: 'house/#' }]);
    await gone;
    await env.call('DELETE', `/api/mqtt/credentials/${cred.id}`);
    expect((await env.api('GET', `/api/mqtt/credentials/${cred.id}`, { token: env.token })).status).toBe(404);
    await expect(connect('thermo', 'thermo-pw', 'thermo-2')).rejects.toThrow(/Bad username or password/i);
  });

  it('topic mappings: a QoS 1 publish is stored before its PUBACK and still reaches subscribers', async () => {
    await env.call('POST', '/api/mqtt/credentials', {
      username: 'kitchen',
      password: 'kitchen-pw',
      rules: [{ type: 'topic', access: 'readwrite', filter: 'home/#' }],
    });
    const mapping = await env.call('POST', '/api/mqtt/topic-mappings', {
      filter: 'home/+/+',
      bucketId: env.bucketId,
      dataSource: '{2}',
      metric: '{3}',
      payload: 'value',
      createSources: true,
    });
    expect((await env.call('GET', '/api/mqtt/topic-mappings')).items).toEqual([expect.objectContaining({ id: mapping.id, filter: 'home/+/+' })]);
    const key = (await env.call('POST', '/api/keys', { name: 'reader', permissions: ['read'] })).secret as string;
    const readings = async () =>
      (await env.api('GET', `/api/data?bucketId=${env.bucketId}&metrics=temp`, { apiKey: key })).body.series.flatMap(
        (s: { points: [string, number][] }) => s.points.map((p) => p[1]),
      );

    const sub = await connect('kitchen', 'kitchen-pw', 'k-sub');
    const delivered = new Promise<string>((resolve) => sub.on('message', (t, p) => t === 'home/kitchen/temp' && resolve(p.toString())));
    await sub.subscribeAsync('home/#', { qos: 1 });
    const pub = await connect('kitchen', 'kitchen-pw', 'k-pub');
    await pub.publishAsync('home/kitchen/temp', '22.5', { qos: 1 });
    // the PUBACK came after the commit: no waiting needed
    expect(await readings()).toEqual([22.5]);
    expect(await delivered).toBe('22.5');
    const sources = await env.call('GET', `/api/buckets/${env.bucketId}/data-sources`);
    expect(sources.items.map((s: { name: string }) => s.name)).toContain('kitchen');

    // a payload the mapping can't store is acknowledged, reported on the error topic, and still delivered
    const errors = new Promise<string>((resolve) => pub.on('message', (t, p) => t.endsWith('/errors') && resolve(p.toString())));
    await pub.subscribeAsync('dakkio/clients/k-pub/errors', { qos: 0 });
    await pub.publishAsync('home/kitchen/temp', '', { qos: 1 });
    expect(JSON.parse(await errors)).toMatchObject({ topic: 'home/kitchen/temp', code: 'validation_failed' });
    expect(pub.connected).toBe(true);

    await env.call('DELETE', `/api/mqtt/topic-mappings/${mapping.id}`);
    await pub.publishAsync('home/kitchen/temp', '30', { qos: 1 });
    expect(await readings()).toEqual([22.5]);
  });

  it('API keys with rules use topics outside dakkio/; keys without rules are disconnected there', async () => {
    const withRules = await env.call('POST', '/api/keys', {
      name: 'legacy gateway',
      permissions: ['write'],
      rules: [{ type: 'topic', access: 'readwrite', filter: 'legacy/#' }],
    });
    const a = await connect('gw', withRules.secret, 'gw-a');
    const b = await connect('gw', withRules.secret, 'gw-b');
    const got = new Promise<string>((resolve) => b.on('message', (_t, p) => resolve(p.toString())));
    expect((await b.subscribeAsync('legacy/#', { qos: 1 }))[0]?.qos).toBe(1);
    // MQTT.js rejects a subscription answered with 0x80
    await expect(b.subscribeAsync('elsewhere/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await a.publishAsync('legacy/line/1', 'on', { qos: 1 });
    expect(await got).toBe('on');

    const plain = (await env.call('POST', '/api/keys', { name: 'plain', permissions: ['write'] })).secret;
    const c = await connect('gw', plain, 'gw-c');
    const gone = closed(c);
    c.publish('legacy/line/1', 'x', { qos: 1 });
    await gone;
  });

  it("a Mosquitto credential subscribed to # gets neither other clients' error topics nor bucket data", async () => {
    await env.call('POST', '/api/mqtt/credentials', {
      username: 'wide',
      password: 'wide-pw',
      rules: [{ type: 'topic', access: 'readwrite', filter: '#' }],
    });
    const source = await env.call('POST', `/api/buckets/${env.bucketId}/data-sources`, { name: 'native' });
    const key = (await env.call('POST', '/api/keys', { name: 'device', permissions: ['read', 'write'] })).secret as string;
    const wide = await connect('wide', 'wide-pw', 'wide-1');
    const seen: string[] = [];
    const sentinel = new Promise<void>((resolve) =>
      wide.on('message', (t) => {
        seen.push(t);
        if (t === 'sentinel/wide') resolve();
      }),
    );
    expect((await wide.subscribeAsync('#', { qos: 1 }))[0]?.qos).toBe(1);
    const device = await connect('dev', key, 'dev-1');
    const ownError = new Promise<void>((resolve) => device.on('message', (t) => t.endsWith('/errors') && resolve()));
    await device.subscribeAsync('dakkio/clients/dev-1/errors', { qos: 0 });
    const topic = `dakkio/${env.bucketId}/${source.id}/data`;
    await device.publishAsync(topic, '{not json', { qos: 1 });
    await ownError;
    await device.publishAsync(topic, '{"v": 1}', { qos: 1 });
    await wide.publishAsync('sentinel/wide', 'x', { qos: 1 });
    await sentinel;
    expect(seen).toEqual(['sentinel/wide']);
  });

  it('upstreams: create, read with status, update, delete; validated; never show the password', async () => {
    const bad = await env.api('POST', '/api/mqtt/upstreams', {
      token: env.token,
      body: { url: 'http://example.com', clientId: 'x', subscriptions: [{ filter: 'a/#', qos: 1 }] },
    });
    expect(bad.status).toBe(400);
    const up = await env.call('POST', '/api/mqtt/upstreams', {
      url: 'mqtt://127.0.0.1:1',
      username: 'u',
      password: 'p4ss',
      clientId: 'dakkio-test',
      subscriptions: [{ filter: 'plant/#', qos: 1 }],
      enabled: false,
    });
    expect(up).toMatchObject({ hasPassword: true, enabled: false, status: { connected: false, lastError: null, messages: 0 } });
    expect(JSON.stringify(up)).not.toContain('p4ss');
    expect((await env.api('GET', `/api/mqtt/upstreams/${up.id}`, { token: other })).status).toBe(404);
    const patched = await env.call('PATCH', `/api/mqtt/upstreams/${up.id}`, { subscriptions: [{ filter: 'plant/+/power', qos: 0 }] });
    expect(patched.subscriptions).toEqual([{ filter: 'plant/+/power', qos: 0 }]);
    expect((await env.call('GET', '/api/mqtt/upstreams')).items).toHaveLength(1);
    await env.call('DELETE', `/api/mqtt/upstreams/${up.id}`);
    expect((await env.api('GET', `/api/mqtt/upstreams/${up.id}`, { token: env.token })).status).toBe(404);
  });
});
