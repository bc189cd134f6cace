/**
 * API keys over real HTTP: permissions and bucket scope (403), revocation and
 * expiry (401 on the next call), rotation with grace (both secrets, then only the
 * new one; a manual clock moves past the grace), checksums, keys in the wrong
 * place, and no response ever carrying a secret (outside its one showing) or a hash.
 */
import { createHash } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../core/clock.ts';
import { type ApiCall, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('HTTP API keys', () => {
  let d: TestDakkio;
  let raw: ReturnType<typeof createApiClient>;
  const clock = createManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
  const T = '2026-11-28T09:00:00.000Z';
  const range = 'from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z';
  /** Every secret ever issued, and every response that is not the one showing of a secret. */
  const secrets: string[] = [];
  const seen: { what: string; text: string; headers: string }[] = [];
  let token: string;
  let x: { bucketId: string; sourceId: string };
  let y: { bucketId: string; sourceId: string };

  async function api(method: string, path: string, call: ApiCall = {}): Promise<ApiResponse> {
    const r = await raw(method, path, call);
    const showsSecret = method === 'POST' && (path === '/api/keys' || path.endsWith('/rotate')) && r.status === 201;
    if (showsSecret) secrets.push(r.body.secret);
    seen.push({
      what: `${method} ${path}`,
      text: showsSecret ? JSON.stringify(r.body.key) : r.text,
      headers: JSON.stringify([...r.headers]),
    });
    return r;
  }

  async function newKey(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const r = await api('POST', '/api/keys', { token, body: { name: 'k', ...body } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.secret).toMatch(/^dakkio_[a-z0-9]{32}$/);
    return { id: r.body.key.id, secret: r.body.secret };
  }

  const write = (apiKey: string, t: { bucketId: string; sourceId: string }, v = 1) =>
    api('POST', '/api/data', {
      apiKey,
      body: { bucketId: t.bucketId, dataSourceId: t.sourceId, values: { v }, timestamp: T },
    });
  const read = (apiKey: string, t: { bucketId: string }) =>
    api('GET', `/api/data?bucketId=${t.bucketId}&${range}`, { apiKey });

  const expectCode = (r: ApiResponse, status: number, code: string) => {
    expect(r.status, r.text).toBe(status);
    expect(r.body.error.code).toBe(code);
  };

  beforeAll(async () => {
    d = await startTestDakkio({ overrides: { clock } });
    raw = createApiClient(d.baseUrl);
    token = (
      await api('POST', '/api/auth/register', {
        body: { email: 'keys@example.com', password: 'correct horse battery' },
      })
    ).body.token;
    const mk = async (name: string) => {
      const b = await api('POST', '/api/buckets', { token, body: { name } });
      const s = await api('POST', `/api/buckets/${b.body.id}/data-sources`, { token, body: { name: 's' } });
      return { bucketId: b.body.id as string, sourceId: s.body.id as string };
    };
    x = await mk('x');
    y = await mk('y');
  });
  afterAll(async () => d?.destroy());

  it('a read-only key cannot write, a write-only key cannot query', async () => {
    const ro = await newKey({ permissions: ['read'] });
    const wo = await newKey({ permissions: ['write'] });
    expectCode(await write(ro.secret, x), 403, 'forbidden');
    const batch = await api('POST', '/api/data/batch', {
      apiKey: ro.secret,
      body: { bucketId: x.bucketId, readings: [{ dataSourceId: x.sourceId, values: { v: 1 } }] },
    });
    expectCode(batch, 403, 'forbidden');
    expect((await write(wo.secret, x)).status).toBe(201);
    expectCode(await read(wo.secret, x), 403, 'forbidden');
    expectCode(
      await api('GET', `/api/data/latest?bucketId=${x.bucketId}&dataSourceId=${x.sourceId}`, { apiKey: wo.secret }),
      403,
      'forbidden',
    );
    expect((await read(ro.secret, x)).status).toBe(200);
  });

  it('a key scoped to bucket X is refused on bucket Y', async () => {
    const scoped = await newKey({ permissions: ['read', 'write'], bucketIds: [x.bucketId] });
    expect((await write(scoped.secret, x)).status).toBe(201);
    expectCode(await write(scoped.secret, y), 403, 'forbidden');
    expectCode(await read(scoped.secret, y), 403, 'forbidden');
    // A key without bucketIds covers buckets created later too.
    const all = await newKey({ permissions: ['read', 'write'] });
    const b = await api('POST', '/api/buckets', { token, body: { name: 'later' } });
    const s = await api('POST', `/api/buckets/${b.body.id}/data-sources`, { token, body: { name: 's' } });
    expect((await write(all.secret, { bucketId: b.body.id, sourceId: s.body.id })).status).toBe(201);
  });

  it('a revoked key is 401 on the very next call', async () => {
    const k = await newKey({ permissions: ['read', 'write'] });
    expect((await read(k.secret, x)).status).toBe(200); // now it is in the verification cache
    const del = await api('DELETE', `/api/keys/${k.id}`, { token });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectCode(await read(k.secret, x), 401, 'unauthorized');
    expectCode(await write(k.secret, x), 401, 'unauthorized');
    const view = await api('GET', `/api/keys/${k.id}`, { token });
    expect(view.body.revokedAt).toMatch(/Z$/);
  });

  it('revoking over HTTP drops the MQTT sessions that authenticated with the key', async () => {
    const k = await newKey({ permissions: ['read', 'write'] });
    const device = await mqtt.connectAsync(d.mqttUrl, {
      username: 'dev',
      password: k.secret,
      clientId: 'revoked-device',
      reconnectPeriod: 0,
    });
    const dropped = new Promise<void>((resolve) => device.once('close', () => resolve()));
    expect((await api('DELETE', `/api/keys/${k.id}`, { token })).status).toBe(204);
    await dropped;
    await device.endAsync(true);
  });

  it('an expired key is 401', async () => {
    const k = await newKey({ permissions: ['read'], expiresAt: clock.now() + 60_000 });
    expect((await read(k.secret, x)).status).toBe(200);
    clock.advance(60_000);
    expectCode(await read(k.secret, x), 401, 'unauthorized');
  });

  it('rotation with grace: both secrets work, then only the new one', async () => {
    const k = await newKey({ permissions: ['read', 'write'] });
    expect((await read(k.secret, x)).status).toBe(200);
    const rot = await api('POST', `/api/keys/${k.id}/rotate`, { token, body: { graceSeconds: 30 } });
    expect(rot.status).toBe(201);
    expect(rot.body.key.id).toBe(k.id);
    const fresh = rot.body.secret as string;
    expect(fresh).not.toBe(k.secret);
    expect((await read(k.secret, x)).status).toBe(200);
    expect((await read(fresh, x)).status).toBe(200);
    clock.advance(30_000);
    expectCode(await read(k.secret, x), 401, 'unauthorized');
    expect((await read(fresh, x)).status).toBe(200);

    // Without grace the old secret dies at once.
    const again = await api('POST', `/api/keys/${k.id}/rotate`, { token, body: {} });
    expect(again.status).toBe(201);
    expectCode(await read(fresh, x), 401, 'unauthorized');
    expect((await read(again.body.secret, x)).status).toBe(200);

    // With no body at all (curl -X POST), rotation takes its defaults.
    const bare = await api('POST', `/api/keys/${k.id}/rotate`, { token });
    expect(bare.status, bare.text).toBe(201);
    expectCode(await read(again.body.secret, x), 401, 'unauthorized');
    expect((await read(bare.body.secret, x)).status).toBe(200);

    const bad = await api('POST', `/api/keys/${k.id}/rotate`, { token, body: { graceSeconds: 86_401 } });
    expectCode(bad, 400, 'validation_failed');
  });

  it('a key with a bad checksum or a made-up key is 401', async () => {
    const k = await newKey({ permissions: ['read'] });
    const last = k.secret.at(-1)!;
    const badChecksum = k.secret.slice(0, -1) + (last === 'a' ? 'b' : 'a');
    expectCode(await read(badChecksum, x), 401, 'unauthorized');
    const body = k.secret.slice(7, 33);
    const typo = `dakkio_${body[0] === 'a' ? 'b' : 'a'}${body.slice(1)}${k.secret.slice(33)}`;
    expectCode(await read(typo, x), 401, 'unauthorized');
    expectCode(await read('dakkio_short', x), 401, 'unauthorized');
    expectCode(await read('not-a-key', x), 401, 'unauthorized');
    expectCode(await api('GET', `/api/data?bucketId=${x.bucketId}`), 401, 'unauthorized');
  });

  it('a key as Bearer or in the URL is refused with api_key_in_wrong_place', async () => {
    const k = await newKey({ permissions: ['read', 'write'] });
    const asBearer = await api('GET', `/api/data?bucketId=${x.bucketId}&${range}`, {
      headers: { authorization: `Bearer ${k.secret}` },
    });
    expectCode(asBearer, 401, 'api_key_in_wrong_place');
    const bearerOnManagement = await api('GET', '/api/buckets', { headers: { authorization: `Bearer ${k.secret}` } });
    expectCode(bearerOnManagement, 401, 'api_key_in_wrong_place');
    const inUrl = await api('GET', `/api/data?bucketId=${x.bucketId}&${range}&apiKey=${k.secret}`);
    expectCode(inUrl, 401, 'api_key_in_wrong_place');
    // Even alongside a proper header, and under any parameter name.
    const both = await api('GET', `/api/data?bucketId=${x.bucketId}&${range}&x=${k.secret}`, { apiKey: k.secret });
    expectCode(both, 401, 'api_key_in_wrong_place');
    const post = await api('POST', `/api/data?key=${k.secret}`, {
      body: { bucketId: x.bucketId, dataSourceId: x.sourceId, values: { v: 1 } },
    });
    expectCode(post, 401, 'api_key_in_wrong_place');
  });

  it('key management needs a JWT, not a key', async () => {
    const k = await newKey({ permissions: ['read', 'write'] });
    expectCode(await api('GET', '/api/keys', { apiKey: k.secret }), 401, 'unauthorized');
    expectCode(
      await api('POST', '/api/keys', { apiKey: k.secret, body: { name: 'n', permissions: ['read'] } }),
      401,
      'unauthorized',
    );
  });

  it('list and get show prefixes and metadata, never a secret or its hash', async () => {
    const list = await api('GET', '/api/keys', { token });
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThan(5);
    for (const item of list.body.items) {
      expect(Object.keys(item).sort()).toEqual([
        'bucketIds',
        'createdAt',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'permissions',
        'prefix',
        'revokedAt',
      ]);
      expect(item.prefix).toMatch(/^dakkio_[a-z0-9]{6}$/);
      expect((await api('GET', `/api/keys/${item.id}`, { token })).status).toBe(200);
    }
    const scoped = list.body.items.find((i: { bucketIds: string[] | null }) => i.bucketIds !== null);
    expect(scoped.bucketIds).toEqual([x.bucketId]);
    await api('GET', '/api/analytics/overview', { token });

    expect(secrets.length).toBeGreaterThan(8);
    for (const secret of secrets) {
      const hash = sha256(secret);
      const body = secret.slice(7);
      for (const r of seen) {
        expect(r.text, r.what).not.toContain(body);
        expect(r.text, r.what).not.toContain(hash);
        expect(r.headers, r.what).not.toContain(body);
        expect(r.headers, r.what).not.toContain(hash);
      }
    }
  });
});
