import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerEnv, createBrokerEnv } from './testing/broker-env.ts';
import { connackCode, connect, nextMessage, subscribeGranted } from './testing/mqtt-client.ts';
import { makeSelfSignedCert } from './testing/self-signed.ts';

describe('broker listeners: WebSocket, TLS, WSS', () => {
  let env: BrokerEnv;
  let cert: string;
  beforeAll(async () => {
    const tls = makeSelfSignedCert();
    cert = tls.cert;
    env = await createBrokerEnv({ tls: { cert: tls.cert, key: tls.key, mqttsPort: 0, wssPort: 0 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('serves MQTT on every listener, ingesting through the same pipeline', async () => {
    const t = await env.createTenant('tls@example.com');
    const { mqtts, wss } = env.broker.ports;
    expect(mqtts).toBeGreaterThan(0);
    expect(wss).toBeGreaterThan(0);
    const urls = [env.mqttUrl, env.wsUrl, `mqtts://127.0.0.1:${mqtts}`, `wss://127.0.0.1:${wss}/mqtt`];
    const topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    let i = 0;
    for (const url of urls) {
      const c = await connect(url, { clientId: `c${i}`, password: t.secret, ca: cert, rejectUnauthorized: true });
      await c.publishAsync(`${topic}/via${i}`, String(i), { qos: 1 });
      await c.endAsync();
      i++;
    }
    const metrics = (await env.readAll(t.bucketId)).map((p) => p.metric).sort();
    expect(metrics).toEqual(['via0', 'via1', 'via2', 'via3']);
  });

  it('authenticates the same way over TLS and delivers live data over WSS', async () => {
    const t = await env.createTenant('tls2@example.com');
    const { mqtts, wss } = env.broker.ports;
    expect(await connackCode(`mqtts://127.0.0.1:${mqtts}`, { clientId: 'bad', password: 'dakkio_nope', ca: cert })).toBe(4);
    const sub = await connect(`wss://127.0.0.1:${wss}/mqtt`, { clientId: 'sub', password: t.secret, ca: cert });
    await subscribeGranted(sub, `dakkio/${t.bucketId}/+/data`);
    const msg = nextMessage(sub, () => true);
    const pub = await connect(`mqtts://127.0.0.1:${mqtts}`, { clientId: 'pub', password: t.secret, ca: cert });
    await pub.publishAsync(`dakkio/${t.bucketId}/${t.dataSourceId}/data`, '{"x": 1}', { qos: 1 });
    expect(((await msg).json() as { values: unknown }).values).toEqual({ x: 1 });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it('answers plain HTTP on the WebSocket port with 426', async () => {
    const res = await fetch(`http://127.0.0.1:${env.broker.ports.mqttWs}/mqtt`);
    expect(res.status).toBe(426);
  });
});
