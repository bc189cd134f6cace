/**
 * Management resources over real HTTP, beyond the tour: status codes and bodies of
 * create/update/delete, ISO times, conflicts on duplicate emails, pagination with
 * cursors, cascades when a bucket or data source is deleted, and lastSeenAt /
 * lastUsedAt after use.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const PASSWORD = 'correct horse battery';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const range = 'from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z';

describe('HTTP resources', () => {
  let d: TestDakkio;
  let api: Api;
  let token: string;
  let apiKey: string;

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    token = (await api('POST', '/api/auth/register', { body: { email: 'Res@Example.com', password: PASSWORD } })).body
      .token;
    apiKey = (await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } })).body
      .secret;
  });
  afterAll(async () => d?.destroy());

  const expectCode = (r: ApiResponse, status: number, code: string) => {
    expect(r.status, r.text).toBe(status);
    expect(r.body.error.code).toBe(code);
  };

  it('a duplicate email is 409 conflict, whatever its case', async () => {
    expectCode(
      await api('POST', '/api/auth/register', { body: { email: 'res@example.com', password: PASSWORD } }),
      409,
      'conflict',
    );
    expectCode(
      await api('POST', '/api/auth/register', { body: { email: 'RES@EXAMPLE.COM', password: PASSWORD } }),
      409,
      'conflict',
    );
    const other = await api('POST', '/api/auth/register', { body: { email: 'taken@example.com', password: PASSWORD } });
    expect(other.status).toBe(201);
    expectCode(await api('PATCH', '/api/auth/me', { token, body: { email: 'Taken@example.com' } }), 409, 'conflict');
    // Login is case-insensitive on the email too.
    expect(
      (await api('POST', '/api/auth/login', { body: { email: 'RES@example.COM', password: PASSWORD } })).status,
    ).toBe(200);
  });

  it('create is 201 with the object, patch 200 with the updated object, delete 204 without a body', async () => {
    const created = await api('POST', '/api/buckets', {
      token,
      body: { name: 'b', description: 'first', retentionDays: 7 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'b',
      description: 'first',
      retentionDays: 7,
      createdAt: expect.stringMatching(ISO),
    });
    const patched = await api('PATCH', `/api/buckets/${created.body.id}`, {
      token,
      body: { description: null, retentionDays: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created.body, description: null, retentionDays: null });
    expect((await api('GET', `/api/buckets/${created.body.id}`, { token })).body).toEqual(patched.body);
    const del = await api('DELETE', `/api/buckets/${created.body.id}`, { token });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectCode(await api('DELETE', `/api/buckets/${created.body.id}`, { token }), 404, 'not_found');

    const noName = await api('POST', '/api/buckets', { token, body: { name: '   ' } });
    expectCode(noName, 400, 'validation_failed');
    expectCode(
      await api('POST', '/api/buckets', { token, body: { name: 'x', retentionDays: 0 } }),
      400,
      'validation_failed',
    );
  });

  it('lists paginate with limit and an opaque cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await api('POST', '/api/buckets', { token, body: { name: `page-${i}` } })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: ApiResponse = await api('GET', `/api/buckets?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.items.map((b: { id: string }) => b.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(3);
    const all = await api('GET', '/api/buckets', { token });
    expect(all.body.nextCursor).toBeNull();
    expectCode(await api('GET', '/api/buckets?cursor=garbage', { token }), 400, 'validation_failed');
    expectCode(await api('GET', '/api/buckets?limit=0', { token }), 400, 'validation_failed');
  });

  it('deleting a data source deletes its readings; deleting a bucket deletes its sources and readings', async () => {
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'cascade' } })).body.id;
    const keep = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 'keep' } })).body
      .id;
    const drop = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 'drop' } })).body
      .id;
    for (const dataSourceId of [keep, drop]) {
      const r = await api('POST', '/api/data', {
        apiKey,
        body: { bucketId, dataSourceId, values: { v: 1 }, timestamp: '2026-11-28T10:00:00Z' },
      });
      expect(r.status).toBe(201);
    }
    expect((await api('DELETE', `/api/buckets/${bucketId}/data-sources/${drop}`, { token })).status).toBe(204);
    const q = await api('GET', `/api/data?bucketId=${bucketId}&${range}`, { apiKey });
    expect(q.body.series.map((s: { dataSourceId: string }) => s.dataSourceId)).toEqual([keep]);
    expectCode(
      await api('GET', `/api/data?bucketId=${bucketId}&dataSourceId=${drop}&${range}`, { apiKey }),
      404,
      'not_found',
    );
    expectCode(
      await api('POST', '/api/data', { apiKey, body: { bucketId, dataSourceId: drop, values: { v: 2 } } }),
      404,
      'not_found',
    );

    expect((await api('DELETE', `/api/buckets/${bucketId}`, { token })).status).toBe(204);
    expectCode(await api('GET', `/api/buckets/${bucketId}/data-sources/${keep}`, { token }), 404, 'not_found');
    expectCode(await api('GET', `/api/data?bucketId=${bucketId}&${range}`, { apiKey }), 404, 'not_found');
    expectCode(
      await api('POST', '/api/data', { apiKey, body: { bucketId, dataSourceId: keep, values: { v: 2 } } }),
      404,
      'not_found',
    );
    const overview = await api('GET', '/api/analytics/overview', { token });
    expect(overview.body.readings.total).toBe(0);
  });

  it('a data source shows lastSeenAt and a key lastUsedAt after use', async () => {
    const bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'seen' } })).body.id;
    const src = await api('POST', `/api/buckets/${bucketId}/data-sources`, {
      token,
      body: { name: 's', description: 'd', metadata: { floor: 2 } },
    });
    expect(src.body).toMatchObject({
      bucketId,
      name: 's',
      description: 'd',
      metadata: { floor: 2 },
      lastSeenAt: null,
      createdAt: expect.stringMatching(ISO),
    });
    const key = await api('POST', '/api/keys', {
      token,
      body: { name: 'fresh', permissions: ['write'], bucketIds: [bucketId] },
    });
    expect(key.body.key).toMatchObject({
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
      bucketIds: [bucketId],
      permissions: ['write'],
      createdAt: expect.stringMatching(ISO),
    });
    const put = await api('POST', '/api/data', {
      apiKey: key.body.secret,
      body: { bucketId, dataSourceId: src.body.id, values: { v: 1 }, timestamp: '2026-11-28T10:00:00Z' },
    });
    expect(put.status).toBe(201);
    // lastSeenAt is the receive time, not the reading's timestamp; it is written off the hot path, so wait for it.
    const after = await vi.waitFor(
      async () => {
        const r = await api('GET', `/api/buckets/${bucketId}/data-sources/${src.body.id}`, { token });
        expect(r.body.lastSeenAt).toMatch(ISO);
        return r;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(Date.parse(after.body.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(src.body.createdAt));
    const k = await api('GET', `/api/keys/${key.body.key.id}`, { token });
    expect(k.body.lastUsedAt).toMatch(ISO);
    const patched = await api('PATCH', `/api/buckets/${bucketId}/data-sources/${src.body.id}`, {
      token,
      body: { metadata: { floor: 3 } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 's', description: 'd', metadata: { floor: 3 } });
  });

  it('a webhook secret is shown once, at creation, and never again', async () => {
    const created = await api('POST', '/api/webhooks', {
      token,
      body: { url: 'http://127.0.0.1:9/hook', events: ['alert.firing', 'alert.resolved'] },
    });
    expect(created.status, created.text).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(created.body.webhook)).not.toContain(secret.slice(6));
    const id = created.body.webhook.id as string;
    const answers = [
      await api('GET', '/api/webhooks', { token }),
      await api('GET', `/api/webhooks/${id}`, { token }),
      await api('PATCH', `/api/webhooks/${id}`, { token, body: { events: ['alert.firing'] } }),
      await api('GET', `/api/webhooks/${id}/deliveries`, { token }),
    ];
    for (const r of answers) {
      expect(r.status, r.text).toBe(200);
      expect(r.text).not.toContain(secret.slice(6));
    }
  });

  it('a key naming a bucket of someone else (or none) is refused at creation', async () => {
    const other = await api('POST', '/api/auth/login', { body: { email: 'taken@example.com', password: PASSWORD } });
    const theirs = (await api('POST', '/api/buckets', { token: other.body.token, body: { name: 'theirs' } })).body.id;
    const r = await api('POST', '/api/keys', {
      token,
      body: { name: 'sneaky', permissions: ['read'], bucketIds: [theirs] },
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.status).not.toBe(403);
    expect(r.text).not.toContain('dakkio_');
    const past = await api('POST', '/api/keys', {
      token,
      body: { name: 'old', permissions: ['read'], expiresAt: '2020-01-01T00:00:00Z' },
    });
    expectCode(past, 400, 'validation_failed');
  });
});
