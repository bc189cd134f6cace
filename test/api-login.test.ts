/**
 * Login over real HTTP: an unknown email and a wrong password are indistinguishable,
 * and repeated failures are rate limited per account and per IP (429 + Retry-After).
 * Its own server, because the per-IP budget it spends would lock out other tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const PASSWORD = 'correct horse battery';

describe('HTTP login', () => {
  let d: TestDakkio;
  let api: Api;
  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
  });
  afterAll(async () => d?.destroy());

  const login = (email: string, password: string) => api('POST', '/api/auth/login', { body: { email, password } });

  it('gives the same 401 body for an unknown email and a wrong password', async () => {
    expect(
      (await api('POST', '/api/auth/register', { body: { email: 'same@example.com', password: PASSWORD } })).status,
    ).toBe(201);
    const unknown = await login('nobody@example.com', PASSWORD);
    const wrong = await login('same@example.com', 'wrong password!');
    const malformed = await login('not an email', PASSWORD);
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(malformed.status).toBe(401);
    expect(unknown.body.error.code).toBe('unauthorized');
    expect(wrong.text).toBe(unknown.text);
    expect(malformed.text).toBe(unknown.text);
  });

  it('rate limits repeated failures per account, even for the right password', async () => {
    const email = 'victim@example.com';
    expect((await api('POST', '/api/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    let limited: Awaited<ReturnType<typeof login>> | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const r = await login(email, `wrong password ${i}`);
      if (r.status === 429) limited = r;
      else expect(r.status).toBe(401);
    }
    expect(limited, 'no 429 after 30 failures').toBeDefined();
    expect(limited!.body.error.code).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    const right = await login(email, PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('rate_limited');
    // Other accounts are not locked by this one's failures.
    expect((await login('same@example.com', PASSWORD)).status).toBe(200);
  });

  it('rate limits repeated failures per IP across many accounts', async () => {
    let limited: Awaited<ReturnType<typeof login>> | undefined;
    for (let i = 0; i < 200 && !limited; i++) {
      const r = await login(`spray${i}@example.com`, 'guess guess');
      if (r.status === 429) limited = r;
      else expect(r.status).toBe(401);
    }
    expect(limited, 'no 429 after 200 failures from one IP').toBeDefined();
    expect(limited!.body.error.code).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    // A fresh account from the same IP is refused too now.
    const fresh = await login('same@example.com', PASSWORD);
    expect(fresh.status).toBe(429);
  });
});
