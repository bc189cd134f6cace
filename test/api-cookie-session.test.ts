/**
 * The dashboard's cookie session over real HTTP: login with `session: "cookie"`
 * sets `__Host-dakkio_session` (HttpOnly, Secure, SameSite=Lax, Path=/) and returns
 * no token; unsafe cookie requests need same-origin proof and a JSON content type;
 * a Bearer header wins over the cookie; logout clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const PUBLIC_ORIGIN = 'https://iot.example.com';
const PASSWORD = 'correct horse battery';
const SAME_SITE = { 'sec-fetch-site': 'same-origin' };

describe('HTTP cookie sessions', () => {
  let d: TestDakkio;
  let api: Api;

  beforeAll(async () => {
    d = await startTestDakkio({ env: { DAKKIO_PUBLIC_ORIGIN: PUBLIC_ORIGIN } });
    api = createApiClient(d.baseUrl);
    for (const email of ['cookie@example.com', 'other@example.com']) {
      expect((await api('POST', '/api/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    }
  });
  afterAll(async () => d?.destroy());

  async function cookieLogin(
    email = 'cookie@example.com',
  ): Promise<{ res: ApiResponse; setCookie: string; cookie: string }> {
    const res = await api('POST', '/api/auth/login', { body: { email, password: PASSWORD, session: 'cookie' } });
    expect(res.status, res.text).toBe(200);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-dakkio_session='));
    expect(setCookie, 'no session cookie').toBeDefined();
    return { res, setCookie: setCookie!, cookie: setCookie!.split(';')[0]! };
  }

  const withCookie = (cookie: string, headers: Record<string, string> = {}) => ({ headers: { cookie, ...headers } });
  const expectCode = (r: ApiResponse, status: number, code: string) => {
    expect(r.status, r.text).toBe(status);
    expect(r.body.error.code).toBe(code);
  };

  it('login with session: "cookie" sets a __Host- cookie and puts no token in the body', async () => {
    const { res, setCookie } = await cookieLogin();
    const attrs = setCookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=lax']));
    expect(attrs.some((a) => a.startsWith('domain='))).toBe(false);
    expect(res.body.user.email).toBe('cookie@example.com');
    expect(res.body.token).toBeUndefined();
    expect(res.body.refreshToken).toBeUndefined();
    const value = setCookie.split(';')[0]!.split('=')[1]!;
    expect(res.text).not.toContain(value);
    // A plain login sets no cookie.
    const plain = await api('POST', '/api/auth/login', { body: { email: 'cookie@example.com', password: PASSWORD } });
    expect(plain.headers.getSetCookie()).toEqual([]);
    expect(plain.body.token).toBeTypeOf('string');
  });

  it('a GET with the cookie works', async () => {
    const { cookie } = await cookieLogin();
    const me = await api('GET', '/api/auth/me', withCookie(cookie));
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe('cookie@example.com');
    expect((await api('GET', '/api/buckets', withCookie(cookie))).status).toBe(200);
  });

  it('an unsafe cookie request without same-origin proof is 403 csrf_rejected', async () => {
    const { cookie } = await cookieLogin();
    const body = { name: 'csrf' };
    expectCode(await api('POST', '/api/buckets', { ...withCookie(cookie), body }), 403, 'csrf_rejected');
    expectCode(
      await api('POST', '/api/buckets', { ...withCookie(cookie, { 'sec-fetch-site': 'cross-site' }), body }),
      403,
      'csrf_rejected',
    );
    expectCode(
      await api('POST', '/api/buckets', { ...withCookie(cookie, { 'sec-fetch-site': 'same-site' }), body }),
      403,
      'csrf_rejected',
    );
    expectCode(
      await api('POST', '/api/buckets', { ...withCookie(cookie, { origin: 'https://evil.example' }), body }),
      403,
      'csrf_rejected',
    );
    expectCode(
      await api('POST', '/api/buckets', { ...withCookie(cookie, { origin: `${PUBLIC_ORIGIN}.evil.example` }), body }),
      403,
      'csrf_rejected',
    );
    expectCode(await api('POST', '/api/auth/logout', withCookie(cookie)), 403, 'csrf_rejected');
    expectCode(
      await api('POST', '/api/keys', { ...withCookie(cookie), body: { name: 'k', permissions: ['read'] } }),
      403,
      'csrf_rejected',
    );
    expectCode(
      await api('DELETE', '/api/auth/me', { ...withCookie(cookie), body: { password: PASSWORD } }),
      403,
      'csrf_rejected',
    );
    expect((await api('GET', '/api/buckets', withCookie(cookie))).body.items).toEqual([]);

    const sameSite = await api('POST', '/api/buckets', { ...withCookie(cookie, SAME_SITE), body });
    expect(sameSite.status).toBe(201);
    const byOrigin = await api('PATCH', `/api/buckets/${sameSite.body.id}`, {
      ...withCookie(cookie, { origin: PUBLIC_ORIGIN }),
      body: { name: 'renamed' },
    });
    expect(byOrigin.status).toBe(200);
    expectCode(await api('DELETE', `/api/buckets/${sameSite.body.id}`, withCookie(cookie)), 403, 'csrf_rejected');
    expect((await api('DELETE', `/api/buckets/${sameSite.body.id}`, withCookie(cookie, SAME_SITE))).status).toBe(204);
  });

  it('an unsafe cookie request with a non-JSON content type is 415, even same-origin', async () => {
    const { cookie } = await cookieLogin();
    const form = await api('POST', '/api/buckets', {
      ...withCookie(cookie, SAME_SITE),
      rawBody: 'name=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectCode(form, 415, 'unsupported_media_type');
    const text = await api('POST', '/api/buckets', {
      ...withCookie(cookie, SAME_SITE),
      rawBody: '{"name":"x"}',
      contentType: 'text/plain',
    });
    expectCode(text, 415, 'unsupported_media_type');
    const none = await api('POST', '/api/auth/logout', withCookie(cookie, SAME_SITE));
    expectCode(none, 415, 'unsupported_media_type');
    expect((await api('GET', '/api/buckets', withCookie(cookie))).body.items).toEqual([]);
  });

  it('a Bearer header wins over the cookie', async () => {
    const { cookie } = await cookieLogin('cookie@example.com');
    const other = await api('POST', '/api/auth/login', { body: { email: 'other@example.com', password: PASSWORD } });
    const me = await api('GET', '/api/auth/me', { ...withCookie(cookie), token: other.body.token });
    expect(me.body.user.email).toBe('other@example.com');
    // A bad Bearer is refused, not rescued by a good cookie.
    expectCode(await api('GET', '/api/auth/me', { ...withCookie(cookie), token: 'garbage' }), 401, 'unauthorized');
    // With a Bearer header the request is not cookie-authenticated, so no CSRF proof is needed.
    const created = await api('POST', '/api/buckets', {
      ...withCookie(cookie),
      token: other.body.token,
      body: { name: 'bearer' },
    });
    expect(created.status).toBe(201);
  });

  it('logout clears the cookie and ends its session', async () => {
    const { cookie } = await cookieLogin();
    const out = await api('POST', '/api/auth/logout', {
      ...withCookie(cookie, SAME_SITE),
      rawBody: '',
      contentType: 'application/json',
    });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith('__Host-dakkio_session='));
    expect(cleared, 'logout must clear the cookie').toBeDefined();
    expect(cleared!).toMatch(/^__Host-dakkio_session=;/);
    expect(cleared!.toLowerCase()).toMatch(/max-age=0|expires=thu, 01 jan 1970/);
    expect(cleared!.toLowerCase()).toContain('path=/');
    expect(cleared!.toLowerCase()).toContain('secure');
    expectCode(await api('GET', '/api/auth/me', withCookie(cookie)), 401, 'unauthorized');
  });

  it('a cookie is no API key and a forged cookie is 401', async () => {
    const { cookie } = await cookieLogin();
    expectCode(
      await api('GET', '/api/data?bucketId=ffffffffffffffffffffffff', withCookie(cookie)),
      401,
      'unauthorized',
    );
    expectCode(
      await api('GET', '/api/auth/me', withCookie('__Host-dakkio_session=forged.jwt.value')),
      401,
      'unauthorized',
    );
    expectCode(await api('GET', '/api/auth/me', withCookie('dakkio_session=whatever')), 401, 'unauthorized');
  });
});
