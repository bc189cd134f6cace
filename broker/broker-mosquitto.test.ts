import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageLines, mosquittoClientsMissing, mosquittoPub, mosquittoSub } from '../test/mosquitto-clients.ts';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';

const missing = mosquittoClientsMissing();
if (missing) console.warn(`skipping mosquitto client tests: ${missing}`);
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

describe.skipIf(missing !== null)('broker with the real mosquitto_pub / mosquitto_sub', () => {
  let env: BrokerEnv;
  let t: Awaited<ReturnType<BrokerEnv['createTenant']>>;
  let topic: string;
  beforeAll(async () => {
    env = await createBrokerEnv();
    t = await env.createTenant('mosq@example.com');
    topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
  });
  afterAll(async () => {
    await env?.close();
  });
  const conn = (clientId: string, password?: string) => ({
    port: env.broker.ports.mqtt,
    username: 'sensor',
    password: password ?? t.secret,
    clientId,
  });

  it('publishes JSON, bare and single-metric payloads at QoS 0 and 1', async () => {
    const sends: [string, string, 0 | 1][] = [
      [topic, JSON.stringify({ values: { a: 1 }, timestamp: T0 }), 1],
      [topic, JSON.stringify({ b: 2, timestamp: T0 }), 1],
      [`${topic}/c`, '3.5', 1],
      [topic, JSON.stringify({ values: { d: true }, timestamp: T0 }), 0],
      [`${topic}/e`, 'text', 0],
    ];
    for (const [i, [to, msg, qos]] of sends.entries()) {
      const r = await mosquittoPub(conn(`pub${i}`), to, msg, qos);
      expect(r.code, r.stderr).toBe(0);
    }
    // QoS 0 has no acknowledgement: wait for the pipeline to commit what it has
    await env.pipeline.flush();
    const got = (await env.readAll(t.bucketId)).map((p) => `${p.metric}=${p.value}`).sort();
    expect(got).toEqual(['a=1', 'b=2', 'c=3.5', 'd=true', 'e=text']);
  });

  it('a QoS 1 mosquitto_pub returns only after the reading is stored', async () => {
    const r = await mosquittoPub(conn('pubq1'), `${topic}/acked`, '42', 1);
    expect(r.code, r.stderr).toBe(0);
    expect((await env.readAll(t.bucketId)).some((p) => p.metric === 'acked' && p.value === 42)).toBe(true);
  });

  it('mosquitto_sub receives live readings', async () => {
    const sub = mosquittoSub(conn('watch'), `dakkio/${t.bucketId}/+/data`, 1);
    await sub.ready;
    expect((await mosquittoPub(conn('pub-live'), `${topic}/live`, '7', 1)).code).toBe(0);
    const out = await sub.done;
    expect(messageLines(out.stdout).map((l) => JSON.parse(l).values)).toEqual([{ live: 7 }]);

  });

  it('gets CONNACK refusals for bad and revoked keys', async () => {
    const bad = await mosquittoPub(conn('bad', 'dakkio_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), topic, '{}', 1);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.toLowerCase()).toContain('bad user name or password');
    const { key, secret } = await env.keys.create(t.ownerId, { name: 'gone', permissions: ['write'] });
    await env.keys.revoke(t.ownerId, key.id);
    const revoked = await mosquittoPub(conn('rev', secret), topic, '{}', 1);
    expect(revoked.code).not.toBe(0);
    expect(revoked.stderr.toLowerCase()).toContain('not authori');
  });

  it('mosquitto_sub is refused # and $SYS/#', async () => {
    for (const filter of ['#', '$SYS/#']) {
      const sub = mosquittoSub(conn(`greedy${filter.length}`), filter, 1);
      const out = await sub.done;
      // mosquitto_sub reports a refused subscription and exits
      expect(`${out.stdout}${out.stderr}`.toLowerCase()).toMatch(/denied|refused|128|0x80/);
    }
  });
});
