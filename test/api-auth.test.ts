/**
 * Access tokens and sessions over real HTTP: every forged, expired or dead token is
 * a 401 `unauthorized`; refresh rotates; logout, password change and account
 * deletion end what API.md says they end. A manual clock drives expiry.
 */
import { SignJWT, UnsecuredJWT } from 'jose';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../core/clock.ts';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const JWT_SECRET = 'e2e-auth-secret-0123456789abcdef0123456789';
const key = new TextEncoder().encode(JWT_SECRET);
const PASSWORD = 'correct horse battery';

describe('HTTP auth: tokens and sessions', () => {
  let d: TestDakkio;
  let api: Api;
  const clock = createManualClock(Date.UTC(2026, 10, 28, 10, 0, 0));
  let n = 0;

  async function signUp(): Promise<{ email: string; userId: string; token: string; refreshToken: string }> {
    const email = `user${++n}@example.com`;
    const r = await api('POST', '/api/auth/register', { body: { email, password: PASSWORD } });
    expect(r.status).toBe(201);
    return { email, userId: r.body.user.id, token: r.body.token, refreshToken: r.body.refreshToken };
  }

  async function login(email: string) {
    const r = await api('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    expect(r.status).toBe(200);
    return r.body as { token: string; refreshToken: string };
  }

  const expect401 = async (path: string, token: string) => {
    const r = await api('GET', path, { token });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  };

  beforeAll(async () => {
    d = await startTestDakkio({ env: { DAKKIO_JWT_SECRET: JWT_SECRET }, overrides: { clock } });
    api = createApiClient(d.baseUrl);
  });
  afterAll(async () => d?.destroy());

  const forge = (userId: string, edit: (j: SignJWT) => SignJWT = (j) => j) => {
    const iat = Math.floor(clock.now() / 1000);
    return edit(
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setJti(`forged${iat}${Math.random()}`)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 3600)
        .setIssuer('dakkio')
        .setAudience('dakkio-api'),
    ).sign(key);
  };

  it('accepts a token forged with the right secret and claims (so the refusals below are about the claim under test)', async () => {
    const u = await signUp();
    const r = await api('GET', '/api/auth/me', { token: await forge(u.userId) });
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(u.userId);
  });

  it('refuses wrong aud, wrong iss, alg none, a tampered signature and garbage', async () => {
    const u = await signUp();
    await expect401('/api/auth/me', await forge(u.userId, (j) => j.setAudience('someone-else')));
    await expect401('/api/auth/me', await forge(u.userId, (j) => j.setIssuer('evil')));
    const iat = Math.floor(clock.now() / 1000);
    const none = new UnsecuredJWT({})
      .setSubject(u.userId)
      .setJti('none1')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .setIssuer('dakkio')
      .setAudience('dakkio-api')
      .encode();
    await expect401('/api/auth/me', none);
    const [h, p, s] = u.token.split('.') as [string, string, string];
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    await expect401('/api/auth/me', `${h}.${p}.${flipped}`);
    // A payload rewritten to another subject keeps the old signature: refused.
    const other = await signUp();
    const otherPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: other.userId }),
    ).toString('base64url');
    await expect401('/api/auth/me', `${h}.${otherPayload}.${s}`);
    await expect401('/api/auth/me', 'not-a-jwt');
    const wrongSecret = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.userId)
      .setJti('x')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setIssuer('dakkio')
      .setAudience('dakkio-api')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    await expect401('/api/auth/me', wrongSecret);
    const missing = await api('GET', '/api/auth/me');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');
  });

  it('issues tokens that expire after 24 h', async () => {
    const u = await signUp();
    const [, p] = u.token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(claims).toMatchObject({
      sub: u.userId,
      iss: expect.any(String),
      aud: expect.anything(),
      jti: expect.any(String),
    });
    expect(claims.exp - claims.iat).toBe(86_400);
    clock.advance(86_399_000);
    expect((await api('GET', '/api/auth/me', { token: u.token })).status).toBe(200);
    clock.advance(2_000);
    await expect401('/api/auth/me', u.token);
    await expect401(
      '/api/auth/me',
      await forge(u.userId, (j) => j.setExpirationTime(Math.floor(clock.now() / 1000) - 1)),
    );
  });

  it('rotates refresh tokens; a reused one is 401 and kills the family', async () => {
    const u = await signUp();
    const r1 = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({
      token: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(r1.body.refreshToken).not.toBe(u.refreshToken);
    expect((await api('GET', '/api/auth/me', { token: r1.body.token })).status).toBe(200);

    const reuse = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('unauthorized');
    // The whole family is dead: the rotated refresh token and its access token too.
    const after = await api('POST', '/api/auth/refresh', { body: { refreshToken: r1.body.refreshToken } });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    await expect401('/api/auth/me', r1.body.token);

    const bogus = await api('POST', '/api/auth/refresh', { body: { refreshToken: 'nope' } });
    expect(bogus.status).toBe(401);
    expect(bogus.body.error.code).toBe('unauthorized');
  });

  it('logout kills that access token and its refresh family, not other sessions', async () => {
    const u = await signUp();
    const other = await login(u.email);
    const out = await api('POST', '/api/auth/logout', { token: u.token });
    expect(out.status).toBe(204);
    expect(out.text).toBe('');
    await expect401('/api/auth/me', u.token);
    const refresh = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(refresh.status).toBe(401);
    expect(refresh.body.error.code).toBe('unauthorized');
    expect((await api('GET', '/api/auth/me', { token: other.token })).status).toBe(200);
  });

  it('a password change ends every other session of the user', async () => {
    const u = await signUp();
    const other = await login(u.email);
    const r = await api('PATCH', '/api/auth/me', {
      token: u.token,
      body: { password: { current: PASSWORD, new: 'a brand new password' } },
    });
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(u.userId);
    expect(JSON.stringify(r.body)).not.toMatch(/hash|scrypt/i);
    await expect401('/api/auth/me', other.token);
    const refresh = await api('POST', '/api/auth/refresh', { body: { refreshToken: other.refreshToken } });
    expect(refresh.status).toBe(401);
    expect((await api('GET', '/api/auth/me', { token: u.token })).status).toBe(200);
    expect((await api('POST', '/api/auth/login', { body: { email: u.email, password: PASSWORD } })).status).toBe(401);
    expect(
      (await api('POST', '/api/auth/login', { body: { email: u.email, password: 'a brand new password' } })).status,
    ).toBe(200);
  });

  it('a wrong current password changes nothing', async () => {
    const u = await signUp();
    const r = await api('PATCH', '/api/auth/me', {
      token: u.token,
      body: { password: { current: 'wrong password', new: 'another password' } },
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
    expect((await api('POST', '/api/auth/login', { body: { email: u.email, password: PASSWORD } })).status).toBe(200);
  });

  it('deleting the account removes its buckets, keys and sessions', async () => {
    const u = await signUp();
    const bucket = await api('POST', '/api/buckets', { token: u.token, body: { name: 'doomed' } });
    expect(bucket.status).toBe(201);
    const source = await api('POST', `/api/buckets/${bucket.body.id}/data-sources`, {
      token: u.token,
      body: { name: 's' },
    });
    const k = await api('POST', '/api/keys', { token: u.token, body: { name: 'k', permissions: ['read', 'write'] } });
    expect(k.status).toBe(201);
    const apiKey = k.body.secret as string;
    const put = await api('POST', '/api/data', {
      apiKey,
      body: { bucketId: bucket.body.id, dataSourceId: source.body.id, values: { t: 1 } },
    });
    expect(put.status).toBe(201);

    const device = await mqtt.connectAsync(d.mqttUrl, {
      username: 'dev',
      password: apiKey,
      clientId: `doomed-${u.userId}`,
      reconnectPeriod: 0,
    });
    const dropped = new Promise<void>((resolve) => device.once('close', () => resolve()));

    const wrong = await api('DELETE', '/api/auth/me', { token: u.token, body: { password: 'not my password' } });
    expect(wrong.status).toBe(403);
    const del = await api('DELETE', '/api/auth/me', { token: u.token, body: { password: PASSWORD } });
    expect(del.status).toBe(204);
    await dropped; // API.md: live MQTT sessions of the account are dropped
    await device.endAsync(true);

    await expect401('/api/auth/me', u.token);
    const q = await api('GET', `/api/data?bucketId=${bucket.body.id}`, { apiKey });
    expect(q.status).toBe(401);
    expect(q.body.error.code).toBe('unauthorized');
    expect((await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    expect((await api('POST', '/api/auth/login', { body: { email: u.email, password: PASSWORD } })).status).toBe(401);

    // The same email can sign up again and finds nothing of the old account.
    const again = await api('POST', '/api/auth/register', { body: { email: u.email, password: PASSWORD } });
    expect(again.status).toBe(201);
    const list = await api('GET', '/api/buckets', { token: again.body.token });
    expect(list.body.items).toEqual([]);
    const keys = await api('GET', '/api/keys', { token: again.body.token });
    expect(keys.body.items).toEqual([]);
    expect((await api('GET', `/api/buckets/${bucket.body.id}`, { token: again.body.token })).status).toBe(404);
  });

  it('me never shows a password hash', async () => {
    const u = await signUp();
    const me = await api('GET', '/api/auth/me', { token: u.token });
    expect(Object.keys(me.body.user).sort()).toEqual(['createdAt', 'email', 'id', 'name']);
  });
});
