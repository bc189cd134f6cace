import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBucketService } from '../buckets/bucket-service.ts';
import { createDataSourceService } from '../data-sources/data-source-service.ts';
import { DakkioError } from '../errors.ts';
import { createApiKeyService } from './api-key-service.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { TEST_SCRYPT_PARAMS } from './passwords.ts';
import { createTestEnv, type TestEnv } from './testing/fixture.ts';
import { createTokenService, type TokenService } from './token-service.ts';
import { createUserService, type UserService } from './user-service.ts';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof DakkioError ? e.code : `not a DakkioError: ${String(e)}`),
  );
}

describe('user service', () => {
  let env: TestEnv;
  let tokens: TokenService;
  let users: UserService;
  const ctx = { ip: '192.0.2.1' };

  beforeEach(async () => {
    env = await createTestEnv();
    tokens = createTokenService({ secret: new Uint8Array(randomBytes(32)), clock: env.clock, ids: env.ids, db: env.db });
    users = createUserService({
      db: env.db,
      clock: env.clock,
      ids: env.ids,
      tokens,
      events: env.events,
      readingStore: env.readingStore,
      loginLimiter: createLoginLimiter({ perAccount: 3, perIp: 5 }),
      passwordParams: TEST_SCRYPT_PARAMS,
    });
  });
  afterEach(async () => {
    await env.close();
  });

  it('registers with a normalised email and never returns the hash', async () => {
    const res = await users.register({ email: '  Ada@Example.COM ', password: 'password123', name: 'Ada' }, ctx);
    expect(res.user).toEqual({ id: res.user.id, email: 'ada@example.com', name: 'Ada', createdAt: env.clock.now() });
    expect(JSON.stringify(res)).not.toContain('scrypt');
    expect(await users.getMe(res.user.id)).toEqual(res.user);
    const stored = await env.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow();
    expect(stored.password_hash.startsWith('$scrypt$ln=10,r=8,p=1$')).toBe(true);
  });

  it('refuses a duplicate email (any case) and a short password', async () => {
    await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
    expect(await codeOf(users.register({ email: 'ADA@example.com', password: 'password123' }, ctx))).toBe('conflict');
    expect(await codeOf(users.register({ email: 'bob@example.com', password: 'short' }, ctx))).toBe('validation_failed');
  });

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
    const unknown = await users.login({ email: 'nobody@example.com', password: 'password123' }, ctx).catch((e) => e);
    const wrong = await users.login({ email: 'ada@example.com', password: 'password124' }, ctx).catch((e) => e);
    expect(unknown).toBeInstanceOf(DakkioError);
    expect(wrong).toBeInstanceOf(DakkioError);
    expect([unknown.code, unknown.message]).toEqual([wrong.code, wrong.message]);
    expect(unknown.code).toBe('unauthorized');
    const ok = await users.login({ email: 'ADA@example.com', password: 'password123' }, ctx);
    expect(ok.user.email).toBe('ada@example.com');
  });

  it('rate limits failed logins per account and per IP', async () => {
    await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
    for (let i = 0; i < 3; i++) {
      expect(await codeOf(users.login({ email: 'ada@example.com', password: 'wrong-one' }, ctx))).toBe('unauthorized');
    }
    const limited = await users.login({ email: 'ada@example.com', password: 'password123' }, { ip: '198.51.100.7' }).catch((e) => e);
    expect(limited.code).toBe('rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);

    // Per IP: one address guessing across many accounts.
    const ip = { ip: '203.0.113.9' };
    for (let i = 0; i < 5; i++) {
      expect(await codeOf(users.login({ email: `u${i}@example.com`, password: 'whatever1' }, ip))).toBe('unauthorized');
    }
    expect(await codeOf(users.login({ email: 'other@example.com', password: 'whatever1' }, ip))).toBe('rate_limited');
  });

  it('updates name and email; a taken email is a conflict; a wrong current password is refused', async () => {
    const a = await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
    await users.register({ email: 'bob@example.com', password: 'password123' }, ctx);
    const p = await tokens.verifyAccessToken(a.token);
    const updated = await users.updateMe(p, { name: 'Ada L.', email: 'Ada.L@example.com' });
    expect(updated).toMatchObject({ name: 'Ada L.', email: 'ada.l@example.com' });
    expect(await users.getMe(p.userId)).toEqual(updated);
    expect(await codeOf(users.updateMe(p, { email: 'bob@example.com' }))).toBe('conflict');
    expect(await codeOf(users.updateMe(p, { password: { current: 'nope-nope', new: 'another-pass' } }))).toBe('forbidden');
    expect(await codeOf(users.updateMe(p, { password: { current: 'password123', new: 'short' } }))).toBe('validation_failed');
    expect((await users.updateMe(p, { name: null })).name).toBeNull();
  });

  it('deleteMe removes everything the user owns and tells live sessions to drop', async () => {
    const events = env.events;
    const buckets = createBucketService({ ...env, events });
    const sources = createDataSourceService({ ...env, events });
    const keys = createApiKeyService({ ...env, events });
    try {
      const a = await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
      const b = await users.register({ email: 'bob@example.com', password: 'password123' }, ctx);
      const bucket = await buckets.create(a.user.id, { name: 'home' });
      const source = await sources.create(a.user.id, bucket.id, { name: 'sensor' });
      const bobBucket = await buckets.create(b.user.id, { name: 'bob' });
      const bobSource = await sources.create(b.user.id, bobBucket.id, { name: 'bob-sensor' });
      const { key, secret } = await keys.create(a.user.id, { name: 'k', permissions: ['write'] });
      await keys.verify(secret);
      const ts = env.clock.now();
      await env.readingStore.write([
        { bucketId: bucket.id, dataSourceId: source.id, metric: 't', ts, value: 1 },
        { bucketId: bobBucket.id, dataSourceId: bobSource.id, metric: 't', ts, value: 2 },
      ]);

      const p = await tokens.verifyAccessToken(a.token);
      expect(await codeOf(users.deleteMe(p, 'wrong-password'))).toBe('forbidden');
      await users.deleteMe(p, 'password123');

      expect(await codeOf(users.getMe(a.user.id))).toBe('not_found');
      expect(await env.db.selectFrom('buckets').select('id').execute()).toEqual([{ id: bobBucket.id }]);
      expect(await env.db.selectFrom('data_sources').select('id').execute()).toEqual([{ id: bobSource.id }]);
      expect(await env.db.selectFrom('api_keys').select('id').execute()).toEqual([]);
      expect((await env.readingStore.countReadings([bucket.id], 0)).total).toBe(0);
      expect((await env.readingStore.countReadings([bobBucket.id], 0)).total).toBe(1);
      expect(await codeOf(keys.verify(secret))).toBe('unauthorized');
      expect(env.published).toEqual(
        expect.arrayContaining([
          { type: 'bucket.deleted', bucketId: bucket.id, ownerId: a.user.id },
          { type: 'key.revoked', keyId: key.id, ownerId: a.user.id },
          { type: 'owner.deleted', ownerId: a.user.id },
        ]),
      );
      // The address is free again.
      await users.register({ email: 'ada@example.com', password: 'password123' }, ctx);
    } finally {
      await keys.close();
    }
  });
});
