/**
 * Issue 5 end to end, through every real part: an MQTT QoS 1 publish crosses a
 * threshold → a signed webhook arrives at a local receiver (verified with the
 * independent `standardwebhooks` package) and the alert event is published on
 * dakkio/<bucketId>/alerts; the event is in the history; a value back under the
 * threshold resolves it. Also the HTTP faces of rules and webhooks: SSRF refusals
 * at creation, ownership, test deliveries.
 */
import mqtt from 'mqtt';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';
import { startReceiver } from './helpers/webhook-receiver.ts';

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('alerts and webhooks end to end', () => {
  let d: TestDakkio;
  let api: Api;
  let token: string;
  let bucketId: string;
  let sourceId: string;
  let apiKey: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    receiver = await startReceiver();
    token = (await api('POST', '/api/auth/register', { body: { email: 'alerts@example.com', password: 'alerts-password' } })).body.token;
    bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'plant' } })).body.id;
    sourceId = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 'boiler' } })).body.id;
    apiKey = (await api('POST', '/api/keys', { token, body: { name: 'boiler', permissions: ['read', 'write'] } })).body.secret;
  });
  afterAll(async () => {
    await receiver?.close();
    await d?.destroy();
  });

  it('MQTT reading over the threshold → signed webhook + event on the alerts topic, then resolved', async () => {
    const created = await api('POST', '/api/webhooks', { token, body: { url: `${receiver.url}/hook`, events: ['alert.firing', 'alert.resolved'] } });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const webhookId = created.body.webhook.id as string;
    const rule = await api('POST', `/api/buckets/${bucketId}/alert-rules`, {
      token,
      body: { name: 'too hot', dataSourceId: sourceId, metric: 'temperature', condition: { op: '>', value: 80 }, webhookIds: [webhookId] },
    });
    expect(rule.status).toBe(201);

    const client = await mqtt.connectAsync(d.mqttUrl, { username: 'boiler', password: apiKey, clientId: 'boiler-1', reconnectPeriod: 0 });
    const alerts: Record<string, unknown>[] = [];
    client.on('message', (topic, payload) => {
      if (topic === `dakkio/${bucketId}/alerts`) alerts.push(JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(`dakkio/${bucketId}/alerts`, { qos: 1 });

    await client.publishAsync(`dakkio/${bucketId}/${sourceId}/data`, JSON.stringify({ temperature: 75 }), { qos: 1 });
    await client.publishAsync(`dakkio/${bucketId}/${sourceId}/data`, JSON.stringify({ temperature: 85.5 }), { qos: 1 });

    const firing = await until(() => receiver.received.find((r) => JSON.parse(r.body).type === 'alert.firing'), 'the firing webhook');
    const payload = new Webhook(created.body.secret).verify(firing.body, firing.headers) as { type: string; data: Record<string, unknown> };
    expect(payload.type).toBe('alert.firing');
    expect(payload.data).toMatchObject({ ruleId: rule.body.id, dataSourceId: sourceId, state: 'firing', value: 85.5 });
    expect(firing.headers['webhook-id']).toBeTruthy();
    expect(firing.headers['webhook-signature']).toMatch(/^v1,/);

    const onTopic = await until(() => alerts.find((a) => a.state === 'firing'), 'the alert on MQTT');
    expect(onTopic).toMatchObject({ ruleId: rule.body.id, dataSourceId: sourceId, value: 85.5 });

    await client.publishAsync(`dakkio/${bucketId}/${sourceId}/data`, JSON.stringify({ temperature: 60 }), { qos: 1 });
    const resolved = await until(() => receiver.received.find((r) => JSON.parse(r.body).type === 'alert.resolved'), 'the resolved webhook');
    expect(new Webhook(created.body.secret).verify(resolved.body, resolved.headers)).toMatchObject({ data: { state: 'resolved', value: 60 } });
    await client.endAsync();

    const history = await api('GET', `/api/buckets/${bucketId}/alert-events?ruleId=${rule.body.id}`, { token });
    expect(history.status).toBe(200);
    expect(history.body.items.map((e: { state: string }) => e.state)).toEqual(['resolved', 'firing']);
    expect(history.body.items[1].at).toMatch(/Z$/);

    const deliveries = await until(async () => {
      const r = await api('GET', `/api/webhooks/${webhookId}/deliveries`, { token });
      return r.body.items.length === 2 && r.body.items.every((x: { status: string }) => x.status === 'delivered') ? r.body.items : undefined;
    }, 'both deliveries marked delivered');
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200 });
  });

  it('sends a signed test event on demand', async () => {
    const created = await api('POST', '/api/webhooks', { token, body: { url: `${receiver.url}/test`, events: ['alert.firing'] } });
    const before = receiver.received.length;
    const sent = await api('POST', `/api/webhooks/${created.body.webhook.id}/test`, { token });
    expect(sent.status).toBe(201);
    const got = await until(() => receiver.received.slice(before).find((r) => r.path === '/test'), 'the test delivery');
    expect(new Webhook(created.body.secret).verify(got.body, got.headers)).toMatchObject({ type: 'webhook.test' });
  });

  it('refuses webhook URLs on private addresses unless allowed, with a clear code', async () => {
    const strict = await startTestDakkio({ env: { DAKKIO_WEBHOOK_ALLOW_PRIVATE: 'false' } });
    try {
      const sapi = createApiClient(strict.baseUrl);
      const t = (await sapi('POST', '/api/auth/register', { body: { email: 'ssrf@example.com', password: 'ssrf-password' } })).body.token;
      for (const url of ['https://127.0.0.1/x', 'https://0x7f000001/x', 'https://2130706433/x', 'https://[::ffff:127.0.0.1]/x', 'https://10.1.2.3/x', 'https://169.254.169.254/latest', 'http://example.com/x']) {
        const r = await sapi('POST', '/api/webhooks', { token: t, body: { url, events: ['alert.firing'] } });
        expect(r.status, url).toBe(400);
        expect(r.body.error.code).toBe('validation_failed');
        expect(r.body.error.details[0].code).toMatch(/^webhook_url_(forbidden|insecure)$/);
      }
    } finally {
      await strict.destroy();
    }
  });

  it("keeps another user's rules and webhooks out of reach (404)", async () => {
    const other = (await api('POST', '/api/auth/register', { body: { email: 'mallory@example.com', password: 'mallory-password' } })).body.token;
    const hook = await api('POST', '/api/webhooks', { token, body: { url: `${receiver.url}/x`, events: ['alert.firing'] } });
    expect((await api('GET', `/api/webhooks/${hook.body.webhook.id}`, { token: other })).status).toBe(404);
    expect((await api('GET', `/api/buckets/${bucketId}/alert-rules`, { token: other })).status).toBe(404);
    const r = await api('POST', `/api/buckets/${bucketId}/alert-rules`, { token: other, body: { name: 'x', metric: 'm', condition: { op: 'absent', seconds: 60 }, webhookIds: [] } });
    expect(r.status).toBe(404);
  });
});
