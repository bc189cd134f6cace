/**
 * Broken object-level authorization, over real HTTP: user A reaching for user B's
 * bucket, data source, API key or data always gets 404 `not_found` (never 403, so
 * ids can't be probed), and B's resources are untouched afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

interface Tenant {
  token: string;
  bucketId: string;
  sourceId: string;
  keyId: string;
  apiKey: string;
}

describe('HTTP BOLA: another user’s resources are 404', () => {
  let d: TestDakkio;
  let api: Api;
  let a: Tenant;
  let b: Tenant;
  const T = '2026-11-28T10:00:00.000Z';

  async function tenant(email: string): Promise<Tenant> {
    const reg = await api('POST', '/api/auth/register', { body: { email, password: 'correct horse battery' } });
    const token = reg.body.token as string;
    const bucket = await api('POST', '/api/buckets', { token, body: { name: `${email} bucket` } });
    const source = await api('POST', `/api/buckets/${bucket.body.id}/data-sources`, {
      token,
      body: { name: 'sensor' },
    });
    const key = await api('POST', '/api/keys', { token, body: { name: 'all', permissions: ['read', 'write'] } });
    expect([reg.status, bucket.status, source.status, key.status]).toEqual([201, 201, 201, 201]);
    const t = {
      token,
      bucketId: bucket.body.id,
      sourceId: source.body.id,
      keyId: key.body.key.id,
      apiKey: key.body.secret,
    };
    const put = await api('POST', '/api/data', {
      apiKey: t.apiKey,
      body: { bucketId: t.bucketId, dataSourceId: t.sourceId, values: { temp: 1 }, timestamp: T },
    });
    expect(put.status).toBe(201);
    return t;
  }

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    a = await tenant('a@example.com');
    b = await tenant('b@example.com');
  });
  afterAll(async () => d?.destroy());

  const expect404 = (r: ApiResponse, what: string) => {
    expect(r.status, what).toBe(404);
    expect(r.body.error.code, what).toBe('not_found');
  };

  it('A cannot read, change or delete B’s bucket', async () => {
    expect404(await api('GET', `/api/buckets/${b.bucketId}`, { token: a.token }), 'GET bucket');
    expect404(
      await api('PATCH', `/api/buckets/${b.bucketId}`, { token: a.token, body: { name: 'pwned' } }),
      'PATCH bucket',
    );
    expect404(await api('DELETE', `/api/buckets/${b.bucketId}`, { token: a.token }), 'DELETE bucket');
    expect404(await api('GET', `/api/buckets/${b.bucketId}/stats`, { token: a.token }), 'GET stats');
    const list = await api('GET', '/api/buckets', { token: a.token });
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual([a.bucketId]);
  });

  it('A cannot list, create, read, change or delete B’s data sources', async () => {
    const base = `/api/buckets/${b.bucketId}/data-sources`;
    expect404(await api('GET', base, { token: a.token }), 'list sources');
    expect404(await api('POST', base, { token: a.token, body: { name: 'intruder' } }), 'create source');
    expect404(await api('GET', `${base}/${b.sourceId}`, { token: a.token }), 'GET source');
    expect404(await api('PATCH', `${base}/${b.sourceId}`, { token: a.token, body: { name: 'pwned' } }), 'PATCH source');
    expect404(await api('DELETE', `${base}/${b.sourceId}`, { token: a.token }), 'DELETE source');
    // B's source through A's own bucket path is not found either.
    expect404(
      await api('GET', `/api/buckets/${a.bucketId}/data-sources/${b.sourceId}`, { token: a.token }),
      'cross-bucket source',
    );
    expect404(
      await api('DELETE', `/api/buckets/${a.bucketId}/data-sources/${b.sourceId}`, { token: a.token }),
      'cross-bucket delete',
    );
  });

  it('A cannot read, revoke or rotate B’s API key', async () => {
    expect404(await api('GET', `/api/keys/${b.keyId}`, { token: a.token }), 'GET key');
    expect404(await api('DELETE', `/api/keys/${b.keyId}`, { token: a.token }), 'DELETE key');
    expect404(await api('POST', `/api/keys/${b.keyId}/rotate`, { token: a.token, body: {} }), 'rotate key');
    const list = await api('GET', '/api/keys', { token: a.token });
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual([a.keyId]);
  });

  it('A’s key cannot read or write B’s data, nor name B’s source in A’s bucket', async () => {
    expect404(
      await api('GET', `/api/data?bucketId=${b.bucketId}&from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z`, {
        apiKey: a.apiKey,
      }),
      'query',
    );
    expect404(
      await api('GET', `/api/data/latest?bucketId=${b.bucketId}&dataSourceId=${b.sourceId}`, { apiKey: a.apiKey }),
      'latest',
    );
    expect404(
      await api('POST', '/api/data', {
        apiKey: a.apiKey,
        body: { bucketId: b.bucketId, dataSourceId: b.sourceId, values: { temp: 666 }, timestamp: T },
      }),
      'write',
    );
    expect404(
      await api('POST', '/api/data', {
        apiKey: a.apiKey,
        body: { bucketId: a.bucketId, dataSourceId: b.sourceId, values: { temp: 666 }, timestamp: T },
      }),
      'write foreign source into own bucket',
    );
    expect404(
      await api(
        'GET',
        `/api/data?bucketId=${a.bucketId}&dataSourceId=${b.sourceId}&from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z`,
        { apiKey: a.apiKey },
      ),
      'query foreign source via own bucket',
    );
    const batch = await api('POST', '/api/data/batch', {
      apiKey: a.apiKey,
      body: { bucketId: b.bucketId, readings: [{ dataSourceId: b.sourceId, values: { temp: 666 }, timestamp: T }] },
    });
    expect404(batch, 'batch');
    const csv = await api('POST', '/api/data/batch', {
      apiKey: a.apiKey,
      rawBody: `timestamp,bucketId,dataSourceId,temp\n${T},${b.bucketId},${b.sourceId},666\n`,
      contentType: 'text/csv',
    });
    expect404(csv, 'csv batch');
  });

  it('A cannot touch B’s alert rules, alert events or webhooks, nor wire B’s webhook into a rule', async () => {
    const hook = await api('POST', '/api/webhooks', {
      token: b.token,
      body: { url: 'http://127.0.0.1:9/hook', events: ['alert.firing'] },
    });
    expect(hook.status, hook.text).toBe(201);
    const hookId = hook.body.webhook.id as string;
    const ruleBody = { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [hookId] };
    const rule = await api('POST', `/api/buckets/${b.bucketId}/alert-rules`, { token: b.token, body: ruleBody });
    expect(rule.status, rule.text).toBe(201);
    const ruleId = rule.body.id as string;
    const rules = `/api/buckets/${b.bucketId}/alert-rules`;
    expect404(await api('GET', rules, { token: a.token }), 'list rules');
    expect404(await api('POST', rules, { token: a.token, body: { ...ruleBody, webhookIds: [] } }), 'create rule');
    expect404(await api('GET', `${rules}/${ruleId}`, { token: a.token }), 'GET rule');
    expect404(await api('PATCH', `${rules}/${ruleId}`, { token: a.token, body: { enabled: false } }), 'PATCH rule');
    expect404(await api('DELETE', `${rules}/${ruleId}`, { token: a.token }), 'DELETE rule');
    expect404(
      await api('GET', `/api/buckets/${a.bucketId}/alert-rules/${ruleId}`, { token: a.token }),
      'rule via own bucket',
    );
    expect404(await api('GET', `/api/buckets/${b.bucketId}/alert-events`, { token: a.token }), 'alert events');
    expect404(await api('GET', `/api/webhooks/${hookId}`, { token: a.token }), 'GET webhook');
    expect404(
      await api('PATCH', `/api/webhooks/${hookId}`, { token: a.token, body: { url: 'http://127.0.0.1:9/evil' } }),
      'PATCH webhook',
    );
    expect404(await api('DELETE', `/api/webhooks/${hookId}`, { token: a.token }), 'DELETE webhook');
    expect404(await api('POST', `/api/webhooks/${hookId}/test`, { token: a.token }), 'test webhook');
    expect404(await api('GET', `/api/webhooks/${hookId}/deliveries`, { token: a.token }), 'deliveries');
    expect((await api('GET', '/api/webhooks', { token: a.token })).body.items).toEqual([]);
    // A's own rule may not send to B's webhook.
    const wired = await api('POST', `/api/buckets/${a.bucketId}/alert-rules`, { token: a.token, body: ruleBody });
    expect(wired.status, wired.text).toBeGreaterThanOrEqual(400);
    expect(wired.status).toBeLessThan(500);
    expect(wired.status).not.toBe(403);
    expect((await api('GET', `${rules}/${ruleId}`, { token: b.token })).body.enabled).not.toBe(false);
    expect((await api('GET', `/api/webhooks/${hookId}`, { token: b.token })).body.url).toBe('http://127.0.0.1:9/hook');
  });

  it('an unknown id is the same 404 as a foreign one', async () => {
    const unknown = 'ffffffffffffffffffffffff';
    const foreign = await api('GET', `/api/buckets/${b.bucketId}`, { token: a.token });
    const missing = await api('GET', `/api/buckets/${unknown}`, { token: a.token });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe(foreign.body.error.code);
  });

  it('left B’s resources and readings untouched', async () => {
    const bucket = await api('GET', `/api/buckets/${b.bucketId}`, { token: b.token });
    expect(bucket.status).toBe(200);
    expect(bucket.body.name).toBe('b@example.com bucket');
    const source = await api('GET', `/api/buckets/${b.bucketId}/data-sources/${b.sourceId}`, { token: b.token });
    expect(source.body.name).toBe('sensor');
    expect((await api('GET', `/api/keys/${b.keyId}`, { token: b.token })).body.revokedAt).toBeNull();
    const q = await api('GET', `/api/data?bucketId=${b.bucketId}&from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z`, {
      apiKey: b.apiKey,
    });
    expect(q.body.series).toEqual([{ dataSourceId: b.sourceId, metric: 'temp', points: [[T, 1]] }]);
    const sources = await api('GET', `/api/buckets/${b.bucketId}/data-sources`, { token: b.token });
    expect(sources.body.items).toHaveLength(1);
  });
});
